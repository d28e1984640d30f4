"""Prewarmed Realtime sessions: opened while a call's phone rings, handed to its bridge at
answer, closed when the call is not answered — the I/O around `media.prewarm_machine`.

The node calls `prewarm(uuid, unused_after_s)` once the call's Originate is out and `discard`
once the call has ended; the call's bridge calls `take(uuid)` when it would connect (the
opening under way, if any, is waited for: it started before a new one could). Every session
this opens is handed to a bridge or closed: by `discard`, by its bound, or by `aclose` at
shutdown. An opening that fails leaves the bridge to connect at answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from core.db import Database
from core.logging import get_logger
from core.settings import Settings
from media.call_script import ScriptWriter
from media.call_store import CallStore
from media.prewarm_machine import (
    CancelExpiry,
    Close,
    Command,
    ConnectAtAnswer,
    Dialled,
    Expired,
    HandOver,
    Input,
    Open,
    Opened,
    OpenFailed,
    PrewarmCounts,
    PrewarmMachine,
    SetExpiry,
    ShuttingDown,
    Unneeded,
    Wanted,
)
from media.realtime_client import RealtimeClient, RealtimeConfigError, RealtimeConnectionError
from media.realtime_session import RealtimeFactory, open_session, session_config

log = get_logger("opendeep.media.prewarm")

STORE_TIMEOUT_S = 10.0  # reading the call's brief
CLOSE_WAIT_S = 10.0  # shutdown: how long the sessions still closing are waited for


@dataclass(frozen=True, slots=True)
class Prewarmed:
    """An open, configured Realtime session of one call, and what it was configured with."""

    client: RealtimeClient
    instructions: str
    respond_to_turns: bool


SessionOpener = Callable[[str], Awaitable[Prewarmed]]
"""Opens and configures the session of the call with this UUID; raises when it cannot, and
closes whatever it had opened when it fails or is cancelled."""


class PrewarmSource(Protocol):
    """What a bridge asks for its call's session (`Prewarmer.take`)."""

    async def take(self, call_uuid: str) -> Prewarmed | None: ...


def call_session_opener(
    db: Database, settings: Settings, script: ScriptWriter, realtime: RealtimeFactory
) -> SessionOpener:
    """Opens a call's session the way its bridge would at answer: its script's instructions,
    tools and turn-taking, the callee's turns left to the conversation (a person's "Hello?" is
    answered by the greeting; the bridge turns the server's answers on for a machine)."""

    async def open_call_session(call_uuid: str) -> Prewarmed:
        async with asyncio.timeout(STORE_TIMEOUT_S):
            store = await CallStore.for_uuid(db, settings, uuid.UUID(call_uuid))
            if store is None:
                raise LookupError(f"no call {call_uuid} in the database")
            brief = await store.brief()
        written = script(brief)
        config = session_config(written, settings, instructions=written.instructions, respond=False)
        client = await open_session(realtime, config)
        return Prewarmed(client, written.instructions, respond_to_turns=False)

    return open_call_session


