"""Turning what the three processes recorded into the benchmark's figures (pure functions).

Times are monotonic seconds, comparable across processes (Linux CLOCK_MONOTONIC is system-wide).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from media.pacer import lateness_bin_upper_s

TAIL_S = 0.5  # events this close to the window's end may not have reached the peer in it


@dataclass(frozen=True, slots=True)
class Summary:
    """Percentiles in milliseconds."""

    n: int
    p50: float
    p95: float
    p99: float
    max: float

    def to_json(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def summarize(values_s: Iterable[float] | npt.NDArray[np.float64]) -> Summary | None:
    """p50/p95/p99/max of samples in seconds, in ms; None without samples."""
    data = np.asarray(values_s if isinstance(values_s, np.ndarray) else list(values_s), float)
    if data.size == 0:
        return None
    p50, p95, p99 = np.percentile(data, [50, 95, 99]) * 1000
    return Summary(int(data.size), float(p50), float(p95), float(p99), float(data.max() * 1000))


def summarize_histogram(counts: Sequence[int]) -> Summary | None:
    """Percentiles of a pacer lateness histogram (`media.pacer`), as bin upper edges: each
    figure is an upper bound, at most 5 % above the true value."""
    total = sum(counts)
    if total == 0:
        return None
    cumulative = np.cumsum(counts)

    def at(q: float) -> float:
        index = int(np.searchsorted(cumulative, q / 100 * total))
        return lateness_bin_upper_s(index) * 1000

    top = max(i for i, c in enumerate(counts) if c)
    return Summary(total, at(50), at(95), at(99), lateness_bin_upper_s(top) * 1000)


# --- cross-process figures --------------------------------------------------------------------
#
# The Realtime server knows turn k (its k-th response) and which frame each delta starts with;
# a peer knows the turns it heard, in order, by variant (k mod the number of variants; two
# consecutive turns never share one). `align_turns` pairs them up.


def align_turns(
    trace: dict[str, Any], heard: Sequence[dict[str, Any]], variants: int
) -> dict[int, int]:
    """Turn k of a connection → index of the peer's heard turn that played it.

    Turns are heard in the order they were sent; a turn the peer never heard (all of its audio
    dropped by a barge-in) is skipped: the next heard turn then has another variant, or began
    before this turn sent anything.
    """
    first_sent: dict[int, float] = {}
    for sent, turn, _ in trace["deltas"]:
        first_sent.setdefault(turn, sent)
    mapping: dict[int, int] = {}
    j = 0
    for turn in sorted(first_sent):
        while j < len(heard) and heard[j]["first"] < first_sent[turn]:
            j += 1  # heard before this turn sent anything: an earlier turn's audio
        if j < len(heard) and heard[j]["variant"] == turn % variants:
            mapping[turn] = j
            j += 1
    return mapping


def _pairs(
    sim: Sequence[dict[str, Any]], peers: Sequence[dict[str, Any]]
) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
    by_call = {p["call_uuid"]: p for p in peers}
    for trace in sim:
        peer = by_call.get(trace["call_uuid"])
        if peer is not None:
            yield trace, peer


@dataclass
class DeltaLatency:
    first_of_turn_s: list[float]  # the turn's first delta: it finds the playout buffer empty
    latencies_s: list[float]  # every delta: later ones also wait behind the turn's queued audio
    cleared_by_barge_in: int  # deltas whose audio was dropped because the callee interrupted
    not_received: int  # deltas of uninterrupted turns whose audio had not arrived when the run
    # ended: their latency exceeded what was left of the run (or the call was lost)


def delta_to_peer(
    sim: Sequence[dict[str, Any]],
    peers: Sequence[dict[str, Any]],
    window: tuple[float, float],
    variants: int,
) -> DeltaLatency:
    """`response.output_audio.delta` sent → its first frame received by the call's peer, for
    deltas sent inside `window` (but not in its last `TAIL_S`)."""
    t0, t1 = window
    out = DeltaLatency([], [], 0, 0)
    for trace, peer in _pairs(sim, peers):
        heard = peer["turns"]
        mapping = align_turns(trace, heard, variants)
        barged = {turn for _, turn in trace["speech_started"] if turn is not None}
        arrivals = {
            turn: {frame: arrived for frame, arrived in heard[j]["starts"]}
            for turn, j in mapping.items()
        }
        for sent, turn, frame in trace["deltas"]:
            if not t0 <= sent <= t1 - TAIL_S:
                continue
            arrived = arrivals.get(turn, {}).get(frame)
            if arrived is not None:
                out.latencies_s.append(arrived - sent)
                if frame == 0:
                    out.first_of_turn_s.append(arrived - sent)
            elif turn in barged:
                out.cleared_by_barge_in += 1
            else:
                out.not_received += 1
    return out


@dataclass
class BargeIns:
    latencies_s: list[float]  # 0 when no frame of the turn reached the peer after speech_started
    cut_before_next_frame: int  # how many of them were 0
    calls: set[str]  # the calls with at least one measured barge-in
    inaudible: int  # speech_started in a turn the peer never heard: nothing to measure


def barge_in(
    sim: Sequence[dict[str, Any]],
    peers: Sequence[dict[str, Any]],
    window: tuple[float, float],
    variants: int,
) -> BargeIns:
    """`input_audio_buffer.speech_started` sent while turn k streamed → the last frame of turn
    k received by the peer (0 when the peer had already received the last of it)."""
    t0, t1 = window
    out = BargeIns([], 0, set(), 0)
    for trace, peer in _pairs(sim, peers):
        heard = peer["turns"]
        mapping = align_turns(trace, heard, variants)
        for started, turn in trace["speech_started"]:
            if turn is None or not t0 <= started <= t1 - TAIL_S:
                continue
            if turn not in mapping:
                out.inaudible += 1
                continue
            latency = max(0.0, heard[mapping[turn]]["last"] - started)
            out.latencies_s.append(latency)
            out.cut_before_next_frame += latency == 0.0
            out.calls.add(peer["call_uuid"])
    return out
