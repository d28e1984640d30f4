"""Several media worker processes per node: every core carries calls.

With more than one media worker (`MEDIA_WORKERS`: 0, the default, is one per core) the node's
media part is this one: it starts that many `media.worker_process` processes, each with its own
event loop, frame clock and AudioSocket server, and keeps everything else — AMI, the scheduler,
the database, the UI — in the node's own process. (`MEDIA_WORKERS=1`, or a one-core machine,
keeps the media path in the node's own event loop: `media.bridge_registry.MediaPart`.)

**One port per worker, chosen per call.** Worker i listens on `AUDIOSOCKET_PORT + i`. The node
picks the worker of each call when it expects it (the one carrying the fewest calls) and the
Originate carries that worker's address in `OPENDEEP_AUDIOSOCKET`, the channel variable the
dialplan already connects to — no dialplan change. Not `SO_REUSEPORT` on one port: the kernel
would hash each connection to a worker the node cannot know in advance, while a call's Realtime
session is prewarmed while its phone rings, in the one process that will carry the call; with
a hashed port every worker would have to prewarm every call (N sessions opened, N−1 closed
unused), or the prewarming would be lost. Choosing also balances by calls carried, not by hash.

**What travels between node and worker** (`media.worker_messages`, a Unix socket pair): the
node tells the chosen worker to expect the call; once the Originate is out it reads the call's
brief (`CallStore.brief`) and, with prewarming on, sends it to open the session. When the
AudioSocket connects, the worker asks for the brief, which the node answers from memory with the
AMD verdict telephony heard — no arriving call waits on a database pool. The bridge's reads and
writes of its call's row, its transcript turns, hang-up and keys over AMI, the owners' notes
(one `NoteBoard` read for all calls of the node) and answers all go through the node.

**A worker that dies** ends only its own calls: each is marked a technical failure ("the media
worker carrying the call stopped"), hung up over AMI, and retried by the normal retry rules; the
calls it was still expecting are handed to its replacement, which the node starts at once.

Listening in from the UI (`media.listen`): the node keeps a line for each call its workers
carry; while someone listens, the call's worker sends its line's mix (the records listeners read)
and the node hands them on. Nobody listening, nothing is mixed or sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.db import Database
from core.domain import FeedbackKind
from core.logging import get_logger
from core.settings import Settings
from media.call_script import CallBrief, ScriptWriter
from media.call_store import CallStore
from media.call_tools import CallActions
from media.conversation import ConversationResult
from media.listen import CallLine, CallLines, decode_records
from media.owner_notes import Deliver, NoteBoard
from media.prewarm_machine import PrewarmCounts
from media.realtime_client import RealtimeClientFactory
from media.transcript_writer import TranscriptWriter
from media.voice_check import VoiceCheck
from media.worker_messages import (
    CallEnded,
    Channel,
    ChannelClosed,
    Expect,
    FiguresWanted,
    Forget,
    LineAudio,
    Listen,
    Listening,
    Measure,
    Note,
    Prewarm,
    Reply,
    Request,
    Stop,
    Turn,
    WatchNotes,
    WorkerConfig,
    WorkerFigures,
)

log = get_logger("opendeep.media.workers")

START_TIMEOUT_S = 60.0  # a worker's start: the interpreter, the imports, the port bound
STOP_TIMEOUT_S = 10.0
RESTART_DELAY_S = 0.5
BRIEF_TIMEOUT_S = 10.0
WORKER_STOPPED = "the media worker carrying the call stopped"
# What a worker may ask of the call's row (`CallStore`'s methods of those names).
STORE_OPS = frozenset(
    {
        "transcript_text",
        "add_fact",
        "set_voice_activity",
        "mark",
        "set_voice",
        "ask_owner",
        "mark_note",
        "wait_answer",
    }
)


class CallEnd(Protocol):
    """How a call's conversation ended, once `finished` is set (a `RealtimeBridge`, or a
    worker's call as the node follows it)."""

    finished: asyncio.Event

    @property
    def result(self) -> ConversationResult: ...


class CallMedia(Protocol):
    """What the attempt runner asks of the media part for each call it places: the in-process
    `BridgeRegistry`, or `MediaWorkers`."""

    def expect(self, call_uuid: str) -> None: ...

    def audiosocket_address(self, call_uuid: str) -> str: ...

    def prewarm(self, call_uuid: str, unused_after_s: float) -> None: ...

    def forget(self, call_uuid: str) -> None: ...

    def bridge(self, call_uuid: str) -> CallEnd | None: ...

    async def voice_problem(self) -> str | None: ...


