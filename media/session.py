"""What an AudioSocket call session hands to the rest of OpenDeep, and what it expects back.

The vocabulary follows voice pipelines (Pipecat's frames): inbound audio, DTMF, a peer error;
the end of the call is not an event but one `on_end(reason)` call, made exactly once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

from media.audio import SAMPLE_RATE
from media.playout import PlayoutBuffer


@dataclass(frozen=True, slots=True)
class InboundAudio:
    """Callee audio, s16le mono (Asterisk's AudioSocket app sends 320-byte frames at 8 kHz)."""

    pcm: bytes
    sample_rate: int = SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class Dtmf:
    """The callee pressed a key."""

    digit: str


@dataclass(frozen=True, slots=True)
class PeerError:
    """Asterisk reported an error frame (1 hangup, 2 frame forwarding, 4 memory); the session
    ends right after this event."""

    code: int | None


SessionEvent = InboundAudio | Dtmf | PeerError

EndReason = Literal[
    "hangup",  # the peer hung up: hangup frame, EOF or connection reset (Asterisk sends no 0x00)
    "local_hangup",  # our side asked for it through `SessionControl.hangup()`
    "peer_error",  # the peer sent an error frame
    "protocol_error",  # the peer sent bytes that are not AudioSocket
    "timeout",  # nothing arrived from the peer for too long
    "send_failed",  # the peer stopped reading what we send
    "handler_error",  # the handler raised
    "server_shutdown",  # the server is closing
]


class SessionControl(Protocol):
    """What a handler may do to its call."""

    @property
    def call_id(self) -> uuid.UUID: ...

    def hangup(self) -> None:
        """End the call now: a hangup frame goes to Asterisk and the session closes.

        Audio still queued in the playout buffer is not played; to let a goodbye finish, wait
        until `playout.is_empty` first.
        """
        ...


class SessionHandler(Protocol):
    """The application side of one call, returned by the server's `resolve(uuid)` callback.

    Order of calls: `on_start` once, then `on_event` for each event in stream order (never
    concurrently), then `on_end` exactly once — also when `on_start` or `on_event` raised.
    Meanwhile the server's pacer takes one frame from `playout` every 20 ms. `on_start` should
    return quickly (inbound audio waits for it); slow set-up such as the Realtime connection
    belongs in the handler's own task. `on_event` should not block either: while it runs,
    inbound audio queues (2 s, then new audio is dropped and counted).
    """

    @property
    def playout(self) -> PlayoutBuffer: ...

    async def on_start(self, control: SessionControl) -> None: ...

    async def on_event(self, event: SessionEvent) -> None: ...

    async def on_end(self, reason: EndReason) -> None: ...
