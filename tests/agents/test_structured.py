"""Structured output and tool binding over LangChain's fake chat models and the scripted model."""

from __future__ import annotations

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel

from agents.scripted import REHEARSAL_LABEL, ScriptedChatModel, register_script, scripted_model
from agents.structured import (
    StructuredOutputError,
    ainvoke_structured,
    bind_tools_if_supported,
    read_structured,
)


class Verdict(BaseModel):
    ok: bool
    why: str = ""


async def test_a_fake_model_answers_with_a_tool_call() -> None:
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    content="", tool_calls=[{"name": "Verdict", "args": {"ok": True}, "id": "1"}]
                )
            ]
        )
    )
    assert await ainvoke_structured(model, Verdict, [HumanMessage(content="?")]) == Verdict(ok=True)


async def test_a_fake_model_answers_with_json_text() -> None:
    model = GenericFakeChatModel(messages=iter(['Sure: {"ok": false, "why": "no"} done']))
    assert await ainvoke_structured(model, Verdict, []) == Verdict(ok=False, why="no")


@pytest.mark.parametrize("text", ["no json here", "{broken"])
def test_unreadable_answers_say_so(text: str) -> None:
    with pytest.raises(StructuredOutputError, match="Verdict"):
        read_structured(AIMessage(content=text), Verdict)


async def test_the_scripted_model_goes_through_with_structured_output() -> None:
    model = ScriptedChatModel(
        script="verdict-test",
        purpose="analyzer",
        responder=lambda _msgs: AIMessage(
            content="",
            tool_calls=[{"name": "Verdict", "args": {"ok": True, "why": "analyzer"}, "id": "v"}],
        ),
    )
    assert await ainvoke_structured(model, Verdict, []) == Verdict(ok=True, why="analyzer")


def test_binding_falls_back_for_models_without_tools() -> None:
    fake = GenericFakeChatModel(messages=iter(["hi"]))
    assert bind_tools_if_supported(fake, [Verdict]) is fake
    scripted = scripted_model("rehearsal", "assistant")
    assert bind_tools_if_supported(scripted, [Verdict]) is scripted


def test_rehearsal_text_is_labelled_once() -> None:
    model = ScriptedChatModel(
        script="x",
        purpose="assistant",
        responder=lambda _m: AIMessage(content=REHEARSAL_LABEL + "hi"),
    )
    assert model.invoke("?").content == REHEARSAL_LABEL + "hi"


@pytest.mark.parametrize("name", ["", "a:b"])
def test_script_names_are_checked(name: str) -> None:
    with pytest.raises(ValueError, match="bad script name"):
        register_script(name, lambda p: lambda m: AIMessage(content=""))
