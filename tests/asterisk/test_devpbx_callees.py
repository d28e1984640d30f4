"""The development PBX's callees of real lines, over AMI and a plain AudioSocket peer: what its
answering-machine detection makes of each, and the echoing line measured where the agent
sits — its own voice back about 10 dB quieter and about 100 ms later."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from panoramisk.message import Message
from pbx_harness import Ami, AudioSocketPeer, AudioSocketServer

from tests.kit import until

pytestmark = pytest.mark.asterisk

HOLD, SCREENER, ECHO, SILENT, TALKER = (f"+1212555011{n}" for n in range(5))
FRAME = 160  # samples in 20 ms at 8 kHz


def _user_event(name: str, call_uuid: str) -> Callable[[Message], bool]:
    def match(event: Message) -> bool:
        return (
            event.event == "UserEvent"
            and event.get("UserEvent") == name
            and event.get("CallUUID") == call_uuid
        )

    return match


@pytest.mark.parametrize(
    ("number", "verdict"),
    [
        (HOLD, "HUMAN"),  # "Hello?", then waits for the caller
        (SCREENER, "MACHINE"),  # the screening service's long announcement
        (ECHO, "HUMAN"),  # "Hello?" and a pause before the echo
        (SILENT, "HUMAN"),
        (TALKER, "HUMAN"),  # "Hello?", and only later the talking
    ],
)
async def test_answering_machine_detection_of_each_callee(
    ami: Ami, serve_audiosocket: AudioSocketServer, number: str, verdict: str
) -> None:
    async with serve_audiosocket() as (peer, address):
        call = await ami.originate(number, audiosocket=address)
        try:
            assert call.response.get("Reason") == "4"  # answered
            amd = await ami.wait_event(_user_event("OpenDeepAMD", call.call_uuid), timeout=6)
            assert amd.get("Status") == verdict, amd
            await asyncio.wait_for(peer.connected.wait(), 3)
        finally:
            await ami.hang_up(call)


def speech_bursts(seconds: float, seed: int = 1) -> npt.NDArray[np.int16]:
    """Noise in bursts of 100–400 ms with 50–300 ms between them: an envelope like speech's."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * 8000))
    at = 0.2
    while at < seconds - 0.5:
        length = rng.uniform(0.1, 0.4)
        start, end = int(at * 8000), int((at + length) * 8000)
        out[start:end] = rng.normal(0, 0.15 * 32767, end - start)
        at += length + rng.uniform(0.05, 0.3)
    return np.clip(out, -32767, 32767).astype(np.int16)


def echo_delay_and_gain(
    played: npt.NDArray[np.int16], heard: npt.NDArray[np.int16]
) -> tuple[int, float, float]:
    """(delay ms, gain dB, correlation) of `heard` as an echo of `played`, both starting as
    the AudioSocket connected, frame for frame."""
    p, h = played.astype(np.float64), heard.astype(np.float64)
    best = (0, 0.0, -1.0)
    for delay in range(0, 400 * 8, 8):  # 1 ms steps up to 400 ms
        a, b = p[: len(h) - delay], h[delay:]
        n = min(len(a), len(b))
        a, b = a[:n], b[:n]
        corr = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
        if corr > best[2]:
            gain = float(np.dot(a, b) / np.dot(a, a))
            best = (delay // 8, 20 * float(np.log10(abs(gain) + 1e-12)), corr)
    return best


async def test_the_echo_line_returns_the_callers_voice_10_db_down_100_ms_later(
    ami: Ami, serve_audiosocket: AudioSocketServer
) -> None:
    # The AudioSocket connects once AMD is done; the echo comes back from then on.
    played = speech_bursts(8)
    peer = AudioSocketPeer(play=played.tobytes(), keep=True)
    async with serve_audiosocket(peer=peer) as (_, address):
        call = await ami.originate(ECHO, audiosocket=address)
        try:
            await asyncio.wait_for(peer.connected.wait(), 6)
            await until(lambda: len(peer.heard) >= 400, 12, "8 s of the line's audio")
        finally:
            await ami.hang_up(call)
    heard = np.frombuffer(b"".join(peer.heard), dtype="<i2")
    # Frame for frame from the first second on (the jitter buffer fills first).
    skip = 50 * FRAME
    delay_ms, gain_db, corr = echo_delay_and_gain(played[skip:], heard[skip : len(played)])
    print(f"\nMEASURED echo line: delay {delay_ms} ms, gain {gain_db:.1f} dB, corr {corr:.3f}")
    assert corr > 0.9, "what came back is not the caller's own audio"
    assert -11.5 <= gain_db <= -8.0
    assert 80 <= delay_ms <= 250
