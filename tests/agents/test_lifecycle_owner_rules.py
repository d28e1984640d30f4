"""The lifecycle rules around the owner: a stalled analysis goes to them, and a check-in they
answered is not asked again before a full period has passed."""

from __future__ import annotations

import datetime as dt

import pytest

from agents.lifecycle_manager import Choice, LifecycleDecision, dispose, orient
from tests.agents.test_lifecycle_rules import NOW, kinds, observe, task

LONG_AGO = NOW - dt.timedelta(days=5)


@pytest.mark.parametrize(
    ("analyzing", "expected"),
    [
        # Its node renews the lease while the analyzer runs: nothing to do.
        ({"lease_expires_at": NOW + dt.timedelta(minutes=4)}, []),
        ({"lease_expires_at": NOW - dt.timedelta(minutes=5)}, []),  # the reaper's grace
        # The node died mid-analysis: the call happened, so the owner decides from it.
        (
            {"lease_expires_at": NOW - dt.timedelta(minutes=20)},
            [("analysis_stalled", "review")],
        ),
        ({"updated_at": NOW - dt.timedelta(hours=1)}, [("analysis_stalled", "review")]),
        ({"updated_at": NOW - dt.timedelta(minutes=2)}, []),
    ],
)
def test_an_analysis_that_stopped_goes_to_the_owner(
    analyzing: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    assert kinds(observe(task(1, "analyzing", **analyzing))) == expected


def test_the_model_may_not_fail_a_stalled_analysis_into_the_past() -> None:
    obs = observe(task(1, "analyzing", lease_expires_at=NOW - dt.timedelta(hours=1)))
    [finding] = orient(obs)
    past = Choice(finding_id=finding.id, action="reschedule", due_at=NOW - dt.timedelta(hours=1))
    actions, rejected = dispose([finding], LifecycleDecision(choices=[past]), obs)
    assert [a.kind for a in actions] == ["review"] and "in the past" in rejected[0]


@pytest.mark.parametrize(
    ("last_check_in_at", "pending", "expected"),
    [
        (None, False, [("check_in", "check_in")]),
        (NOW - dt.timedelta(days=3), False, [("check_in", "check_in")]),
        (NOW - dt.timedelta(hours=1), False, []),  # answered an hour ago: not again yet
        (None, True, []),  # one waits already
    ],
)
def test_a_check_in_waits_a_full_period_after_the_last(
    last_check_in_at: dt.datetime | None, pending: bool, expected: list[tuple[str, str]]
) -> None:
    obs = observe(
        task(1, created_at=LONG_AGO),
        created_at=LONG_AGO,
        updated_at=LONG_AGO,
        last_check_in_at=last_check_in_at,
        pending_check_in=pending,
    )
    assert kinds(obs) == expected
