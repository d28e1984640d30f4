"""`python -m bench.level --calls N --seconds S --out F [--workers W] [--uvloop] [--append-ms M]`:
one concurrency level of the media benchmark. What is measured is OpenDeep's media path as a node
with media workers runs it: this process holds the node's side (`media.workers.MediaWorkers`:
the calls' briefs, the transcript writer, the answers to the workers' requests, SQLite), and
W worker processes (`media.worker_process`) carry the calls — the AudioSocket servers, one
`RealtimeBridge` per call with its Realtime client. The local Realtime server
(`bench.sim_process`) and the simulated Asterisk peers (`bench.peer_process`) run in processes
of their own.

Sequence: seed N calls; start the workers and the helpers; expect every call; one warm-up call
per worker (first-use imports and caches are not per-call memory); baseline RSS; ramp the N
calls up; RSS again once every call is live; settle; measure for S seconds; hang up; correlate
what the processes recorded.
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
import uuid
from array import array
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import numpy.typing as npt

from agents.call_agent import call_script
from bench import figures
from bench.agent_audio import VARIANT_SECONDS
from bench.ipc import Child, ChildError
from bench.procfs import Placement, cpu_seconds, loadavg, machine_cpu, pin, placement, rss_bytes
from core.db import Database
from core.db.migrate import upgrade
from core.domain import TurnTaking
from core.logging import configure_logging
from core.settings import Settings
from media.pacer import LATENESS_HIST_BINS
from media.worker_messages import CallFigures
from media.worker_process import LogCount
from media.workers import MediaWorkers

SETTLE_S = 2.0
# The warm-up call's first audio comes after the AMD wait (1 s: the seed has no verdict), the
# greeting wait (1.5 s: no "Hello?" heard) and the first use of the SDK and the prompts, in
# every worker at once (on a loaded machine 6 s were sometimes not enough).
WARMUP_S = 8.0

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


async def seed(db: Database, uuids: list[str]) -> None:
    """One user, one campaign, a task with a call row for each of `uuids`.

    Each task's instructions carry its call UUID, which is how the Realtime server tells which
    call a connection belongs to (the instructions reach it in `session.update`). The campaign
    cuts the agent off at the callee's first sound (`interrupt_after_ms` 0): the barge-in figure
    is the media path's own latency, not the telephone default's deliberate 300 ms of the
    callee's voice before the agent stops (which adds to it as it is).
    """
    async with db.users() as users:
        user_id = await users.add("bench", "bench-password-1", display_name="Bench Owner")
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


@dataclass
class Snapshot:
    """Cumulative counters at one moment; figures are differences of two snapshots."""

    at: float
    cpu_s: float  # the measured processes: the node's own and its media workers
    worker_cpu_s: list[float]
    sim_cpu_s: float
    peers_cpu_s: float
    machine_busy_s: float
    machine_total_s: float
    pacer: dict[str, list[int]] = field(default_factory=dict)  # by call UUID
    counters: dict[str, int] = field(default_factory=dict)


COUNTERS = (
    ("barge_ins", "barge_ins"),
    ("bridge_inbound_dropped", "inbound_dropped"),
    ("playout_underruns", "playout_underruns"),
    ("playout_audio_frames", "playout_audio_frames"),
    ("reconnects", "reconnects"),
    ("session_audio_dropped", "audio_dropped"),
    ("pacer_frames", "pacer_frames"),
    ("pacer_late_frames", "pacer_late_frames"),
    ("pacer_resyncs", "pacer_resyncs"),
)


class Watch:
    """What the media workers report of the measured calls: the latest figures of each call
    (a call that ends inside the window still counts up to its end), the append latencies and
    each worker's loop lag, gathered once a second."""

    def __init__(self, media: MediaWorkers, uuids: list[str]) -> None:
        self.media = media
        self.uuids = set(uuids)
        self.latest: dict[str, CallFigures] = {}
        self.appends: array[float] = array("d")
        self.lag: list[list[tuple[float, float]]] = [[] for _ in media.workers]
        self.calls_of: list[set[str]] = [set() for _ in media.workers]
        self.logged: list[dict[str, int]] = [{} for _ in media.workers]

    async def poll(self, keep: bool) -> int:
        """Gather the workers' figures; `keep`: keep the append latencies. Returns how many
        measured calls are live."""
        for index, worker in enumerate(await self.media.figures()):
            self.lag[index].extend(worker.lag)
            if worker.logged:
                self.logged[index] = worker.logged
            for call_uuid, call in worker.calls.items():
                if call_uuid not in self.uuids:
                    continue
                self.latest[call_uuid] = call
                self.calls_of[index].add(call_uuid)
                if keep:
                    self.appends.extend(call.appends_s)
        return sum(1 for c in self.latest.values() if c.live)

    def snapshot(self, sim: Child, peers: Child, calls: list[str]) -> Snapshot:
        machine = machine_cpu()
        worker_cpu = [cpu_seconds(pid) if pid else 0.0 for pid in self.media.pids]
        snap = Snapshot(
            at=time.monotonic(),
            cpu_s=time.process_time() + sum(worker_cpu),
            worker_cpu_s=worker_cpu,
            sim_cpu_s=cpu_seconds(sim.pid),
            peers_cpu_s=cpu_seconds(peers.pid),
            machine_busy_s=machine.busy_s,
            machine_total_s=machine.total_s,
        )
        counters = dict.fromkeys([name for name, _ in COUNTERS], 0)
        for call_uuid in calls:
            call = self.latest.get(call_uuid)
            if call is None:
                continue
            snap.pacer[call_uuid] = list(call.lateness_histogram)
            for name, attr in COUNTERS:
                counters[name] += getattr(call, attr)
        counters["sessions"] = sum(1 for c in calls if c in self.latest)
        snap.counters = counters
        return snap


