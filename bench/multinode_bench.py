"""`python -m bench.multinode_bench [--tasks 1000] [--short]`: many nodes, one PostgreSQL.

Two OpenDeep nodes without UI (`bench.multinode.node_process`: `opendeep serve --no-ui` with a
short claim lease, recording what it does) share one fresh PostgreSQL database and the
development PBX. N tasks, all due at one instant, dial numbers that answer and hang up at once
inside the Local channel. Once ~30 % of the tasks were claimed one node is killed with
SIGKILL — at its next Originate, held back by a relay on its AMI connection (`AmiTripwire`):
its call row is written and Asterisk never told, the window a kill from outside hits only by
chance. The other must finish everything, the tasks the dead node held coming back through
the lease reaper.

Checked: every task dialled exactly once — by an AMI session of the benchmark's own
(`Newchannel` of each attempt's deterministic channel id) and by the `calls` rows — none lost,
every task ended. Measured: claim throughput, claim → Originate and due → Originate latency,
calls per second, wall time, and the recovery of the killed node's tasks.

Needs the development PBX (`asterisk/devpbx up`) and a PostgreSQL server whose URL is in
OPENDEEP_TEST_POSTGRES_URL (`export OPENDEEP_TEST_POSTGRES_URL=$(tests/pgserver.sh start)`).
Exit code: 0 when every check passed, 1 when one failed, 2 when the run could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.ports import free_port
from core.settings import Settings

if TYPE_CHECKING:
    from bench.multinode.ami_tripwire import AmiTripwire
    from bench.multinode.figures import Observed
    from core.db import Database

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PG_ENV = "OPENDEEP_TEST_POSTGRES_URL"
FULL_TASKS, SHORT_TASKS = 1000, 150
# In the short run the first wave (both nodes' slots) alone is over a quarter of the tasks:
# it kills later, so that the victim dies in the steady state there too.
FULL_KILL_AT, SHORT_KILL_AT = 0.3, 0.5
# The scheduler's safety-net pass runs every 5 s: releasing the tasks a little later than that
# lets every node set its alarm for the due time (the path a real due task takes).
RELEASE_LEAD_S = 6.0
READY_TIMEOUT_S = 120.0
POLL_S = 0.1
AMI_SETTLE_S = 2.0
# On cue the victim is killed at its next Originate (`AmiTripwire`); if it sends none this soon
# (no free call slot), it is killed from outside.
TRIP_WAIT_S = 3.0


class BenchError(Exception):
    """The run could not be made (no PBX, no PostgreSQL, a node that would not start)."""


@dataclass
class NodeProcess:
    node_id: str
    audiosocket_port: int
    events: Path
    log: Path
    proc: asyncio.subprocess.Process

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None


def node_env(
    database_url: str, node_id: str, port: int, max_calls: int, ami_port: int | None = None
) -> dict[str, str]:
    """Settings of one node: live dialling (test mode off), a window open all day, no keys
    (rehearsal models; a call nobody spoke on is decided without a model); `ami_port`: AMI
    through a relay (the victim's tripwire)."""
    return {
        **os.environ,
        **({"AMI_HOST": "127.0.0.1", "AMI_PORT": str(ami_port)} if ami_port else {}),
        "DATABASE_URL": database_url,
        "NODE_ID": node_id,
        "AUDIOSOCKET_HOST": "127.0.0.1",
        "AUDIOSOCKET_PORT": str(port),
        "APP_TEST_MODE": "false",
        "MAX_CONCURRENT_CALLS": str(max_calls),
        "CALLING_WINDOW_START": "00:00",
        "CALLING_WINDOW_END": "23:59",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "OPENAI_API_KEY": "",
        "GOOGLE_API_KEY": "",
        "LANGSMITH_TRACING": "false",
    }


async def start_node(
    args: argparse.Namespace,
    work: Path,
    database_url: str,
    index: int,
    ami_port: int | None = None,
) -> NodeProcess:
    node_id = f"bench-node-{chr(ord('a') + index)}"
    port = free_port(Settings(_env_file=None).effective_media_workers)
    events, log = work / f"{node_id}.events.jsonl", work / f"{node_id}.log"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.multinode.node_process",
        f"--events={events}",
        f"--log={log}",
        f"--lease-s={args.lease_s}",
        f"--reap-s={args.reap_s}",
        f"--retry-technical-s={args.retry_technical_s}",
        cwd=ROOT,
        env=node_env(database_url, node_id, port, args.max_calls, ami_port),
        stdout=asyncio.subprocess.PIPE,
        stderr=log.open("a"),
    )
    return NodeProcess(node_id, port, events, log, proc)


