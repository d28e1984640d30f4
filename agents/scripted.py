"""Scripted chat models: deterministic agent turns for offline rehearsals and tests.

A `ScriptedChatModel` answers with whatever its responder function returns for the messages it
is given — no network, no weights. The built-in script `rehearsal` (`agents.rehearsal`, which
the `agents` package registers) gives each agent a small rule-based stand-in so the whole
system can be exercised without a model provider. Everything a rehearsal model says is labelled as such: text starts
with `REHEARSAL_LABEL` and every message carries `response_metadata["rehearsal"] = True`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import PrivateAttr

REHEARSAL_LABEL = "[rehearsal] "

Responder = Callable[[Sequence[BaseMessage]], AIMessage]
ScriptFactory = Callable[[str], Responder]
"""Builds the responder of a script for one purpose (assistant, analyzer, lifecycle, …)."""


class ScriptedChatModel(BaseChatModel):
    """A chat model whose turns come from a responder function; clearly a rehearsal."""

    script: str
    purpose: str
    _responder: Responder = PrivateAttr()

    def __init__(self, *, script: str, purpose: str, responder: Responder) -> None:
        super().__init__(script=script, purpose=purpose)
        self._responder = responder

    @property
    def _llm_type(self) -> str:
        return "scripted-rehearsal"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"script": self.script, "purpose": self.purpose}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._responder(messages)
        content = message.content
        if isinstance(content, str) and content and not content.startswith(REHEARSAL_LABEL):
            message = message.model_copy(update={"content": REHEARSAL_LABEL + content})
        metadata = {**message.response_metadata, "rehearsal": True, "script": self.script}
        message = message.model_copy(update={"response_metadata": metadata})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # A script already knows which tools it calls; binding changes nothing.
        return self


_SCRIPTS: dict[str, ScriptFactory] = {}


def register_script(name: str, factory: ScriptFactory) -> None:
    """Make `scripted:<name>` available: the built-in `rehearsal` script registers itself here
    when the `agents` package is imported. A test or a rehearsal that wants a scripted model of
    its own builds a `ScriptedChatModel` and hands it to the node (`Node(models=…)`)."""
    if not name or ":" in name:
        raise ValueError(f"bad script name {name!r}")
    _SCRIPTS[name] = factory


def scripted_model(name: str, purpose: str) -> ScriptedChatModel:
    """The scripted model `scripted:<name>` for one purpose; raises KeyError naming the script."""
    factory = _SCRIPTS.get(name)
    if factory is None:
        known = ", ".join(sorted(_SCRIPTS)) or "none"
        raise KeyError(f"no script named {name!r} (known: {known})")
    return ScriptedChatModel(script=name, purpose=purpose, responder=factory(purpose))


def is_rehearsal(model: object) -> bool:
    """True for scripted models (what the UI labels as a rehearsal)."""
    return isinstance(model, ScriptedChatModel)