async def wait_live(watch: Watch, expected: int, timeout_s: float) -> list[str]:
    """The calls that are live — sending callee audio and playing agent audio — once all are,
    or whichever are when `timeout_s` runs out (an overloaded process may never bring every
    call up; the figures then say how many were measured)."""
    deadline = time.monotonic() + timeout_s
    while True:
        live = await watch.poll(keep=False)
        if live == expected or time.monotonic() > deadline:
            if not live:
                raise BenchError(f"none of the {expected} calls came up in {timeout_s:.0f} s")
            return [u for u, c in watch.latest.items() if c.live]
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


class LogTally(LogCount):
    """Counts the warnings and errors OpenDeep logs during the run, by message and exception
    (a bridge that failed, a pool timeout): the first thing to read when a figure is bad. The
    media workers count theirs the same way (`LogCount`)."""

    @property
    def errors(self) -> int:
        return sum(n for key, n in self.counts.items() if key.startswith(("error", "critical")))


async def run(
    calls: int, seconds: float, ramp_per_s: float, work: Path, options: MediaOptions
) -> dict[str, Any]:
    """Run one level with its helpers' files in `work`; returns the figures."""
    url, db, tally = await open_bench_db(work)
    warmup_uuids = [str(uuid.uuid4()) for _ in range(options.workers)]
    uuids = [str(uuid.uuid4()) for _ in range(calls)]
    await seed(db, [*warmup_uuids, *uuids])
    load_before = loadavg()

    turns = int(seconds + calls / ramp_per_s + 120)  # > one turn per second of the whole run
    sim = await Child.start(
        "realtime server", "bench.sim_process", "--dir", str(work), "--turns", str(turns)
    )
    realtime_url = (await sim.expect("ready", 60))["url"]
    # As in production: each worker's calls share one SDK client; the node's one transcript
    # writer stores every call's turns. Sessions are opened at answer, as before prewarming
    # (the answer scenario measures prewarming).
    settings = Settings(
        _env_file=None,
        database_url=url,
        data_dir=work,
        realtime_url=realtime_url,
        realtime_model="gpt-realtime",
        realtime_prewarm=False,
        media_workers=options.workers,
        media_uvloop=options.uvloop,
        realtime_append_ms=options.append_ms,
        log_level="WARNING",
        log_format="console",
    )
    media = MediaWorkers(settings, db, script=call_script, workers=options.workers, port=0)
    await media.start()
    for call_uuid in [*warmup_uuids, *uuids]:
        media.expect(call_uuid)  # before the Originate: each call's worker is chosen
        media.prewarm(call_uuid, 3600)  # its Originate is out: the brief is read
    ports = [media.workers[media.worker_of(u) or 0].port for u in uuids]
    peers = await Child.start(
        "peers", "bench.peer_process", "--port", str(media.workers[0].port), "--dir", str(work)
    )
    watch = Watch(media, uuids)
    # The media path and the helpers on cores apart where the machine has enough of them.
    cores = placement(list(os.sched_getaffinity(0)), options.workers)
    if cores.apart:
        for pid in [os.getpid(), *(pid for pid in media.pids if pid)]:
            pin(pid, cores.media)
        for pid in (sim.pid, peers.pid):
            pin(pid, cores.helpers)
    try:
        await peers.expect("ready", 60)
        # One warm-up call per worker at once: first-use imports are not per-call memory.
        warm_ports = [media.workers[media.worker_of(u) or 0].port for u in warmup_uuids]
        await peers.send("warmup", uuids=warmup_uuids, ports=warm_ports, seconds=WARMUP_S)
        warm = await peers.expect("warmup_done", WARMUP_S + 30)
        if not warm["agent_turns"]:
            raise BenchError("a warm-up call heard no agent audio")
        for call_uuid in warmup_uuids:
            if (ended := media.bridge(call_uuid)) is not None:
                await asyncio.wait_for(ended.finished.wait(), 20)
            media.forget(call_uuid)
        gc.collect()
        rss_before = sum(rss_bytes(pid) for pid in media.pids if pid)

        ramp_started = time.monotonic()
        await peers.send("start", uuids=uuids, ports=ports, per_s=ramp_per_s)
        live = await wait_live(watch, len(uuids), calls / ramp_per_s + 60)
        ramp_s = time.monotonic() - ramp_started
        await peers.expect("started", 60)
        rss_live = sum(rss_bytes(pid) for pid in media.pids if pid)
        rss_per_call_mb = (rss_live - rss_before) / len(live) / 2**20
        memory = {
            "rss_before_mb": rss_before / 2**20,
            "rss_live_mb": rss_live / 2**20,
            "rss_per_call_mb": rss_per_call_mb,
            "traced_per_call_mb": None,
            "goal_mb": GOALS["memory_per_call_mb"],
            "met": rss_per_call_mb <= GOALS["memory_per_call_mb"],
        }

        await asyncio.sleep(SETTLE_S)
        await media.measure()
        await watch.poll(keep=False)  # the appends so far are before the window
        for lags in watch.lag:
            lags.clear()
        start = watch.snapshot(sim, peers, live)
        deadline = start.at + seconds
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(1.0, left))
            await watch.poll(keep=True)
        end = watch.snapshot(sim, peers, live)
        window = (start.at, end.at)

        await watch.poll(keep=False)  # what the workers logged up to the end of the window
        for logged in watch.logged:
            tally.counts.update(logged)
        peers_done, sim_done = await stop_helpers(peers, sim, window)
    finally:
        await peers.finish()
        await sim.finish()
        await media.stop()
        await close_db(db)

    worker_lag = {
        f"media worker {i}": _plain(
            figures.summarize(
                np.array([lag for at, lag in samples if window[0] <= at <= window[1]])
            )
        )
        for i, samples in enumerate(watch.lag)
    }
    wall = end.at - start.at
    workers = [
        {
            "worker": i,
            "calls": len(watch.calls_of[i] & set(live)),
            "cores": (end.worker_cpu_s[i] - start.worker_cpu_s[i]) / wall,
            "restarts": media.workers[i].starts - 1,
        }
        for i in range(len(media.workers))
    ]
    return report(
        work,
        Outcome(calls, seconds, len(live), ramp_s, load_before, memory, start, end),
        worker_lag,
        cores=cores,
        helpers_lag={
            "realtime server": sim_done["loop_lag_ms"],
            "peers": peers_done["loop_lag_ms"],
        },
        appends=np.frombuffer(watch.appends),
        log_tally=tally,
        options=options,
        workers=workers,
    )


