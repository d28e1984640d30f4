"""The lifecycle manager's rules: findings, defaults, and the guards on the model's choices."""

from __future__ import annotations

import datetime as dt

import pytest

from agents.lifecycle_manager import (
    CampaignView,
    Choice,
    LifecycleDecision,
    Observation,
    TaskView,
    default_summary,
    dispose,
    orient,
)

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)  # 10:00 New York
EARLIER = NOW - dt.timedelta(hours=1)


def task(i: int, status: str = "pending", **kw: object) -> TaskView:
    data: dict[str, object] = {
        "id": i,
        "campaign_id": 1,
        "target_name": f"T{i}",
        "phone": f"+1212555010{i}",
        "status": status,
        "due_at": NOW,
        "attempts": 1,
        "max_attempts": 3,
        "created_at": EARLIER,
        "time_zones": ["America/New_York"],
    }
    data.update(kw)
    return TaskView.model_validate(data)


def observe(*tasks: TaskView, stop_rule: str = "call_everyone", **campaign: object) -> Observation:
    c: dict[str, object] = {
        "id": 1,
        "name": "Dentists",
        "objective": "Book",
        "status": "active",
        "stop_rule": stop_rule,
        "created_at": EARLIER,
        "updated_at": EARLIER,
    }
    c.update(campaign)
    return Observation(
        now=NOW,
        legal_start=dt.time(8),
        legal_end=dt.time(21),
        check_in_after=dt.timedelta(hours=48),
        campaigns=[CampaignView.model_validate(c)],
        tasks=list(tasks),
    )


def kinds(obs: Observation) -> list[tuple[str, str]]:
    return [(f.kind, f.default.kind) for f in orient(obs)]


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([task(1)], []),
        ([task(1, "claimed", lease_expires_at=NOW + dt.timedelta(minutes=5))], []),  # in a call
        ([task(1, "claimed", lease_expires_at=EARLIER, live_call=True)], []),  # a call is still up
        ([task(1, "claimed", lease_expires_at=EARLIER)], [("stuck", "reschedule")]),
        ([task(1, "claimed", lease_expires_at=EARLIER, attempts=3)], [("stuck", "fail")]),
        ([task(1, attempts=3)], [("exhausted", "fail")]),
        (
            [
                task(
                    1,
                    attempts=3,
                    latest_next_step="call_back_at",
                    due_at=NOW + dt.timedelta(days=1),
                )
            ],
            [],
        ),
        ([task(1, latest_next_step="call_back_at", due_at=EARLIER)], [("callback_due", "none")]),
        ([task(1, attempts=2, latest_outcome="technical_failure")], [("failing", "none")]),
        ([task(1, "completed"), task(2, "failed")], [("campaign_done", "complete_campaign")]),
    ],
)
def test_findings_and_defaults(tasks: list[TaskView], expected: list[tuple[str, str]]) -> None:
    assert kinds(observe(*tasks)) == expected


def test_a_callback_due_at_night_is_moved_to_the_morning() -> None:
    night = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)  # 22:00 New York
    obs = observe(task(1, latest_next_step="call_back_at", due_at=night - dt.timedelta(minutes=5)))
    obs = obs.model_copy(update={"now": night})
    [finding] = orient(obs)
    assert finding.default.kind == "reschedule"
    assert finding.default.due_at == dt.datetime(2026, 11, 25, 13, 0, tzinfo=dt.UTC)


def test_stop_rule_met_cancels_the_siblings_of_the_winner() -> None:
    obs = observe(
        task(1, "completed", goal_achieved=True),
        task(2),
        task(3, "on_hold"),
        stop_rule="first_success",
    )
    [finding] = orient(obs)
    assert (finding.kind, finding.task_id, finding.allowed) == (
        "stop_rule_met",
        1,
        ["cancel_siblings"],
    )
    same = observe(task(1, "completed", goal_achieved=True), task(2), stop_rule="call_everyone")
    assert kinds(same) == []


def test_check_in_for_a_long_running_campaign_once() -> None:
    old = NOW - dt.timedelta(days=3)
    assert kinds(observe(task(1), created_at=old, updated_at=old)) == [("check_in", "check_in")]
    assert kinds(observe(task(1), created_at=old, updated_at=old, pending_check_in=True)) == []
    assert kinds(observe(task(1), created_at=old, updated_at=NOW - dt.timedelta(hours=1))) == []


def test_paused_campaigns_are_left_alone() -> None:
    assert kinds(observe(task(1, attempts=3), status="paused")) == []


def _decide(obs: Observation, *choices: Choice) -> tuple[list[tuple[str, object]], list[str]]:
    actions, rejected = dispose(orient(obs), LifecycleDecision(choices=list(choices)), obs)
    return [(a.kind, a.source) for a in actions], rejected


def test_the_model_may_choose_among_the_allowed_actions() -> None:
    obs = observe(task(1, "claimed", lease_expires_at=EARLIER))
    assert _decide(obs, Choice(finding_id="stuck:1", action="hold", reason="ask")) == (
        [("hold", "model")],
        [],
    )
    later = NOW + dt.timedelta(hours=1)
    actions, _ = dispose(
        orient(obs),
        LifecycleDecision(
            choices=[Choice(finding_id="stuck:1", action="reschedule", due_at=later)]
        ),
        obs,
    )
    assert actions[0].due_at == later


@pytest.mark.parametrize(
    ("choice", "why"),
    [
        (Choice(finding_id="stuck:1", action="reschedule", due_at=EARLIER), "in the past"),
        (
            Choice(finding_id="stuck:1", action="reschedule", due_at=NOW + dt.timedelta(hours=12)),
            "outside the calling window",
        ),
        (Choice(finding_id="stuck:1", action="reschedule"), "needs an aware due time"),
        (Choice(finding_id="stuck:1", action="cancel_siblings"), "not allowed"),
    ],
)
def test_guards_refuse_bad_choices_and_keep_the_default(choice: Choice, why: str) -> None:
    obs = observe(task(1, "claimed", lease_expires_at=EARLIER))
    actions, rejected = _decide(obs, choice)
    assert actions == [("reschedule", "rule")]
    assert len(rejected) == 1 and why in rejected[0]


def test_required_actions_cannot_be_talked_away() -> None:
    obs = observe(task(1, "completed", goal_achieved=True), task(2), stop_rule="first_success")
    actions, rejected = _decide(obs, Choice(finding_id="stop_rule_met:1", action="none"))
    assert actions == [("cancel_siblings", "rule")] and "not allowed" in rejected[0]


def test_nothing_touches_a_task_in_a_call() -> None:
    obs = observe(task(1, "claimed", lease_expires_at=NOW + dt.timedelta(minutes=5)))
    # Even a forged finding for it would be refused by the guard.
    from agents.lifecycle_manager import Action, Finding

    forged = Finding(
        id="x",
        kind="stuck",
        campaign_id=1,
        task_id=1,
        detail="",
        allowed=["fail"],
        default=Action(finding_id="x", kind="fail", campaign_id=1, task_id=1),
    )
    assert dispose([forged], None, obs) == ([], [])


def test_default_summary_uses_the_analyses() -> None:
    obs = observe(
        task(
            1,
            "completed",
            goal_achieved=True,
            latest_outcome="achieved",
            facts={"appointment": "Tue 9:30"},
        ),
        task(2, "cancelled"),
    )
    text = default_summary(obs.campaigns[0], obs.tasks)
    assert "1 of 2 target(s) achieved" in text
    assert "T1 (+12125550101): achieved — appointment: Tue 9:30" in text
    assert "T2 (+12125550102): cancelled" in text