@dataclass(slots=True)
class WorkerCall:
    """A call given to a worker, as the node follows it (`CallEnd` once it has arrived)."""

    call_uuid: str
    worker: int
    brief: asyncio.Task[CallBrief | None] | None = None
    prewarm_for_s: float | None = None
    arrived: bool = False
    line: CallLine | None = None  # for listening in, once the call has arrived
    listening: bool = False  # the worker sends the line's mix
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    ended: ConversationResult = field(default_factory=ConversationResult)

    @property
    def result(self) -> ConversationResult:
        return self.ended


class WorkerHandle:
    """One worker process and the node's end of its channel."""

    def __init__(self, index: int, port: int) -> None:
        self.index = index
        self.port = port  # 0 until a worker given port 0 says which it took
        self.process: asyncio.subprocess.Process | None = None
        self.channel: Channel | None = None
        self.ready = asyncio.Event()
        self.starts = 0
        self.notes: dict[tuple[int, int], Callable[[], None]] = {}
        self.figures: dict[int, asyncio.Future[WorkerFigures]] = {}

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def send(self, message: object) -> bool:
        """Send if the worker is up; False when it is not (it is told again at its restart)."""
        if self.channel is None or not self.ready.is_set():
            return False
        try:
            self.channel.send(message)
        except ChannelClosed:
            return False
        return True