async def open_bench_db(work: Path, log_level: str = "WARNING") -> tuple[str, Database, LogTally]:
    """The measured process's set-up: its logging (warnings and errors tallied) and its SQLite
    database in `work`, migrated."""
    configure_logging(level=log_level, fmt="console")
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    return url, Database(url), tally


async def stop_helpers(
    peers: Child, sim: Child, window: tuple[float, float] | list[float]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stop the peers, then the local Realtime server, each writing its figures over `window`;
    what each said when done (peers, server)."""
    await peers.send("stop", window=list(window))
    peers_done = await peers.expect("done", 120)
    await sim.send("stop", window=list(window))
    sim_done = await sim.expect("done", 120)
    return peers_done, sim_done


async def close_db(db: Database) -> None:
    """Dispose of the bench's database, giving up after 10 s (a wedged pool must not hang it)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(db.dispose(), 10)


@dataclass(frozen=True, slots=True)
class MediaOptions:
    """How the measured media path runs: its worker processes and their event loop."""

    workers: int
    uvloop: bool
    append_ms: Literal[20, 40, 60] = 20

    def to_json(self) -> dict[str, Any]:
        return {"workers": self.workers, "uvloop": self.uvloop, "append_ms": self.append_ms}


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
    worker_lag: dict[str, Any],
    *,
    helpers_lag: dict[str, Any],
    appends: npt.NDArray[np.float64],
    log_tally: LogTally,
    options: MediaOptions,
    workers: list[dict[str, Any]],
    cores: Placement,
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
            **cores.to_json(),
        },
        "media": options.to_json(),
        "workers": workers,
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
        "loop_lag_ms": {**worker_lag, **helpers_lag},
        "cpu": {
            "measured_process_cores": cpu / wall,
            "measured_ms_per_call_second": cpu / wall / outcome.calls_live * 1000,
            # Calls one fully used core carries at this load: capacity planning is a division.
            "calls_per_core": outcome.calls_live / max(1e-9, cpu / wall),
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
        "--workers", type=int, default=os.cpu_count() or 1, help="media worker processes"
    )
    parser.add_argument("--uvloop", action="store_true", help="the workers run on uvloop")
    parser.add_argument(
        "--append-ms", type=int, choices=(20, 40, 60), default=20, help="callee audio per append"
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the figures")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (raw data)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="opendeep-media-bench-"))
    options = MediaOptions(args.workers, args.uvloop, args.append_ms)
    run_to_figures(
        lambda: run(args.calls, args.seconds, args.ramp_per_s, work, options),
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
