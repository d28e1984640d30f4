"""One AudioSocket connection: handshake, inbound pump, paced outbound audio, clean end.

Two tasks per call, both owned here and cancelled when the call ends: the reader (bytes →
parser → bounded queue) and the dispatcher (queue → handler, in order). Outbound frames come
from the server's shared `FrameClock` (one frame every 20 ms, silence from the first moment,
before the call is even identified). Whatever ends the call first — hangup, EOF, reset,
garbage, a timeout, the handler failing, shutdown — is the one reason given to
`handler.on_end`, which is called exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from core.logging import get_logger
from media.audio import SLIN_SILENCE_FRAME
from media.audiosocket_codec import (
    DEFAULT_MAX_PAYLOAD,
    AudioFrame,
    AudioSocketParser,
    AudioSocketProtocolError,
    DtmfFrame,
    ErrorFrame,
    Frame,
    HangupFrame,
    UuidFrame,
    encode_audio,
    encode_hangup,
)
from media.pacer import ClockMember, FrameClock, PacerStats
from media.session import Dtmf, EndReason, InboundAudio, PeerError, SessionEvent, SessionHandler

log = get_logger("opendeep.media.audiosocket")

Resolver = Callable[[uuid.UUID], Awaitable[SessionHandler | None]]

_ASTERISK_HANGUP_ERROR: Final = 0x01


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Bounds of one session; every wait on the peer or the handler has one."""

    first_frame_timeout_s: float = 5.0  # connect → UUID frame
    resolve_timeout_s: float = 5.0  # resolve(uuid)
    handler_timeout_s: float = 10.0  # on_start / on_end (long work belongs in handler tasks)
    # Asterisk passes no frames while the far end sends no RTP (a phone menu waiting for a key,
    # a caller on mute, a trunk with silence suppression), so a quiet socket is normal for a
    # while; only this long a silence is taken for a dead peer. (A hangup closes the socket.)
    read_timeout_s: float = 300.0
    drain_timeout_s: float = 1.0  # deliver events queued before a hangup
    close_timeout_s: float = 2.0
    inbound_queue_frames: int = 100  # 2 s of audio; beyond it new audio is dropped and counted
    max_write_buffer_bytes: int = 64 * 1024  # ~4 s of frames the peer has not read
    read_chunk_bytes: int = 4096
    max_payload: int = DEFAULT_MAX_PAYLOAD


@dataclass(slots=True)
class SessionCounters:
    frames_in: int = 0
    audio_dropped: int = 0  # inbound audio frames dropped because the handler fell behind
    frames_out: int = 0
    # Monotonic times: Asterisk connected (the call was answered and screened), and the first
    # frame of agent audio went out — the dead air the callee heard in between.
    connected_at: float = 0.0
    first_audio_at: float | None = None

    @property
    def first_audio_ms(self) -> float | None:
        """Connection → first agent audio frame sent, in ms (None: no agent audio yet)."""
        if self.first_audio_at is None:
            return None
        return (self.first_audio_at - self.connected_at) * 1000


