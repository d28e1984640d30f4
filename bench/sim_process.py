"""`python -m bench.sim_process --dir D --turns K [--connect-ms C] [--model-ms M]`: the local
Realtime server for the benchmark, in a process of its own, so the measured process holds only
OpenDeep's media path.

It plays K agent turns per connection (marked audio, see `agent_audio`) at real-time pace and
keeps, per connection, when each `response.created`, each `response.output_audio.delta` and each
`input_audio_buffer.speech_started` was sent (from `ConnectionRecord.sent_at`). The records are
drained as the run goes, so memory stays flat however long it runs. On `stop` it writes
`sim.json` to D. A session takes C ms to open (`SimOptions.connect_latency_ms`) and each
response M ms to its first audio (`response_latency_ms`: the model's own first-audio time).
A call whose instructions say `bench-echo` gets long turns of word-like tone bursts instead of
marked audio (`ECHO_TEXTS`): what its echoing callee sends back has the rhythm of speech.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.agent_audio import FRAME_S, VARIANT_SECONDS, write_turns
from bench.figures import summarize
from bench.ipc import commands, reply
from bench.loop_lag import LoopLag
from media.realtime_server import RealtimeTestServer, Say, Script, ScriptedResponse, SimOptions
from media.realtime_server.record import ConnectionRecord

CHUNK_MS = 100  # audio per delta, as the real API streams it (roughly)
CALL_TAG = re.compile(r"bench-call ([0-9a-f-]{36})")
ECHO_TAG = "bench-echo"
# About 10 s of speech each: a tone burst per word, gaps between words, pauses at punctuation.
ECHO_TEXTS = (
    "Hello, this is an assistant calling on behalf of Alex Morgan about a dental cleaning. "
    "We would like a morning appointment next week, ideally on Tuesday or Thursday, for about "
    "an hour, and we can be flexible if those days are already full.",
    "Thank you, that is very helpful. Could you tell me which of those slots is still free, "
    "and whether the hygienist or the doctor will see the patient? Also, is there anything we "
    "should bring along, such as an insurance card or earlier x-rays?",
    "Perfect. Let me repeat that to make sure I have it right: Tuesday at nine in the morning, "
    "with the hygienist, for a cleaning of about an hour. Alex will bring the insurance card. "
    "Is there a number we should call if anything changes?",
)


def bench_script(turn_files: list[Path], turns: int) -> Script:
    """`turns` agent turns cycling through the variants (the text keeps one speech-cache entry
    per variant and connection)."""
    responses = [
        ScriptedResponse(
            outputs=[
                Say(
                    text=f"Benchmark agent turn, variant {k % len(turn_files)}.",
                    audio_file=turn_files[k % len(turn_files)],
                )
            ]
        )
        for k in range(turns)
    ]
    return Script(name="media-bench", responses=responses)


def echo_script(turns: int) -> Script:
    """`turns` long agent turns of word-like tone bursts (`ECHO_TEXTS`, cycling)."""
    responses = [
        ScriptedResponse(outputs=[Say(text=ECHO_TEXTS[k % len(ECHO_TEXTS)])]) for k in range(turns)
    ]
    return Script(name="media-bench-echo", responses=responses)


@dataclass
class Trace:
    """What one Realtime connection sent, reduced to what the figures need."""

    call_uuid: str | None = None
    responses: int = 0  # turn k is the k-th response (the script's k-th `ScriptedResponse`)
    created: list[float] = field(default_factory=list)  # when each response.created was sent
    deltas: list[tuple[float, int, int]] = field(default_factory=list)  # (sent, turn, frame)
    speech_started: list[tuple[float, int | None]] = field(default_factory=list)  # (sent, turn
    # streaming then, if any)
    _active: int | None = None
    _chunk: int = 0

    def absorb(self, record: ConnectionRecord, frames_per_chunk: int) -> None:
        """Take (and drop from the record) everything it saw since the last call."""
        while record.received:
            event = record.received.popleft()
            if self.call_uuid is None and event.get("type") == "session.update":
                found = CALL_TAG.search(str(event.get("session", {}).get("instructions", "")))
                self.call_uuid = found.group(1) if found else None
        while record.sent:
            event, sent = record.sent.popleft(), record.sent_at.popleft()
            kind = event.get("type")
            if kind == "response.output_audio.delta" and self._active is not None:
                self.deltas.append((sent, self._active, self._chunk * frames_per_chunk))
                self._chunk += 1
            elif kind == "response.created":
                self._active, self._chunk = self.responses, 0
                self.created.append(sent)
                self.responses += 1
            elif kind == "response.done":
                self._active = None
            elif kind == "input_audio_buffer.speech_started":
                self.speech_started.append((sent, self._active))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        del out["_active"], out["_chunk"]
        return out


async def serve(folder: Path, turns: int, connect_ms: int = 0, model_ms: int = 0) -> None:
    script = bench_script(write_turns(folder), turns)
    echoing = echo_script(turns)
    options = SimOptions(
        chunk_ms=CHUNK_MS,
        realtime_factor=1.0,
        record_limit=100_000,
        connect_latency_ms=connect_ms,
        response_latency_ms=model_ms,
    )
    frames_per_chunk = round(CHUNK_MS / 1000 / FRAME_S)
    traces: dict[int, Trace] = {}

    def absorb_all() -> None:
        for index, record in enumerate(server.connections):
            traces.setdefault(index, Trace()).absorb(record, frames_per_chunk)

    async def drain() -> None:
        while True:
            await asyncio.sleep(0.25)
            absorb_all()

    server = RealtimeTestServer(
        script,
        options=options,
        select_script=lambda instructions: echoing if ECHO_TAG in instructions else None,
    )
    lag = LoopLag()
    async with server:
        drainer = asyncio.create_task(drain())
        lag.start()
        reply("ready", url=server.url, turn_seconds=list(VARIANT_SECONDS))
        try:
            async for command in commands():
                if command["cmd"] == "stop":
                    absorb_all()
                    data = [t.to_json() for t in traces.values()]
                    (folder / "sim.json").write_text(json.dumps(data))
                    lags = summarize(lag.within(*command["window"]))
                    reply(
                        "done",
                        connections=len(server.connections),
                        open_connections=sum(1 for c in server.connections if not c.closed),
                        loop_lag_ms=lags.to_json() if lags else None,
                    )
                    break
        finally:
            await lag.stop()
            drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drainer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sim_process")
    parser.add_argument("--dir", type=Path, required=True, help="where sim.json is written")
    parser.add_argument("--turns", type=int, default=200, help="agent turns per connection")
    parser.add_argument("--connect-ms", type=int, default=0, help="time to open a session")
    parser.add_argument("--model-ms", type=int, default=0, help="response → first audio")
    args = parser.parse_args()
    asyncio.run(serve(args.dir, args.turns, args.connect_ms, args.model_ms))


if __name__ == "__main__":
    main()
