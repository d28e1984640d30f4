"""From what was recorded to the benchmark's verdicts and figures (pure functions, no I/O).

Sources: the database at the end (tasks, calls), the independent AMI listener (`Newchannel`,
`OriginateResponse`), each node's record file (dispatch passes, attempts, outcomes) and the
driver's own observations (release time, kill time, when each task the killed node held left
`claimed`). All times are wall-clock seconds on one machine.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.multinode.ami_listener import Seen
from bench.multinode.database import BENCH_NUMBERS, ENDED_STATUSES, CallRow, TaskRow
from telephony.channel_ids import attempt_ids

ATTEMPTS_INDEXED = 3  # max_attempts is 1; a few more ids are looked for, in case


@dataclass(frozen=True, slots=True)
class Observed:
    """What the driver saw itself."""

    t_release: float  # every task due from this instant
    t_all_ended: float | None  # when no task was pending or claimed any more
    victim: str | None
    t_kill: float | None
    started_at_kill: int  # tasks that had left `pending` when the victim was killed
    held_at_kill: Sequence[TaskRow]  # the victim's claimed tasks right after the kill
    left_claimed: dict[int, float]  # held task → when it was first seen out of `claimed`
    lease_s: float
    reap_s: float
    # The task whose Originate the victim was killed at (held back by `AmiTripwire`: its call
    # row written, Asterisk never told); None when the kill came from outside.
    killed_at_originate_of: int | None = None


def summary_ms(values_s: Iterable[float]) -> dict[str, float | int] | None:
    """n, p50/p95/p99/max in milliseconds; None without samples."""
    data = np.asarray(list(values_s), dtype=float)
    if data.size == 0:
        return None
    p50, p95, p99 = np.percentile(data, [50, 95, 99]) * 1000
    return {
        "n": int(data.size),
        "p50": round(float(p50), 1),
        "p95": round(float(p95), 1),
        "p99": round(float(p99), 1),
        "max": round(float(data.max()) * 1000, 1),
    }


def peak_rate(times: Sequence[float], window_s: float = 1.0) -> float:
    """The most events in any `window_s` window, per second."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] > window_s:
            start += 1
        best = max(best, end - start + 1)
    return best / window_s


def channel_index(
    task_ids: Iterable[int], namespace: uuid.UUID
) -> tuple[dict[str, tuple[int, int]], set[str]]:
    """;1 channel id → (task, attempt), and the set of ;2 channel ids, for every task, in the
    installation's channel-id `namespace` (`telephony.channel_ids.call_namespace`)."""
    first: dict[str, tuple[int, int]] = {}
    second: set[str] = set()
    for task in task_ids:
        for attempt in range(1, ATTEMPTS_INDEXED + 1):
            ids = attempt_ids(task, attempt, namespace)
            first[ids.channel_id] = (task, attempt)
            second.add(ids.other_channel_id)
    return first, second


@dataclass(frozen=True, slots=True)
class Dial:
    task: int
    attempt: int
    t: float  # Newchannel of the ;1 half
    node: str | None  # from the attempt's calls row


def dials(
    newchannels: Sequence[Seen], index: dict[str, tuple[int, int]], calls: Sequence[CallRow]
) -> list[Dial]:
    """Every ;1 `Newchannel` of a bench attempt, with the node whose calls row it has."""
    node_of = {(c.task_id, c.attempt): c.node_id for c in calls}
    out = []
    for seen in newchannels:
        hit = index.get(seen.uniqueid)
        if hit is not None:
            out.append(Dial(hit[0], hit[1], seen.t, node_of.get(hit)))
    return out


def stray_channels(
    newchannels: Sequence[Seen], index: dict[str, tuple[int, int]], second: set[str]
) -> list[str]:
    """Outbound Local channels to a bench number that belong to no bench attempt (a dial
    nobody accounts for). Calls to other numbers are other users of the same PBX."""
    return [
        s.channel
        for s in newchannels
        if any(f"Local/{number}@opendeep-outbound" in s.channel for number in BENCH_NUMBERS)
        and s.uniqueid not in index
        and s.uniqueid not in second
    ]


