"""AudioSocket framing without I/O: typed frames, an incremental parser, encoders.

A frame is 1 byte kind, 2 bytes big-endian payload length, then the payload. Kinds (Asterisk's
`res_audiosocket`, docs.asterisk.org "AudioSocket" protocol page):

| kind        | payload                                                             |
|-------------|---------------------------------------------------------------------|
| 0x00        | hangup, empty                                                       |
| 0x01        | the call's UUID, 16 bytes                                           |
| 0x03        | one ASCII DTMF digit (Asterisk → application only)                  |
| 0x10        | signed linear 16-bit little-endian mono, 8 kHz                      |
| 0x11 – 0x18 | the same at 12, 16, 24, 32, 44.1, 48, 96, 192 kHz (newer Asterisk)  |
| 0xff        | error, an optional 1-byte code                                      |

Asterisk reads only audio and hangup frames from the application: a DTMF or UUID frame sent to
Asterisk ends the call (its reader rejects any other kind). `encode_dtmf`/`encode_uuid` exist for
fake peers in tests, not for talking to a real PBX.

The parser is fed whatever bytes arrived (`feed`) and returns the frames completed so far, like
`h11`/`websockets` protocol objects; it never touches a socket.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import IntEnum
from typing import Final


class Kind(IntEnum):
    """AudioSocket frame kinds."""

    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    SLIN = 0x10
    SLIN_12K = 0x11
    SLIN_16K = 0x12
    SLIN_24K = 0x13
    SLIN_32K = 0x14
    SLIN_44K = 0x15
    SLIN_48K = 0x16
    SLIN_96K = 0x17
    SLIN_192K = 0x18
    ERROR = 0xFF


AUDIO_SAMPLE_RATES: Final[dict[int, int]] = {
    Kind.SLIN: 8000,
    Kind.SLIN_12K: 12000,
    Kind.SLIN_16K: 16000,
    Kind.SLIN_24K: 24000,
    Kind.SLIN_32K: 32000,
    Kind.SLIN_44K: 44100,
    Kind.SLIN_48K: 48000,
    Kind.SLIN_96K: 96000,
    Kind.SLIN_192K: 192000,
}
HEADER_SIZE: Final = 3
MAX_LENGTH_FIELD: Final = 0xFFFF
# 20 ms at 192 kHz is 7 680 bytes; 16 KiB leaves room for 40 ms frames at the top rate while
# keeping one connection's buffered garbage small.
DEFAULT_MAX_PAYLOAD: Final = 16384
DTMF_DIGITS: Final = frozenset("0123456789*#ABCD")
UUID_SIZE: Final = 16


# --- frames ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HangupFrame:
    """The peer asks to hang up (0x00)."""


@dataclass(frozen=True, slots=True)
class UuidFrame:
    """The call's identifier, always the first frame Asterisk sends (0x01)."""

    value: uuid.UUID


@dataclass(frozen=True, slots=True)
class DtmfFrame:
    """One DTMF digit the callee pressed (0x03)."""

    digit: str


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """Signed-linear 16-bit little-endian mono audio (0x10 – 0x18)."""

    pcm: bytes
    kind: int = Kind.SLIN

    @property
    def sample_rate(self) -> int:
        return AUDIO_SAMPLE_RATES[self.kind]

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 * 1000 / self.sample_rate


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """The peer reports an error (0xff); Asterisk's codes: 1 hangup, 2 frame forwarding, 4 memory."""

    code: int | None = None


Frame = HangupFrame | UuidFrame | DtmfFrame | AudioFrame | ErrorFrame


# --- errors ------------------------------------------------------------------------------


class AudioSocketProtocolError(Exception):
    """The byte stream is not valid AudioSocket; the session should end."""


class UnknownFrameKind(AudioSocketProtocolError):
    """A header names a kind this codec does not know."""

    def __init__(self, kind: int, offset: int) -> None:
        super().__init__(f"unknown AudioSocket frame kind 0x{kind:02x} at stream offset {offset}")
        self.kind = kind
        self.offset = offset


class BadFrameLength(AudioSocketProtocolError):
    """A header's length is impossible for its kind, or above the configured bound."""

    def __init__(self, kind: int, length: int, expected: str, offset: int) -> None:
        super().__init__(
            f"AudioSocket frame kind 0x{kind:02x} at stream offset {offset} has payload length "
            f"{length}; expected {expected}"
        )
        self.kind = kind
        self.length = length
        self.expected = expected
        self.offset = offset


class BadFramePayload(AudioSocketProtocolError):
    """A payload has the right length but an impossible value (e.g. a DTMF byte that is no digit)."""

    def __init__(self, kind: int, payload: bytes, why: str, offset: int) -> None:
        super().__init__(
            f"AudioSocket frame kind 0x{kind:02x} at stream offset {offset} has payload "
            f"{payload[:16]!r}: {why}"
        )
        self.kind = kind
        self.payload = payload
        self.why = why
        self.offset = offset


# --- parser ------------------------------------------------------------------------------


def _check_length(kind: int, length: int, max_payload: int, offset: int) -> None:
    if kind == Kind.HANGUP:
        if length != 0:
            raise BadFrameLength(kind, length, "0", offset)
    elif kind == Kind.UUID:
        if length != UUID_SIZE:
            raise BadFrameLength(kind, length, str(UUID_SIZE), offset)
    elif kind == Kind.DTMF:
        if length != 1:
            raise BadFrameLength(kind, length, "1", offset)
    elif kind == Kind.ERROR:
        if length > 1:
            raise BadFrameLength(kind, length, "0 or 1", offset)
    elif kind in AUDIO_SAMPLE_RATES:
        if length == 0 or length % 2 or length > max_payload:
            raise BadFrameLength(kind, length, f"an even number from 2 to {max_payload}", offset)
    else:
        raise UnknownFrameKind(kind, offset)


