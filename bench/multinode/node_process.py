"""`python -m bench.multinode.node_process --events FILE`: one OpenDeep node of the many-nodes
benchmark.

It is `opendeep serve --no-ui`: the same `app.node.Node` (graphs, telephony, media, the
`CallAttemptRunner` and the scheduler), settings from the environment (DATABASE_URL, NODE_ID,
AUDIOSOCKET_PORT, …). Only these differ:

- the claim lease and the reaper's period are short (`--lease-s`, `--reap-s`, over
  TASK_LEASE_S and REAPER_INTERVAL_S), so a killed node's tasks come back within the run;
- a technical failure is retried after `--retry-technical-s` instead of 3 min, so that a task
  the reaper returns, never dialled, is dialled within the run;
- what the node does is appended to a JSON-lines file, one flushed line per record, so what a
  SIGKILLed node did survives it: each dispatch pass (`tick`), each attempt's start and end,
  each outcome, each reaper pass that released something.

Prints `READY <node id>` once every part has started; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any

from app.attempt_runner import AttemptOutcome
from app.node import Node, PartsWanted
from core.db import Claim, Database
from core.logging import configure_logging
from core.rules import RetryPolicy
from core.scheduler import AttemptRunner, Dispatcher, DispatchReport
from core.settings import Settings, load_settings, secret_values


class EventLog:
    """JSON lines with a wall-clock time `t`, flushed one by one (a SIGKILL loses none)."""

    def __init__(self, path: Path, node_id: str) -> None:
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._node = node_id

    def write(self, kind: str, **fields: Any) -> None:
        record = {"t": fields.pop("t", time.time()), "node": self._node, "kind": kind, **fields}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class RecordingRunner:
    """The node's `CallAttemptRunner`, with each attempt's start and end written down."""

    def __init__(self, inner: AttemptRunner, events: EventLog) -> None:
        self._inner = inner
        self._events = events

    def free_slots(self) -> int:
        return self._inner.free_slots()

    async def is_call_live(self, call_uuid: str) -> bool | None:
        return await self._inner.is_call_live(call_uuid)

    async def was_dialled(
        self, call_uuid: str, placed_at: dt.datetime, now: dt.datetime
    ) -> bool | None:
        return await self._inner.was_dialled(call_uuid, placed_at, now)

    async def voice_problem(self) -> str | None:
        return await self._inner.voice_problem()

    async def run_attempt(self, claim: Claim, number: str) -> None:
        self._events.write("attempt_start", task=claim.task_id, attempt=claim.attempt)
        try:
            await self._inner.run_attempt(claim, number)
        finally:
            self._events.write("attempt_end", task=claim.task_id, attempt=claim.attempt)


class RecordingDispatcher(Dispatcher):
    """The `Dispatcher` of a `RecordingRunner`, with every pass that claimed something and
    every reaper release written down. A pass's start time is its claim time (the claim is its
    first statement)."""

    def __init__(
        self,
        events: EventLog,
        db: Database,
        settings: Settings,
        runner: AttemptRunner,
        *,
        lease: dt.timedelta,
        retry: RetryPolicy | None,
    ) -> None:
        super().__init__(db, settings, RecordingRunner(runner, events), lease=lease, retry=retry)
        self._events = events

    async def tick(self) -> DispatchReport:
        started = time.time()
        report = await super().tick()
        if report.claimed:
            self._events.write(
                "tick",
                t=started,
                t_end=time.time(),
                claimed=report.claimed,
                dialled=report.dialled,
                deferred=report.deferred,
                held=report.held,
                blocked=report.blocked,
            )
        return report

    async def reap(self) -> int:
        started = time.time()
        released = await super().reap()
        if released:
            self._events.write("reap", t=started, t_end=time.time(), released=released)
        return released


def build_node(
    settings: Settings,
    db: Database,
    events: EventLog,
    *,
    lease: dt.timedelta,
    reap_interval_s: float,
    retry: RetryPolicy,
) -> Node:
    """`opendeep serve --no-ui`'s node with `lease`, `reap_interval_s` and `retry`, recording."""

    def on_outcome(outcome: AttemptOutcome) -> None:
        events.write(
            "outcome",
            task=outcome.task_id,
            attempt=outcome.attempt,
            call=outcome.call_id,
            outcome=outcome.outcome,
            status=outcome.task_status.value,
        )

    timings = {"task_lease_s": lease.total_seconds(), "reaper_interval_s": reap_interval_s}
    return Node(
        settings.model_copy(update=timings),
        db,
        PartsWanted(ui=False),
        retry=retry,
        on_outcome=on_outcome,
        dispatcher=functools.partial(RecordingDispatcher, events),
    )


async def serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    log_stream = args.log.open("a", encoding="utf-8") if args.log else sys.stderr
    configure_logging(
        level=settings.log_level, fmt="json", secrets=secret_values(settings), stream=log_stream
    )
    events = EventLog(args.events, settings.effective_node_id)
    defaults = RetryPolicy().delays
    retry = RetryPolicy(
        delays={**defaults, "technical_failure": dt.timedelta(seconds=args.retry_technical_s)}
    )
    db = Database(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    node = build_node(
        settings,
        db,
        events,
        lease=dt.timedelta(seconds=args.lease_s),
        reap_interval_s=args.reap_s,
        retry=retry,
    )
    try:
        async with node:
            events.write("ready", parts=[p.name for p in node.running])
            print(f"READY {settings.effective_node_id}", flush=True)
            await stop.wait()
    finally:
        events.write("stopped")
        events.close()
        await db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One OpenDeep node of the many-nodes benchmark.")
    parser.add_argument("--events", type=Path, required=True, help="JSON-lines record file")
    parser.add_argument("--log", type=Path, help="the node's log file (default: stderr)")
    add_timing_options(parser)
    return asyncio.run(serve(parser.parse_args(argv)))


def add_timing_options(parser: argparse.ArgumentParser) -> None:
    """The node's lease, reaper and retry timings (the benchmark passes its own on to nodes)."""
    parser.add_argument("--lease-s", type=float, default=10.0, help="claim lease (s)")
    parser.add_argument("--reap-s", type=float, default=2.0, help="lease reaper period (s)")
    parser.add_argument(
        "--retry-technical-s",
        type=float,
        default=2.0,
        help="retry delay after a technical failure, e.g. a task the reaper returns (s)",
    )


if __name__ == "__main__":
    sys.exit(main())
