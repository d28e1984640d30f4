"""What the UI needs from the chat assistant and the orchestrator, as a small interface.

The graphs implement it; until they are wired in, `NotConfigured` answers every turn with a
clear message, and plans cannot be submitted.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from core.services.errors import ServiceError
from core.services.plans import PlanView

_THREAD_RE = re.compile(r"^user:(?P<user>\d+):chat:[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True, slots=True)
class AssistantText:
    """A piece of the assistant's reply, to append to what was streamed so far."""

    text: str


@dataclass(frozen=True, slots=True)
class AssistantPlan:
    """The assistant proposes a campaign plan for the owner to confirm."""

    plan: PlanView


ChatEvent = AssistantText | AssistantPlan


class ChatAssistant(Protocol):
    configured: bool
    notice: str  # shown above the chat when not empty (e.g. "this is a rehearsal")

    def chat_turn(self, user_id: int, thread: str, message: str) -> AsyncIterator[ChatEvent]:
        """Stream the assistant's answer to one message of the owner on a chat thread."""
        ...

    async def submit_plan(self, user_id: int, thread: str, plan: PlanView) -> int:
        """Send a confirmed plan to the orchestrator; returns the plan-approval item's id."""
        ...


class NotConfigured:
    """The assistant of a build (or node) where the chat graphs are not wired in."""

    configured = False
    notice = message = (
        "The assistant is not configured on this server yet, so it cannot plan campaigns. "
        "Everything else works: follow campaigns, answer approvals and live-call questions, "
        "and keep your Do-Not-Call list and settings."
    )

    async def chat_turn(self, user_id: int, thread: str, message: str) -> AsyncIterator[ChatEvent]:
        yield AssistantText(self.message)

    async def submit_plan(self, user_id: int, thread: str, plan: PlanView) -> int:
        raise ServiceError("the orchestrator is not configured on this server")


def new_chat_thread(user_id: int) -> str:
    """A fresh chat conversation of this user, `user:<id>:chat:<random>`.

    It names no database: the graphs run it on a thread of the database they work on, whose
    id is this one with that database's installation id in front (`inst:<id>:`), so a
    conversation held by a browser never reaches another database's checkpoints.
    """
    return f"user:{user_id}:chat:{secrets.token_urlsafe(12)}"


def check_chat_thread(user_id: int, thread: str) -> str:
    """`thread` if it is one of this user's chat threads; `ServiceError` otherwise."""
    match = _THREAD_RE.match(thread or "")
    if match is None or int(match["user"]) != user_id:
        raise ServiceError("this conversation does not belong to you; start a new one")
    return thread