def _decode(kind: int, payload: bytes, offset: int) -> Frame:
    if kind == Kind.HANGUP:
        return HangupFrame()
    if kind == Kind.UUID:
        return UuidFrame(uuid.UUID(bytes=payload))
    if kind == Kind.DTMF:
        digit = chr(payload[0])
        if digit not in DTMF_DIGITS:
            raise BadFramePayload(kind, payload, "not a DTMF digit (0-9 * # A-D)", offset)
        return DtmfFrame(digit)
    if kind == Kind.ERROR:
        return ErrorFrame(payload[0] if payload else None)
    return AudioFrame(payload, Kind(kind))


class AudioSocketParser:
    """Incremental AudioSocket parser: feed it bytes in any split, get whole frames back.

    After a protocol error the parser is poisoned: every later `feed` raises the same error
    again, so whoever owns the stream can only end the session.
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        if not 2 <= max_payload <= MAX_LENGTH_FIELD:
            raise ValueError(f"max_payload must be within 2..{MAX_LENGTH_FIELD}, got {max_payload}")
        self._max_payload = max_payload
        self._buffer = bytearray()
        self._offset = 0  # stream offset of the first byte in `_buffer`, for error messages
        self._error: AudioSocketProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buffer)

    @property
    def error(self) -> AudioSocketProtocolError | None:
        """The error that poisoned the parser, if any."""
        return self._error

    def feed(self, data: bytes) -> list[Frame]:
        """Consume `data`; return every frame it completes, in stream order.

        Raises `UnknownFrameKind`, `BadFrameLength` or `BadFramePayload` (all
        `AudioSocketProtocolError`) as soon as a header or payload is invalid — a bad length is
        caught from the header alone, before its payload is buffered. Never raises anything
        else for any input.
        """
        if self._error is not None:
            raise self._error.with_traceback(None)
        buf = self._buffer
        buf += data
        frames: list[Frame] = []
        pos = 0
        try:
            while len(buf) - pos >= HEADER_SIZE:
                kind = buf[pos]
                length = (buf[pos + 1] << 8) | buf[pos + 2]
                offset = self._offset + pos
                _check_length(kind, length, self._max_payload, offset)
                end = pos + HEADER_SIZE + length
                if end > len(buf):
                    break
                frames.append(_decode(kind, bytes(buf[pos + HEADER_SIZE : end]), offset))
                pos = end
        except AudioSocketProtocolError as exc:
            self._error = exc
            raise
        finally:
            del buf[:pos]
            self._offset += pos
        return frames


# --- encoders ----------------------------------------------------------------------------


def _frame(kind: int, payload: bytes = b"") -> bytes:
    return bytes((kind, len(payload) >> 8, len(payload) & 0xFF)) + payload


def encode_audio(pcm: bytes, kind: int = Kind.SLIN) -> bytes:
    """One audio frame of `pcm` (s16le mono at the kind's rate).

    Raises `ValueError` for a non-audio kind, an empty or odd-length payload, or one longer than
    the 16-bit length field — Asterisk ends the call on an empty audio frame.
    """
    if kind not in AUDIO_SAMPLE_RATES:
        raise ValueError(f"0x{kind:02x} is not an AudioSocket audio kind")
    if not pcm or len(pcm) % 2 or len(pcm) > MAX_LENGTH_FIELD:
        raise ValueError(
            f"audio payload must be 2..{MAX_LENGTH_FIELD - 1} even bytes, got {len(pcm)}"
        )
    return _frame(kind, pcm)


def encode_hangup() -> bytes:
    """The hangup frame `00 00 00`."""
    return _frame(Kind.HANGUP)


def encode_uuid(value: uuid.UUID | str) -> bytes:
    """The identification frame a peer sends first (16 raw UUID bytes)."""
    return _frame(Kind.UUID, uuid.UUID(str(value)).bytes)


def encode_dtmf(digit: str) -> bytes:
    """A DTMF frame (what Asterisk sends when the callee presses a key)."""
    if len(digit) != 1 or digit not in DTMF_DIGITS:
        raise ValueError(f"{digit!r} is not a DTMF digit (0-9 * # A-D)")
    return _frame(Kind.DTMF, digit.encode("ascii"))


def encode_error(code: int | None = None) -> bytes:
    """An error frame with an optional one-byte application error code."""
    if code is None:
        return _frame(Kind.ERROR)
    if not 0 <= code <= 0xFF:
        raise ValueError(f"error code must fit in one byte, got {code}")
    return _frame(Kind.ERROR, bytes((code,)))


def encode_frame(frame: Frame) -> bytes:
    """Encode any typed frame; `AudioSocketParser().feed(encode_frame(f)) == [f]`."""
    match frame:
        case HangupFrame():
            return encode_hangup()
        case UuidFrame(value=value):
            return encode_uuid(value)
        case DtmfFrame(digit=digit):
            return encode_dtmf(digit)
        case AudioFrame(pcm=pcm, kind=kind):
            return encode_audio(pcm, kind)
        case ErrorFrame(code=code):
            return encode_error(code)
