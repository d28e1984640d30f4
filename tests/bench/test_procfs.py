"""Where the media benchmark runs its processes: apart where the machine has the cores."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.procfs import Placement, pin, placement


@pytest.mark.parametrize(
    ("cores", "workers", "media", "helpers"),
    [
        ([0, 1], 2, (0, 1), (0, 1)),  # this kind of machine: no core to spare, all share
        ([0, 1], 1, (0,), (1,)),
        (list(range(16)), 4, (0, 1, 2, 3), tuple(range(4, 16))),
        ([5, 3, 9], 2, (3, 5), (9,)),  # the cores this process may use, in order
        ([0], 1, (0,), (0,)),
    ],
)
def test_the_media_path_and_the_helpers_are_apart_only_with_a_core_to_spare(
    cores: list[int], workers: int, media: tuple[int, ...], helpers: tuple[int, ...]
) -> None:
    where = placement(cores, workers)
    assert where == Placement(media, helpers)
    assert where.apart == (len(cores) > workers)
    assert where.to_json()["apart"] == where.apart


def test_pinning_keeps_a_process_on_its_cores() -> None:
    allowed = sorted(os.sched_getaffinity(0))
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pin(child.pid, (allowed[-1],))
        assert os.sched_getaffinity(child.pid) == {allowed[-1]}
    finally:
        child.kill()
        child.wait()
