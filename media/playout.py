"""Outbound playout buffer: agent audio re-framed into 20 ms frames, silence on underrun.

Free of sockets and clocks: the pacer calls `next_frame()` every 20 ms, the bridge `push`es
audio as the model streams it and `clear`s on barge-in. The buffer remembers how much of each
response item was actually handed out for playing, which is what `conversation.item.truncate`
needs as `audio_end_ms`.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from media.audio import SLIN_BYTES_PER_MS, SLIN_FRAME_BYTES, SLIN_SILENCE_FRAME, rms

DEFAULT_MAX_FRAMES: Final = 3000  # 60 s of audio: a long answer streamed faster than real time
_TRACKED_IDS: Final = 64  # per-item/response play counters kept (oldest forgotten first)
PLAYED_LEVELS: Final = 50  # levels of frames handed out, kept until taken (1 s)


@dataclass(frozen=True, slots=True)
class _Queued:
    pcm: bytes
    audio_bytes: int  # bytes of real audio in `pcm`; a padded tail frame has fewer than 320
    item_id: str | None
    response_id: str | None


@dataclass(frozen=True, slots=True)
class Cleared:
    """What `clear()` dropped, and how far the interrupted item had played."""

    dropped_frames: int
    dropped_ms: int
    item_id: str | None
    response_id: str | None
    played_ms: int  # of `item_id`: the `audio_end_ms` for `conversation.item.truncate`


@dataclass(slots=True)
class PlayoutStats:
    audio_frames: int = 0
    silence_frames: int = 0
    underruns: int = 0  # times audio ran dry while an item was still streaming in (not flushed)
    overflow_bytes: int = 0  # audio refused because the buffer was full
    cleared_frames: int = 0


class PlayoutBuffer:
    """Bounded jitter buffer of outbound s16le frames of `frame_bytes` (20 ms at 8 kHz)."""

    def __init__(
        self,
        *,
        max_frames: int = DEFAULT_MAX_FRAMES,
        frame_bytes: int = SLIN_FRAME_BYTES,
        bytes_per_ms: int = SLIN_BYTES_PER_MS,
    ) -> None:
        if max_frames < 1 or frame_bytes < 2 or frame_bytes % 2:
            raise ValueError("max_frames must be >= 1 and frame_bytes a positive even number")
        self._max_frames = max_frames
        self._frame_bytes = frame_bytes
        self._bytes_per_ms = bytes_per_ms
        self._silence = (
            SLIN_SILENCE_FRAME if frame_bytes == SLIN_FRAME_BYTES else bytes(frame_bytes)
        )
        self._frames: deque[_Queued] = deque()
        self._tail = bytearray()
        self._tail_ids: tuple[str | None, str | None] = (None, None)
        self._played_by_item: OrderedDict[str, int] = OrderedDict()
        self._played_by_response: OrderedDict[str, int] = OrderedDict()
        self._current: tuple[str | None, str | None] = (None, None)
        self._playing = False
        self._open = False  # an item is still streaming in (pushed, not yet flushed)
        # The RMS of each frame handed out since `take_levels` was last called (silence: 0):
        # what an echo of the agent's voice would follow, frame by frame.
        self._levels: deque[float] = deque(maxlen=PLAYED_LEVELS)
        self.stats = PlayoutStats()
        # Sees every frame handed out, silence included (listening in on the call); it must
        # not block: it runs on the pacer's clock.
        self.tap: Callable[[bytes], None] | None = None

    # --- producer side -------------------------------------------------------------------

    def push(
        self, pcm: bytes, *, item_id: str | None = None, response_id: str | None = None
    ) -> int:
        """Queue s16le `pcm` of one response item, in any chunk size.

        Whole frames are queued at once; a partial tail waits for the next chunk of the same
        item (a chunk of another item first pads the tail with silence and queues it). Returns
        the bytes accepted: when the buffer is full the rest is dropped and counted in
        `stats.overflow_bytes`. Raises `ValueError` for an odd byte count.
        """
        if len(pcm) % 2:
            raise ValueError(f"s16le audio must have an even number of bytes, got {len(pcm)}")
        ids = (item_id, response_id)
        if self._tail and ids != self._tail_ids:
            self.flush()
        self._tail_ids = ids
        self._open = True
        data = self._tail + pcm
        whole = len(data) - len(data) % self._frame_bytes
        room = (self._max_frames - len(self._frames)) * self._frame_bytes
        take = min(whole, room)
        for start in range(0, take, self._frame_bytes):
            frame = bytes(data[start : start + self._frame_bytes])
            self._frames.append(_Queued(frame, self._frame_bytes, item_id, response_id))
        if take < whole:
            refused = len(data) - take
            self.stats.overflow_bytes += refused
            self._tail = bytearray()
            return max(0, len(pcm) - refused)
        self._tail = bytearray(data[whole:])
        return len(pcm)

    def flush(self) -> None:
        """Pad the waiting partial frame with silence and queue it (call at the item's end)."""
        self._open = False
        if not self._tail:
            return
        if len(self._frames) >= self._max_frames:
            self.stats.overflow_bytes += len(self._tail)
        else:
            audio = len(self._tail)
            frame = bytes(self._tail) + bytes(self._frame_bytes - audio)
            self._frames.append(_Queued(frame, audio, *self._tail_ids))
        self._tail = bytearray()

    def clear(self) -> Cleared:
        """Drop everything queued, the partial tail too (barge-in).

        Reports what was dropped and how much of the item being played had been handed out,
        so the caller can truncate that item at exactly what the callee heard.
        """
        dropped = sum(q.audio_bytes for q in self._frames) + len(self._tail)
        frames = len(self._frames) + (1 if self._tail else 0)
        # The item the callee is hearing is the one last handed out; if nothing of the queued
        # item has played yet, it is that item at 0 ms.
        item_id, response_id = self._current
        if item_id is None and self._frames:
            item_id, response_id = self._frames[0].item_id, self._frames[0].response_id
        self._frames.clear()
        self._tail = bytearray()
        self._playing = False
        self._open = False
        self.stats.cleared_frames += frames
        return Cleared(
            dropped_frames=frames,
            dropped_ms=dropped // self._bytes_per_ms,
            item_id=item_id,
            response_id=response_id,
            played_ms=self.played_ms(item_id) if item_id else 0,
        )

    # --- consumer side (the pacer) --------------------------------------------------------

    def next_frame(self) -> bytes:
        """The next frame to send: queued audio, or silence when nothing is queued."""
        frame = self._next()
        if self.tap is not None:
            self.tap(frame)
        return frame

    def _next(self) -> bytes:
        if not self._frames:
            if self._playing and self._open:
                self.stats.underruns += 1
            self._playing = False
            self.stats.silence_frames += 1
            self._levels.append(0.0)
            return self._silence
        queued = self._frames.popleft()
        self._levels.append(rms(np.frombuffer(queued.pcm, dtype="<i2")))
        self._playing = True
        self.stats.audio_frames += 1
        self._current = (queued.item_id, queued.response_id)
        if queued.item_id is not None:
            _add(self._played_by_item, queued.item_id, queued.audio_bytes)
        if queued.response_id is not None:
            _add(self._played_by_response, queued.response_id, queued.audio_bytes)
        return queued.pcm

    def take_levels(self) -> tuple[float, ...]:
        """The levels (RMS, full scale 1.0) of the frames handed out since the last call, in
        order, the most recent `PLAYED_LEVELS` at most."""
        levels = tuple(self._levels)
        self._levels.clear()
        return levels

    # --- state -----------------------------------------------------------------------------

    @property
    def queued_ms(self) -> int:
        """Audio waiting to be played, the partial tail included."""
        total = sum(q.audio_bytes for q in self._frames) + len(self._tail)
        return total // self._bytes_per_ms

    @property
    def queued_frames(self) -> int:
        return len(self._frames)

    @property
    def is_empty(self) -> bool:
        return not self._frames and not self._tail

    @property
    def current_item_id(self) -> str | None:
        """The item whose audio was handed out last (what the callee hears or just heard)."""
        return self._current[0]

    def played_ms(self, item_id: str) -> int:
        """Milliseconds of `item_id`'s audio handed out for playing so far."""
        return self._played_by_item.get(item_id, 0) // self._bytes_per_ms

    def response_played_ms(self, response_id: str) -> int:
        """Milliseconds of all audio of `response_id` handed out for playing so far."""
        return self._played_by_response.get(response_id, 0) // self._bytes_per_ms


def _add(counter: OrderedDict[str, int], key: str, value: int) -> None:
    counter[key] = counter.get(key, 0) + value
    counter.move_to_end(key)
    while len(counter) > _TRACKED_IDS:
        counter.popitem(last=False)
