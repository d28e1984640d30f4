"""`python -m media.worker_process --fd N`: one media worker of a node (`media.workers`).

A worker carries calls' media only: its own AudioSocket server (its own port, its own frame
clock), one `RealtimeBridge` and Realtime client per call, the sessions prewarmed for the calls
it expects. It has no database and no AMI: what a bridge needs from them is asked of the node
over the local channel inherited as file descriptor N (`media.worker_messages`):

- the call's brief when its AudioSocket connects: the node read it at Originate, so the answer
  comes from the node's memory (with the AMD verdict telephony heard, likewise from memory);
- the call's row: facts, marks, the callee's voice activity, the transcript read back to resume
  a session, the owner's questions and answers (the node runs `CallStore` for the worker);
- transcript turns, handed to the node's one transcript writer (never waited for);
- the owner's notes, which the node's one `NoteBoard` reads for all calls and sends here;
- hang-up and keys, which the node sends over AMI.

The worker ends when the channel closes (the node is gone) or on `Stop`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from core.domain import CallOutcome, TurnRole, VoiceActivityRecord
from core.logging import configure_logging, get_logger
from core.settings import secret_values
from media.audiosocket_server import AudioSocketServer
from media.audiosocket_session import AudioSocketSession
from media.bridge import RealtimeBridge
from media.call_script import CallBrief
from media.expected_calls import ExpectedCalls
from media.listen import CallLine, CallLines, Listener
from media.owner_leg import OwnerLegs
from media.owner_notes import Deliver
from media.prewarm import Prewarmed, Prewarmer
from media.realtime_client import RealtimeClientFactory
from media.realtime_session import open_session, session_config
from media.session import SessionHandler
from media.worker_messages import (
    CallEnded,
    CallFigures,
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

log = get_logger("opendeep.media.worker")

REQUEST_TIMEOUT_S = 30.0  # the node answers from memory or one short transaction
NOTE_RETRY_S = 0.2  # a note the call could not take yet (its queue was full) is offered again
LAG_PERIOD_S = 0.01
LAG_SAMPLES = 200_000  # ~33 min of 10 ms samples


class NodeLink:
    """The worker's end of the channel: requests with their answers, and what the node sends."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}

    def send(self, message: object) -> None:
        self._channel.send(message)

    async def ask(self, call_uuid: str, op: str, *args: Any) -> Any:
        """The node's answer to `op` about the call; raises `RuntimeError` with the node's
        reason when it failed, `TimeoutError` when no answer came in time."""
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            self._channel.send(Request(request_id, call_uuid, op, args))
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                return await future
        finally:
            self._waiting.pop(request_id, None)

    def answered(self, reply: Reply) -> None:
        future = self._waiting.pop(reply.request_id, None)
        if future is None or future.done():
            return
        if reply.error is not None:
            future.set_exception(RuntimeError(reply.error))
        else:
            future.set_result(reply.value)

    def fail_all(self, why: str) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ChannelClosed(why))
        self._waiting.clear()


class RemoteCall:
    """A call's row, read and written by the node (`media.call_store.CallRecord`)."""

    def __init__(self, link: NodeLink, brief: CallBrief) -> None:
        self._link = link
        self._brief = brief
        self.user_id = brief.user_id
        self.call_id = brief.call_id
        self.call_uuid = brief.call_uuid

    async def brief(self) -> CallBrief:
        return self._brief

    async def amd_status(self) -> str | None:
        status: str | None = await self._link.ask(self.call_uuid, "amd_status")
        return status

    async def transcript_text(self) -> str:
        text: str = await self._link.ask(self.call_uuid, "transcript_text")
        return text

    async def add_fact(self, name: str, value: str, quote: str) -> None:
        await self._link.ask(self.call_uuid, "add_fact", name, value, quote)

    async def set_voice_activity(self, activity: VoiceActivityRecord) -> None:
        await self._link.ask(self.call_uuid, "set_voice_activity", activity)

    async def mark(self, outcome: CallOutcome, reason: str | None = None) -> None:
        await self._link.ask(self.call_uuid, "mark", outcome, reason)

    async def set_voice(self, voice: str) -> None:
        await self._link.ask(self.call_uuid, "set_voice", voice)

    async def ask_owner(self, question: str, timeout_s: float) -> int:
        feedback_id: int = await self._link.ask(self.call_uuid, "ask_owner", question, timeout_s)
        return feedback_id

    async def mark_note(self, note_id: int, outcome: str) -> None:
        await self._link.ask(self.call_uuid, "mark_note", note_id, outcome)

    async def wait_answer(self, feedback_id: int, timeout_s: float) -> str | None:
        answer: str | None = await self._link.ask(
            self.call_uuid, "wait_answer", feedback_id, timeout_s
        )
        return answer


