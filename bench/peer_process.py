"""`python -m bench.peer_process --port P --dir D`: simulated Asterisk peers for the benchmark,
in a process of their own.

Each peer is what Asterisk's `AudioSocket()` application does on a call: it connects, sends the
call's UUID frame, then one 320-byte slin frame every 20 ms (one asyncio task per peer), and it
timestamps every frame it receives on the monotonic clock (shared by all processes of the
machine). Its callee talks like a person: it interrupts the agent after 1.5-5 s of agent speech
(a barge-in), answers when the agent stops first, and speaks up after 6 s of nothing. On `stop`
it writes `peers.json` (what each peer heard, when) and `peer_jitter.npy` (inter-arrival jitter
inside the measurement window) to D.

On `answer` a peer answers one call of the answer scenario (`bench.answer`): `quiet`, a person
who said "Hello?" to the dialplan's answering-machine detection and now waits to be greeted,
or `echo`, a line that returns the agent's voice 10 dB quieter and 100 ms later over faint line
noise and never speaks itself; it hangs up after `hold_s`. Each peer notes when it connected
and when the first frame of agent audio (any frame that is not digital silence) arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import time
import uuid
from array import array
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bench.agent_audio import CALLEE_SILENCE, CALLEE_SPEECH, FRAME_S, read_marker
from bench.figures import summarize
from bench.ipc import commands, reply
from bench.loop_lag import LoopLag
from bench.sim_process import CHUNK_MS
from media.audiosocket_codec import (
    AudioFrame,
    AudioSocketParser,
    HangupFrame,
    encode_audio,
    encode_uuid,
)

FRAMES_PER_CHUNK = round(CHUNK_MS / 1000 / FRAME_S)
AGENT_TALKING_S = 0.06  # an agent frame this recent means the agent is talking
AGENT_DONE_S = 0.4  # this long without agent audio after a turn: the agent has finished
NUDGE_AFTER_S = 6.0  # nothing heard or said for this long: say something
RESYNC_AFTER_S = 0.1  # a peer this far behind its 20 ms schedule restarts it
ECHO_DELAY_S = 0.1
ECHO_GAIN = 10 ** (-10 / 20)
ECHO_NOISE_RMS = 32768 * 10 ** (-60 / 20)  # line noise under the echo
ECHO_KEPT = 25  # frames of agent audio kept for the echo (0.5 s)
SILENT_PCM = bytes(320)
Mode = Literal["talker", "quiet", "echo"]  # the load levels' callee, or the answer scenario's


@dataclass
class HeardTurn:
    """One agent turn as the peer heard it (consecutive turns differ in variant)."""

    variant: int
    first: float
    last: float
    frames: int
    last_frame: int
    barge_after_s: float
    answered: bool = False
    starts: list[tuple[int, float]] = field(default_factory=list)  # (frame, arrival) of the
    # frames that open a delta

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "first": self.first,
            "last": self.last,
            "frames": self.frames,
            "starts": self.starts,
        }


@dataclass
class Peer(asyncio.Protocol):
    call_uuid: str
    rng: random.Random
    mode: Mode = "talker"
    connected_at: float | None = None
    first_audio_at: float | None = None  # the first frame of agent audio
    arrivals: array[float] = field(default_factory=lambda: array("d"))
    turns: list[HeardTurn] = field(default_factory=list)
    bursts: list[tuple[float, str]] = field(default_factory=list)  # (start, barge|reply|nudge)
    lost_at: float | None = None  # when OpenDeep closed the call (we did not hang up)
    hangup_frame: bool = False
    _speak_until: float = 0.0
    _last_activity: float = field(default_factory=time.monotonic)
    _transport: asyncio.Transport | None = None
    _parser: AudioSocketParser = field(default_factory=AudioSocketParser)
    _heard: deque[tuple[float, bytes]] = field(default_factory=lambda: deque(maxlen=ECHO_KEPT))
    echo_delays: array[float] = field(default_factory=lambda: array("d"))  # sent − arrived, s
    _noise: np.random.Generator = field(default_factory=lambda: np.random.default_rng(5))

    # --- receiving (protocol callbacks: no task, cheap) --------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.connected_at = time.monotonic()
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(encode_uuid(uuid.UUID(self.call_uuid)))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        for frame in self._parser.feed(data):
            if isinstance(frame, AudioFrame):
                self.arrivals.append(now)
                if self.first_audio_at is None and frame.pcm.count(0) != len(frame.pcm):
                    self.first_audio_at = now
                if self.mode == "echo":
                    self._heard.append((now, frame.pcm))
                mark = read_marker(frame.pcm)
                if mark is not None:
                    self._agent_frame(now, *mark)
            elif isinstance(frame, HangupFrame):
                self.hangup_frame = True

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self.lost_at = time.monotonic()
        self._transport = None

    def _agent_frame(self, now: float, variant: int, index: int) -> None:
        turn = self.turns[-1] if self.turns else None
        if turn is None or turn.variant != variant or index < turn.last_frame:
            turn = HeardTurn(variant, now, now, 0, index, self.rng.uniform(1.5, 5.0))
            self.turns.append(turn)
        turn.last, turn.frames, turn.last_frame = now, turn.frames + 1, index
        self._last_activity = now
        if index % FRAMES_PER_CHUNK == 0:
            turn.starts.append((index, now))

    # --- sending (one task per peer) ---------------------------------------------------------

    async def talk(self) -> None:
        """One frame every 20 ms until the connection closes."""
        start, n = time.monotonic(), 0
        while (transport := self._transport) is not None and not transport.is_closing():
            delay = start + n * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -RESYNC_AFTER_S:
                start, n = time.monotonic(), 0
            now = time.monotonic()
            if self.mode == "echo":
                transport.write(self._echo(now))
            elif self.mode == "quiet":
                transport.write(CALLEE_SILENCE)
            else:
                self._decide(now)
                transport.write(CALLEE_SPEECH if now < self._speak_until else CALLEE_SILENCE)
            n += 1

    def _echo(self, now: float) -> bytes:
        """The frame the line returns at `now`: the agent audio that arrived `ECHO_DELAY_S`
        earlier (by arrival time, so a late tick of our own does not shift it), attenuated,
        over line noise."""
        target = now - ECHO_DELAY_S
        heard = self._heard
        while len(heard) > 1 and abs(heard[1][0] - target) <= abs(heard[0][0] - target):
            heard.popleft()
        close = bool(heard) and abs(heard[0][0] - target) <= FRAME_S * 0.75
        played = heard[0][1] if close else SILENT_PCM
        if close:
            self.echo_delays.append(now - heard[0][0])
        echo = np.frombuffer(played, dtype="<i2") * ECHO_GAIN
        noise: npt.NDArray[np.float64] = self._noise.normal(0.0, ECHO_NOISE_RMS, len(echo))
        return encode_audio(np.clip(echo + noise, -32768, 32767).astype("<i2").tobytes())

    def _decide(self, now: float) -> None:
        if now < self._speak_until:
            return
        turn = self.turns[-1] if self.turns else None
        if turn is not None and not turn.answered:
            if now - turn.last < AGENT_TALKING_S:
                if now - turn.first >= turn.barge_after_s:
                    self._speak(now, "barge", turn)
            elif now - turn.last >= AGENT_DONE_S:
                self._speak(now, "reply", turn)
        elif now - self._last_activity >= NUDGE_AFTER_S:
            self._speak(now, "nudge", None)

    def _speak(self, now: float, kind: str, turn: HeardTurn | None) -> None:
        self._speak_until = now + self.rng.uniform(0.6, 0.9)
        self._last_activity = self._speak_until
        if turn is not None:
            turn.answered = True
        self.bursts.append((now, kind))

    def hang_up(self) -> None:
        """End the call the way Asterisk 22 does: close the socket, no hangup frame."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def to_json(self) -> dict[str, Any]:
        return {
            "call_uuid": self.call_uuid,
            "mode": self.mode,
            "connected_at": self.connected_at,
            "first_audio_at": self.first_audio_at,
            "echo_delay_ms": (
                s.to_json() if (s := summarize(self.echo_delays)) is not None else None
            ),
            "frames": len(self.arrivals),
            "turns": [t.to_json() for t in self.turns],
            "bursts": self.bursts,
            "lost_at": self.lost_at,
            "hangup_frame": self.hangup_frame,
        }

    def jitter(self, t0: float, t1: float) -> np.ndarray[Any, np.dtype[np.float64]]:
        """|inter-arrival - 20 ms| of the frames received inside [t0, t1]."""
        times = np.frombuffer(self.arrivals, dtype=np.float64)
        inside = times[(times >= t0) & (times <= t1)]
        return np.abs(np.diff(inside) - FRAME_S)


