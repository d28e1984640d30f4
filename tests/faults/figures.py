"""The figures of a fault test, read back from the database once the campaign has settled.

- **dials per task**: the task's `calls` rows. One is written before each Originate and never
  after, so there is no dial without its row; the PBX's own count (channels with the attempts'
  `ChannelId`s, seen by the test's own AMI session) may only be lower — a missed event — never
  higher.
- **tasks lost**: tasks that did not come to the end their callee leads to (a booking, an
  opt-out, a callback asked for): left under a claim, on hold for a review no fault-free run
  needs, failed, or gone.
- **calls mis-marked**: call rows that say something else than what happened on the line — a
  call still "in progress" after it ended, a conversation marked as a failure or the reverse, a
  missing recording without its reason. What is right for each call is the test's to judge.
- **repeats**: attempts the PBX saw dialled more than once (one `ChannelId`, several channels).

Each test records its figures (`FigureLog`): a line in the run's output, one JSON line appended
to `test-artifacts/faults/figures.jsonl`, and a table at the end of the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.db.models import Call, Task
from core.domain import CallState, TaskStatus
from tests.helpers import PROJECT

ARTIFACTS = PROJECT / "test-artifacts" / "faults"


@dataclass(frozen=True, slots=True)
class Callee:
    """One target of the fault campaign: a simulated callee of the development PBX, and the end
    its task comes to when nothing goes wrong."""

    name: str
    phone: str
    status: TaskStatus
    outcome: str  # the task's `last_outcome` at that end

    def reached(self, task: Task) -> bool:
        return task.status is self.status and task.last_outcome == self.outcome


@dataclass(slots=True)
class Figures:
    fault: str
    database: str
    dials: dict[str, int]  # calls rows, by callee
    allowed: dict[str, int]  # the most dials each callee's task may take under this fault
    pbx_dials: dict[str, int]  # channels the PBX made for the task's attempts
    lost: list[str] = field(default_factory=list)
    mis_marked: list[str] = field(default_factory=list)
    repeats: int = 0
    seconds: float = 0.0

    @property
    def dials_per_task(self) -> str:
        return "/".join(str(n) for n in self.dials.values())

    def line(self) -> str:
        return (
            f"{self.fault} [{self.database}]: dials per task {self.dials_per_task} "
            f"(at most {'/'.join(str(n) for n in self.allowed.values())}; PBX saw "
            f"{'/'.join(str(n) for n in self.pbx_dials.values())}), tasks lost {len(self.lost)}, "
            f"calls mis-marked {len(self.mis_marked)}, repeats {self.repeats}, "
            f"{self.seconds:.0f} s"
        )

    def check(self) -> None:
        """The targets: no task above its dials, no dial unknown to the database, nothing
        lost, nothing mis-marked, no attempt dialled twice."""
        problems = [
            f"{name}: {n} dials, at most {self.allowed[name]}"
            for name, n in self.dials.items()
            if n > self.allowed[name]
        ]
        problems += [
            f"{name}: the PBX made {n} channels for {self.dials[name]} call rows"
            for name, n in self.pbx_dials.items()
            if n > self.dials[name]
        ]
        problems += [f"lost: {why}" for why in self.lost]
        problems += [f"mis-marked: {why}" for why in self.mis_marked]
        if self.repeats:
            problems.append(f"{self.repeats} attempt(s) dialled more than once")
        assert not problems, self.line() + "\n  " + "\n  ".join(problems)


Judge = Callable[[Call], str | None]


def judge_calls(calls: Mapping[str, list[Call]], judge: Judge) -> list[str]:
    """Why each mis-marked call is: still not ended, or what `judge` finds wrong with it."""
    wrong = []
    for name, rows in calls.items():
        for call in rows:
            why = (
                f"state {call.state.value} after the campaign settled"
                if call.state is not CallState.ENDED
                else judge(call)
            )
            if why:
                wrong.append(f"{name} attempt {call.attempt} (call {call.id}): {why}")
    return wrong


def lost_tasks(callees: list[Callee], tasks: Mapping[str, Task | None]) -> list[str]:
    lost = []
    for callee in callees:
        task = tasks.get(callee.name)
        if task is None:
            lost.append(f"{callee.name}: no task")
        elif not callee.reached(task):
            lost.append(
                f"{callee.name}: {task.status.value} ({task.last_outcome}), expected "
                f"{callee.status.value} ({callee.outcome})"
            )
    return lost


class FigureLog:
    """The figures of this run's fault tests: printed, appended to the JSON lines file, and
    tabled at the end of the run."""

    def __init__(self, path: Path = ARTIFACTS / "figures.jsonl") -> None:
        self.path = path
        self.rows: list[Figures] = []

    def record(self, figures: Figures) -> None:
        self.rows.append(figures)
        print(figures.line())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({**asdict(figures), "dials_per_task": figures.dials_per_task}))
            out.write("\n")

    def table(self) -> list[str]:
        lines = [
            "| fault | database | dials per task (at most) | tasks lost | calls mis-marked "
            "| repeats | seconds |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in self.rows:
            allowed = "/".join(str(n) for n in f.allowed.values())
            lines.append(
                f"| {f.fault} | {f.database} | {f.dials_per_task} ({allowed}) | {len(f.lost)} "
                f"| {len(f.mis_marked)} | {f.repeats} | {f.seconds:.0f} |"
            )
        return lines