class RemoteActions:
    """Hang-up and keys through the node's AMI (`media.call_tools.CallActions`); the AMD
    verdict as the node last told it."""

    def __init__(self, link: NodeLink) -> None:
        self._link = link
        self.amd: dict[str, str] = {}

    async def hangup(self, call_uuid: str) -> None:
        await self._link.ask(call_uuid, "hangup")

    async def send_dtmf(self, call_uuid: str, digits: str) -> None:
        await self._link.ask(call_uuid, "send_dtmf", digits)

    async def call_owner(
        self, call_uuid: str, leg_uuid: str, number: str, *, ring_timeout_s: int, audiosocket: str
    ) -> None:
        await self._link.ask(call_uuid, "call_owner", leg_uuid, number, ring_timeout_s, audiosocket)

    async def bridge_owner(self, call_uuid: str, leg_uuid: str) -> None:
        await self._link.ask(call_uuid, "bridge_owner", leg_uuid)

    async def hangup_owner(self, call_uuid: str, leg_uuid: str) -> None:
        await self._link.ask(call_uuid, "hangup_owner", leg_uuid)

    async def transfer_call(self, call_uuid: str, number: str) -> str:
        dialled: str = await self._link.ask(call_uuid, "transfer_call", number)
        return dialled

    def amd_status(self, call_uuid: str) -> str | None:
        return self.amd.get(call_uuid)


class RemoteTurns:
    """Transcript turns to the node's writer (`media.transcript_writer.TurnSink`)."""

    def __init__(self, link: NodeLink, uuids: dict[int, str]) -> None:
        self._link = link
        self._uuids = uuids  # call id → call UUID, of the calls carried here

    def write(self, user_id: int, call_id: int, role: TurnRole, text: str) -> bool:
        try:
            self._link.send(Turn(user_id, call_id, role, text))
        except ChannelClosed:
            return False
        return True

    async def flush(self, call_id: int | None = None, timeout_s: float = 5.0) -> bool:
        call_uuid = self._uuids.get(call_id or 0, "")
        try:
            done: bool = await self._link.ask(call_uuid, "flush_turns", call_id, timeout_s)
        except (RuntimeError, TimeoutError, ChannelClosed):
            return False
        return done


class RemoteNotes:
    """The owners' notes, read by the node and sent here (`media.owner_notes.NoteSource`)."""

    def __init__(self, link: NodeLink) -> None:
        self._link = link
        self._deliver: dict[tuple[int, int], Deliver] = {}

    def watch(self, user_id: int, call_id: int, deliver: Deliver) -> Callable[[], None]:
        key = (user_id, call_id)
        self._deliver[key] = deliver
        self._link.send(WatchNotes(user_id, call_id, watching=True))

        def unwatch() -> None:
            if self._deliver.get(key) is deliver:
                del self._deliver[key]
                with contextlib.suppress(ChannelClosed):
                    self._link.send(WatchNotes(user_id, call_id, watching=False))

        return unwatch

    def arrived(self, note: Note) -> None:
        deliver = self._deliver.get((note.user_id, note.call_id))
        if deliver is None:
            return
        if not deliver(note.note_id, note.words, note.kind):
            asyncio.get_running_loop().call_later(NOTE_RETRY_S, self.arrived, note)