class Peers:
    def __init__(self, port: int, seed: int) -> None:
        self._port = port
        self._rng = random.Random(seed)
        self.peers: list[Peer] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def call(self, call_uuid: str, mode: Mode = "talker", port: int | None = None) -> Peer:
        """Connect the call to `port` (default: the one given at the start): the media worker
        the node gave the call to."""
        loop = asyncio.get_running_loop()
        peer = Peer(call_uuid, random.Random(self._rng.random()), mode)
        await asyncio.wait_for(
            loop.create_connection(lambda: peer, "127.0.0.1", port or self._port), timeout=10
        )
        self.peers.append(peer)
        self._tasks.append(asyncio.create_task(peer.talk(), name=f"peer-{call_uuid}"))
        return peer

    async def ramp(self, uuids: list[str], per_s: float, ports: list[int] | None = None) -> None:
        """Connect one call every 1/per_s seconds (real calls are answered one by one), each
        to its port in `ports` when given."""
        start = time.monotonic()
        for i, call_uuid in enumerate(uuids):
            await asyncio.sleep(max(0.0, start + i / per_s - time.monotonic()))
            await self.call(call_uuid, port=ports[i] if ports else None)

    async def hang_up_all(self) -> None:
        for peer in self.peers:
            peer.hang_up()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def answer(self, call_uuid: str, mode: Mode, hold_s: float) -> None:
        """Answer one call of the answer scenario; hang up after `hold_s`."""
        peer = await self.call(call_uuid, mode)
        asyncio.get_running_loop().call_later(hold_s, peer.hang_up)


