"""The built-in `rehearsal` script: each agent's rule-based stand-in, for `scripted:rehearsal`.

Each stand-in lives with its agent (`agents/<name>/rehearsal.py`); this module puts them
together under one script name. The `agents` package imports it, so the script is there
whenever a model is loaded (`agents.models` falls back on it without a provider key).
"""

from __future__ import annotations

from langchain_core.messages import AIMessage

from agents.lifecycle_manager.rehearsal import respond as lifecycle
from agents.orchestrator.rehearsal import respond as orchestrator
from agents.post_call_analyzer.rehearsal import respond as analyzer
from agents.scripted import Responder, register_script
from agents.ui_assistant.rehearsal import respond as assistant

REHEARSAL_SCRIPT = "rehearsal"


def _no_search(_messages: object) -> AIMessage:
    return AIMessage(
        content="Internet search is not available in a rehearsal; "
        "set GOOGLE_API_KEY to search for real."
    )


_RESPONDERS: dict[str, Responder] = {
    "assistant": assistant,
    "analyzer": analyzer,
    "orchestrator": orchestrator,
    "lifecycle": lifecycle,
    "search": _no_search,
}


def rehearsal_responder(purpose: str) -> Responder:
    """The stand-in of the agent for `purpose`; raises KeyError naming an unknown purpose."""
    responder = _RESPONDERS.get(purpose)
    if responder is None:
        raise KeyError(f"the rehearsal script has no part for {purpose!r}")
    return responder


register_script(REHEARSAL_SCRIPT, rehearsal_responder)
