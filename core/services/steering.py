"""The owner steering a call in progress: a note to its voice agent, in their own words.

A note takes the road a live question's answer takes: it is written on a `feedback_requests`
row (kind `owner_note`, stored answered), and the call's bridge, which polls its call's notes
(`media.call_store.CallStore.undelivered_notes`), hands it to the voice agent and marks it
delivered — so a note reaches the call on whichever node carries it, within a poll interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from core.db import Database, utcnow
from core.domain import AuditAction, AuditDetail, CallState
from core.services.errors import ServiceError

MAX_NOTE_LEN: Final = 500
SENT: Final = (
    "Note sent: the agent gets it within a second and follows it from its next turn. "
    "It shows in the transcript as your note once delivered."
)


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