class LogCount(logging.Handler):
    """The warnings and errors this worker logged, by message (and exception), for its
    figures."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.msg.get("event") if isinstance(record.msg, dict) else record.msg
        key = f"{record.levelname.lower()}: {str(message).splitlines()[0] if message else ''}"
        if record.exc_info and record.exc_info[0] is not None:
            key += f" ({record.exc_info[0].__name__})"
        self.counts[key] += 1


class Worker:
    """The calls of one media worker (see the module's docstring)."""

    def __init__(self, channel: Channel, config: WorkerConfig) -> None:
        self.config = config
        self.link = NodeLink(channel)
        settings = config.settings
        self.clients = RealtimeClientFactory.from_settings(settings)
        self.clients.base_url = config.realtime_url
        self.clients.voice = config.voice
        self.actions = RemoteActions(self.link)
        self.notes = RemoteNotes(self.link)
        self._uuids: dict[int, str] = {}
        self._call_ids: dict[str, int] = {}
        self.turns = RemoteTurns(self.link, self._uuids)
        self.expected = ExpectedCalls()
        # The owner's leg of a handover comes to this worker's port, like its call (the port
        # it listens on once started: `config.port` may be 0, any free one).
        self.owner_legs = OwnerLegs(self.expected)
        self._bridge_settings = settings
        self.lines = CallLines()
        self.live: dict[str, RealtimeBridge] = {}
        self._briefs: dict[str, CallBrief] = {}
        self.prewarmer = Prewarmer(self._open_prewarmed)
        self.server = AudioSocketServer(
            self.expected.guard(self.resolve),
            host=settings.audiosocket_host,
            port=config.port,
            allowed_peers=settings.audiosocket_allowed_networks,
        )
        self._watchers: set[asyncio.Task[None]] = set()
        self._lines: dict[str, CallLine] = {}
        self._relays: dict[str, Listener] = {}
        self._lag_at: list[float] = []
        self._lag: list[float] = []
        self._lag_task: asyncio.Task[None] | None = None
        self.logged = LogCount()

    async def start(self) -> int:
        """Listen for AudioSocket; returns the port."""
        await self.server.start()
        port = self.server.port
        self._bridge_settings = self.config.settings.model_copy(update={"audiosocket_port": port})
        return port

    async def resolve(self, call_uuid: uuid.UUID) -> SessionHandler | None:
        leg = self.owner_legs.take(call_uuid)
        if leg is not None:
            return leg
        key = str(call_uuid)
        answer = await self.link.ask(key, "arrived")
        if answer is None:
            log.warning("audiosocket for an unknown call", call_uuid=key)
            return None
        brief, amd = answer
        if amd:
            self.actions.amd[key] = amd
        store = RemoteCall(self.link, brief)
        line = self._lines[key] = self.lines.open(brief.user_id, brief.call_id)
        self._uuids[brief.call_id] = key
        self._call_ids[key] = brief.call_id
        bridge = RealtimeBridge(
            store,
            self._bridge_settings,
            script=self.config.script,
            realtime=self.clients,
            transcripts=self.turns,
            actions=self.actions if self.config.places_calls else None,
            voice=self.config.voice,
            line=line,
            prewarmed=self.prewarmer,
            notes=self.notes,
            owner_legs=self.owner_legs,
        )
        self.live[key] = bridge
        task = asyncio.create_task(self._report_end(key, bridge), name=f"ended-{key}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)
        return bridge

    async def _report_end(self, key: str, bridge: RealtimeBridge) -> None:
        await bridge.finished.wait()
        with contextlib.suppress(ChannelClosed):
            self.link.send(CallEnded(key, bridge.result))

    async def _open_prewarmed(self, call_uuid: str) -> Prewarmed:
        brief = self._briefs.get(call_uuid)
        if brief is None:
            raise LookupError(f"no brief for call {call_uuid}")
        written = self.config.script(brief)
        config = session_config(
            written, self.config.settings, instructions=written.instructions, respond=False
        )
        client = await open_session(self.clients, config)
        return Prewarmed(client, written.instructions, respond_to_turns=False)

    def listen(self, call_uuid: str, on: bool) -> None:
        """Send the call's line mix to the node while someone listens there."""
        relay = self._relays.pop(call_uuid, None)
        if relay is not None:
            relay.leave()
        line = self._lines.get(call_uuid)
        if not on or line is None or (listener := line.listen()) is None:
            return
        self._relays[call_uuid] = listener
        task = asyncio.create_task(self._relay(call_uuid, listener), name=f"relay-{call_uuid}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _relay(self, call_uuid: str, listener: Listener) -> None:
        async with contextlib.aclosing(listener.records()) as records:
            async for record in records:
                try:
                    self.link.send(LineAudio(call_uuid, record))
                except ChannelClosed:
                    return

    def forget(self, call_uuid: str) -> None:
        self.expected.forget(call_uuid)
        self._lines.pop(call_uuid, None)
        relay = self._relays.pop(call_uuid, None)
        if relay is not None:
            relay.leave()
        self._briefs.pop(call_uuid, None)
        self.actions.amd.pop(call_uuid, None)
        self.live.pop(call_uuid, None)
        call_id = self._call_ids.pop(call_uuid, None)
        if call_id is not None:
            self._uuids.pop(call_id, None)
        self.prewarmer.discard(call_uuid, "the call ended before its session was used")

    def handle(self, message: object) -> None:
        """Carry out one message of the node's (`Stop` is `serve`'s)."""
        match message:
            case Reply():
                self.link.answered(message)
            case Expect(call_uuid=call_uuid):
                self.expected.expect(call_uuid)
            case Prewarm(call_uuid=call_uuid, brief=brief, unused_after_s=unused_after_s):
                self._briefs[call_uuid] = brief
                self.prewarmer.prewarm(call_uuid, unused_after_s)
            case Forget(call_uuid=call_uuid):
                self.forget(call_uuid)
            case Note():
                self.notes.arrived(message)
            case Listen(call_uuid=call_uuid, on=on):
                self.listen(call_uuid, on)
            case Measure():
                if self._lag_task is None:
                    self._lag_task = asyncio.create_task(self._measure_lag(), name="loop-lag")
            case FiguresWanted(request_id=request_id, drain=drain):
                self.link.send(self.figures(request_id, drain))
            case _:
                log.warning("unknown message from the node", kind=type(message).__name__)

    def figures(self, request_id: int, drain: bool) -> WorkerFigures:
        calls: dict[str, CallFigures] = {}
        sessions = {key: s for s in self.server.sessions if (key := _identified(s)) is not None}
        for key, bridge in self.live.items():
            session = sessions.get(key)
            if session is None:
                continue
            stats = session.pacer_stats
            appends = list(bridge.stats.append_latency_s)
            if drain:
                bridge.stats.append_latency_s.clear()
            calls[key] = CallFigures(
                barge_ins=bridge.stats.barge_ins,
                inbound_dropped=bridge.stats.inbound_dropped,
                playout_underruns=bridge.playout.stats.underruns,
                playout_audio_frames=bridge.playout.stats.audio_frames,
                reconnects=bridge.stats.reconnects,
                audio_dropped=session.counters.audio_dropped,
                pacer_frames=stats.frames,
                pacer_late_frames=stats.late_frames,
                pacer_resyncs=stats.resyncs,
                lateness_histogram=list(stats.lateness_histogram),
                appends_s=appends,
                live=bool(appends or bridge.stats.inbound_frames)
                and bridge.playout.stats.audio_frames > 0,
            )
        lag = list(zip(self._lag_at, self._lag, strict=True))
        if drain:
            self._lag_at.clear()
            self._lag.clear()
        return WorkerFigures(
            request_id, calls, lag, dict(self.logged.counts), self.prewarmer.counts
        )

    async def _measure_lag(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(LAG_PERIOD_S)
            now = time.monotonic()
            if len(self._lag) < LAG_SAMPLES:
                self._lag_at.append(now)
                self._lag.append(now - start - LAG_PERIOD_S)

    async def aclose(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
        await self.server.stop()  # ends every call; their bridges report how they ended
        if self._watchers:
            await asyncio.wait(self._watchers, timeout=5)
        await self.prewarmer.aclose()
        await self.clients.aclose()


def _identified(session: AudioSocketSession) -> str | None:
    """The session's call UUID, None while its first frame has not named it."""
    try:
        return str(session.call_id)
    except RuntimeError:
        return None


async def serve(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    channel = Channel(reader, writer)
    config = await channel.receive()
    if not isinstance(config, WorkerConfig):
        raise SystemExit(f"expected the worker's configuration, got {type(config).__name__}")
    configure_logging(
        level=config.log_level,
        fmt=config.settings.log_format,
        secrets=secret_values(config.settings),
    )
    worker = Worker(channel, config)
    logging.getLogger().addHandler(worker.logged)
    channel.send(Listening(await worker.start()))
    ending: asyncio.Task[None] | None = None
    try:
        while True:
            try:
                message = await channel.receive()
            except ChannelClosed:
                break
            if isinstance(message, Stop):
                # End the calls while the node still answers: their last writes (the outcome,
                # the voice activity, the turns) go through it. Then the channel closes.
                if ending is None:
                    ending = asyncio.create_task(_end_calls(worker, channel), name="stopping")
                continue
            try:
                worker.handle(message)
            except Exception:
                # One message gone wrong must not end the calls this worker carries.
                log.exception(
                    "media worker could not handle a message", kind=type(message).__name__
                )
    finally:
        worker.link.fail_all("the node is gone")
        if ending is None:
            await worker.aclose()
        else:
            with contextlib.suppress(Exception):
                await ending
        channel.close()


async def _end_calls(worker: Worker, channel: Channel) -> None:
    try:
        await worker.aclose()
        with contextlib.suppress(Exception):
            await channel.drain()
    finally:
        channel.close()  # the node sees the end of the channel; our receive loop ends too


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m media.worker_process")
    parser.add_argument("--fd", type=int, required=True, help="the channel to the node")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    if args.uvloop:
        import uvloop

        uvloop.run(serve(args.fd))
    else:
        asyncio.run(serve(args.fd))


if __name__ == "__main__":
    main()
