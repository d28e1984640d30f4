"""OpenDeep media: AudioSocket codec and server, audio conversion, paced playout, Realtime events.

Heavier parts are imported from their modules when needed: `media.realtime_client` (the
OpenAI SDK connection) and `media.realtime_server` (the local GA-protocol server for tests and
rehearsals).
"""

from media.audio import (
    FRAME_MS,
    SAMPLE_RATE,
    SLIN_FRAME_BYTES,
    SLIN_SILENCE_FRAME,
    ULAW_FRAME_BYTES,
    dtmf_tones,
    slin_to_ulaw,
    ulaw_to_slin,
)
from media.audiosocket_codec import AudioSocketParser, AudioSocketProtocolError
from media.audiosocket_server import LOOPBACK, AudioSocketServer, peer_allowed
from media.audiosocket_session import Resolver, SessionLimits
from media.expected_calls import ExpectedCalls
from media.pacer import FrameClock, PaceSchedule
from media.playout import Cleared, PlayoutBuffer
from media.session import (
    Dtmf,
    EndReason,
    InboundAudio,
    PeerError,
    SessionControl,
    SessionEvent,
    SessionHandler,
)

__all__ = [
    "FRAME_MS",
    "LOOPBACK",
    "SAMPLE_RATE",
    "SLIN_FRAME_BYTES",
    "SLIN_SILENCE_FRAME",
    "ULAW_FRAME_BYTES",
    "AudioSocketParser",
    "AudioSocketProtocolError",
    "AudioSocketServer",
    "Cleared",
    "Dtmf",
    "EndReason",
    "ExpectedCalls",
    "FrameClock",
    "InboundAudio",
    "PaceSchedule",
    "PeerError",
    "PlayoutBuffer",
    "Resolver",
    "SessionControl",
    "SessionEvent",
    "SessionHandler",
    "SessionLimits",
    "dtmf_tones",
    "peer_allowed",
    "slin_to_ulaw",
    "ulaw_to_slin",
]
