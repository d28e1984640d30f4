"""The local channel between a node and its media workers: small typed messages, one frame each.

A node with several media workers (`media.workers`) talks to each over one Unix stream socket
(a socket pair made at the worker's start, inherited by the worker process). Each message is a
frozen dataclass below, pickled, behind a 4-byte big-endian length. Both ends are the same
program on the same machine, started by the node itself, so pickle is safe here: nothing else
can write to the pair.

Node → worker: the worker's configuration (first), the calls to expect (with the call's brief,
prepared at Originate), sessions to prewarm, calls that have ended, the owners' notes, answers
to the worker's requests, requests for the worker's figures. Worker → node: it is listening,
requests a bridge makes of the node (the call's row, hang-up and keys over AMI, the AMD
verdict, the owner's answer), transcript turns, which calls' notes it wants, calls that ended
and how.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any, Final

from core.domain import FeedbackKind
from core.settings import Settings
from media.call_script import CallBrief, ScriptWriter
from media.conversation import ConversationResult
from media.prewarm_machine import PrewarmCounts

_HEADER: Final = struct.Struct(">I")
MAX_MESSAGE: Final = 64 * 2**20  # a bigger length is a broken channel, not a message


class ChannelClosed(Exception):
    """The other end of the channel is gone."""


# --- node → worker -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """The first message: what the worker needs to serve calls like the node would."""

    index: int
    port: int  # its AudioSocket port (0: any free one)
    settings: Settings
    script: ScriptWriter  # the agents layer's script writer (a module-level function)
    realtime_url: str  # the node's Realtime URL now (the rehearsal voice's when it serves)
    voice: str  # what `calls.voice` says of the calls (the model, or "rehearsal")
    log_level: str
    places_calls: bool  # the node hangs up and sends keys over AMI (else: over AudioSocket)


@dataclass(frozen=True, slots=True)
class Expect:
    """Serve this call's AudioSocket connection (once)."""

    call_uuid: str


@dataclass(frozen=True, slots=True)
class Prewarm:
    """Open the call's Realtime session now (its phone rings), from its brief."""

    call_uuid: str
    brief: CallBrief
    unused_after_s: float


@dataclass(frozen=True, slots=True)
class Forget:
    """The call has ended: no connection for it any more; close its session if unused."""

    call_uuid: str


@dataclass(frozen=True, slots=True)
class Note:
    """An owner's note to a call the worker carries (see `media.owner_notes`)."""

    user_id: int
    call_id: int
    note_id: int
    words: str
    kind: FeedbackKind = FeedbackKind.OWNER_NOTE  # a note, or a request to take the call over


@dataclass(frozen=True, slots=True)
class Listen:
    """Someone listens in on the call from the node's UI (`on`), or nobody any more: send its
    line's mix (`LineAudio`) while someone does."""

    call_uuid: str
    on: bool


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to a `Request` (its `value`), or why there is none (`error`)."""

    request_id: int
    value: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    """Start recording the worker's event-loop lag (the benchmark)."""


@dataclass(frozen=True, slots=True)
class FiguresWanted:
    """Send the figures of the calls live now (`WorkerFigures`); `drain`: the append latencies
    measured since the last request, which are then forgotten."""

    request_id: int
    drain: bool = True


@dataclass(frozen=True, slots=True)
class Stop:
    """End every call and exit."""


# --- worker → node -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listening:
    """The worker serves AudioSocket on `port`."""

    port: int


@dataclass(frozen=True, slots=True)
class Request:
    """A bridge asks the node for something about its call (`op`, see `media.workers`)."""

    request_id: int
    call_uuid: str
    op: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Turn:
    """A transcript turn of a call, for the node's transcript writer (never answered)."""

    user_id: int
    call_id: int
    role: str
    text: str


@dataclass(frozen=True, slots=True)
class WatchNotes:
    """Hand the owner's notes to this call from now on (`watching` False: no more)."""

    user_id: int
    call_id: int
    watching: bool


@dataclass(frozen=True, slots=True)
class LineAudio:
    """Records of a call's line mix (`media.listen.encode_record`), for the node's listeners."""

    call_uuid: str
    records: bytes


@dataclass(frozen=True, slots=True)
class CallEnded:
    """A call the worker carried has ended, and how its conversation ended."""

    call_uuid: str
    result: ConversationResult


@dataclass(frozen=True, slots=True)
class CallFigures:
    """One live call's counters, for the benchmark."""

    barge_ins: int
    inbound_dropped: int
    playout_underruns: int
    playout_audio_frames: int
    reconnects: int
    audio_dropped: int
    pacer_frames: int
    pacer_late_frames: int
    pacer_resyncs: int
    lateness_histogram: list[int]
    appends_s: list[float]  # append latencies since the last drain
    live: bool  # sends callee audio and plays agent audio


@dataclass(frozen=True, slots=True)
class WorkerFigures:
    """The worker's figures: its live calls by UUID, its loop lag samples (at, lag), and, since
    it started, the warnings and errors it logged and the sessions it prewarmed."""

    request_id: int
    calls: dict[str, CallFigures] = field(default_factory=dict)
    lag: list[tuple[float, float]] = field(default_factory=list)
    logged: dict[str, int] = field(default_factory=dict)  # warnings and errors, by message
    prewarm: PrewarmCounts = field(default_factory=PrewarmCounts)


# --- framing -------------------------------------------------------------------------------


def encode(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def receive(reader: asyncio.StreamReader) -> object:
    """The next message; raises `ChannelClosed` at the end of the stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
        (size,) = _HEADER.unpack(header)
        if size > MAX_MESSAGE:
            raise ChannelClosed(f"a message of {size} bytes")
        body = await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise ChannelClosed(str(exc) or type(exc).__name__) from exc
    return pickle.loads(body)  # noqa: S301 - the node's own worker, over a private socket pair


class Channel:
    """One end of the channel: `send` never waits (the socket buffers), `receive` does."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    def send(self, message: object) -> None:
        if self._writer.is_closing():
            raise ChannelClosed("the channel is closed")
        self._writer.write(encode(message))

    async def receive(self) -> object:
        return await receive(self._reader)

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()
