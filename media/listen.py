"""Listening in on a call: both sides mixed into one stream, fanned out to the owner's listeners.

The bridge feeds its call's `CallLine` with each callee frame as it arrives and with each frame
the pacer hands Asterisk (the agent's voice, or silence). Every outbound frame is mixed with the
oldest callee frame waiting, so the mix runs on the pacer's steady 20 ms clock and the callee's
side waits at most `INBOUND_WAITING` frames (older ones are dropped). Nothing is mixed while
nobody listens. Each listener has a bounded queue that drops its oldest audio when full: a slow
listener loses audio, never slows the call, and never hears more than `LISTENER_FRAMES` late.

A listener reads records (`encode_record`): a 2-byte little-endian payload length, an 8-byte
little-endian float — the wall-clock time, in ms since the epoch, at which the newest frame in
it was mixed, so a reader on the same clock can tell its delay — then G.711 μ-law at 8 kHz.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Final

import numpy as np

from core.logging import get_logger
from media.audio import SAMPLE_RATE, resample, slin_to_ulaw

log = get_logger("opendeep.media.listen")

INBOUND_WAITING: Final = 5  # callee frames (100 ms) waiting to be mixed
LISTENER_FRAMES: Final = 25  # 0.5 s of audio queued per listener, then its oldest goes
MAX_LISTENERS: Final = 4  # per call
RECORD_HEAD: Final = struct.Struct("<Hd")

Clock = Callable[[], float]  # seconds since the epoch


def encode_record(ulaw: bytes, mixed_at_ms: float) -> bytes:
    """One record of the listening stream (see the module's docstring)."""
    return RECORD_HEAD.pack(len(ulaw), mixed_at_ms) + ulaw


def decode_records(data: bytes) -> tuple[list[tuple[bytes, float]], bytes]:
    """The whole records at the start of `data` as (μ-law, mixed at ms), and what is left."""
    records = []
    while len(data) >= RECORD_HEAD.size:
        length, at = RECORD_HEAD.unpack_from(data)
        end = RECORD_HEAD.size + length
        if len(data) < end:
            break
        records.append((data[RECORD_HEAD.size : end], at))
        data = data[end:]
    return records, data


class LineMix:
    """Both sides of a call in one 8 kHz s16le stream, on the outbound frame clock."""

    def __init__(self, waiting: int = INBOUND_WAITING) -> None:
        self._inbound: deque[bytes] = deque(maxlen=waiting)
        self.dropped = 0  # callee frames that waited too long

    def inbound(self, pcm: bytes) -> None:
        if len(self._inbound) == self._inbound.maxlen:
            self.dropped += 1
        self._inbound.append(pcm)

    def mix(self, outbound: bytes) -> bytes:
        """One frame of both sides: `outbound` with the oldest callee frame waiting added
        (none: `outbound` alone), clipped to 16 bits."""
        if not self._inbound:
            return outbound
        callee = np.frombuffer(self._inbound.popleft(), dtype="<i2")
        mixed = np.frombuffer(outbound, dtype="<i2").astype(np.int32)
        n = min(len(mixed), len(callee))
        mixed[:n] += callee[:n]
        return bytes(np.clip(mixed, -32768, 32767).astype("<i2").tobytes())

    def reset(self) -> None:
        self._inbound.clear()


class Listener:
    """One owner's ear on a call: records to read until the call ends or it leaves."""

    def __init__(self, line: CallLine, frames: int = LISTENER_FRAMES) -> None:
        self._line = line
        self._chunks: deque[tuple[bytes, float]] = deque(maxlen=frames)
        self._ready = asyncio.Event()
        self.closed = False
        self.dropped = 0  # frames lost because this listener fell behind
        self.sent_bytes = 0

    @property
    def call_id(self) -> int:
        return self._line.call_id

    def put(self, ulaw: bytes, mixed_at_ms: float) -> None:
        """Queue a frame; never waits (the pacer's clock calls it)."""
        if len(self._chunks) == self._chunks.maxlen:
            self.dropped += 1
        self._chunks.append((ulaw, mixed_at_ms))
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def records(self) -> AsyncGenerator[bytes, None]:
        """Records as audio comes, each holding everything queued since the one before;
        ends when the call ends or `leave` is called."""
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                if self._chunks:
                    at = self._chunks[-1][1]
                    audio = b"".join(chunk for chunk, _ in self._chunks)
                    self._chunks.clear()
                    self.sent_bytes += len(audio)
                    yield encode_record(audio, at)
                if self.closed:
                    return
        finally:
            self.leave()

    def leave(self) -> None:
        self.close()
        self._line.leave(self)


class CallLine:
    """The listening side of one call on this node, belonging to `user_id`."""

    def __init__(
        self,
        user_id: int,
        call_id: int,
        *,
        clock: Clock = time.time,
        max_listeners: int = MAX_LISTENERS,
        on_end: Callable[[CallLine], None] | None = None,
        on_listeners: Callable[[int], None] | None = None,
    ) -> None:
        """`on_listeners`: told how many listen after each one joins or leaves (a node whose
        call runs in a media worker has the worker send the mix only while someone listens)."""
        self.user_id = user_id
        self.call_id = call_id
        self._clock = clock
        self._max = max_listeners
        self._on_end = on_end
        self._on_listeners = on_listeners
        self._mix = LineMix()
        self._listeners: set[Listener] = set()
        self.ended = False

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def inbound(self, pcm: bytes, sample_rate: int = SAMPLE_RATE) -> None:
        """A callee frame as it arrived (s16le at `sample_rate`)."""
        if not self._listeners:
            return
        try:
            if sample_rate != SAMPLE_RATE:
                pcm = resample(pcm, sample_rate, SAMPLE_RATE)
            self._mix.inbound(pcm)
        except Exception:
            self._failed()

    def outbound(self, pcm: bytes) -> None:
        """A frame the pacer handed Asterisk: mixed and sent to every listener."""
        if not self._listeners:
            return
        try:
            ulaw = slin_to_ulaw(self._mix.mix(pcm))
            at = self._clock() * 1000
            for listener in self._listeners:
                listener.put(ulaw, at)
        except Exception:
            self._failed()

    def _failed(self) -> None:
        # This runs on the call's own paths (the pacer's tick, the callee's audio): whatever
        # goes wrong here ends the listening, never the call.
        log.exception("listening in failed; its listeners are let go", call_id=self.call_id)
        for listener in list(self._listeners):
            listener.close()
        self._listeners.clear()
        self._mix.reset()
        self._told()

    def relay(self, ulaw: bytes, mixed_at_ms: float) -> None:
        """Audio mixed elsewhere (a media worker's line of this call), to every listener."""
        for listener in self._listeners:
            listener.put(ulaw, mixed_at_ms)

    def _told(self) -> None:
        if self._on_listeners is not None:
            self._on_listeners(len(self._listeners))

    def listen(self) -> Listener | None:
        """A new listener; None once the call has ended or `max_listeners` are listening."""
        if self.ended or len(self._listeners) >= self._max:
            return None
        listener = Listener(self)
        self._listeners.add(listener)
        self._told()
        return listener

    def leave(self, listener: Listener) -> None:
        if listener not in self._listeners:
            return
        self._listeners.discard(listener)
        if not self._listeners:
            self._mix.reset()  # the next listener hears the call as it is then
        self._told()

    def end(self) -> None:
        """The call ended: every listener's records end."""
        if self.ended:
            return
        self.ended = True
        for listener in list(self._listeners):
            listener.close()
        self._listeners.clear()
        if self._on_end is not None:
            self._on_end(self)


class CallLines:
    """The lines of the calls this node carries, by call id."""

    def __init__(self, *, clock: Clock = time.time, max_listeners: int = MAX_LISTENERS) -> None:
        self._clock = clock
        self._max = max_listeners
        self._lines: dict[int, CallLine] = {}

    def open(
        self, user_id: int, call_id: int, on_listeners: Callable[[int], None] | None = None
    ) -> CallLine:
        """The line of a call that is starting on this node (`on_listeners`: see `CallLine`)."""
        line = CallLine(
            user_id,
            call_id,
            clock=self._clock,
            max_listeners=self._max,
            on_end=self._ended,
            on_listeners=on_listeners,
        )
        self._lines[call_id] = line
        return line

    def line(self, user_id: int, call_id: int) -> CallLine | None:
        """The line of `user_id`'s call `call_id` if this node carries it now (another user's
        call is None too: nobody hears a call that is not theirs)."""
        line = self._lines.get(call_id)
        return line if line is not None and line.user_id == user_id else None

    def _ended(self, line: CallLine) -> None:
        if self._lines.get(line.call_id) is line:
            del self._lines[line.call_id]