async def wait_ready(node: NodeProcess) -> None:
    assert node.proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = await asyncio.wait_for(node.proc.stdout.readline(), 1.0)
        except TimeoutError:
            continue
        if not line:
            break
        if line.startswith(b"READY"):
            return
    raise BenchError(f"{node.node_id} did not start; see {node.log}")


async def stop_node(node: NodeProcess, timeout_s: float = 30.0) -> None:
    if not node.alive:
        return
    node.proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(node.proc.wait(), timeout_s)
    except TimeoutError:
        node.proc.kill()
        await node.proc.wait()


def read_events(node: NodeProcess) -> list[dict[str, Any]]:
    if not node.events.exists():
        return []
    out = []
    for line in node.events.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line cut by the SIGKILL
            out.append(json.loads(line))
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.multinode import database as bench_db
    from bench.multinode import figures as fig
    from bench.multinode.ami_listener import AmiListener
    from bench.multinode.ami_tripwire import AmiTripwire
    from core.db import Database
    from core.db.migrate import upgrade
    from core.settings import load_settings

    admin_url = args.postgres_url or os.environ.get(PG_ENV)
    if not admin_url:
        raise BenchError(
            f"no PostgreSQL: set {PG_ENV} (export {PG_ENV}=$(tests/pgserver.sh start))"
        )
    os.chdir(ROOT)  # data/secrets/ami_secret, as the nodes find it
    settings = load_settings()
    listener = AmiListener(
        settings.ami_host,
        settings.ami_port,
        settings.ami_username,
        settings.ami_secret.get_secret_value(),
    )
    try:
        await listener.start()
    except ConnectionError as exc:
        raise BenchError(f"{exc} (asterisk/devpbx up)") from None
    if await listener.has_extension("opendeep-outbound", bench_db.BENCH_NUMBERS[0]) is False:
        listener.close()
        raise BenchError(
            f"the PBX's dialplan has no {bench_db.BENCH_NUMBERS[0]} in [opendeep-outbound]: "
            "re-render it with asterisk/devpbx up"
        )

    tripwire = AmiTripwire(settings.ami_host, settings.ami_port)
    work = Path(tempfile.mkdtemp(prefix="opendeep-multinode-"))
    print(f"work folder (node logs and records): {work}", file=sys.stderr, flush=True)
    nodes: list[NodeProcess] = []
    try:
        database_url = await asyncio.to_thread(bench_db.create_database, admin_url)
    except BaseException:
        listener.close()
        raise
    db = Database(database_url)
    try:
        await asyncio.to_thread(upgrade, database_url)
        await bench_db.prepare_checkpoints(database_url)
        namespace = await bench_db.channel_namespace(db)
        seeded = await bench_db.seed(db, tasks=args.tasks, users=args.users)
        print(
            f"seeded {len(seeded.task_ids)} tasks in {seeded.campaigns} campaigns of "
            f"{seeded.users} users; starting {args.nodes} nodes",
            file=sys.stderr,
            flush=True,
        )
        # The victim (the first node) talks to AMI through the tripwire.
        await tripwire.start()
        nodes = [
            await start_node(
                args, work, database_url, i, tripwire.port if i == 0 and args.kill_at else None
            )
            for i in range(args.nodes)
        ]
        await asyncio.gather(*(wait_ready(n) for n in nodes))
        t_release = time.time() + RELEASE_LEAD_S
        await bench_db.release(db, dt.datetime.fromtimestamp(t_release, dt.UTC))
        seen = await watch(args, db, nodes, t_release, len(seeded.task_ids), tripwire)
        await asyncio.sleep(AMI_SETTLE_S)
        for node in nodes:
            await stop_node(node)
        task_rows = await bench_db.tasks(db)
        call_rows = await bench_db.calls(db)
    finally:
        for node in nodes:
            if node.alive:
                node.proc.kill()
                await node.proc.wait()
        await tripwire.close()
        listener.close()
        await db.dispose()
        if not args.keep_db:
            await asyncio.to_thread(bench_db.drop_database, admin_url, database_url)

    events = [e for n in nodes for e in read_events(n)]
    index, second = fig.channel_index(seeded.task_ids, namespace)
    all_dials = fig.dials(listener.newchannels, index, call_rows)
    strays = fig.stray_channels(listener.newchannels, index, second)
    return {
        "benchmark": "multinode",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": {
            "tasks": len(seeded.task_ids),
            "users": seeded.users,
            "campaigns": seeded.campaigns,
            "nodes": [n.node_id for n in nodes],
            "launcher": "bench.multinode.node_process (opendeep serve --no-ui, short lease)",
            "max_concurrent_calls_per_node": args.max_calls,
            "lease_s": args.lease_s,
            "reap_interval_s": args.reap_s,
            "retry_technical_s": args.retry_technical_s,
            "kill_at": args.kill_at,
            "released_at": dt.datetime.fromtimestamp(seen.t_release, dt.UTC).isoformat(),
            "database": "fresh PostgreSQL database, "
            + (
                "kept: " + database_url.rpartition("/")[2] if args.keep_db else "dropped afterwards"
            ),
            "callee": "Local channel [opendeep-outbound] +1212555015x-018x: Answer, Hangup",
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
            "work_folder": str(work),
        },
        "verdict": fig.verdict(
            task_rows, call_rows, all_dials, listener.originate_responses, index, strays
        ),
        "figures": fig.figures(seen, events, all_dials, task_rows, args.nodes * args.max_calls),
        "recovery": fig.recovery(seen, task_rows, call_rows, all_dials),
        "ami": {
            "newchannel_events": len(listener.newchannels),
            "originate_responses": len(listener.originate_responses),
            "listener_disconnects": listener.disconnects,
        },
    }


