"""Compare the clock check's runs (tests/clockcheck.sh): by day, at night, across a DST change.

    python tests/clock_compare.py --zone America/New_York \\
        --run day "2027-03-10 14:00:00" test-artifacts/clockcheck/day.xml \\
        --run night "2027-03-11 02:30:00" test-artifacts/clockcheck/night.xml ...

Each run is a pytest junit XML (`-o junit_family=xunit1`, so test cases carry their file) and
the fake wall-clock time it started at. The first run is the baseline. A test that passes in
the baseline but not in another run (it fails, errors, is skipped or is missing there) reads
the wall clock for a decision: it is listed and the exit status is 1. A test that fails in the
baseline too is libfaketime's doing, not the hour's: it is listed as "also fails by day (not
counted)". A run that is missing, collected no test, or did not start at its fake time (the
preload did not take effect in pytest itself) fails the check too, so it never passes vacuously.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import xml.etree.ElementTree as ET  # our own pytest's output, not untrusted input
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
# pytest starts its suite a few seconds after the process; anything later than this means the
# run's clock was not the fake one.
START_TOLERANCE = dt.timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Run:
    label: str
    start: dt.datetime  # the fake wall-clock time the run was started at
    path: Path


@dataclass(frozen=True, slots=True)
class Result:
    outcomes: dict[str, str]  # test id -> passed / failed / skipped
    started: dt.datetime | None  # the suite's own timestamp, as pytest read the clock
    seconds: float  # the suite's duration, as pytest measured it

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)


def test_id(case: ET.Element) -> str:
    """The pytest node id, rebuilt from an xunit1 test case (file, classname, name)."""
    name = case.get("name", "")
    classname = case.get("classname", "")
    file = case.get("file")
    if not file:
        return f"{classname}::{name}"
    module = file.removesuffix(".py").replace("/", ".")
    cls = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    return "::".join(part for part in (file, cls, name) if part)


def outcome(case: ET.Element) -> str:
    tags = {child.tag for child in case}
    if tags & {"failure", "error"}:
        return FAILED
    return SKIPPED if "skipped" in tags else PASSED


def read(path: Path) -> Result:
    root = ET.parse(path).getroot()  # noqa: S314 — written by pytest in this very check
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    outcomes: dict[str, str] = {}
    for case in root.iter("testcase"):
        key, got = test_id(case), outcome(case)
        # A test with a teardown error appears twice; a failure anywhere is its outcome.
        if outcomes.get(key) != FAILED:
            outcomes[key] = got
    stamp = suites[0].get("timestamp") if suites else None
    seconds = sum(float(s.get("time", "0")) for s in suites)
    return Result(outcomes, dt.datetime.fromisoformat(stamp) if stamp else None, seconds)


def check_started(run: Run, result: Result, zone: ZoneInfo) -> str | None:
    """Why the run's own clock shows it was not faked, or None when it was."""
    if result.started is None:
        return f"{run.path} has no suite timestamp"
    started = result.started if result.started.tzinfo else result.started.replace(tzinfo=zone)
    if not run.start <= started <= run.start + START_TOLERANCE:
        return (
            f"the {run.label} run started at {started.astimezone(zone):%Y-%m-%d %H:%M %Z}, "
            f"not at its fake time {run.start:%Y-%m-%d %H:%M %Z}: libfaketime did not take effect"
        )
    return None


def compare(runs: list[Run], zone: ZoneInfo) -> int:
    problems: list[str] = []
    results: dict[str, Result] = {}
    for run in runs:
        if not run.path.is_file():
            problems.append(f"the {run.label} run left no report at {run.path}")
            continue
        result = read(run.path)
        if not result.outcomes:
            problems.append(f"the {run.label} run collected no test ({run.path})")
        elif why := check_started(run, result, zone):
            problems.append(why)
        results[run.label] = result

    print(
        "clockcheck: "
        + "; ".join(
            f"{label} {r.count(PASSED)} passed, {r.count(FAILED)} failed, "
            f"{r.count(SKIPPED)} skipped in {r.seconds:.0f}s"
            for label, r in results.items()
        )
    )
    base = runs[0]
    baseline = results.get(base.label)
    counted = 0
    if baseline is not None:
        for run in runs[1:]:
            other = results.get(run.label)
            if other is None or not other.outcomes:
                continue  # already a problem: the run left no report or collected nothing
            clocked = sorted(
                (t, other.outcomes.get(t, "missing"))
                for t, o in baseline.outcomes.items()
                if o == PASSED and other.outcomes.get(t) != PASSED
            )
            by_day = sorted(
                t
                for t, o in other.outcomes.items()
                if o == FAILED and baseline.outcomes.get(t) == FAILED
            )
            if clocked:
                print(f"\n{run.label}: {len(clocked)} test(s) pass by day but not here:")
                print("\n".join(f"  {t}  ({o})" for t, o in clocked))
            if by_day:
                print(f"\n{run.label}: {len(by_day)} also fails by day (not counted):")
                print("\n".join(f"  {t}" for t in by_day))
            counted += len(clocked)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if counted:
        print(
            f"\nerror: {counted} test result(s) depend on the wall clock (see above); inject a "
            "clock instead of reading the real one",
            file=sys.stderr,
        )
    return 1 if counted or problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--zone", default="America/New_York", help="the TZ the runs had; fake starts are read in it"
    )
    parser.add_argument(
        "--run",
        nargs=3,
        action="append",
        required=True,
        metavar=("LABEL", "START", "XML"),
        help="a run: its label, its fake start ('YYYY-MM-DD HH:MM:SS'), its junit XML; the "
        "first is the baseline",
    )
    args = parser.parse_args(argv)
    zone = ZoneInfo(args.zone)
    runs: list[Run] = []
    for label, start, path in args.run:
        try:
            when = dt.datetime.fromisoformat(start)
        except ValueError:
            parser.error(f"--run {label}: START {start!r} is not 'YYYY-MM-DD HH:MM:SS'")
        runs.append(Run(label, when.replace(tzinfo=zone), Path(path)))
    if len(runs) < 2:
        parser.error("give the baseline run and at least one run to compare with it")
    return compare(runs, zone)


if __name__ == "__main__":
    sys.exit(main())
