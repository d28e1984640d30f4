"""A note to a live call's agent, as the Live calls tab sends it: stored answered for the call's
bridge to read (never in the inbox), audited with the owner's words, refused for a call that is
someone else's, has ended, or for an empty or long note."""

from __future__ import annotations

import datetime as dt

import pytest

from core.db import Database, NotFound
from core.domain import AuditAction, CallState, FeedbackKind, FeedbackStatus
from core.services import (
    MAX_NOTE_LEN,
    ServiceError,
    audit_trail,
    inbox,
    send_note,
    take_over,
)
from tests.kit import make_call

AT = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)


async def test_a_note_is_stored_for_the_bridge_and_audited(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    call = await make_call(db, alice, state=CallState.ANSWERED)
    sent = await send_note(db, alice, call.id, "  Offer Wednesday\n instead.  ", now=AT)
    assert sent.call_id == call.id and "Note sent" in sent.message
    async with db.scope(alice) as s:
        [note] = await s.feedback.undelivered_notes(call.id)
        assert note.id == sent.note_id
        assert (note.kind, note.status) == (FeedbackKind.OWNER_NOTE, FeedbackStatus.ANSWERED)
        assert note.answer == {"text": "Offer Wednesday instead."}
        assert note.task_id == call.task_id and note.answered_at == AT
        await s.feedback.mark_applied(note.id, "delivered")
        assert await s.feedback.undelivered_notes(call.id) == []
    assert await inbox(db, alice) == []  # a note asks the owner nothing
    [event] = await audit_trail(db, alice)
    assert (event.action, event.subject, event.at) == (AuditAction.NOTE_SENT, f"call {call.id}", AT)
    assert event.action_label == "sent a note to a live call"
    assert event.detail == (("Said", "Offer Wednesday instead."),)


async def test_a_note_while_the_phone_rings_waits_for_the_call(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    call = await make_call(db, alice, state=CallState.RINGING)
    await send_note(db, alice, call.id, "Mention the referral.")
    async with db.scope(alice) as s:
        assert len(await s.feedback.undelivered_notes(call.id)) == 1


async def test_another_users_call_is_not_found_and_nothing_is_stored(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    call = await make_call(db, alice, state=CallState.ANSWERED)
    with pytest.raises(NotFound):
        await send_note(db, bob, call.id, "Hang up now.")
    with pytest.raises(NotFound):
        await send_note(db, bob, call.id + 1000, "Hang up now.")
    async with db.scope(alice) as s:
        assert await s.feedback.undelivered_notes(call.id) == []
    async with db.scope(bob) as s:
        assert await s.feedback.undelivered_notes(call.id) == []
    assert await audit_trail(db, alice) == [] and await audit_trail(db, bob) == []


@pytest.mark.parametrize(
    ("text", "state", "problem"),
    [
        ("   ", CallState.ANSWERED, "write a note first"),
        ("x" * (MAX_NOTE_LEN + 1), CallState.ANSWERED, f"keep it under {MAX_NOTE_LEN}"),
        ("Offer Wednesday.", CallState.ENDED, "the call has ended"),
    ],
)
async def test_a_note_that_cannot_go_says_why(
    db: Database, two_users: tuple[int, int], text: str, state: CallState, problem: str
) -> None:
    alice, _ = two_users
    call = await make_call(db, alice, state=state)
    with pytest.raises(ServiceError, match=problem):
        await send_note(db, alice, call.id, text)
    async with db.scope(alice) as s:
        assert await s.feedback.undelivered_notes(call.id) == []
    assert await audit_trail(db, alice) == []


async def test_call_me_in_is_stored_for_the_board_and_audited(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    call = await make_call(db, alice, state=CallState.ANSWERED)
    with pytest.raises(ServiceError, match="phone number"):
        await take_over(db, alice, call.id, now=AT)
    for user in (alice, bob):
        async with db.users() as users:
            await users.set_owner_phone(user, "+12125550115")
    # Bob, with a phone of his own, cannot have Alice's call handed to him.
    with pytest.raises(NotFound):
        await take_over(db, bob, call.id, now=AT)
    sent = await take_over(db, alice, call.id, now=AT)
    assert sent.call_id == call.id and "Calling you in" in sent.message
    async with db.system() as system:
        [item] = await system.undelivered_notes([(alice, call.id), (bob, call.id)])
    assert item.id == sent.note_id and item.user_id == alice
    assert (item.kind, item.status) == (FeedbackKind.TAKE_OVER, FeedbackStatus.ANSWERED)
    assert await inbox(db, alice) == []
    [event] = await audit_trail(db, alice)
    assert (event.action, event.at) == (AuditAction.TAKE_OVER_REQUESTED, AT)
    assert event.action_label == "asked to be called in to a live call"
    assert await audit_trail(db, bob) == []
    ended = await make_call(db, alice, state=CallState.ENDED)
    with pytest.raises(ServiceError, match="ended"):
        await take_over(db, alice, ended.id)
