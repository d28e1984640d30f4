"""The assistant's rehearsal script: a few rules instead of a model, clearly labelled.

It collects the phone numbers the user typed and proposes a plan with them; with no number yet,
it asks for one. Good enough to rehearse the whole flow (plan → approval → calls) offline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

_NUMBER = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_FIRST_SUCCESS = re.compile(r"\b(first|any one|anyone|stop (?:after|once|when))\b", re.I)


def _text(message: BaseMessage) -> str:
    return message.text if isinstance(message.content, list) else str(message.content)


def _targets(lines: list[str]) -> list[dict[str, str]]:
    targets: list[dict[str, str]] = []
    for line in lines:
        for match in _NUMBER.finditer(line):
            before = line[: match.start()]
            name = re.split(r"[.,;!?\n]", before)[-1]
            name = re.sub(r"\b(please|call|at|on|number|phone|tel)\b", " ", name, flags=re.I)
            name = " ".join(name.strip(" ,:-–()").split())
            targets.append(
                {"name": name or f"Target {len(targets) + 1}", "phone": match.group(0).strip()}
            )
    return targets


def respond(messages: Sequence[BaseMessage]) -> AIMessage:
    last = messages[-1] if messages else None
    if isinstance(last, ToolMessage):
        if last.name == "CampaignPlan" or last.status == "error":
            return AIMessage(content=f"I could not use that plan: {_text(last)}")
        return AIMessage(content="Here is what I found:\n" + _text(last))
    said = [_text(m) for m in messages if isinstance(m, HumanMessage)]
    # After a plan was sent back, only numbers given since then count (they are corrections).
    rejected = [
        i for i, m in enumerate(messages) if isinstance(m, ToolMessage) and m.name == "CampaignPlan"
    ]
    since = rejected[-1] if rejected else -1
    targets = _targets([_text(m) for m in messages[since + 1 :] if isinstance(m, HumanMessage)])
    if not targets:
        return AIMessage(
            content="Whom should I call? Please give me each name and phone number "
            "(for example: Smile Dental +1 212 555 0101)."
        )
    objective = said[0].strip() if said else "Rehearsal call"
    plan = {
        "name": objective[:60],
        "objective": objective,
        "targets": targets,
        "stop_rule": "first_success" if _FIRST_SUCCESS.search(" ".join(said)) else "call_everyone",
    }
    calls = sum(isinstance(m, AIMessage) for m in messages)
    return AIMessage(
        content="",
        tool_calls=[{"name": "CampaignPlan", "args": plan, "id": f"rehearsal-plan-{calls + 1}"}],
    )