def claim_times(events: Sequence[dict[str, Any]]) -> dict[tuple[str, int], list[float]]:
    """(node, task) → the start of each dispatch pass of that node that dialled the task."""
    out: dict[tuple[str, int], list[float]] = defaultdict(list)
    for e in events:
        if e["kind"] == "tick":
            for task in e["dialled"]:
                out[(e["node"], task)].append(e["t"])
    return out


def claim_to_dial(events: Sequence[dict[str, Any]], all_dials: Sequence[Dial]) -> list[float]:
    """Seconds from the claim (start of the dispatch pass that dialled it) to the Newchannel."""
    claims = claim_times(events)
    out = []
    for d in all_dials:
        if d.node is None:
            continue
        before = [t for t in claims.get((d.node, d.task), []) if t <= d.t]
        if before:
            out.append(d.t - max(before))
    return out


def verdict(
    task_rows: Sequence[TaskRow],
    calls: Sequence[CallRow],
    all_dials: Sequence[Dial],
    originate_responses: Sequence[Seen],
    index: dict[str, tuple[int, int]],
    strays: Sequence[str],
) -> dict[str, Any]:
    """Exactly once (AMI and calls), nothing lost, everything ended — with the offenders."""
    dialled = Counter(d.task for d in all_dials)
    rows = Counter(c.task_id for c in calls)
    answered = Counter(index[s.uniqueid][0] for s in originate_responses if s.uniqueid in index)
    ids = [t.id for t in task_rows]
    twice = sorted(t for t in ids if dialled[t] > 1)
    never = sorted(t for t in ids if dialled[t] == 0)
    rows_off = sorted(t for t in ids if rows[t] != 1)
    resp_off = sorted(t for t in ids if answered[t] != 1)
    open_ = sorted(t.id for t in task_rows if t.status not in ENDED_STATUSES)
    out = {
        "tasks": len(ids),
        "dialled_once_ami": sum(1 for t in ids if dialled[t] == 1),
        "dialled_twice_or_more": twice,
        "never_dialled": never,
        "calls_rows_not_one": rows_off,
        "originate_responses_not_one": resp_off,
        "not_ended": open_,
        "stray_outbound_channels": list(strays),
        "exactly_once_ami": not twice and not never and not strays,
        "exactly_once_calls": not rows_off,
        "no_task_lost": not never,
        "every_task_ended": not open_,
    }
    out["ok"] = all(
        out[k] for k in ("exactly_once_ami", "exactly_once_calls", "no_task_lost")
    ) and bool(out["every_task_ended"])
    return out


def recovery(
    seen: Observed,
    task_rows: Sequence[TaskRow],
    calls: Sequence[CallRow],
    all_dials: Sequence[Dial],
) -> dict[str, Any] | None:
    """What became of each task the killed node held, and how long its return took.

    `calls_rows` tells where a lost task's attempt stopped: 0 — counted at the pre-dial gate,
    never placed; 1 — its calls row written, the Originate never sent."""
    if seen.victim is None or seen.t_kill is None:
        return None
    final = {t.id: t for t in task_rows}
    rows = Counter(c.task_id for c in calls)
    by_task: dict[int, list[Dial]] = defaultdict(list)
    for d in all_dials:
        by_task[d.task].append(d)
    held: list[dict[str, Any]] = []
    returned: list[float] = []
    redialled: list[float] = []
    for row in seen.held_at_kill:
        mine = by_task.get(row.id, [])
        by_victim = [d for d in mine if d.node == seen.victim]
        after = [d for d in mine if d.node != seen.victim]
        end = final[row.id]
        if len(mine) > 1:
            fate = "dialled twice"
        elif by_victim:
            fate = "dialled by the killed node, not again"
        elif after:
            fate = "not dialled before the kill, dialled once after"
        else:
            fate = "never dialled (lost)"
        back = seen.left_claimed.get(row.id)
        if back is not None:
            returned.append(round(back - seen.t_kill, 2))
        if after:
            redialled.append(round(after[0].t - seen.t_kill, 2))
        held.append(
            {
                "task": row.id,
                "attempts_at_kill": row.attempts,
                "dials": len(mine),
                "calls_rows": rows[row.id],
                "dialled_by": [d.node for d in mine],
                "final_status": end.status,
                "last_outcome": end.last_outcome,
                "returned_after_s": returned[-1] if back is not None else None,
                "redialled_after_s": redialled[-1] if after else None,
                "fate": fate,
            }
        )
    return {
        "victim": seen.victim,
        "killed_after_s": round(seen.t_kill - seen.t_release, 2),
        "tasks_started_at_kill": seen.started_at_kill,
        "tasks_held": len(held),
        "killed_at_originate_of": seen.killed_at_originate_of,
        "lease_s": seen.lease_s,
        "reap_interval_s": seen.reap_s,
        "all_returned_after_s": max(returned) if len(returned) == len(held) and held else None,
        "last_redial_after_s": max(redialled) if redialled else None,
        "fates": dict(Counter(h["fate"] for h in held)),
        "held": held,
    }


