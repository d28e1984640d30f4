"""One transcript writer per media process: every live call's turns, in few transactions.

A bridge hands each turn over with `write()`, which never waits: the event pump (audio,
barge-in) must not wait for the database. One task drains a bounded queue. It writes as soon as a
turn is queued and batches only what arrived while the previous write ran, so a crash loses at
most what is queued. A batch is stored with one transaction per user (`db.scope`, so every
statement stays scoped by `user_id`), each call's turns appended in the order they were said.

One writer rather than one per call: with a task and a transaction per turn per call, a loaded
node emptied its connection pool and SQLite answered "database is locked" to arriving calls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import NamedTuple, Protocol

from core.db import Database, rerun_if_connection_lost, utcnow
from core.domain import TranscriptTurn, TurnRole
from core.logging import get_logger

log = get_logger("opendeep.media.transcripts")

QUEUE_TURNS = 5000  # many seconds of turns from hundreds of calls; beyond it turns are dropped
BATCH_TURNS = 100  # reached only by a backlog, which is then worked off in pieces
WRITE_TIMEOUT_S = 30.0  # one batch, fallbacks included
CLOSE_TIMEOUT_S = 5.0


class Turn(NamedTuple):
    user_id: int
    call_id: int
    role: TurnRole
    text: str
    at: dt.datetime  # when it was handed over: a busy database must not shift the timeline


CallTurns = dict[int, list[TranscriptTurn]]  # call id → its turns, in order


class TurnSink(Protocol):
    """Where a bridge hands its call's turns: the process's `TranscriptWriter`, or the node's
    over its local channel in a media worker (`media.worker_process`)."""

    def write(self, user_id: int, call_id: int, role: TurnRole, text: str) -> bool: ...

    async def flush(self, call_id: int | None = None, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Wait (bounded) until the call's turns handed over so far are stored."""
        ...


class TranscriptWriter:
    """`start()`; `write(...)` from any bridge; `flush(call_id)`; `aclose()` at shutdown."""

    def __init__(
        self,
        db: Database,
        *,
        max_queued: int = QUEUE_TURNS,
        batch_limit: int = BATCH_TURNS,
        write_timeout_s: float = WRITE_TIMEOUT_S,
    ) -> None:
        self._db = db
        self._batch_limit = batch_limit
        self._write_timeout_s = write_timeout_s
        self._queue: asyncio.Queue[tuple[int, Turn]] = asyncio.Queue(max_queued)
        self._task: asyncio.Task[None] | None = None
        # Turns are numbered as they are queued and handled in that order, so "every turn up to
        # number n is handled" is one integer, and a call's flush waits for its last number.
        self._queued_seq = 0
        self._done_seq = 0
        self._last_of_call: dict[int, int] = {}  # calls with turns not yet handled
        self._progress = asyncio.Event()  # replaced after each batch; set wakes the flushes

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the writing task unless it runs already (needs a running event loop)."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="transcript-writer")

    def write(self, user_id: int, call_id: int, role: TurnRole, text: str) -> bool:
        """Queue one turn; never waits. When the queue is full the turn is dropped, an error
        logged, and False returned."""
        seq = self._queued_seq + 1
        try:
            self._queue.put_nowait((seq, Turn(user_id, call_id, role, text, utcnow())))
        except asyncio.QueueFull:
            log.error(
                "transcript writer behind; turn dropped",
                user_id=user_id,
                call_id=call_id,
                role=role,
                queued=self._queue.qsize(),
            )
            return False
        self._queued_seq = seq
        self._last_of_call[call_id] = seq
        return True

    async def flush(self, call_id: int | None = None, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Wait until the turns queued so far for `call_id` (None: for every call) are handled:
        stored, or given up on with an error logged. False when that did not happen within
        `timeout_s`, or cannot because the writer is not running."""
        target = self._queued_seq if call_id is None else self._last_of_call.get(call_id, 0)
        try:
            async with asyncio.timeout(timeout_s):
                while self._done_seq < target and self.running:
                    await self._progress.wait()
        except TimeoutError:
            return False
        return self._done_seq >= target

    async def aclose(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Store what is queued (for at most `timeout_s`), then stop the task. Turns still
        unstored then are dropped and counted in an error log."""
        await self.flush(None, timeout_s)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        lost = self._queued_seq - self._done_seq
        if lost:
            log.error("transcript writer closed; turns not stored", turns=lost, timeout_s=timeout_s)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._handled(self._queued_seq)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_limit and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            turns = [turn for _, turn in batch]
            try:
                async with asyncio.timeout(self._write_timeout_s):
                    await self._store(turns)
            except Exception:  # a timeout, or a bug: the writer must outlive one bad batch
                log.exception(
                    "transcript turns not stored",
                    turns=len(turns),
                    call_ids=sorted({t.call_id for t in turns}),
                )
            self._handled(batch[-1][0])

    async def _store(self, turns: list[Turn]) -> None:
        by_user: dict[int, CallTurns] = {}
        for t in turns:
            by_user.setdefault(t.user_id, {}).setdefault(t.call_id, []).append(
                TranscriptTurn(role=t.role, text=t.text, at=t.at)
            )
        for user_id, calls in by_user.items():
            await self._store_user(user_id, calls)

    async def _store_user(self, user_id: int, calls: CallTurns) -> None:
        async def append() -> None:
            async with self._db.scope(user_id) as s:
                for call_id, call_turns in calls.items():
                    await s.calls.append_turns(call_id, call_turns)

        try:
            # A database restart kills the transaction under way: run it again rather than
            # lose the turns (a turn stored twice is the lesser harm).
            await rerun_if_connection_lost(append, "transcript turns")
            return
        except Exception:
            if len(calls) == 1:
                ((call_id, call_turns),) = calls.items()
                log.exception(
                    "transcript turns not stored",
                    user_id=user_id,
                    call_id=call_id,
                    turns=len(call_turns),
                )
                return
        # One bad call must not cost the user's other calls their turns: one transaction each.
        for call_id, call_turns in calls.items():
            await self._store_user(user_id, {call_id: call_turns})

    def _handled(self, seq: int) -> None:
        """Every turn up to `seq` is stored or given up on: wake the flushes waiting for it."""
        self._done_seq = seq
        self._last_of_call = {c: s for c, s in self._last_of_call.items() if s > seq}
        progress, self._progress = self._progress, asyncio.Event()
        progress.set()
