"""The analyzer's rehearsal script: keyword rules over the callee's lines, clearly labelled.

Confidence stays modest (a rule is not a reader), so doubtful calls still reach the owner.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agents.schemas import Outcome

_RULES: tuple[tuple[Outcome, re.Pattern[str]], ...] = (
    (
        "opt_out",
        re.compile(r"(don'?t|do not|never|stop) call|remove (me|my number)|take me off", re.I),
    ),
    (
        "wrong_number",
        re.compile(r"wrong number|no one (here )?by that name|nobody by that name", re.I),
    ),
    (
        "callback_requested",
        re.compile(
            r"call (me |us )?(back|again|later)|try (again )?(later|tomorrow)|busy right now", re.I
        ),
    ),
    (
        "voicemail",
        re.compile(r"leave a message|after the (tone|beep)|voicemail|not available", re.I),
    ),
    ("refused", re.compile(r"not interested|no,? thank|can'?t help|we don'?t do that", re.I)),
    (
        "achieved",
        re.compile(
            r"\b(booked|confirmed|scheduled|you'?re all set|see you|that works|yes)\b", re.I
        ),
    ),
)
_NEXT: dict[Outcome, str] = {
    "opt_out": "done",
    "wrong_number": "done",
    "callback_requested": "call_back_at",
    "voicemail": "retry_at",
    "refused": "done",
    "achieved": "done",
    "partial": "ask_owner",
}


def _callee_lines(messages: Sequence[BaseMessage]) -> list[str]:
    text = ""
    for message in messages:
        if isinstance(message, HumanMessage) and "TRANSCRIPT:" in str(message.content):
            text = str(message.content).split("TRANSCRIPT:", 1)[1]
    lines = []
    for line in text.splitlines():
        speaker, _, said = line.partition(":")
        if speaker.strip().lower() in ("callee", "user", "human") and said.strip():
            lines.append(said.strip())
    return lines


def respond(messages: Sequence[BaseMessage]) -> AIMessage:
    lines = _callee_lines(messages)
    outcome: Outcome = "partial"
    quote = ""
    for candidate, pattern in _RULES:
        hit = next((line for line in lines if pattern.search(line)), None)
        if hit is not None:
            outcome, quote = candidate, hit
            break
    if not lines:
        outcome = "technical_failure"
    args: dict[str, Any] = {
        "outcome": outcome,
        "goal_achieved": outcome == "achieved",
        "summary": f"Rehearsal analysis by keyword rules: {outcome.replace('_', ' ')}.",
        "facts": [{"name": "callee said", "value": quote, "quote": quote}] if quote else [],
        "callback_phrase": quote if outcome == "callback_requested" else None,
        "proposed_next_step": _NEXT.get(outcome, "retry_at"),
        "confidence": 0.7 if quote else 0.3,
    }
    return AIMessage(
        content="",
        tool_calls=[{"name": "AnalyzerOutput", "args": args, "id": "rehearsal-analysis"}],
    )
