"""Internet search: Gemini with Google Search grounding, through `langchain-google-genai`."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from agents.models import load_chat_model, split_spec
from agents.scripted import is_rehearsal
from core.settings import Settings

TIMEOUT_S = 60.0
GOOGLE_SEARCH_TOOL: dict[str, Any] = {"google_search": {}}


def search_unavailable_reason(settings: Settings) -> str | None:
    """Why internet search cannot run, or None when it can."""
    provider, _ = split_spec(settings.search_model)
    if provider == "scripted":
        return None
    if provider != "google_genai":
        return (
            f"Internet search is unavailable: SEARCH_MODEL {settings.search_model!r} is not a "
            "Gemini model (google_genai:…), and only Gemini grounds answers in Google Search."
        )
    if not settings.has_google:
        return "Internet search is unavailable: GOOGLE_API_KEY is not set."
    return None


def _sources(metadata: dict[str, Any]) -> list[str]:
    grounding = metadata.get("grounding_metadata") or {}
    out = []
    for chunk in grounding.get("grounding_chunks") or []:
        web = (chunk or {}).get("web") or {}
        if web.get("uri"):
            out.append(f"{web.get('title') or web['uri']}: {web['uri']}")
    return out


async def search_internet(
    query: str, settings: Settings, *, model: BaseChatModel | None = None
) -> str:
    """A grounded answer with its sources, or a plain sentence saying search is unavailable."""
    if model is None:
        reason = search_unavailable_reason(settings)
        if reason:
            return reason
        # Building a client reads certificates from disk: keep it off the event loop.
        model = await asyncio.to_thread(
            load_chat_model, settings.search_model, settings, purpose="search", strict=True
        )
    runnable = model if is_rehearsal(model) else model.bind_tools([GOOGLE_SEARCH_TOOL])
    prompt = (
        "Search the internet and answer briefly and factually. Give phone numbers in "
        f"international form when you find them.\n\nQuestion: {query}"
    )
    try:
        answer = await asyncio.wait_for(runnable.ainvoke([HumanMessage(content=prompt)]), TIMEOUT_S)
    except TimeoutError:
        return f"Internet search did not answer within {TIMEOUT_S:g} s."
    text = answer.text if isinstance(answer.content, list) else str(answer.content)
    sources = _sources(dict(answer.response_metadata))
    if sources:
        text += "\n\nSources:\n" + "\n".join(f"- {s}" for s in sources)
    return text
