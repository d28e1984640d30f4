"""`python -m bench.media_bench [--calls 50,100,200] [--seconds N] [--scenario levels|answer|all]
[--short]`: the media-path benchmark.

Each concurrency level runs in a fresh process (`bench.level`), which holds only OpenDeep's
media path and measures it against a local Realtime server and simulated Asterisk peers running
in two processes of their own. Figures go to `bench/results/media-<calls>.json` and a table to
stdout. The answer scenario (`bench.answer`, also a fresh process) measures answer → first
agent audio with and without prewarming, and false barge-ins on echoing lines: figures in
`bench/results/media-answer.json`. Goals are reported, never asserted: the exit code is
non-zero only when a run crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SHORT_CALLS, SHORT_SECONDS = 20, 10.0
SHORT_ANSWER_CALLS, SHORT_ECHO_CALLS, SHORT_ECHO_SECONDS = 12, 2, 20.0

# (key in "figures", label, what it measures)
ROWS = (
    (
        "append_overhead_ms",
        "1 append overhead",
        "callee frame queued → input_audio_buffer.append sent",
    ),
    (
        "delta_to_peer_ms",
        "2 delta → peer",
        "turn's first output_audio.delta sent → its frame at the peer (incl. ≤ 20 ms tick wait)",
    ),
    (
        "delta_to_peer_all_ms",
        "2b delta → peer, all",
        "every delta (also waits behind the turn's queued audio)",
    ),
    (
        "pacer_lateness_ms",
        "3a pacer lateness",
        "frame sent vs its 20 ms deadline (histogram, ≤ 5 % high)",
    ),
    ("peer_jitter_ms", "3b peer jitter", "|inter-arrival − 20 ms| at the peer"),
    ("barge_in_ms", "4 barge-in", "speech_started sent → last agent frame at the peer"),
    ("", "5 memory per call", "(workers' RSS all calls live − RSS before) / calls"),
)


def run_level(
    calls: int,
    seconds: float,
    ramp_per_s: float,
    out: Path,
    workers: int,
    uvloop: bool,
    append_ms: int = 20,
) -> bool:
    """Run one level in a fresh process (its media path in `workers` worker processes); True
    when it wrote its figures."""
    out.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "bench.level",
        f"--calls={calls}",
        f"--seconds={seconds}",
        f"--ramp-per-s={ramp_per_s}",
        f"--out={out}",
        f"--workers={workers}",
        *(["--uvloop"] if uvloop else []),
        f"--append-ms={append_ms}",
    ]
    print(f"--- {calls} calls × {seconds:.0f} s ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            command, stdout=subprocess.DEVNULL, timeout=seconds + calls / ramp_per_s + 300
        )
    except subprocess.TimeoutExpired:
        print(f"error: the {calls}-call run did not finish in time", file=sys.stderr)
        return False
    if done.returncode != 0 or not out.exists():
        print(f"error: the {calls}-call run failed (exit {done.returncode})", file=sys.stderr)
        return False
    return True


@dataclass(frozen=True, slots=True)
class AnswerRun:
    """What the answer scenario is run with (see `bench.answer`)."""

    calls: int
    echo_calls: int
    echo_seconds: float
    connect_ms: int
    model_ms: int


def run_answer(answer: AnswerRun, out: Path) -> bool:
    """Run the answer scenario in a fresh process; True when it wrote its figures."""
    out.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "bench.answer",
        f"--calls={answer.calls}",
        f"--echo-calls={answer.echo_calls}",
        f"--echo-seconds={answer.echo_seconds}",
        f"--connect-ms={answer.connect_ms}",
        f"--model-ms={answer.model_ms}",
        f"--out={out}",
    ]
    print(f"--- answer scenario: {answer.calls} calls ...", file=sys.stderr, flush=True)
    budget = answer.calls * 1.0 + answer.echo_seconds + 300
    try:
        done = subprocess.run(command, stdout=subprocess.DEVNULL, timeout=budget)  # noqa: S603
    except subprocess.TimeoutExpired:
        print("error: the answer scenario did not finish in time", file=sys.stderr)
        return False
    if done.returncode != 0 or not out.exists():
        print(f"error: the answer scenario failed (exit {done.returncode})", file=sys.stderr)
        return False
    return True


ANSWER_HEADER = ["answer → first agent audio (ms)", "p50", "p95", "p99", "max", "n", "goal", ""]


def answer_rows(result: dict[str, Any]) -> list[list[str]]:
    figures = result["figures"]
    rows = []
    for key, label in (("prewarmed", "prewarmed"), ("connect_at_answer", "connected at answer")):
        half = figures[key]
        for metric, what in (
            ("first_audio_ms", "total"),
            ("model_first_audio_ms", "of it the model's own"),
            ("opendeep_share_ms", "of it OpenDeep's"),
        ):
            f = half[metric]
            goal = met = ""
            if metric == "opendeep_share_ms" and f.get("n"):
                goal = f"p99 ≤ {f['goal_p99']:g}"
                met = "met" if f["met"] else "MISSED"
            rows.append(
                [
                    f"{label}: {what}",
                    *(_num(f.get(k)) for k in ("p50", "p95", "p99", "max")),
                    str(f.get("n", 0)),
                    goal,
                    met,
                ]
            )
    return rows


def answer_lines(result: dict[str, Any]) -> list[str]:
    settings, echo, counts = (
        result["settings"],
        result["figures"]["false_barge_ins"],
        result["prewarm"],
    )
    lags = "; ".join(
        f"{name} p50 {_num(lag.get('p50'))} p99 {_num(lag.get('p99'))} max {_num(lag.get('max'))}"
        for name, lag in result["loop_lag_ms"].items()
        if lag
    )
    per_min = echo["per_agent_speech_min"]
    return [
        f"local Realtime server: session set-up {settings['connect_ms']} ms, model's first "
        f"audio {settings['model_ms']} ms (configured); calls ring "
        f"{settings['ring_s'][0]:g}-{settings['ring_s'][1]:g} s, one every {settings['every_s']:g} s",
        f"false barge-ins on echoing lines (-10 dB, 100 ms): {echo['barge_ins']} in "
        f"{echo['agent_speech_min']:.2f} min of agent speech on {echo['calls']} calls = "
        f"{_num(per_min)} per minute of agent speech ({_num(echo['per_call_min'])} per call minute)",
        "prewarmed sessions: "
        + ", ".join(f"{k} {counts[k]}" for k in ("started", "opened", "used", "closed_unused"))
        + f", abandoned {counts['abandoned']}, failed {counts['failed']}, expired "
        f"{counts['expired']}; open at the end: {counts['open_now'] + counts['opening_now']} "
        f"(Realtime server: {result['open_sessions_at_server_end']})",
        f"event-loop lag, ms: {lags}; machine load {result['machine']['loadavg_before'][0]:.1f}"
        f" on {result['machine']['cpus']} CPUs; errors logged {result['errors_logged']}",
    ]


def format_answer(result: dict[str, Any], *, markdown: bool) -> str:
    if markdown:
        rows = [ANSWER_HEADER, ["---"] * len(ANSWER_HEADER), *answer_rows(result)]
        lines = [f"### Answer → first agent audio, false barge-ins ({result['date']})", ""]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join([*lines, "", *(f"- {line}" for line in answer_lines(result)), ""])
    rows = [ANSWER_HEADER, *answer_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(ANSWER_HEADER))]
    lines = [f"== answer scenario, {result['date']}, commit {result['commit']}"]
    for r in rows:
        lines.append(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join([*lines, *answer_lines(result)])


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    figures = result["figures"]
    rows = []
    for key, label, _ in ROWS[:-1]:
        f = figures.get(key, {})
        goal = f"p99 ≤ {f['goal_p99']:g}" if key != "delta_to_peer_all_ms" and f.get("n") else ""
        met = ("met" if f["met"] else "MISSED") if goal else ""
        rows.append(
            [
                label,
                *(_num(f.get(k)) for k in ("p50", "p95", "p99", "max")),
                str(f.get("n", 0)),
                goal,
                met,
            ]
        )
    mem = figures["memory_per_call_mb"]
    traced = mem.get("traced_per_call_mb")
    rows.append(
        [
            "5 memory per call (MB)",
            f"RSS {mem['rss_per_call_mb']:.2f}",
            f"traced {traced:.2f}" if traced is not None else "",
            "",
            "",
            str(result["calls_live"]),
            f"≤ {mem['goal_mb']:g}",
            "met" if mem["met"] else "MISSED",
        ]
    )
    return rows


def _where(machine: dict[str, Any]) -> str:
    """Where the processes ran: the media path and the helpers on cores apart, or sharing."""
    if "media_cores" not in machine:
        return "cores: not recorded"
    if machine["apart"]:
        return (
            f"cores: media path on {machine['media_cores']}, "
            f"Realtime server and peers on {machine['helper_cores']}"
        )
    return "cores: media path and helpers share every core (too few cores to keep them apart)"


def context_lines(result: dict[str, Any]) -> list[str]:
    cpu, c = result["cpu"], result["counters"]
    lags = "; ".join(
        f"{name} p50 {_num(lag.get('p50'))} p99 {_num(lag.get('p99'))} max {_num(lag.get('max'))}"
        for name, lag in result["loop_lag_ms"].items()
        if lag
    )
    dropped = c["bridge_inbound_dropped"] + c["session_audio_dropped"]
    media = result["media"]
    workers = ", ".join(
        f"worker {w['worker']}: {w['calls']} calls, {w['cores']:.2f} cores"
        + (f", restarted {w['restarts']}×" if w["restarts"] else "")
        for w in result["workers"]
    )
    lines = [
        f"media path: {media['workers']} worker processes on "
        f"{'uvloop' if media['uvloop'] else 'asyncio'}'s event loop, "
        f"{media.get('append_ms', 20)} ms per append ({workers})",
        f"CPU (cores, of {result['machine']['cpus']}): "
        f"media (node process + workers) {cpu['measured_process_cores']:.2f} "
        f"({cpu['measured_ms_per_call_second']:.1f} ms per call-second, "
        f"{cpu['calls_per_core']:.0f} calls per core), "
        f"Realtime server {cpu['realtime_server_cores']:.2f}, peers {cpu['peers_cores']:.2f}, "
        f"other work {cpu['other_work_cores']:.2f}; "
        f"machine busy {cpu['machine_busy_fraction']:.0%}",
        _where(result["machine"]),
        f"event-loop lag, ms (a 10 ms sleep's lateness): {lags}",
        f"calls live {result['calls_live']}/{result['calls']}; dropped by OpenDeep "
        f"before the window {c['calls_dropped_before_window']}, "
        f"in it {c['calls_dropped_in_window']}; "
        f"barge-ins measured {c['barge_ins_measured']} on {c['calls_with_barge_in']} calls "
        f"({c['barge_ins_cut_before_next_frame']} cut before the next frame)",
        f"playout underruns {c['playout_underruns']}; "
        f"pacer late frames {c['pacer_late_frames']}/{c['pacer_frames']}, "
        f"resyncs {c['pacer_resyncs']}; inbound frames dropped {dropped}; "
        f"deltas not received by the end {c['deltas_not_received']}; "
        f"errors logged {c['errors_logged']}",
    ]
    if log := result.get("log"):
        top = list(log.items())[:4]
        lines.append("most logged: " + "; ".join(f"{n}× {key}" for key, n in top))
    return lines


def legend() -> str:
    return "\n".join(f"  {label}: {meaning}" for _, label, meaning in ROWS)


HEADER = ["figure (ms)", "p50", "p95", "p99", "max", "n", "goal", ""]


def format_text(result: dict[str, Any]) -> str:
    rows = [HEADER, *table_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = [
        f"== {result['calls']} calls, {result['seconds']:.0f} s measured, {result['date']}, "
        f"commit {result['commit']}"
    ]
    for r in rows:
        lines.append(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    lines += context_lines(result)
    return "\n".join(lines)


def format_markdown(result: dict[str, Any]) -> str:
    rows = [HEADER, ["---"] * len(HEADER), *table_rows(result)]
    lines = [f"### {result['calls']} calls ({result['seconds']:.0f} s measured)", ""]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", *(f"- {line}" for line in context_lines(result)), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.media_bench", description=__doc__)
    parser.add_argument("--calls", default="50,100,200", help="concurrency levels, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per level")
    parser.add_argument(
        "--short", action="store_true", help=f"CI mode: {SHORT_CALLS} calls × {SHORT_SECONDS:.0f} s"
    )
    parser.add_argument("--ramp-per-s", type=float, default=20.0, help="calls answered per second")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="media worker processes (default: one per core)",
    )
    parser.add_argument("--uvloop", action="store_true", help="the media workers run on uvloop")
    parser.add_argument(
        "--append-ms",
        type=int,
        choices=(20, 40, 60),
        default=20,
        help="callee audio per input_audio_buffer.append (REALTIME_APPEND_MS)",
    )
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument(
        "--scenario",
        choices=("levels", "answer", "all"),
        default="all",
        help="the concurrency levels, the answer scenario, or both",
    )
    parser.add_argument("--answer-calls", type=int, default=50, help="answer scenario: calls")
    parser.add_argument("--echo-calls", type=int, default=4, help="answer scenario: echo lines")
    parser.add_argument("--echo-seconds", type=float, default=60.0, help="length of each")
    parser.add_argument(
        "--connect-ms", type=int, default=400, help="Realtime session set-up time (simulated)"
    )
    parser.add_argument(
        "--model-ms", type=int, default=250, help="the model's first-audio time (simulated)"
    )
    args = parser.parse_args(argv)
    try:
        levels = [SHORT_CALLS] if args.short else [int(n) for n in args.calls.split(",") if n]
    except ValueError:
        parser.error(f"--calls must be comma-separated integers, got {args.calls!r}")
    seconds = SHORT_SECONDS if args.short else args.seconds
    if not levels or min(levels) < 1 or seconds <= 0:
        parser.error("need at least one level of >= 1 call and --seconds > 0")
    answer = AnswerRun(
        calls=SHORT_ANSWER_CALLS if args.short else args.answer_calls,
        echo_calls=SHORT_ECHO_CALLS if args.short else args.echo_calls,
        echo_seconds=SHORT_ECHO_SECONDS if args.short else args.echo_seconds,
        connect_ms=args.connect_ms,
        model_ms=args.model_ms,
    )
    if args.scenario == "answer":
        levels = []
    failed = 0
    for calls in levels:
        out = args.results_dir / f"media-{calls}.json"
        ran = run_level(
            calls, seconds, args.ramp_per_s, out, args.workers, args.uvloop, args.append_ms
        )
        if not ran:
            failed += 1
            continue
        result = json.loads(out.read_text())
        print(format_markdown(result) if args.markdown else format_text(result) + "\n", flush=True)
    if levels and failed < len(levels):
        print(("" if args.markdown else "rows:\n") + legend())
    if args.scenario != "levels":
        out = args.results_dir / "media-answer.json"
        if run_answer(answer, out):
            result = json.loads(out.read_text())
            print(("\n" if levels else "") + format_answer(result, markdown=args.markdown))
        else:
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
