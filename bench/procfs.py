"""Process and machine figures from /proc (no psutil): memory, CPU time, load."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time a process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime


@dataclass(frozen=True, slots=True)
class MachineCpu:
    busy_s: float  # CPU seconds spent on anything but idle and I/O wait, all cores together
    total_s: float


def machine_cpu() -> MachineCpu:
    """Cumulative CPU time of the whole machine (first line of /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])  # guest time is already counted in user
    return MachineCpu((total - idle) * _TICK_S, total * _TICK_S)


def loadavg() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


@dataclass(frozen=True, slots=True)
class Placement:
    """Which cores the measured media path and the benchmark's helpers run on."""

    media: tuple[int, ...]  # the media workers and the node's side
    helpers: tuple[int, ...]  # the local Realtime server and the simulated peers

    @property
    def apart(self) -> bool:
        return not set(self.media) & set(self.helpers)

    def to_json(self) -> dict[str, object]:
        return {
            "media_cores": list(self.media),
            "helper_cores": list(self.helpers),
            "apart": self.apart,
        }


def placement(cores: list[int], workers: int) -> Placement:
    """Cores for the media path and for the helpers: apart where the machine has a core for
    each worker and at least one more (the workers on the first, the helpers on the rest);
    otherwise everything shares every core (as on a 2-core machine with 2 workers)."""
    ordered = tuple(sorted(cores))
    if len(ordered) > workers >= 1:
        return Placement(ordered[:workers], ordered[workers:])
    return Placement(ordered, ordered)


def pin(pid: int, cores: tuple[int, ...]) -> None:
    """Keep every thread of process `pid` on `cores` (threads it starts later inherit it)."""
    tasks = Path(f"/proc/{pid}/task")
    for tid in [int(t.name) for t in tasks.iterdir()] if tasks.exists() else [pid]:
        try:
            os.sched_setaffinity(tid, cores)
        except ProcessLookupError:
            continue  # a thread that ended meanwhile