class AudioSocketSession:
    """Runs one accepted connection to its end; `run()` returns the end reason, or None when
    the call never got a handler (no UUID, unknown UUID, resolve failed)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        resolve: Resolver,
        limits: SessionLimits = SessionLimits(),
        clock: FrameClock | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._resolve = resolve
        self._limits = limits
        self._parser = AudioSocketParser(limits.max_payload)
        self._queue: asyncio.Queue[SessionEvent | None] = asyncio.Queue(limits.inbound_queue_frames)
        self._clock = clock or FrameClock()
        self._frames: ClockMember | None = None
        self._handler: SessionHandler | None = None
        self._call_id: uuid.UUID | None = None
        self._reason: EndReason | None = None
        self._ended = asyncio.Event()
        self._send_hangup = False
        self._tasks: list[asyncio.Task[None]] = []
        self._dispatcher: asyncio.Task[None] | None = None
        self.counters = SessionCounters(connected_at=time.monotonic())
        self.peer = str(writer.get_extra_info("peername"))

    # --- SessionControl ---------------------------------------------------------------------

    @property
    def call_id(self) -> uuid.UUID:
        if self._call_id is None:
            raise RuntimeError("the call is not identified yet")
        return self._call_id

    def hangup(self) -> None:
        """End the call from our side: a hangup frame goes out and the session closes."""
        self._send_hangup = True
        self._end("local_hangup")

    @property
    def pacer_stats(self) -> PacerStats:
        return self._frames.stats if self._frames is not None else PacerStats()

    @property
    def reason(self) -> EndReason | None:
        return self._reason

    # --- life cycle -------------------------------------------------------------------------

    async def run(self) -> EndReason | None:
        """Serve the connection until the call ends; never raises except on cancellation."""
        self._frames = self._clock.join(self._send_frame)
        try:
            pending = await self._handshake()
            if pending is None:
                return None
            handler = self._handler
            assert handler is not None
            try:
                await asyncio.wait_for(handler.on_start(self), self._limits.handler_timeout_s)
            except Exception:
                log.exception("audiosocket.handler_start_failed", call_id=str(self._call_id))
                self._end("handler_error")
            else:
                for event in pending:
                    self._enqueue_nowait(event)
                self._dispatcher = self._spawn(self._dispatch(handler), "dispatcher")
                self._spawn(self._read_loop(), "reader")
            await self._ended.wait()
            return self._reason
        except asyncio.CancelledError:
            self._send_hangup = True
            self._end("server_shutdown")
            raise
        finally:
            await self._shutdown()

    def _end(self, reason: EndReason) -> None:
        if self._reason is None:
            self._reason = reason
            self._ended.set()

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("audiosocket.task_failed", task=name, call_id=str(self._call_id))
                self._end("handler_error" if name == "dispatcher" else "send_failed")

        task = asyncio.create_task(guarded(), name=f"audiosocket-{name}")
        self._tasks.append(task)
        return task

    async def _handshake(self) -> list[SessionEvent] | None:
        """Read the UUID frame and resolve the call; returns events that arrived with it."""
        frames: list[Frame] = []
        try:
            async with asyncio.timeout(self._limits.first_frame_timeout_s):
                while not frames:
                    data = await self._reader.read(self._limits.read_chunk_bytes)
                    if not data:
                        log.info("audiosocket.closed_before_uuid", peer=self.peer)
                        return None
                    frames = self._parser.feed(data)
        except TimeoutError:
            log.warning("audiosocket.no_uuid", peer=self.peer)
            return None
        except (ConnectionError, OSError):
            return None
        except AudioSocketProtocolError as exc:
            log.warning("audiosocket.garbage_before_uuid", peer=self.peer, error=str(exc))
            return None
        first, rest = frames[0], frames[1:]
        if not isinstance(first, UuidFrame):
            log.warning(
                "audiosocket.first_frame_not_uuid", peer=self.peer, frame=type(first).__name__
            )
            return None
        self._call_id = first.value
        try:
            handler = await asyncio.wait_for(
                self._resolve(first.value), self._limits.resolve_timeout_s
            )
        except Exception:
            log.exception("audiosocket.resolve_failed", call_id=str(first.value))
            handler = None
        if handler is None:
            log.warning("audiosocket.unknown_call", call_id=str(first.value), peer=self.peer)
            self._send_hangup = True
            return None
        self._handler = handler
        log.info("audiosocket.call_start", call_id=str(first.value), peer=self.peer)
        events: list[SessionEvent] = []
        for frame in rest:
            event, reason = self._translate(frame)
            if event is not None:
                events.append(event)
            if reason is not None:
                self._end(reason)
                break
        return events

    async def _shutdown(self) -> None:
        self._stop_frames()
        if self._reason in ("hangup", "peer_error", "local_hangup") and self._handler is not None:
            await self._drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._handler is not None:
            reason: EndReason = self._reason or "server_shutdown"
            try:
                await asyncio.wait_for(self._handler.on_end(reason), self._limits.handler_timeout_s)
            except Exception:
                log.exception("audiosocket.handler_end_failed", call_id=str(self._call_id))
            log.info(
                "audiosocket.call_end",
                call_id=str(self._call_id),
                reason=reason,
                frames_in=self.counters.frames_in,
                frames_out=self.counters.frames_out,
                first_audio_ms=_rounded(self.counters.first_audio_ms),
                audio_dropped=self.counters.audio_dropped,
                pacer_resyncs=self.pacer_stats.resyncs,
            )
        await self._close()

    async def _drain(self) -> None:
        """Let the dispatcher deliver what was queued before the end, within a bound."""
        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.done():
            return
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(dispatcher), self._limits.drain_timeout_s)

    async def _close(self) -> None:
        transport = self._writer.transport
        if self._send_hangup and not transport.is_closing():
            with contextlib.suppress(Exception):
                self._writer.write(encode_hangup())
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), self._limits.close_timeout_s)

    # --- tasks ------------------------------------------------------------------------------

    def _stop_frames(self) -> None:
        if self._frames is not None:
            self._clock.leave(self._frames)

    def _send_frame(self) -> bool:
        """The clock's tick: write this call's next frame; False once the call is over."""
        if self._reason is not None:
            return False
        transport = self._writer.transport
        if transport.is_closing():
            self._end("hangup")
            return False
        if transport.get_write_buffer_size() > self._limits.max_write_buffer_bytes:
            log.warning("audiosocket.peer_not_reading", call_id=str(self._call_id))
            self._end("send_failed")
            return False
        try:
            handler = self._handler
            frame = handler.playout.next_frame() if handler is not None else SLIN_SILENCE_FRAME
            self._writer.write(encode_audio(frame))
        except Exception:
            log.exception("audiosocket.send_failed", call_id=str(self._call_id))
            self._end("send_failed")
            return False
        self.counters.frames_out += 1
        if frame is not SLIN_SILENCE_FRAME and self.counters.first_audio_at is None:
            self.counters.first_audio_at = time.monotonic()
        return True

    async def _read_loop(self) -> None:
        limits = self._limits
        while True:
            try:
                # `asyncio.timeout`, not `wait_for`: no task per read, and on Python 3.11 no
                # cancellation swallowed when it lands as a read completes.
                async with asyncio.timeout(limits.read_timeout_s):
                    data = await self._reader.read(limits.read_chunk_bytes)
            except TimeoutError:
                log.warning("audiosocket.read_timeout", call_id=str(self._call_id))
                self._end("timeout")
                return
            except (ConnectionError, OSError):
                self._end("hangup")  # a reset is how a call often ends
                return
            if not data:
                self._end("hangup")  # Asterisk closes without a hangup frame
                return
            try:
                frames = self._parser.feed(data)
            except AudioSocketProtocolError as exc:
                log.warning(
                    "audiosocket.protocol_error", call_id=str(self._call_id), error=str(exc)
                )
                self._end("protocol_error")
                return
            for frame in frames:
                event, reason = self._translate(frame)
                if isinstance(event, InboundAudio):
                    self._enqueue_nowait(event)
                elif event is not None:
                    await self._queue.put(event)  # control events are never dropped
                if reason is not None:
                    self._end(reason)
                    return

    def _translate(self, frame: Frame) -> tuple[SessionEvent | None, EndReason | None]:
        self.counters.frames_in += 1
        match frame:
            case AudioFrame(pcm=pcm):
                return InboundAudio(pcm, frame.sample_rate), None
            case DtmfFrame(digit=digit):
                return Dtmf(digit), None
            case HangupFrame():
                return None, "hangup"
            case ErrorFrame(code=code):
                return PeerError(code), "hangup" if code == _ASTERISK_HANGUP_ERROR else "peer_error"
            case UuidFrame():
                log.warning("audiosocket.repeated_uuid", call_id=str(self._call_id))
                return None, None

    def _enqueue_nowait(self, event: SessionEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.counters.audio_dropped += 1

    async def _dispatch(self, handler: SessionHandler) -> None:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            try:
                await handler.on_event(event)
            except Exception:
                log.exception("audiosocket.handler_event_failed", call_id=str(self._call_id))
                self._end("handler_error")
                return


def _rounded(ms: float | None) -> int | None:
    return None if ms is None else round(ms)
