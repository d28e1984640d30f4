"""The lifecycle manager's rehearsal script: keep every default, write no summary of its own."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage


def respond(messages: Sequence[BaseMessage]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {
                "name": "LifecycleDecision",
                "args": {"choices": [], "summaries": []},
                "id": "rehearsal-lifecycle",
            }
        ],
    )
