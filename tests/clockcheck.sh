#!/usr/bin/env bash
# The unit suites under a faked wall clock (Debian's libfaketime), in New York: by day, at night,
# and across the spring-forward change. A test that reads the wall clock for a decision passes
# by day and fails at night or across the change; tests/clock_compare.py names it. Failures in
# the daytime run too are libfaketime's own and are reported, not counted.
#   tests/clockcheck.sh [PATH...]   -> installs libfaketime if missing, runs the three (over
#                                      tests/, or the PATHs given), compares them; junit XML
#                                      and logs under test-artifacts/clockcheck/
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$PWD/test-artifacts/clockcheck"
PY="$PWD/.venv/bin/python"
ZONE="America/New_York"
MARKERS="not postgres and not asterisk and not browser and not slow"
paths=("${@:-tests}")
RUN_TIMEOUT="${CLOCKCHECK_RUN_TIMEOUT:-1200}"  # seconds per run; a hang under the preload fails
# label and fake start (local time in $ZONE); the first is the baseline.
RUNS=(
  "day|2027-03-10 14:00:00"    # a Wednesday afternoon
  "night|2027-03-11 02:30:00"  # the next night
  "dst|2027-03-14 01:59:00"    # a minute before spring-forward: 02:00 EST becomes 03:00 EDT
)

[ -x "$PY" ] || { echo "error: $PY is missing; run \`make setup\` (uv sync) first" >&2; exit 1; }

faketime_lib() {
  dpkg -L libfaketime 2>/dev/null | grep -m 1 '/libfaketime\.so\.1$'
}

if ! lib=$(faketime_lib) || [ ! -f "$lib" ]; then
  [ "$(id -u)" = 0 ] || { echo "libfaketime is not installed; run as root or: sudo apt-get install libfaketime" >&2; exit 1; }
  echo "installing libfaketime from Debian's packages..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 libfaketime >/dev/null
  lib=$(faketime_lib) || { echo "error: libfaketime installed but libfaketime.so.1 not found" >&2; exit 1; }
fi

tmp=$(mktemp -d /tmp/opendeep-clockcheck.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# libfaketime 0.9.10 (Debian 12) shifts an absolute clock_nanosleep() on CLOCK_MONOTONIC by the
# fake offset even with FAKETIME_DONT_FAKE_MONOTONIC=1 (fixed upstream after 0.9.10), so every
# time.sleep() fails with EINVAL; each faked Python, the test's subprocesses included, sleeps on
# select()'s relative timeout instead.
mkdir -p "$tmp/site"
cat >"$tmp/site/sitecustomize.py" <<'PY'
import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


time.sleep = _sleep
PY

# The environment of a run whose wall clock starts at $1 (then ticks); the monotonic clock
# (asyncio's) stays real, so timeouts and pacing behave as usual.
faked_env() {
  faked=(env LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" FAKETIME="@$1"
    FAKETIME_DONT_FAKE_MONOTONIC=1 TZ="$ZONE" PYTHONPATH="$tmp/site${PYTHONPATH:+:$PYTHONPATH}")
}

# The preload must take effect in the child, or every run would "pass" on the real clock.
probe='import datetime, time; time.sleep(0.01); print(datetime.datetime.now().isoformat(timespec="minutes"), int(time.monotonic()))'
for entry in "${RUNS[@]}"; do
  start=${entry#*|}
  want=${start/ /T}; want=${want:0:16}
  real_mono=$("$PY" -c 'import time; print(int(time.monotonic()))')
  faked_env "$start"
  seen="" mono=0
  read -r seen mono < <("${faked[@]}" "$PY" -c "$probe") || true
  if [ "$seen" != "$want" ]; then
    echo "error: libfaketime ($lib) did not take effect: a Python started at $want saw '$seen'" >&2
    exit 1
  fi
  if [ $((mono - real_mono)) -gt 60 ] || [ $((real_mono - mono)) -gt 60 ]; then
    echo "error: the monotonic clock is faked too (child $mono s, here $real_mono s)" >&2
    exit 1
  fi
done

rm -rf "$OUT"
mkdir -p "$OUT"
compare=()
for entry in "${RUNS[@]}"; do
  label=${entry%%|*}; start=${entry#*|}
  echo "== clockcheck: the unit suites at $start ($ZONE), the $label run" >&2
  began=$(date +%s)
  rc=0
  # tests/integration holds only marked tests; the unmarked ones of ui/, asterisk/ and bench/ are
  # unit tests (free ports, no PBX, no database server) and run here too; test_serve.py does not:
  # it starts and stops whole server processes, decides nothing by the clock, and takes half a
  # minute of each run.
  faked_env "$start"
  timeout -k 30 "$RUN_TIMEOUT" "${faked[@]}" "$PY" -m pytest -q -p no:cacheprovider \
    -m "$MARKERS" --ignore=tests/integration \
    --ignore=tests/ui/test_serve.py --continue-on-collection-errors \
    -o junit_family=xunit1 --junitxml="$OUT/$label.xml" --basetemp="$tmp/$label" \
    "${paths[@]}" >"$OUT/$label.log" 2>&1 || rc=$?
  wall=$(( $(date +%s) - began ))
  echo "   $label: pytest exit $rc, ${wall}s wall ($OUT/$label.log)" >&2
  if [ "$label" = dst ] && [ "$wall" -le 60 ]; then
    echo "   warning: the dst run ended within its first minute, before the clock change" >&2
  fi
  # 0: all passed; 1: some failed (compared below). Anything else: the run itself broke.
  if [ "$rc" -gt 1 ]; then
    tail -n 30 "$OUT/$label.log" >&2
    echo "error: the $label run did not complete (pytest exit $rc; 124: over ${RUN_TIMEOUT}s)" >&2
    exit 1
  fi
  compare+=(--run "$label" "$start" "$OUT/$label.xml")
done

"$PY" tests/clock_compare.py --zone "$ZONE" "${compare[@]}"