class Prewarmer:
    """The prewarmed sessions of one node's calls (see the module's docstring)."""

    def __init__(self, open_session: SessionOpener) -> None:
        self._open_session = open_session
        self._machine = PrewarmMachine(logger=log)
        self._openers: dict[str, asyncio.Task[None]] = {}
        self._ready: dict[str, Prewarmed] = {}
        self._waiters: dict[str, asyncio.Future[Prewarmed | None]] = {}
        self._expiries: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def counts(self) -> PrewarmCounts:
        """Sessions opened, used, closed unused, … since the start (a leak shows in
        `open_now` and `opening_now` once the calls have ended)."""
        return self._machine.counts

    def prewarm(self, call_uuid: str, unused_after_s: float) -> None:
        """Open the call's session now (its Originate is out); closed unused after
        `unused_after_s` unless the call's bridge takes it first."""
        self._feed(Dialled(_key(call_uuid), round(unused_after_s * 1000)))

    async def take(self, call_uuid: str) -> Prewarmed | None:
        """The call's prewarmed session (once), after the opening under way if there is one;
        None when there is none: the bridge connects itself."""
        key = _key(call_uuid)
        if key in self._waiters:
            return None  # another bridge of this call waits already: one session per call
        waiter: asyncio.Future[Prewarmed | None] = asyncio.get_running_loop().create_future()
        self._waiters[key] = waiter
        self._feed(Wanted(key))
        try:
            return await waiter
        except asyncio.CancelledError:
            if self._waiters.get(key) is waiter:
                del self._waiters[key]
            if waiter.done() and not waiter.cancelled() and (got := waiter.result()) is not None:
                self._close_later(got.client)  # handed over just as the bridge went away
            else:
                self._feed(Unneeded(key, "the call's bridge stopped waiting for it"))
            raise

    def discard(self, call_uuid: str, why: str) -> None:
        """No call will use the session any more (the call ended, answered or not): close it
        if it is still prewarmed."""
        self._feed(Unneeded(_key(call_uuid), why))

    async def aclose(self) -> None:
        """Close every session still prewarmed and wait (bounded) until they are closed."""
        self._feed(ShuttingDown())
        pending = [*self._closing, *self._openers.values()]
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_WAIT_S)
        still = sum(1 for task in pending if not task.done())
        if still:
            log.warning("prewarm.close_timeout", still_closing=still, timeout_s=CLOSE_WAIT_S)
        log.info("prewarm.stopped", **self.counts.to_json())

    # --- carrying out the machine's commands -------------------------------------------------

    def _feed(self, event: Input) -> None:
        for command in self._machine.handle(event):
            self._execute(command)

    def _execute(self, command: Command) -> None:
        match command:
            case Open(call_uuid=key):
                task = asyncio.create_task(self._open(key), name=f"prewarm-{key}")
                self._openers[key] = task
            case SetExpiry(call_uuid=key, delay_ms=delay_ms, token=token):
                self._cancel_expiry(key)
                self._expiries[key] = asyncio.get_running_loop().call_later(
                    delay_ms / 1000, self._feed, Expired(key, token)
                )
            case CancelExpiry(call_uuid=key):
                self._cancel_expiry(key)
            case HandOver(call_uuid=key):
                session = self._ready.pop(key)
                waiter = self._waiters.pop(key, None)
                if waiter is None or waiter.done():
                    self._close_later(session.client)  # nobody to take it after all
                else:
                    waiter.set_result(session)
            case ConnectAtAnswer(call_uuid=key):
                waiter = self._waiters.pop(key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            case Close(call_uuid=key):
                opener = self._openers.pop(key, None)
                if opener is not None:
                    opener.cancel()  # the opener closes what it had opened
                    self._track(opener)
                unused = self._ready.pop(key, None)
                if unused is not None:
                    self._close_later(unused.client)

    async def _open(self, key: str) -> None:
        started = time.monotonic()
        try:
            session = await self._open_session(key)
        except asyncio.CancelledError:
            raise  # abandoned by `Close`: the machine knows, the opener closed its client
        except Exception as exc:
            if not isinstance(exc, RealtimeConnectionError | RealtimeConfigError | TimeoutError):
                log.exception("prewarm.open_crashed", call_uuid=key)
            self._openers.pop(key, None)
            self._feed(OpenFailed(key, str(exc) or type(exc).__name__))
            return
        self._openers.pop(key, None)
        self._ready[key] = session
        log.info("prewarm.opened", call_uuid=key, opened_in_ms=round(_ms_since(started)))
        self._feed(Opened(key))

    def _cancel_expiry(self, key: str) -> None:
        handle = self._expiries.pop(key, None)
        if handle is not None:
            handle.cancel()

    def _close_later(self, client: RealtimeClient) -> None:
        self._track(asyncio.create_task(client.close(), name="prewarm-close"))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._closing.add(task)
        task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("prewarm.close_failed", exc_info=exc)


def _key(call_uuid: str | uuid.UUID) -> str:
    return str(call_uuid if isinstance(call_uuid, uuid.UUID) else uuid.UUID(call_uuid))


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