class MediaWorkers:
    """The media part of a node with several media workers (see the module's docstring)."""

    name = "media"

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        script: ScriptWriter,
        workers: int,
        actions: CallActions | None = None,
        port: int | None = None,
        uvloop: bool | None = None,
    ) -> None:
        """`port`: the first worker's port (default `AUDIOSOCKET_PORT`; 0: each worker any free
        port). `uvloop`: run the workers on uvloop (default: `MEDIA_UVLOOP`)."""
        self._settings = settings
        self._db = db
        self._script = script
        self.actions = actions
        self._uvloop = settings.media_uvloop if uvloop is None else uvloop
        base = settings.audiosocket_port if port is None else port
        self.workers = [WorkerHandle(i, base + i if base else 0) for i in range(workers)]
        self.clients = RealtimeClientFactory.from_settings(settings)
        self._voice_check = VoiceCheck(self.clients)
        self._transcripts = TranscriptWriter(db)
        self.notes = NoteBoard(db)
        self.lines = CallLines()  # the lines of the workers' calls, for the UI's listeners
        self._calls: dict[str, WorkerCall] = {}
        self._supervisors: list[asyncio.Task[None]] = []
        self._requests: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._figure_ids = 0

    # --- the part ------------------------------------------------------------------------

    def describe(self) -> str:
        ports = ", ".join(str(w.port) for w in self.workers)
        host = self._settings.audiosocket_host
        loop = "uvloop" if self._uvloop else "asyncio"
        return f"AudioSocket on {host}, {len(self.workers)} media workers ({loop}), ports {ports}"

    @property
    def voice(self) -> str:
        return self.clients.voice

    async def voice_problem(self) -> str | None:
        return await self._voice_check.problem()

    @property
    def pids(self) -> list[int | None]:
        return [w.pid for w in self.workers]

    async def start(self) -> None:
        """Start every worker; raises when one is not listening within `START_TIMEOUT_S`."""
        self._stopping = False
        self._transcripts.start()
        self._supervisors = [
            asyncio.create_task(self._supervise(w), name=f"media-worker-{w.index}")
            for w in self.workers
        ]
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                for worker in self.workers:
                    await worker.ready.wait()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """End every call (each worker ends its own), stop the workers, flush the turns."""
        self._stopping = True
        for worker in self.workers:
            worker.send(Stop())
        processes = [w.process for w in self.workers if w.process is not None]
        if processes:
            waits = [asyncio.create_task(p.wait()) for p in processes]
            _, pending = await asyncio.wait(waits, timeout=STOP_TIMEOUT_S)
            for process in processes:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            if pending:
                await asyncio.wait(pending, timeout=STOP_TIMEOUT_S)
        for task in self._supervisors:
            task.cancel()
        await asyncio.gather(*self._supervisors, return_exceptions=True)
        self._supervisors = []
        for task in list(self._requests):
            task.cancel()
        await self.notes.aclose()
        await self._transcripts.aclose()
        await self.clients.aclose()

    # --- what the attempt runner asks (`CallMedia`) --------------------------------------

    def expect(self, call_uuid: str) -> None:
        """Give the call to the worker carrying the fewest calls, of those up (one restarting
        would refuse the connection), and have it expect it."""
        key = _key(call_uuid)
        load = [0] * len(self.workers)
        for call in self._calls.values():
            load[call.worker] += 1
        up = [w.index for w in self.workers if w.ready.is_set()] or range(len(self.workers))
        index = min(up, key=lambda i: (load[i], i))
        self._calls[key] = WorkerCall(key, index)
        self.workers[index].send(Expect(key))

    def audiosocket_address(self, call_uuid: str) -> str:
        """The address of the call's worker, for the Originate's `OPENDEEP_AUDIOSOCKET`."""
        call = self._calls.get(_key(call_uuid))
        port = self.workers[call.worker if call else 0].port
        host = self._settings.audiosocket_advertised_host or self._settings.audiosocket_host
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def prewarm(self, call_uuid: str, unused_after_s: float) -> None:
        """The Originate is out: read the call's brief now (the row exists), and with
        prewarming on have the call's worker open its session while the phone rings."""
        call = self._calls.get(_key(call_uuid))
        if call is None:
            return
        call.prewarm_for_s = unused_after_s if self._settings.realtime_prewarm else None
        self._prepare(call)

    def forget(self, call_uuid: str) -> None:
        key = _key(call_uuid)
        call = self._calls.pop(key, None)
        if call is None:
            return
        if call.brief is not None and not call.brief.done():
            call.brief.cancel()
        if call.line is not None:
            call.line.end()
        self.workers[call.worker].send(Forget(key))

    def bridge(self, call_uuid: str) -> WorkerCall | None:
        """The call once its AudioSocket has reached its worker (None before)."""
        call = self._calls.get(_key(call_uuid))
        return call if call is not None and call.arrived else None

    def worker_of(self, call_uuid: str) -> int | None:
        call = self._calls.get(_key(call_uuid))
        return call.worker if call is not None else None

    # --- the benchmark's figures ---------------------------------------------------------

    async def measure(self) -> None:
        """Have every worker record its event-loop lag from now on."""
        for worker in self.workers:
            worker.send(Measure())

    async def figures(self, *, drain: bool = True, timeout_s: float = 30.0) -> list[WorkerFigures]:
        """Each worker's figures (see `WorkerFigures`), in worker order."""
        futures: list[asyncio.Future[WorkerFigures]] = []
        for worker in self.workers:
            self._figure_ids += 1
            future: asyncio.Future[WorkerFigures] = asyncio.get_running_loop().create_future()
            worker.figures[self._figure_ids] = future
            futures.append(future)
            if not worker.send(FiguresWanted(self._figure_ids, drain)):
                future.set_result(WorkerFigures(self._figure_ids))
        async with asyncio.timeout(timeout_s):
            return list(await asyncio.gather(*futures))

    async def prewarm_counts(self) -> PrewarmCounts:
        """The sessions the workers prewarmed, added up (each worker's since its last start)."""
        figures = await self.figures(drain=False)
        return sum((f.prewarm for f in figures), PrewarmCounts())

    # --- preparing a call ----------------------------------------------------------------

    def _prepare(self, call: WorkerCall) -> asyncio.Task[CallBrief | None]:
        if call.brief is None:
            call.brief = asyncio.create_task(self._read_brief(call), name=f"brief-{call.call_uuid}")
        return call.brief

    async def _read_brief(self, call: WorkerCall) -> CallBrief | None:
        try:
            async with asyncio.timeout(BRIEF_TIMEOUT_S):
                store = await CallStore.for_uuid(
                    self._db, self._settings, uuid.UUID(call.call_uuid)
                )
                brief = await store.brief() if store is not None else None
        except Exception:
            log.exception("could not read the call's brief", call_uuid=call.call_uuid)
            return None
        if brief is not None and call.prewarm_for_s is not None:
            self.workers[call.worker].send(Prewarm(call.call_uuid, brief, call.prewarm_for_s))
        return brief

    # --- a worker's life -----------------------------------------------------------------

    async def _supervise(self, worker: WorkerHandle) -> None:
        while not self._stopping:
            try:
                await self._run_worker(worker)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("media worker failed", worker=worker.index)
            self._worker_gone(worker)
            if self._stopping:
                return
            await asyncio.sleep(RESTART_DELAY_S)

    async def _run_worker(self, worker: WorkerHandle) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        args = [sys.executable, "-m", "media.worker_process", "--fd", str(theirs.fileno())]
        if self._uvloop:
            args.append("--uvloop")
        try:
            worker.process = await asyncio.create_subprocess_exec(
                *args, pass_fds=(theirs.fileno(),)
            )
        finally:
            theirs.close()
        worker.starts += 1
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        channel = worker.channel = Channel(reader, writer)
        try:
            channel.send(
                WorkerConfig(
                    index=worker.index,
                    port=worker.port,
                    settings=self._settings,
                    script=self._script,
                    realtime_url=self.clients.base_url,
                    voice=self.clients.voice,
                    log_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
                    places_calls=self.actions is not None,
                )
            )
            async with asyncio.timeout(START_TIMEOUT_S):
                hello = await channel.receive()
            if not isinstance(hello, Listening):
                raise RuntimeError(f"media worker said {type(hello).__name__} first")
            worker.port = hello.port
            worker.ready.set()
            log.info(
                "media worker listening",
                worker=worker.index,
                port=worker.port,
                pid=worker.pid,
                start=worker.starts,
            )
            self._resend_expected(worker)
            while True:
                try:
                    message = await channel.receive()
                except ChannelClosed:
                    break
                self._handle(worker, message)
        finally:
            worker.ready.clear()
            worker.channel = None
            channel.close()
            process = worker.process
            if process is not None and process.returncode is None:
                try:
                    async with asyncio.timeout(STOP_TIMEOUT_S):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()

    def _resend_expected(self, worker: WorkerHandle) -> None:
        """A (re)started worker: the calls given to it and not arrived yet are expected there."""
        for call in self._calls.values():
            if call.worker != worker.index or call.arrived:
                continue
            worker.send(Expect(call.call_uuid))
            got = _brief_if_read(call)
            if call.prewarm_for_s is not None and got is not None:
                worker.send(Prewarm(call.call_uuid, got, call.prewarm_for_s))

    def _worker_gone(self, worker: WorkerHandle) -> None:
        """The worker's calls that had arrived end as technical failures and are hung up."""
        code = worker.process.returncode if worker.process is not None else None
        for unwatch in worker.notes.values():
            unwatch()
        worker.notes.clear()
        for future in worker.figures.values():
            if not future.done():
                future.set_result(WorkerFigures(0))
        worker.figures.clear()
        lost = [
            c
            for c in self._calls.values()
            if c.worker == worker.index and c.arrived and not c.finished.is_set()
        ]
        for call in lost:
            call.ended = ConversationResult(technical_failure=True, reason=WORKER_STOPPED)
            call.finished.set()
            if call.line is not None:
                call.line.end()
            if self.actions is not None:
                self._spawn(self._hang_up(call.call_uuid), f"hangup-{call.call_uuid}")
        if self._stopping:
            return
        log.error(
            "media worker stopped; restarting it",
            worker=worker.index,
            exit_code=code,
            calls_ended=len(lost),
        )

    async def _hang_up(self, call_uuid: str) -> None:
        assert self.actions is not None
        try:
            async with asyncio.timeout(5.0):
                await self.actions.hangup(call_uuid)
        except Exception as exc:
            log.warning("could not hang up a call of a stopped worker", error=repr(exc))

    # --- what a worker says --------------------------------------------------------------

    def _handle(self, worker: WorkerHandle, message: object) -> None:
        match message:
            case Request():
                self._spawn(self._answer(worker, message), f"request-{message.op}")
            case Turn(user_id=user_id, call_id=call_id, role=role, text=text):
                self._transcripts.write(user_id, call_id, role, text)  # type: ignore[arg-type]
            case WatchNotes(user_id=user_id, call_id=call_id, watching=watching):
                key = (user_id, call_id)
                old = worker.notes.pop(key, None)
                if old is not None:
                    old()
                if watching:
                    worker.notes[key] = self.notes.watch(
                        user_id, call_id, _note_sender(worker, user_id, call_id)
                    )
            case LineAudio(call_uuid=call_uuid, records=records):
                call = self._calls.get(call_uuid)
                if call is not None and call.line is not None:
                    for ulaw, at in decode_records(records)[0]:
                        call.line.relay(ulaw, at)
            case CallEnded(call_uuid=call_uuid, result=result):
                call = self._calls.get(call_uuid)
                if call is not None and call.worker == worker.index:
                    call.ended = result
                    call.finished.set()
                    if call.line is not None:
                        call.line.end()
            case WorkerFigures(request_id=request_id):
                future = worker.figures.pop(request_id, None)
                if future is not None and not future.done():
                    future.set_result(message)
            case _:
                log.warning("unknown message from a media worker", kind=type(message).__name__)

    async def _answer(self, worker: WorkerHandle, request: Request) -> None:
        try:
            value = await self._carry_out(worker, request)
        except Exception as exc:
            reply = Reply(request.request_id, error=f"{type(exc).__name__}: {exc}")
        else:
            reply = Reply(request.request_id, value)
        worker.send(reply)

    async def _carry_out(self, worker: WorkerHandle, request: Request) -> Any:
        op, args = request.op, request.args
        if op == "flush_turns":
            call_id, timeout_s = args
            return await self._transcripts.flush(call_id, timeout_s)
        call = self._calls.get(request.call_uuid)
        if call is None or call.worker != worker.index:
            if op == "arrived":
                return None  # not a call of this node's, or not that worker's
            raise LookupError(f"call {request.call_uuid} is not carried by this worker")
        if op == "arrived":
            brief = await self._prepare(call)
            if brief is None:
                return None
            call.arrived = True
            call.line = self.lines.open(
                brief.user_id,
                brief.call_id,
                on_listeners=_listening(self.workers[call.worker], call),
            )
            return brief, self._heard_amd(call.call_uuid)
        brief = await self._prepare(call)
        if brief is None:
            raise LookupError(f"no call {request.call_uuid} in the database")
        if op == "amd_status":
            store = CallStore(self._db, self._settings, brief.user_id, brief.call_id)
            return self._heard_amd(call.call_uuid) or await store.amd_status()
        if op in (
            "hangup",
            "send_dtmf",
            "call_owner",
            "bridge_owner",
            "hangup_owner",
            "transfer_call",
        ):
            if self.actions is None:
                raise LookupError("this node places no calls")
            if op == "hangup":
                return await self.actions.hangup(call.call_uuid)
            if op == "call_owner":
                leg_uuid, number, ring_timeout_s, audiosocket = args
                return await self.actions.call_owner(
                    call.call_uuid,
                    leg_uuid,
                    number,
                    ring_timeout_s=ring_timeout_s,
                    audiosocket=audiosocket,
                )
            if op == "bridge_owner":
                return await self.actions.bridge_owner(call.call_uuid, *args)
            if op == "hangup_owner":
                return await self.actions.hangup_owner(call.call_uuid, *args)
            if op == "transfer_call":
                return await self.actions.transfer_call(call.call_uuid, *args)
            return await self.actions.send_dtmf(call.call_uuid, *args)
        if op in STORE_OPS:
            store = CallStore(self._db, self._settings, brief.user_id, brief.call_id)
            return await getattr(store, op)(*args)
        raise LookupError(f"no request {op!r}")

    def _heard_amd(self, call_uuid: str) -> str | None:
        return self.actions.amd_status(call_uuid) if self.actions is not None else None

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)


def _listening(worker: WorkerHandle, call: WorkerCall) -> Callable[[int], None]:
    """Tells the call's worker to send its line's mix while someone listens (`CallLine`)."""

    def listeners(count: int) -> None:
        if (count > 0) != call.listening:
            call.listening = count > 0
            worker.send(Listen(call.call_uuid, call.listening))

    return listeners


def _note_sender(worker: WorkerHandle, user_id: int, call_id: int) -> Deliver:
    def deliver(note_id: int, words: str, kind: FeedbackKind) -> bool:
        return worker.send(Note(user_id, call_id, note_id, words, kind))

    return deliver


def _brief_if_read(call: WorkerCall) -> CallBrief | None:
    brief = call.brief
    if brief is None or not brief.done() or brief.cancelled():
        return None
    return brief.result()


def _key(call_uuid: str | uuid.UUID) -> str:
    return str(call_uuid if isinstance(call_uuid, uuid.UUID) else uuid.UUID(call_uuid))
