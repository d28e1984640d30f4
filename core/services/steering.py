"""The owner steering a call in progress: a note to its voice agent, in their own words, or
*Call me in* (the call is handed over to them: their phone rings, the agent briefs them, and
the PBX bridges them with the callee).

A note takes the road a live question's answer takes: it is written on a `feedback_requests`
row (kind `owner_note`, stored answered), and the call's bridge, which polls its call's notes
(`media.call_store.CallStore.undelivered_notes`), hands it to the voice agent and marks it
delivered — so a note reaches the call on whichever node carries it, within a poll interval.
A take-over request travels the same road (kind `take_over`); the call's conversation takes
it as its TakeOver input.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from core.db import Database, utcnow
from core.domain import AuditAction, AuditDetail, CallState, FeedbackKind
from core.services.errors import ServiceError

MAX_NOTE_LEN: Final = 500
SENT: Final = (
    "Note sent: the agent gets it within a second and follows it from its next turn. "
    "It shows in the transcript as your note once delivered."
)


TAKE_OVER_REASON: Final = "the owner asked to take the call over"
CALLING_YOU: Final = (
    "Calling you in: your phone rings in a few seconds. The agent tells the caller it is "
    "connecting them, briefs you when you answer, then leaves you two on the line."
)
NO_PHONE: Final = "set your phone number in Settings first: that is where the call rings"


@dataclass(frozen=True, slots=True)
class NoteSent:
    note_id: int
    call_id: int
    message: str


def note_text(text: str) -> str:
    """The note as it is stored and sent: one line, spaces collapsed; `ServiceError` when it
    is empty or too long."""
    note = " ".join(text.split())
    if not note:
        raise ServiceError("write a note first")
    if len(note) > MAX_NOTE_LEN:
        raise ServiceError(f"the note is {len(note)} characters; keep it under {MAX_NOTE_LEN}")
    return note


async def send_note(
    db: Database, user_id: int, call_id: int, text: str, *, now: dt.datetime | None = None
) -> NoteSent:
    """Send a note to the agent of one of the user's calls that has not ended.

    Raises `NotFound` for a call that is not the user's (the same as one that does not exist),
    and `ServiceError` for an empty or long note or a call that has ended. The note and its
    audit event are written in one transaction.
    """
    note = note_text(text)
    now = now or utcnow()
    async with db.scope(user_id) as s:
        call = await s.calls.require(call_id)
        if call.state is CallState.ENDED:
            raise ServiceError("the call has ended; the note was not sent")
        item = await s.feedback.add_note(call_id, note, at=now)
        await s.audit.record(
            AuditAction.NOTE_SENT, f"call {call_id}", AuditDetail(text=note), at=now
        )
    return NoteSent(item.id, call_id, SENT)


async def take_over(
    db: Database, user_id: int, call_id: int, *, now: dt.datetime | None = None
) -> NoteSent:
    """Ask for one of the user's calls that has not ended to be handed over to them (*Call me
    in*). Raises `NotFound` for a call that is not the user's, `ServiceError` for a call that
    has ended or a user without a phone number. The request and its audit event are written
    in one transaction."""
    now = now or utcnow()
    async with db.scope(user_id) as s:
        await s.calls.require(call_id)  # another user's call: NotFound, before anything else
    async with db.users() as users:
        profile = await users.profile(user_id)
    if profile is None or not profile.owner_phone:
        raise ServiceError(NO_PHONE)
    async with db.scope(user_id) as s:
        call = await s.calls.require(call_id)
        if call.state is CallState.ENDED:
            raise ServiceError("the call has ended; nobody was called in")
        item = await s.feedback.add_note(
            call_id, TAKE_OVER_REASON, at=now, kind=FeedbackKind.TAKE_OVER
        )
        await s.audit.record(
            AuditAction.TAKE_OVER_REQUESTED,
            f"call {call_id}",
            AuditDetail(text=TAKE_OVER_REASON),
            at=now,
        )
    return NoteSent(item.id, call_id, CALLING_YOU)
