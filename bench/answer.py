"""`python -m bench.answer --calls N --out F`: the answer scenario of the media benchmark.

Two figures of the first seconds of a call, from one run:

- **answer → first agent audio**: from the moment the answered call's AudioSocket connects (the
  callee has said "Hello?" and the dialplan's answering-machine detection heard it: HUMAN) to
  the first frame of agent audio sent to it — with the call's Realtime session prewarmed while
  the phone rang, and without (connected at answer), calls of both kinds interleaved. Less the
  model's own first-audio time (the local server's `response.created` → first audio delta,
  measured on each call), that is OpenDeep's share: goal p99 ≤ 300 ms.
- **false barge-ins per minute** on lines that echo the agent's voice back (10 dB quieter,
  100 ms later, over faint line noise) and never speak themselves: every barge-in counted on
  those calls cuts the agent off for nothing.

This process is the one measured, as in `bench.level`: it holds only OpenDeep's media path (the
AudioSocket server, the bridge registry with its prewarmer, the bridges and their Realtime
clients, SQLite). The local Realtime server (`bench.sim_process`, with a session set-up time
and a first-audio time of its own, see `--connect-ms` and `--model-ms`) and the simulated
Asterisk peers (`bench.peer_process`) run in processes of their own.

Sequence: seed the calls; start the helpers; one warm-up call; start the echo calls; then one
call every `--every-s`: "dialled" (its UUID expected; its session prewarmed, every other call),
ringing for 1-3 s, then answered by a peer that waits to be greeted and hangs up after
`HOLD_S` — or, every fifth call, not answered at all (busy, no answer) and forgotten. At the
end, every session the prewarmer opened must be used or closed, and none may be left open at
the Realtime server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.call_agent import call_script
from bench import figures
from bench.ipc import Child
from bench.level import (
    BenchError,
    LogTally,
    close_db,
    git_commit,
    open_bench_db,
    run_to_figures,
    stop_helpers,
)
from bench.loop_lag import LoopLag
from bench.procfs import cpu_seconds, loadavg
from core.db import Database
from core.settings import Settings
from media.audiosocket_server import AudioSocketServer
from media.audiosocket_session import AudioSocketSession
from media.bridge_registry import BridgeRegistry
from media.realtime_client import RealtimeClientFactory

GOAL_OVER_MODEL_MS = 300.0  # answer → first agent audio, p99, beyond the model's own time
RING_S = (1.0, 3.0)  # a call rings this long (uniform) before it is answered or given up
HOLD_S = 2.0  # an answered call lasts this long (its first audio comes well before)
PREWARM_GRACE_S = 10.0  # as the attempt runner's: a session unused this long after ringing
UNANSWERED_EVERY = 5  # every fifth call is not answered
WARMUP_S = 6.0  # the first call also pays for first-use imports and the SDK client
SIM_TURNS = 60  # agent turns per connection (an echo call of a minute needs ~10)
CALL_TIMEOUT_S = 60.0

Kind = Literal["answered", "unanswered", "echo"]


@dataclass
class PlannedCall:
    call_uuid: str
    kind: Kind
    prewarm: bool
    ring_s: float = 0.0
    hold_s: float = HOLD_S
    # What the measured process saw of it.
    first_audio_ms: float | None = None  # AudioSocket connected → first agent frame sent
    barge_ins: int = 0
    agent_audio_s: float = 0.0
    prewarmed: bool = False  # its bridge talked on the prewarmed session

    def to_json(self) -> dict[str, Any]:
        return {
            "call_uuid": self.call_uuid,
            "kind": self.kind,
            "prewarm": self.prewarm,
            "prewarmed": self.prewarmed,
            "ring_s": round(self.ring_s, 3),
            "first_audio_ms": self.first_audio_ms,
            "barge_ins": self.barge_ins,
            "agent_audio_s": round(self.agent_audio_s, 3),
        }


@dataclass
class Plan:
    warmup: str
    calls: list[PlannedCall] = field(default_factory=list)

    def of(self, kind: Kind) -> list[PlannedCall]:
        return [c for c in self.calls if c.kind == kind]


async def seed(db: Database, plan: Plan) -> None:
    """One user, one campaign, a task and a call row (AMD: HUMAN) per planned call. The task's
    instructions carry the call's UUID (how the Realtime server tells the calls apart) and, for
    an echo call, the tag that gives it speech-like agent audio."""
    async with db.users() as users:
        user_id = await users.add("bench", "bench-password-1", display_name="Bench Owner")
    async with db.scope(user_id) as s:
        campaign = await s.campaigns.create(
            idempotency_key="answer-bench", name="Answer bench", objective="Greet at once"
        )
        rows = [(plan.warmup, "answered"), *((c.call_uuid, c.kind) for c in plan.calls)]
        for i, (call_uuid, kind) in enumerate(rows):
            number = f"+1212556{i:04d}"
            tag = " bench-echo" if kind == "echo" else ""
            task = await s.tasks.add(
                campaign_id=campaign.id,
                target_name=f"Bench callee {i}",
                phone_e164=number,
                instructions=f"bench-call {call_uuid}{tag}",
            )
            call = await s.calls.create(
                task_id=task.id,
                attempt=1,
                call_uuid=call_uuid,
                dialed_number=number,
                node_id="bench",
            )
            await s.calls.set_progress(call.id, amd_status="HUMAN")


def make_plan(calls: int, echo_calls: int, echo_s: float, seed_value: int) -> Plan:
    rng = random.Random(seed_value)
    plan = Plan(warmup=str(uuid.uuid4()))
    for _ in range(echo_calls):
        ring_s = rng.uniform(*RING_S)
        plan.calls.append(
            PlannedCall(str(uuid.uuid4()), "echo", prewarm=True, ring_s=ring_s, hold_s=echo_s)
        )
    for i in range(calls):
        kind: Kind = "unanswered" if (i + 1) % UNANSWERED_EVERY == 0 else "answered"
        ring_s = rng.uniform(*RING_S)
        # Alternate within each kind, so both halves see the same load over the run.
        same = sum(1 for c in plan.calls if c.kind == kind)
        plan.calls.append(
            PlannedCall(str(uuid.uuid4()), kind, prewarm=same % 2 == 0, ring_s=ring_s)
        )
    return plan


class Sessions:
    """Keeps every AudioSocket session the server runs, by call UUID, so its counters can be
    read after it ended (the server forgets a session when its call ends)."""

    def __init__(self, server: AudioSocketServer) -> None:
        self._server = server
        self.by_uuid: dict[str, AudioSocketSession] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._collect(), name="sessions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _collect(self) -> None:
        while True:
            for session in self._server.sessions:
                with contextlib.suppress(RuntimeError):  # not identified yet
                    self.by_uuid.setdefault(str(session.call_id), session)
            await asyncio.sleep(0.05)


async def place(
    call: PlannedCall, registry: BridgeRegistry, peers: Child, sessions: Sessions
) -> None:
    """One call as the attempt runner places it: expected, prewarmed (or not) once the
    Originate is out, ringing, then answered or not, and forgotten at its end."""
    registry.expect(call.call_uuid)
    if call.prewarm:
        registry.prewarm(call.call_uuid, call.ring_s + PREWARM_GRACE_S)
    await asyncio.sleep(call.ring_s)
    if call.kind == "unanswered":
        registry.forget(call.call_uuid)
        return
    mode = "echo" if call.kind == "echo" else "quiet"
    await peers.send("answer", uuid=call.call_uuid, mode=mode, hold_s=call.hold_s)
    deadline = time.monotonic() + call.hold_s + CALL_TIMEOUT_S
    while (bridge := registry.bridge(call.call_uuid)) is None:
        if time.monotonic() > deadline:
            raise BenchError(f"call {call.call_uuid} never reached its bridge")
        await asyncio.sleep(0.05)
    await asyncio.wait_for(bridge.finished.wait(), max(1.0, deadline - time.monotonic()))
    session = sessions.by_uuid.get(call.call_uuid)
    call.first_audio_ms = session.counters.first_audio_ms if session else None
    call.barge_ins = bridge.stats.barge_ins
    call.agent_audio_s = bridge.playout.stats.audio_frames * 0.02
    call.prewarmed = bridge.stats.prewarmed
    registry.forget(call.call_uuid)


async def run(
    plan: Plan,
    *,
    every_s: float,
    connect_ms: int,
    model_ms: int,
    work: Path,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    url, db, tally = await open_bench_db(work, log_level)
    settings = Settings(_env_file=None, database_url=url, data_dir=work)
    await seed(db, plan)
    load_before = loadavg()
    sim = await Child.start(
        "realtime server",
        "bench.sim_process",
        *("--dir", str(work), "--turns", str(SIM_TURNS)),
        *("--connect-ms", str(connect_ms), "--model-ms", str(model_ms)),
    )
    realtime_url = (await sim.expect("ready", 60))["url"]
    clients = RealtimeClientFactory(base_url=realtime_url, model="gpt-realtime")
    registry = BridgeRegistry(db, settings, script=call_script, realtime=clients)
    server = AudioSocketServer(
        registry.expected.guard(registry.resolve), port=0, max_sessions=len(plan.calls) + 8
    )
    await server.start()
    sessions = Sessions(server)
    peers = await Child.start(
        "peers", "bench.peer_process", "--port", str(server.port), "--dir", str(work)
    )
    lag = LoopLag()
    try:
        await peers.expect("ready", 60)
        registry.expect(plan.warmup)
        await peers.send("warmup", uuid=plan.warmup, seconds=WARMUP_S)
        warm = await peers.expect("warmup_done", WARMUP_S + 30)
        if not warm["agent_turns"]:
            raise BenchError("the warm-up call heard no agent audio")
        registry.forget(plan.warmup)
        sessions.start()
        lag.start()
        started_at, cpu_before = time.monotonic(), time.process_time()
        sim_cpu_before, peers_cpu_before = cpu_seconds(sim.pid), cpu_seconds(peers.pid)
        tasks = [asyncio.create_task(place(c, registry, peers, sessions)) for c in plan.of("echo")]
        for call in [c for c in plan.calls if c.kind != "echo"]:
            tasks.append(asyncio.create_task(place(call, registry, peers, sessions)))
            await asyncio.sleep(every_s)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise BenchError(f"{len(failures)} calls failed, the first: {failures[0]!r}")
        ended_at = time.monotonic()
        cpu = {
            "measured_process_cores": (time.process_time() - cpu_before) / (ended_at - started_at),
            "realtime_server_cores": (cpu_seconds(sim.pid) - sim_cpu_before)
            / (ended_at - started_at),
            "peers_cores": (cpu_seconds(peers.pid) - peers_cpu_before) / (ended_at - started_at),
        }
        # Sessions closed unused are closing in the background: give them a moment.
        counts = registry.prewarmer.counts
        settle = time.monotonic() + 10
        while (counts.open_now or counts.opening_now) and time.monotonic() < settle:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await registry.prewarmer.aclose()
        window = [started_at, ended_at]
        peers_done, sim_done = await stop_helpers(peers, sim, window)
    finally:
        await lag.stop()
        await sessions.stop()
        await peers.finish()
        await sim.finish()
        await server.stop()
        await registry.aclose()
        await clients.aclose()
        await close_db(db)
    return report(
        work,
        plan,
        settings={
            "connect_ms": connect_ms,
            "model_ms": model_ms,
            "every_s": every_s,
            "ring_s": list(RING_S),
            "hold_s": HOLD_S,
        },
        prewarm=counts.to_json(),
        open_at_server=int(sim_done["open_connections"]),
        cpu=cpu,
        load_before=load_before,
        lag={
            "media process": _plain(figures.summarize(lag.within(*window))),
            "realtime server": sim_done["loop_lag_ms"],
            "peers": peers_done["loop_lag_ms"],
        },
        log_tally=tally,
    )


def _plain(s: figures.Summary | None) -> dict[str, Any] | None:
    return s.to_json() if s is not None else None


def _summary(values_ms: list[float]) -> dict[str, Any]:
    s = figures.summarize([v / 1000 for v in values_ms])
    return s.to_json() if s is not None else {"n": 0}


def model_first_audio_ms(sim_data: list[dict[str, Any]]) -> dict[str, float]:
    """Per call: the local server's own first-audio time of the call's first response
    (`response.created` sent → its first audio delta sent)."""
    out: dict[str, float] = {}
    for trace in sim_data:
        if not trace["call_uuid"] or not trace["created"]:
            continue
        first = next((sent for sent, turn, _ in trace["deltas"] if turn == 0), None)
        if first is not None:
            out[trace["call_uuid"]] = (first - trace["created"][0]) * 1000
    return out


def report(
    work: Path,
    plan: Plan,
    *,
    settings: dict[str, Any],
    prewarm: dict[str, int],
    open_at_server: int,
    cpu: dict[str, float],
    load_before: tuple[float, float, float],
    lag: dict[str, Any],
    log_tally: LogTally,
) -> dict[str, Any]:
    sim_data: list[dict[str, Any]] = json.loads((work / "sim.json").read_text())
    peer_data = {p["call_uuid"]: p for p in json.loads((work / "peers.json").read_text())}
    model = model_first_audio_ms(sim_data)
    answered = plan.of("answered")
    halves: dict[str, Any] = {}
    for name, prewarmed in (("prewarmed", True), ("connect_at_answer", False)):
        calls = [c for c in answered if c.prewarm is prewarmed]
        sent, at_peer, models, own = [], [], [], []
        for c in calls:
            if c.first_audio_ms is None:
                continue
            sent.append(c.first_audio_ms)
            p = peer_data.get(c.call_uuid)
            if p and p["first_audio_at"] and p["connected_at"]:
                at_peer.append((p["first_audio_at"] - p["connected_at"]) * 1000)
            if c.call_uuid in model:
                models.append(model[c.call_uuid])
                own.append(c.first_audio_ms - model[c.call_uuid])
        share = _summary(own)
        halves[name] = {
            "first_audio_ms": _summary(sent),
            "first_audio_at_peer_ms": _summary(at_peer),
            "model_first_audio_ms": _summary(models),
            "opendeep_share_ms": {
                **share,
                "goal_p99": GOAL_OVER_MODEL_MS,
                "met": bool(share.get("n")) and share["p99"] <= GOAL_OVER_MODEL_MS,
            },
            "talked_on_the_prewarmed_session": sum(1 for c in calls if c.prewarmed),
            "calls": len(calls),
        }
    echo = plan.of("echo")
    barge_ins = sum(c.barge_ins for c in echo)
    agent_min = sum(c.agent_audio_s for c in echo) / 60
    call_min = sum(c.hold_s for c in echo) / 60
    return {
        "scenario": "answer",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": load_before,
            "loadavg_after": loadavg(),
        },
        "settings": settings,
        "calls": {
            "answered": len(answered),
            "unanswered": len(plan.of("unanswered")),
            "echo": len(echo),
        },
        "figures": {
            **halves,
            "false_barge_ins": {
                "calls": len(echo),
                "barge_ins": barge_ins,
                "agent_speech_min": round(agent_min, 3),
                "call_min": round(call_min, 3),
                "per_agent_speech_min": round(barge_ins / agent_min, 3) if agent_min else None,
                "per_call_min": round(barge_ins / call_min, 3) if call_min else None,
            },
        },
        "prewarm": prewarm,
        "open_sessions_at_server_end": open_at_server,
        "cpu": cpu,
        "loop_lag_ms": lag,
        "errors_logged": log_tally.errors,
        "log": dict(log_tally.counts.most_common()),
        "per_call": [c.to_json() for c in plan.calls],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.answer", description=__doc__)
    parser.add_argument("--calls", type=int, default=50, help="calls placed one after another")
    parser.add_argument("--every-s", type=float, default=0.75, help="a call starts this often")
    parser.add_argument("--echo-calls", type=int, default=4, help="echoing lines, concurrently")
    parser.add_argument("--echo-seconds", type=float, default=60.0, help="length of each")
    parser.add_argument("--connect-ms", type=int, default=400, help="the server's session set-up")
    parser.add_argument("--model-ms", type=int, default=250, help="the model's first-audio time")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the figures")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (raw data)")
    parser.add_argument("--log-level", default="WARNING", help="of OpenDeep's logs (stderr)")
    args = parser.parse_args()
    plan = make_plan(args.calls, args.echo_calls, args.echo_seconds, args.seed)
    work = Path(tempfile.mkdtemp(prefix="opendeep-answer-bench-"))
    run_to_figures(
        lambda: run(
            plan,
            every_s=args.every_s,
            connect_ms=args.connect_ms,
            model_ms=args.model_ms,
            work=work,
            log_level=args.log_level,
        ),
        args.out,
        work,
        keep=args.keep,
    )


if __name__ == "__main__":
    main()
