"""The orchestrator's rehearsal script: hand the current plan back unchanged (it cannot rewrite)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage


def respond(messages: Sequence[BaseMessage]) -> AIMessage:
    text = next((str(m.content) for m in messages if isinstance(m, HumanMessage)), "")
    body = text.split("Current plan:", 1)[-1].split("The owner's changes:", 1)[0]
    try:
        plan = json.loads(body)
    except ValueError:
        return AIMessage(content="The rehearsal script could not read the plan.")
    return AIMessage(
        content="", tool_calls=[{"name": "CampaignPlan", "args": plan, "id": "rehearsal-revision"}]
    )
