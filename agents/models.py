"""The one model factory: a model string from the settings becomes a chat model.

Spec strings are `provider:model` (or `provider/model`, as in LangGraph's templates):

- `openai:gpt-4.1-mini` — OpenAI, or any OpenAI-compatible server (Ollama, vLLM, a llama.cpp
  server) when `OPENAI_BASE_URL` is set; `local:<model>` says the same and insists on the URL.
- `google_genai:gemini-2.5-flash` — Gemini through `langchain-google-genai`.
- `scripted:<name>` — a deterministic scripted model (`agents.scripted`), for rehearsals/tests.
- anything else `init_chat_model` knows, if its integration package is installed.

Without a key or a base URL the OpenAI/Gemini specs fall back to `scripted:rehearsal` and say
so in the log (the embedded default is a clearly labelled rehearsal); `strict=True` raises
`ModelNotConfigured` instead. Keys come from the settings as `SecretStr` and are handed to the
client as such; they never reach a log line.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from agents.scripted import scripted_model
from core.logging import get_logger
from core.settings import Settings

Purpose = Literal["assistant", "orchestrator", "analyzer", "lifecycle", "search"]

REQUEST_TIMEOUT_S = 60.0
MAX_RETRIES = 2
# OpenAI-compatible local servers ignore the key, but the client refuses to start without one.
_LOCAL_PLACEHOLDER_KEY = SecretStr("not-needed-for-a-local-server")

log = get_logger("opendeep.agents.models")


class ModelNotConfigured(RuntimeError):
    """The spec names a provider whose key or URL is not set; the message says which setting."""


def split_spec(spec: str) -> tuple[str, str]:
    """`provider:model` or `provider/model` → (provider, model); raises ValueError naming it."""
    text = spec.strip()
    for sep in (":", "/"):
        provider, found, model = text.partition(sep)
        if found and provider and model:
            return provider.strip().lower(), model.strip()
    raise ValueError(f"model {spec!r} is not of the form provider:model (e.g. openai:gpt-4.1-mini)")


def _init_chat_model(model: str, provider: str, **kwargs: Any) -> BaseChatModel:
    """LangChain's own `init_chat_model`: any provider it knows, by name."""
    from langchain.chat_models import init_chat_model

    return cast(BaseChatModel, init_chat_model(model, model_provider=provider, **kwargs))


def _rehearsal_instead(spec: str, purpose: Purpose, missing: str, strict: bool) -> BaseChatModel:
    if strict:
        raise ModelNotConfigured(
            f"model {spec!r} for the {purpose} needs {missing}; set it, or use scripted:rehearsal"
        )
    log.warning(
        "no model provider configured: running as a REHEARSAL with scripted turns",
        purpose=purpose,
        spec=spec,
        missing=missing,
    )
    return scripted_model("rehearsal", purpose)


def load_chat_model(
    spec: str, settings: Settings, *, purpose: Purpose, strict: bool = False
) -> BaseChatModel:
    """Build the chat model named by `spec` for `purpose` (used in logs and by scripts)."""
    provider, model = split_spec(spec)
    if provider == "scripted":
        log.info("scripted rehearsal model", purpose=purpose, script=model)
        return scripted_model(model, purpose)
    common: dict[str, Any] = {"timeout": REQUEST_TIMEOUT_S, "max_retries": MAX_RETRIES}
    if provider in ("openai", "local"):
        base_url = settings.openai_base_url.strip() or None
        if provider == "local" and base_url is None:
            raise ModelNotConfigured(
                f"model {spec!r} needs OPENAI_BASE_URL (the local server's /v1 URL)"
            )
        if not settings.has_openai and base_url is None:
            return _rehearsal_instead(spec, purpose, "OPENAI_API_KEY or OPENAI_BASE_URL", strict)
        key = settings.openai_api_key if settings.has_openai else _LOCAL_PLACEHOLDER_KEY
        log.info("chat model", purpose=purpose, provider="openai", model=model, base_url=base_url)
        return _init_chat_model(model, "openai", api_key=key, base_url=base_url, **common)
    if provider == "google_genai":
        if not settings.has_google:
            return _rehearsal_instead(spec, purpose, "GOOGLE_API_KEY", strict)
        log.info("chat model", purpose=purpose, provider=provider, model=model)
        return _init_chat_model(model, provider, google_api_key=settings.google_api_key, **common)
    log.info("chat model", purpose=purpose, provider=provider, model=model)
    return _init_chat_model(model, provider, **common)


def model_spec(settings: Settings, purpose: Purpose) -> str:
    """The configured spec for a purpose."""
    return {
        "assistant": settings.assistant_model,
        "orchestrator": settings.orchestrator_model,
        "analyzer": settings.analyzer_model,
        "lifecycle": settings.lifecycle_model,
        "search": settings.search_model,
    }[purpose]
