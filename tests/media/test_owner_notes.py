"""The owners' notes reach the calls of a process through one read per poll, whatever the
number of calls: each new note to the call it is for, once it took it, never another user's
note, and none once the call stopped watching."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from core.db import Database
from core.db.models import FeedbackRequest
from core.domain import CallState, FeedbackKind, FeedbackStatus
from core.services import send_note, take_over
from media.owner_notes import NoteBoard
from tests.kit import make_call, until

POLL_S = 0.02


async def write_row_no_service_writes(db: Database, row: FeedbackRequest) -> None:
    """Insert `row` as it is, past the repositories' checks (which refuse it)."""
    engine = create_async_engine(db.url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            session.add(row)
    finally:
        await engine.dispose()


async def test_every_calls_notes_come_from_one_read_per_poll(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    calls = [await make_call(db, alice, state=CallState.ANSWERED) for _ in range(5)]
    bobs = await make_call(db, bob, state=CallState.ANSWERED)
    got: dict[int, list[str]] = {c.id: [] for c in [*calls, bobs]}
    board = NoteBoard(db, poll_s=POLL_S)

    def to(call_id: int) -> Callable[[int, str, FeedbackKind], bool]:
        def deliver(note_id: int, text: str, kind: FeedbackKind) -> bool:
            got[call_id].append(text)
            return True

        return deliver

    stops = [board.watch(alice, c.id, to(c.id)) for c in calls]
    board.watch(bob, bobs.id, to(bobs.id))
    try:
        await send_note(db, alice, calls[0].id, "Offer Wednesday instead.")
        await send_note(db, alice, calls[3].id, "Ask about insurance.")
        await send_note(db, bob, bobs.id, "Bob's own note.")
        # A row naming Alice's call but written for Bob (a forged or broken row): not Alice's.
        await write_row_no_service_writes(
            db,
            FeedbackRequest(
                user_id=bob,
                kind=FeedbackKind.OWNER_NOTE,
                status=FeedbackStatus.ANSWERED,
                question="",
                payload={},
                answer={"text": "Forged: hang up now."},
                call_id=calls[1].id,
            ),
        )
        await until(lambda: got[calls[3].id] and got[bobs.id], 5, "the notes to arrive")
        reads_then = board.reads
        await until(lambda: board.reads >= reads_then + 5, 5, "five more reads")
        # Each note once (they stay undelivered in the database: no bridge marked them).
        assert got == {
            calls[0].id: ["Offer Wednesday instead."],
            calls[1].id: [],
            calls[2].id: [],
            calls[3].id: ["Ask about insurance."],
            calls[4].id: [],
            bobs.id: ["Bob's own note."],
        }
        # A call that stopped watching hears of no new note.
        stops[2]()
        await send_note(db, alice, calls[2].id, "Too late for this one.")
        await send_note(db, alice, calls[4].id, "Say goodbye.")
        await until(lambda: got[calls[4].id], 5, "the later note")
        reads_then = board.reads
        await until(lambda: board.reads >= reads_then + 2, 5, "two more reads")
        assert got[calls[2].id] == []
    finally:
        await board.aclose()


async def test_a_call_that_could_not_take_a_note_gets_it_on_the_next_read(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    call = await make_call(db, alice, state=CallState.ANSWERED)
    offers: list[str] = []
    board = NoteBoard(db, poll_s=POLL_S)

    def busy_once(note_id: int, text: str, kind: FeedbackKind) -> bool:
        offers.append(text)
        return len(offers) > 1  # the first time the call's queue was full

    board.watch(alice, call.id, busy_once)
    try:
        await send_note(db, alice, call.id, "Offer Wednesday instead.")
        await until(lambda: len(offers) == 2, 5, "the note offered again")
        reads_then = board.reads
        await until(lambda: board.reads >= reads_then + 3, 5, "three more reads")
        assert offers == ["Offer Wednesday instead."] * 2
    finally:
        await board.aclose()


async def test_no_calls_watched_no_reads(db: Database) -> None:
    board = NoteBoard(db, poll_s=POLL_S)
    stop = board.watch(1, 1, lambda note_id, text, kind: True)
    await until(lambda: board.reads >= 1, 5, "a read")
    stop()
    await asyncio.sleep(POLL_S * 2)  # a read under way when it stopped may still finish
    reads_then = board.reads
    await asyncio.sleep(POLL_S * 10)
    assert board.reads == reads_then
    await board.aclose()


async def test_call_me_in_reaches_the_call_as_a_take_over(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    call = await make_call(db, alice, state=CallState.ANSWERED)
    async with db.users() as users:
        await users.set_owner_phone(alice, "+12125550115")
    got: list[tuple[str, FeedbackKind]] = []

    def deliver(note_id: int, text: str, kind: FeedbackKind) -> bool:
        got.append((text, kind))
        return True

    board = NoteBoard(db, poll_s=POLL_S)
    board.watch(alice, call.id, deliver)
    try:
        await send_note(db, alice, call.id, "Offer Wednesday instead.")
        await take_over(db, alice, call.id)
        await until(lambda: len(got) == 2, 5, "the note and the request")
        assert got == [
            ("Offer Wednesday instead.", FeedbackKind.OWNER_NOTE),
            ("the owner asked to take the call over", FeedbackKind.TAKE_OVER),
        ]
    finally:
        await board.aclose()
