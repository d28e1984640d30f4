"""`python -m bench.level --calls N --seconds S --out F`: one concurrency level of the media
benchmark. This process is the one measured: it holds only OpenDeep's media path — the
AudioSocket server, the bridge registry, one `RealtimeBridge` per call with its Realtime client,
and the SQLite database. The local Realtime server (`bench.sim_process`) and the simulated
Asterisk peers (`bench.peer_process`) run in processes of their own.

Sequence: seed N calls; start the helpers; one warm-up call (first-use imports and caches are
not per-call memory); baseline RSS; ramp the N calls up; RSS again once every call is live;
settle; measure for S seconds; hang up; correlate what the three processes recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from agents.call_agent import call_script
from bench import figures
from bench.agent_audio import VARIANT_SECONDS
from bench.ipc import Child, ChildError
from bench.loop_lag import LoopLag
from bench.procfs import cpu_seconds, loadavg, machine_cpu, rss_bytes
from core.db import Database
from core.db.migrate import upgrade
from core.domain import TurnTaking
from core.logging import configure_logging
from core.settings import Settings
from media.audiosocket_server import AudioSocketServer
from media.audiosocket_session import AudioSocketSession
from media.bridge import RealtimeBridge
from media.bridge_registry import BridgeRegistry
from media.pacer import LATENESS_HIST_BINS
from media.realtime_client import RealtimeClientFactory

SETTLE_S = 2.0
# The warm-up call's first audio comes after the AMD wait (1 s: the seed has no verdict), the
# greeting wait (1.5 s: no "Hello?" heard) and the first use of the SDK and the prompts.
WARMUP_S = 6.0

# Goals (reported, never asserted).
GOALS = {
    "append_overhead_ms": 1.0,
    "delta_to_peer_ms": 20.0,
    "pacer_lateness_ms": 2.0,
    "peer_jitter_ms": 2.0,
    "barge_in_ms": 40.0,
    "memory_per_call_mb": 5.0,
}


class BenchError(RuntimeError):
    """The run could not be carried out (a helper died, calls did not come up)."""


async def seed(db: Database, calls: int) -> list[str]:
    """One user, one campaign, `calls` tasks each with a call row; returns the call UUIDs.

    Each task's instructions carry its call UUID, which is how the Realtime server tells which
    call a connection belongs to (the instructions reach it in `session.update`). The campaign
    cuts the agent off at the callee's first sound (`interrupt_after_ms` 0): the barge-in figure
    is the media path's own latency, not the telephone default's deliberate 300 ms of the
    callee's voice before the agent stops (which adds to it as it is).
    """
    async with db.users() as users:
        user_id = await users.add("bench", "bench-password-1", display_name="Bench Owner")
    uuids = [str(uuid.uuid4()) for _ in range(calls)]
    async with db.scope(user_id) as s:
        campaign = await s.campaigns.create(
            idempotency_key="media-bench",
            name="Media bench",
            objective="Measure the media path",
            plan={"turn_taking": TurnTaking(interrupt_after_ms=0).model_dump(mode="json")},
        )
        for i, call_uuid in enumerate(uuids):
            number = f"+1212555{i:04d}"
            task = await s.tasks.add(
                campaign_id=campaign.id,
                target_name=f"Bench callee {i}",
                phone_e164=number,
                instructions=f"bench-call {call_uuid}",
            )
            await s.calls.create(
                task_id=task.id,
                attempt=1,
                call_uuid=call_uuid,
                dialed_number=number,
                node_id="bench",
            )
    return uuids


@dataclass
class Snapshot:
    """Cumulative counters at one moment; figures are differences of two snapshots."""

    at: float
    cpu_s: float
    sim_cpu_s: float
    peers_cpu_s: float
    machine_busy_s: float
    machine_total_s: float
    pacer: dict[int, list[int]] = field(default_factory=dict)  # by index in the sessions list
    counters: dict[str, int] = field(default_factory=dict)


def snapshot(
    server: AudioSocketServer,
    sessions: list[AudioSocketSession],
    bridges: list[RealtimeBridge],
    sim: Child,
    peers: Child,
) -> Snapshot:
    """Counters of the calls measured: the same `sessions` and `bridges` at both ends of the
    window, so a call that ends inside it still counts up to its end."""
    machine = machine_cpu()
    snap = Snapshot(
        at=time.monotonic(),
        cpu_s=time.process_time(),
        sim_cpu_s=cpu_seconds(sim.pid),
        peers_cpu_s=cpu_seconds(peers.pid),
        machine_busy_s=machine.busy_s,
        machine_total_s=machine.total_s,
    )
    counters: dict[str, int] = {
        "sessions": server.active_sessions,
        "barge_ins": sum(b.stats.barge_ins for b in bridges),
        "bridge_inbound_dropped": sum(b.stats.inbound_dropped for b in bridges),
        "playout_underruns": sum(b.playout.stats.underruns for b in bridges),
        "playout_audio_frames": sum(b.playout.stats.audio_frames for b in bridges),
        "reconnects": sum(b.stats.reconnects for b in bridges),
        "session_audio_dropped": 0,
        "pacer_frames": 0,
        "pacer_late_frames": 0,
        "pacer_resyncs": 0,
    }
    for index, session in enumerate(sessions):
        stats = session.pacer_stats
        snap.pacer[index] = list(stats.lateness_histogram)
        counters["session_audio_dropped"] += session.counters.audio_dropped
        counters["pacer_frames"] += stats.frames
        counters["pacer_late_frames"] += stats.late_frames
        counters["pacer_resyncs"] += stats.resyncs
    snap.counters = counters
    return snap


async def wait_live(
    registry: BridgeRegistry, uuids: list[str], timeout_s: float
) -> list[RealtimeBridge]:
    """The bridges of the calls that are live — sending callee audio and playing agent audio —
    once all are, or whichever are when `timeout_s` runs out (an overloaded process may never
    bring every call up; the figures then say how many were measured)."""
    deadline = time.monotonic() + timeout_s
    while True:
        bridges = [registry.bridge(u) for u in uuids]
        live = [
            b
            for b in bridges
            if b is not None and b.stats.append_latency_s and b.playout.stats.audio_frames
        ]
        if len(live) == len(uuids) or time.monotonic() > deadline:
            if not live:
                raise BenchError(f"none of the {len(uuids)} calls came up in {timeout_s:.0f} s")
            return live
        await asyncio.sleep(0.2)


MEASURED_CODE = ("media", "core", "agents")  # what the measured process runs


def git_commit() -> str:
    """HEAD, and which folders of the measured code differ from it."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        head = subprocess.run(  # noqa: S603 - fixed arguments, git from PATH
            [git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(  # noqa: S603 - fixed arguments, git from PATH
            [git, "status", "--porcelain", "--", *MEASURED_CODE],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = sorted({line[3:].split("/", 1)[0] + "/" for line in status.splitlines()})
    return f"{head} + uncommitted changes in {', '.join(dirty)}" if dirty else head


def _plain(s: figures.Summary | None) -> dict[str, Any] | None:
    return s.to_json() if s is not None else None


def _summary(s: figures.Summary | None, goal_key: str) -> dict[str, Any]:
    if s is None:
        return {"n": 0}
    return {**s.to_json(), "goal_p99": GOALS[goal_key], "met": s.p99 <= GOALS[goal_key]}


class LogTally(logging.Handler):
    """Counts the warnings and errors OpenDeep logs during the run, by message and exception
    (a bridge that failed, a pool timeout): the first thing to read when a figure is bad."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.msg.get("event") if isinstance(record.msg, dict) else record.msg
        key = f"{record.levelname.lower()}: {str(message).splitlines()[0] if message else ''}"
        if record.exc_info and record.exc_info[0] is not None:
            key += f" ({record.exc_info[0].__name__})"
        self.counts[key] += 1

    @property
    def errors(self) -> int:
        return sum(n for key, n in self.counts.items() if key.startswith(("error", "critical")))


async def run(
    calls: int, seconds: float, ramp_per_s: float, trace_memory: bool, work: Path
) -> dict[str, Any]:
    """Run one level with its helpers' files in `work`; returns the figures."""
    configure_logging(level="WARNING", fmt="console")
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    settings = Settings(_env_file=None, database_url=url, data_dir=work)
    warmup_uuid, *uuids = await seed(db, calls + 1)
    load_before = loadavg()

    turns = int(seconds + calls / ramp_per_s + 120)  # > one turn per second of the whole run
    sim = await Child.start(
        "realtime server", "bench.sim_process", "--dir", str(work), "--turns", str(turns)
    )
    realtime_url = (await sim.expect("ready", 60))["url"]
    # As in production: every call's client shares one SDK client (and the registry's writer).
    clients = RealtimeClientFactory(base_url=realtime_url, model="gpt-realtime")
    registry = BridgeRegistry(db, settings, script=call_script, realtime=clients)
    server = AudioSocketServer(registry.resolve, port=0, max_sessions=calls + 8)
    await server.start()
    peers = await Child.start(
        "peers", "bench.peer_process", "--port", str(server.port), "--dir", str(work)
    )
    lag = LoopLag()
    try:
        await peers.expect("ready", 60)
        await peers.send("warmup", uuid=warmup_uuid, seconds=WARMUP_S)
        warm = await peers.expect("warmup_done", WARMUP_S + 30)
        if not warm["agent_turns"]:
            raise BenchError("the warm-up call heard no agent audio")
        warm_bridge = registry.bridge(warmup_uuid)
        assert warm_bridge is not None
        await asyncio.wait_for(warm_bridge.finished.wait(), 20)
        registry.forget(warmup_uuid)
        del warm_bridge
        gc.collect()
        rss_before = rss_bytes()
        if trace_memory:
            tracemalloc.start()

        ramp_started = time.monotonic()
        await peers.send("start", uuids=uuids, per_s=ramp_per_s)
        bridges = await wait_live(registry, uuids, calls / ramp_per_s + 60)
        ramp_s = time.monotonic() - ramp_started
        await peers.expect("started", 60)
        rss_live = rss_bytes()
        traced = tracing_overhead = 0
        if trace_memory:
            traced = tracemalloc.get_traced_memory()[0]
            tracing_overhead = tracemalloc.get_tracemalloc_memory()
            tracemalloc.stop()
        rss_per_call_mb = (rss_live - tracing_overhead - rss_before) / len(bridges) / 2**20
        memory = {
            "rss_before_mb": rss_before / 2**20,
            "rss_live_mb": (rss_live - tracing_overhead) / 2**20,
            "rss_per_call_mb": rss_per_call_mb,
            "traced_per_call_mb": traced / len(bridges) / 2**20 if trace_memory else None,
            "goal_mb": GOALS["memory_per_call_mb"],
            "met": rss_per_call_mb <= GOALS["memory_per_call_mb"],
        }

        await asyncio.sleep(SETTLE_S)
        for bridge in bridges:
            bridge.stats.append_latency_s.clear()
        appends: array[float] = array("d")
        lag.start()
        sessions = server.sessions
        start = snapshot(server, sessions, bridges, sim, peers)
        deadline = start.at + seconds
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(1.0, left))
            for bridge in bridges:  # keep the bench's own footprint small
                appends.extend(bridge.stats.append_latency_s)
                bridge.stats.append_latency_s.clear()
        end = snapshot(server, sessions, bridges, sim, peers)
        window = (start.at, end.at)

        await peers.send("stop", window=list(window))
        peers_done = await peers.expect("done", 120)
        await sim.send("stop", window=list(window))
        sim_done = await sim.expect("done", 120)
    finally:
        await lag.stop()
        await peers.finish()
        await sim.finish()
        await server.stop()
        await registry.aclose()
        await clients.aclose()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(db.dispose(), 10)

    return report(
        work,
        Outcome(calls, seconds, len(bridges), ramp_s, load_before, memory, start, end),
        lag.within(*window),
        helpers_lag={
            "realtime server": sim_done["loop_lag_ms"],
            "peers": peers_done["loop_lag_ms"],
        },
        appends=np.frombuffer(appends),
        log_tally=tally,
    )


@dataclass
class Outcome:
    """What the measured process knows at the end of a run."""

    calls: int
    seconds: float
    calls_live: int
    ramp_s: float
    load_before: tuple[float, float, float]
    memory: dict[str, Any]
    start: Snapshot
    end: Snapshot


def report(
    work: Path,
    outcome: Outcome,
    lag_s: npt.NDArray[np.float64],
    *,
    helpers_lag: dict[str, Any],
    appends: npt.NDArray[np.float64],
    log_tally: LogTally,
) -> dict[str, Any]:
    """The figures: the media process's own, and those correlated with the helpers' files."""
    start, end = outcome.start, outcome.end
    window = (start.at, end.at)
    sim_data = json.loads((work / "sim.json").read_text())
    peer_data = json.loads((work / "peers.json").read_text())
    jitter = np.load(work / "peer_jitter.npy")
    variants = len(VARIANT_SECONDS)
    deltas = figures.delta_to_peer(sim_data, peer_data, window, variants)
    barges = figures.barge_in(sim_data, peer_data, window, variants)
    pacer_counts = np.zeros(LATENESS_HIST_BINS, dtype=np.int64)
    for index, counts in end.pacer.items():
        pacer_counts += np.asarray(counts) - np.asarray(start.pacer[index])
    wall = end.at - start.at
    cpu = end.cpu_s - start.cpu_s
    sim_cpu = end.sim_cpu_s - start.sim_cpu_s
    peers_cpu = end.peers_cpu_s - start.peers_cpu_s
    busy = end.machine_busy_s - start.machine_busy_s
    counters = {k: end.counters[k] - start.counters[k] for k in end.counters if k != "sessions"}
    counters.update(
        sessions_at_start=start.counters["sessions"],
        sessions_at_end=end.counters["sessions"],
        calls_dropped_before_window=sum(
            1 for p in peer_data if p["lost_at"] is not None and p["lost_at"] < start.at
        ),
        calls_dropped_in_window=sum(
            1 for p in peer_data if p["lost_at"] is not None and start.at <= p["lost_at"] <= end.at
        ),
        deltas_matched=len(deltas.latencies_s),
        deltas_cleared_by_barge_in=deltas.cleared_by_barge_in,
        deltas_not_received=deltas.not_received,
        barge_ins_measured=len(barges.latencies_s),
        barge_ins_cut_before_next_frame=barges.cut_before_next_frame,
        calls_with_barge_in=len(barges.calls),
        speech_started_while_agent_inaudible=barges.inaudible,
        errors_logged=log_tally.errors,
        peer_frames_over_15ms_off=int(np.count_nonzero(jitter > 0.015)),
    )
    return {
        "calls": outcome.calls,
        "seconds": outcome.seconds,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": outcome.load_before,
            "loadavg_after": loadavg(),
        },
        "calls_live": outcome.calls_live,
        "ramp_s": outcome.ramp_s,
        "figures": {
            "append_overhead_ms": _summary(figures.summarize(appends), "append_overhead_ms"),
            "delta_to_peer_ms": _summary(
                figures.summarize(deltas.first_of_turn_s), "delta_to_peer_ms"
            ),
            "delta_to_peer_all_ms": _summary(
                figures.summarize(deltas.latencies_s), "delta_to_peer_ms"
            ),
            "pacer_lateness_ms": _summary(
                figures.summarize_histogram(pacer_counts.tolist()), "pacer_lateness_ms"
            ),
            "peer_jitter_ms": _summary(figures.summarize(jitter), "peer_jitter_ms"),
            "barge_in_ms": _summary(figures.summarize(barges.latencies_s), "barge_in_ms"),
            "memory_per_call_mb": outcome.memory,
        },
        "loop_lag_ms": {"media process": _plain(figures.summarize(lag_s)), **helpers_lag},
        "cpu": {
            "measured_process_cores": cpu / wall,
            "measured_ms_per_call_second": cpu / wall / outcome.calls_live * 1000,
            "realtime_server_cores": sim_cpu / wall,
            "peers_cores": peers_cpu / wall,
            "machine_busy_cores": busy / wall,
            "other_work_cores": (busy - cpu - sim_cpu - peers_cpu) / wall,
            "machine_busy_fraction": busy / max(1e-9, end.machine_total_s - start.machine_total_s),
        },
        "counters": counters,
        "log": dict(log_tally.counts.most_common()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.level", description=__doc__)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--ramp-per-s", type=float, default=20.0, help="calls answered per second")
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="skip tracemalloc during the ramp"
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the figures")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (raw data)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="opendeep-media-bench-"))
    run_to_figures(
        lambda: run(args.calls, args.seconds, args.ramp_per_s, not args.no_tracemalloc, work),
        args.out,
        work,
        keep=args.keep,
    )


def run_to_figures(
    make: Callable[[], Coroutine[Any, Any, dict[str, Any]]], out: Path, work: Path, *, keep: bool
) -> NoReturn:
    """A benchmark process's whole life: run `make()`, write its figures to `out` as JSON, say
    why on stderr when it failed, remove `work` unless `keep`, and exit (0: figures written).

    Not asyncio.run: its clean-up waits for every task, and after an overloaded run the
    SQLite driver can leave close tasks that never finish. The figures are what this process
    is for; once they are written it exits without waiting for stragglers."""
    code = 1
    loop = asyncio.new_event_loop()
    try:
        result = loop.run_until_complete(make())
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        code = 0
    except (BenchError, ChildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    except Exception:
        traceback.print_exc()
    finally:
        if keep:
            print(f"raw data kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main()
