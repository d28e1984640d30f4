"""The owners' notes to the calls a process carries, read for all of them at once.

An owner's note to the agent of a live call is a row (`feedback_requests`, kind `owner_note`;
*Call me in* is one of kind `take_over`, read and handed over the same way),
written by whichever node's UI the owner uses, so the database is the truth and is read. One
task per process reads the undelivered notes of every call it watches in one query every
`poll_s` (each call's notes from its own user only), and hands each new note to the call it is
for. A query per call and poll instead made the database the media path's bottleneck: at 50
calls, 100 reads a second kept the pool busy enough that arriving calls could not be resolved
to their rows in time.

A note is handed over until the call takes it (its input queue may be full for a moment);
the call marks it delivered in the database, after which it is not read again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.db import Database
from core.domain import FeedbackAnswer, FeedbackKind
from core.logging import get_logger

log = get_logger("opendeep.media.notes")

POLL_S = 0.5  # how soon a note reaches its call, at most (plus one read)
READ_TIMEOUT_S = 5.0

# Hands a note or a take-over request (its id, the owner's words, which of the two) to a call;
# False when the call could not take it now.
Deliver = Callable[[int, str, FeedbackKind], bool]


class NoteSource(Protocol):
    """Where a bridge's owner's notes come from: the process's `NoteBoard`, or the node's over
    its local channel in a media worker (`media.worker_process`)."""

    def watch(self, user_id: int, call_id: int, deliver: Deliver) -> Callable[[], None]: ...


@dataclass(slots=True)
class _Watch:
    deliver: Deliver
    offered: set[int] = field(default_factory=set)


class NoteBoard:
    def __init__(self, db: Database, *, poll_s: float = POLL_S) -> None:
        self._db = db
        self._poll_s = poll_s
        self._watches: dict[tuple[int, int], _Watch] = {}
        self._task: asyncio.Task[None] | None = None
        self.reads = 0  # queries made (the benchmark and tests read it)

    def watch(self, user_id: int, call_id: int, deliver: Deliver) -> Callable[[], None]:
        """Hand the notes to `call_id` (of `user_id`) to `deliver` from now on; the function
        returned stops that."""
        key = (user_id, call_id)
        watch = self._watches[key] = _Watch(deliver)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="owner-notes")

        def unwatch() -> None:
            if self._watches.get(key) is watch:
                del self._watches[key]

        return unwatch

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        failing = False
        while True:
            if self._watches:
                try:
                    await self._read_once()
                except Exception as exc:
                    if not failing:  # once per outage, not every poll
                        log.warning("could not read the owners' notes", error=repr(exc))
                    failing = True
                else:
                    failing = False
            await asyncio.sleep(self._poll_s)

    async def _read_once(self) -> None:
        calls = list(self._watches)
        async with asyncio.timeout(READ_TIMEOUT_S), self._db.system() as system:
            rows = await system.undelivered_notes(calls)
        self.reads += 1
        for row in rows:
            if row.call_id is None:
                continue
            watch = self._watches.get((row.user_id, row.call_id))
            if watch is None or row.id in watch.offered:
                continue
            words = FeedbackAnswer.words_in(row.answer)
            if words and watch.deliver(row.id, words, row.kind):
                watch.offered.add(row.id)