async def watch(
    args: argparse.Namespace,
    db: Database,
    nodes: list[NodeProcess],
    t_release: float,
    total: int,
    tripwire: AmiTripwire,
) -> Observed:
    """Poll the tasks until every one has ended (or the time is up); kill the victim on cue:
    at its next Originate (the tripwire), or from outside if it sends none soon."""
    from bench.multinode import database as bench_db
    from bench.multinode.figures import Observed

    victim = nodes[0] if args.kill_at > 0 else None
    t_kill: float | None = None
    t_armed: float | None = None
    started_at_kill = 0
    held: list[bench_db.TaskRow] = []
    left: dict[int, float] = {}
    deadline = t_release + args.timeout_s
    t_all_ended: float | None = None
    while time.time() < deadline:
        counts = await bench_db.status_counts(db)
        started = total - counts.get("pending", 0)
        if (
            victim is not None
            and t_armed is None
            and started >= args.kill_at * total
            and counts.get(f"claimed@{victim.node_id}", 0) > 0
        ):
            tripwire.arm(victim.proc.pid)
            t_armed = time.time()
        if victim is not None and t_armed is not None and t_kill is None:
            if tripwire.tripped is not None:
                t_kill = tripwire.tripped.at
            elif time.time() - t_armed > TRIP_WAIT_S:
                if victim.alive:
                    victim.proc.send_signal(signal.SIGKILL)
                t_kill = time.time()
            if t_kill is not None:
                await victim.proc.wait()
                held = await bench_db.claimed_by(db, victim.node_id)
                started_at_kill = started
                how = (
                    f"at its Originate of task {tripwire.tripped.task_id}"
                    if tripwire.tripped
                    else "from outside"
                )
                print(
                    f"SIGKILL {victim.node_id} {how} at {t_kill - t_release:.1f} s: {started} of "
                    f"{total} tasks started, {len(held)} held by it",
                    file=sys.stderr,
                    flush=True,
                )
        if held and len(left) < len(held):
            now = time.time()
            for row in await bench_db.tasks(db, tuple(h.id for h in held)):
                if row.status != "claimed":
                    left.setdefault(row.id, now)
        if sum(counts.get(s, 0) for s in bench_db.ENDED_STATUSES) == total and (
            len(left) == len(held)
        ):
            t_all_ended = time.time()
            break
        if not any(n.alive for n in nodes):
            print("every node has exited", file=sys.stderr)
            break
        await asyncio.sleep(POLL_S)
    return Observed(
        t_release=t_release,
        t_all_ended=t_all_ended,
        victim=victim.node_id if victim else None,
        t_kill=t_kill,
        started_at_kill=started_at_kill,
        held_at_kill=held,
        left_claimed=left,
        lease_s=args.lease_s,
        reap_s=args.reap_s,
        killed_at_originate_of=tripwire.tripped.task_id if tripwire.tripped else None,
    )


# --- the report -----------------------------------------------------------------------------