async def serve(port: int, folder: Path, seed: int) -> None:
    warmup = Peers(port, seed)
    peers = Peers(port, seed + 1)
    answering: set[asyncio.Task[None]] = set()
    lag = LoopLag()
    lag.start()
    reply("ready")
    try:
        async for command in commands():
            cmd = command["cmd"]
            if cmd == "warmup":
                # One call (`uuid`), or one per media worker at once (`uuids`, `ports`).
                uuids = command.get("uuids") or [command["uuid"]]
                ports = command.get("ports") or [None] * len(uuids)
                warm = [await warmup.call(u, port=p) for u, p in zip(uuids, ports, strict=True)]
                await asyncio.sleep(command["seconds"])
                await warmup.hang_up_all()
                reply(
                    "warmup_done",
                    agent_turns=min(len(peer.turns) for peer in warm),
                    frames=min(len(peer.arrivals) for peer in warm),
                )
            elif cmd == "answer":
                task = asyncio.create_task(
                    peers.answer(command["uuid"], command["mode"], command["hold_s"])
                )
                answering.add(task)
                task.add_done_callback(answering.discard)
            elif cmd == "start":
                await peers.ramp(command["uuids"], command["per_s"], command.get("ports"))
                reply("started", calls=len(peers.peers))
            elif cmd == "stop":
                t0, t1 = command["window"]
                jitter = [p.jitter(t0, t1) for p in peers.peers]
                await peers.hang_up_all()
                np.save(folder / "peer_jitter.npy", np.concatenate([np.zeros(0), *jitter]))
                data = [p.to_json() for p in peers.peers]
                (folder / "peers.json").write_text(json.dumps(data))
                lags = summarize(lag.within(t0, t1))
                reply("done", calls=len(data), loop_lag_ms=lags.to_json() if lags else None)
                break
    finally:
        await lag.stop()
        with contextlib.suppress(Exception):
            await warmup.hang_up_all()
            await peers.hang_up_all()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peer_process")
    parser.add_argument("--port", type=int, required=True, help="the AudioSocket server's port")
    parser.add_argument("--dir", type=Path, required=True, help="where the results are written")
    parser.add_argument("--seed", type=int, default=1, help="seed of the callees' behaviour")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.dir, args.seed))


if __name__ == "__main__":
    main()