def figures(
    seen: Observed,
    events: Sequence[dict[str, Any]],
    all_dials: Sequence[Dial],
    task_rows: Sequence[TaskRow],
    slots: int,
) -> dict[str, Any]:
    """Throughput and latency. Every task is due at `t_release`, so due → Originate of most
    tasks is their wait for a free call slot; the first `slots` dials (the first wave, all
    nodes' slots together) show the alarm clock's own reaction. Rates are over the bulk of
    the run — release to the last dial of a task the killed node did not hold — not over the
    wait for the dead node's leases."""
    ticks = [e for e in events if e["kind"] == "tick"]
    held = {t.id for t in seen.held_at_kill}
    bulk = sorted(d.t for d in all_dials if d.task not in held)
    bulk_end = bulk[-1] if bulk else seen.t_release
    claim_ts = sorted(e["t"] for e in ticks for _ in range(e["claimed"]))
    bulk_claims = [t for t in claim_ts if t <= bulk_end]
    claim_span = bulk_end - bulk_claims[0] if bulk_claims else 0.0
    dial_span = bulk_end - bulk[0] if bulk else 0.0
    wall = None if seen.t_all_ended is None else seen.t_all_ended - seen.t_release
    first_try = [t - seen.t_release for t in bulk]
    if seen.t_kill is not None and bulk:
        before = [t for t in bulk if t <= seen.t_kill]
        after = [t for t in bulk if t > seen.t_kill]
        rates = {
            "calls_per_s_before_kill": round(len(before) / (seen.t_kill - bulk[0]), 1)
            if before
            else None,
            "calls_per_s_after_kill": round(len(after) / (bulk_end - seen.t_kill), 1)
            if after
            else None,
        }
    else:
        rates = {}
    per_node: dict[str, dict[str, int]] = defaultdict(lambda: {"claims": 0, "dials": 0})
    for e in ticks:
        per_node[e["node"]]["claims"] += e["claimed"]
    for d in all_dials:
        per_node[d.node or "?"]["dials"] += 1
    return {
        "wall_s": None if wall is None else round(wall, 2),
        "bulk_s": round(bulk_end - seen.t_release, 2) if bulk else None,
        "claims": len(claim_ts),
        "claims_per_s": round(len(bulk_claims) / claim_span, 1) if claim_span else None,
        "claims_per_s_peak_1s": peak_rate(claim_ts),
        "claims_per_pass": round(len(claim_ts) / len(ticks), 2) if ticks else None,
        "dispatch_pass_ms": summary_ms(e["t_end"] - e["t"] for e in ticks),
        "dials": len(all_dials),
        "calls_per_s": round(len(bulk) / dial_span, 1) if dial_span else None,
        "calls_per_s_peak_1s": peak_rate([d.t for d in all_dials]),
        **rates,
        "claim_to_originate_ms": summary_ms(claim_to_dial(events, all_dials)),
        "due_to_originate_ms": summary_ms(first_try),
        "due_to_originate_first_wave_ms": summary_ms(first_try[:slots]),
        "per_node": dict(per_node),
        "statuses": dict(Counter(t.status for t in task_rows)),
        "last_outcomes": dict(Counter(t.last_outcome or "-" for t in task_rows)),
    }