def _ms(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    return (
        f"{summary['p50']:.0f} / {summary['p95']:.0f} / {summary['p99']:.0f} / {summary['max']:.0f}"
    )


def table(result: dict[str, Any]) -> list[tuple[str, str]]:
    v, f, r = result["verdict"], result["figures"], result["recovery"]
    rows = [
        ("tasks / nodes", f"{v['tasks']} / {len(result['config']['nodes'])}"),
        (
            "dialled exactly once (AMI Newchannel)",
            f"{v['dialled_once_ami']} of {v['tasks']}"
            + (f"; TWICE: {v['dialled_twice_or_more']}" if v["dialled_twice_or_more"] else "")
            + (f"; NEVER: {v['never_dialled']}" if v["never_dialled"] else ""),
        ),
        (
            "one calls row per task",
            "yes" if v["exactly_once_calls"] else f"NO: {v['calls_rows_not_one']}",
        ),
        ("every task ended", "yes" if v["every_task_ended"] else f"NO: {v['not_ended']}"),
        ("final statuses", ", ".join(f"{k} {n}" for k, n in sorted(f["statuses"].items()))),
        ("wall time, release → all ended (s)", str(f["wall_s"])),
        ("bulk: release → last dial of a task not held (s)", str(f["bulk_s"])),
        (
            "claims/s (mean over the bulk; peak 1 s)",
            f"{f['claims_per_s']}; {f['claims_per_s_peak_1s']:g}",
        ),
        ("dispatch pass ms p50/p95/p99/max", _ms(f["dispatch_pass_ms"])),
        (
            "calls/s (mean over the bulk; peak 1 s)",
            f"{f['calls_per_s']}; {f['calls_per_s_peak_1s']:g}",
        ),
        (
            "  all nodes / after the kill",
            f"{f.get('calls_per_s_before_kill', '-')} / {f.get('calls_per_s_after_kill', '-')}",
        ),
        ("claim → Originate ms p50/p95/p99/max", _ms(f["claim_to_originate_ms"])),
        ("due → Originate ms p50/p95/p99/max", _ms(f["due_to_originate_ms"])),
        ("  first wave (all slots free)", _ms(f["due_to_originate_first_wave_ms"])),
        (
            "per node claims / dials",
            ", ".join(f"{k} {n['claims']}/{n['dials']}" for k, n in sorted(f["per_node"].items())),
        ),
    ]
    if r:
        rows += [
            (
                "SIGKILL",
                f"{r['victim']} at {r['killed_after_s']} s, {r['tasks_started_at_kill']} started",
            ),
            (
                "  killed at its Originate of task",
                str(r.get("killed_at_originate_of") or "- (killed from outside)"),
            ),
            ("tasks the killed node held", str(r["tasks_held"])),
            ("their fates", "; ".join(f"{k}: {n}" for k, n in r["fates"].items()) or "-"),
            (
                "  lost: task (calls rows: 0 gate only, 1 row but no Originate)",
                ", ".join(f"{h['task']} ({h['calls_rows']})" for h in r["held"] if not h["dials"])
                or "none",
            ),
            (
                f"all returned after (s) [lease {r['lease_s']:g} s, reaper {r['reap_interval_s']:g} s]",
                str(r["all_returned_after_s"]),
            ),
            ("last redial after kill (s)", str(r["last_redial_after_s"])),
        ]
    return rows


def render(rows: list[tuple[str, str]], markdown: bool) -> str:
    if markdown:
        lines = ["| | |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
        return "\n".join(lines)
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"{a:<{width}}  {b}" for a, b in rows)


def main(argv: list[str] | None = None) -> int:
    from bench.multinode.node_process import add_timing_options

    parser = argparse.ArgumentParser(
        description="Two OpenDeep nodes on one PostgreSQL: exactly-once dispatch and SIGKILL recovery."
    )
    parser.add_argument("--tasks", type=int, default=FULL_TASKS)
    parser.add_argument("--short", action="store_true", help=f"CI: {SHORT_TASKS} tasks")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--max-calls", type=int, default=20, help="MAX_CONCURRENT_CALLS per node")
    parser.add_argument(
        "--kill-at",
        type=float,
        help="SIGKILL the first node once this share of the tasks was claimed; 0: no kill "
        f"(default {FULL_KILL_AT}, --short {SHORT_KILL_AT})",
    )
    add_timing_options(parser)
    parser.add_argument("--timeout-s", type=float, default=0.0, help="give up after (s)")
    parser.add_argument("--postgres-url", help=f"admin URL (default: ${PG_ENV})")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if args.short:
        args.tasks = SHORT_TASKS
    if args.kill_at is None:
        args.kill_at = SHORT_KILL_AT if args.short else FULL_KILL_AT
    if args.nodes < 2 and args.kill_at > 0:
        parser.error("killing a node needs at least two")
    args.timeout_s = args.timeout_s or 60 + args.tasks * 0.5
    try:
        result = asyncio.run(run(args))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / ("multinode-short.json" if args.short else "multinode.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(render(table(result), args.markdown))
    print(f"\nfigures: {out}", file=sys.stderr)
    return 0 if result["verdict"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
