"""Orchestrator: approve / edit / reject, the checks it makes, and that it never creates twice."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from core.db import Database
from core.db.models import CampaignStatus, FeedbackKind, FeedbackStatus, TaskStatus
from core.domain import AuditAction
from core.settings import Settings
from graphs import BadAnswer, FeedbackNotAwaited, GraphRunner
from graphs.hitl import CompiledGraph
from tests.graphs.conftest import NOW, PLAN, RunnerFactory, fake, tool_call


def plan(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(PLAN)
    data.update(changes)
    return data


async def counts(db: Database, user_id: int) -> tuple[int, int, int]:
    """(campaigns, tasks, pending feedback items) of the user."""
    async with db.scope(user_id) as s:
        campaigns = await s.campaigns.list()
        tasks = [t for c in campaigns for t in await s.tasks.list_for_campaign(c.id)]
        return len(campaigns), len(tasks), len(await s.feedback.list_pending())


async def test_approve_creates_the_campaign_and_its_tasks(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    started = await runner.start_orchestration(alice, PLAN, plan_id="p1")
    assert started.thread_id == f"inst:{runner.installation_id}:user:{alice}:plan:p1"
    assert started.status == "awaiting_approval" and started.feedback_id is not None
    assert await counts(db, alice) == (0, 0, 1)  # nothing is created before approval

    async with db.scope(alice) as s:
        [item] = await s.feedback.list_pending()
    assert item.kind is FeedbackKind.PLAN_APPROVAL and item.thread_id == started.thread_id
    assert item.payload["plan"]["targets"][0]["phone"] == "+12125550101"
    assert item.payload["warnings"] == []
    state = await runner.thread_state(alice, started.thread_id)
    [waiting] = state.interrupts
    request = waiting.value
    assert request["action_request"]["action"] == "approve_campaign_plan"
    assert request["action_request"]["args"]["name"] == "Dentists"
    assert request["config"] == {
        "allow_accept": True,
        "allow_edit": True,
        "allow_respond": True,
        "allow_ignore": True,
    }
    assert request["feedback_id"] == item.id
    assert (
        "| 3 | LA Teeth | +13105550101 | America/Los_Angeles | 2026-11-24 16:00 UTC | ok |"
        in (request["description"])
    )

    done = await runner.answer_feedback(alice, item.id, {"type": "accept", "args": None})
    assert done.graph == "orchestrator" and done.waiting_on is None
    assert done.values["status"] == "approved"
    async with db.scope(alice) as s:
        campaign = await s.campaigns.require(done.values["campaign_id"])
        tasks = await s.tasks.list_for_campaign(campaign.id)
        answered = await s.feedback.require(item.id)
    assert campaign.status is CampaignStatus.ACTIVE
    assert campaign.thread_id == started.thread_id and campaign.stop_rule.value == "first_success"
    assert campaign.plan["objective"] == PLAN["objective"]
    assert [t.phone_e164 for t in tasks] == ["+12125550101", "+12125550102", "+13105550101"]
    assert [t.due_at for t in tasks] == [NOW, NOW, NOW + dt.timedelta(hours=1)]
    assert all(t.status is TaskStatus.PENDING for t in tasks)
    # The disclosure is the owner's own line, which the greeting says; the sheet refers to it.
    assert "Open with the AI disclosure your greeting gives you" in tasks[0].instructions
    assert "calling on behalf of" not in tasks[0].instructions
    assert "- Do you take Aetna?" in tasks[0].instructions
    assert answered.status is FeedbackStatus.ANSWERED and answered.answer == {
        "type": "accept",
        "args": None,
    }


@pytest.mark.parametrize("inbox_style", [False, True])
async def test_edit_applies_the_owners_plan(
    db: Database, runner: GraphRunner, two_users: tuple[int, int], inbox_style: bool
) -> None:
    alice, _ = two_users
    started = await runner.start_orchestration(alice, PLAN)
    edited = plan(objective="Book a cleaning on Friday", targets=PLAN["targets"][:2])
    args: dict[str, Any] = (
        {"action": "approve_campaign_plan", "args": edited} if inbox_style else edited
    )
    assert started.feedback_id is not None
    done = await runner.answer_feedback(alice, started.feedback_id, {"type": "edit", "args": args})
    assert done.values["status"] == "approved"
    async with db.scope(alice) as s:
        campaign = await s.campaigns.require(done.values["campaign_id"])
        assert campaign.objective == "Book a cleaning on Friday"
        assert len(await s.tasks.list_for_campaign(campaign.id)) == 2


async def test_an_invalid_edit_is_sent_back_naming_the_number(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    started = await runner.start_orchestration(alice, PLAN)
    assert started.feedback_id is not None
    bad = plan(targets=[{"name": "Typo", "phone": "+1 212 555"}])
    again = await runner.answer_feedback(alice, started.feedback_id, {"type": "edit", "args": bad})
    assert again.waiting_on is not None and again.waiting_on != started.feedback_id
    async with db.scope(alice) as s:
        [second] = await s.feedback.list_pending()
        first = await s.feedback.require(started.feedback_id)
    assert first.status is FeedbackStatus.ANSWERED
    assert second.id == again.waiting_on and second.payload["hitl"] == {"key": "round-2"}
    assert "Your edit was not applied" in second.payload["description"]
    assert "'+1 212 555' is not a valid phone number" in second.payload["description"]
    done = await runner.answer_feedback(alice, second.id, {"type": "accept"})
    assert done.values["status"] == "approved"
    assert await counts(db, alice) == (1, 3, 0)  # the original plan, once


async def test_an_edit_that_adds_a_blocked_number_is_shown_again(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    async with db.scope(alice) as s:
        await s.dnd.add("+12125550199", reason="asked")
    started = await runner.start_orchestration(alice, PLAN)
    assert started.feedback_id is not None
    edited = plan(targets=[*PLAN["targets"], {"name": "Blocked", "phone": "+12125550199"}])
    again = await runner.answer_feedback(
        alice, started.feedback_id, {"type": "edit", "args": edited}
    )
    assert again.waiting_on is not None
    async with db.scope(alice) as s:
        item = await s.feedback.require(again.waiting_on)
    assert "Your edited plan has problems" in item.payload["description"]
    assert "Blocked (+12125550199) is on the Do-Not-Call list" in item.payload["description"]
    done = await runner.answer_feedback(alice, again.waiting_on, {"type": "accept"})
    assert done.values["problems"] == ["Blocked (+12125550199) is on the Do-Not-Call list"]
    assert await counts(db, alice) == (1, 3, 0)


@pytest.mark.parametrize(
    ("answer", "comment"),
    [
        ({"type": "ignore"}, None),
        (
            {"type": "response", "args": "Not these, find cheaper ones"},
            "Not these, find cheaper ones",
        ),
    ],
)
async def test_reject_creates_nothing(
    db: Database,
    runner: GraphRunner,
    two_users: tuple[int, int],
    answer: dict[str, Any],
    comment: str | None,
) -> None:
    alice, _ = two_users
    started = await runner.start_orchestration(alice, PLAN)
    assert started.feedback_id is not None
    done = await runner.answer_feedback(alice, started.feedback_id, answer)
    assert done.values["status"] == "rejected"
    assert done.values["owner_comment"] == comment
    assert await counts(db, alice) == (0, 0, 0)


async def test_an_invalid_plan_is_refused_with_the_number(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    bad = plan(targets=[{"name": "A", "phone": "12"}])
    started = await runner.start_orchestration(alice, bad)
    assert started.status == "invalid" and started.feedback_id is None
    assert any("'12' is not a valid phone number" in p for p in started.problems)
    assert await counts(db, alice) == (0, 0, 0)


async def test_a_campaigns_caller_id_must_be_one_the_node_offers(
    db: Database, make_runner: RunnerFactory, settings: Settings, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    runner = make_runner(settings=settings.model_copy(update={"caller_id_choices": "+16465550123"}))
    refused = await runner.start_orchestration(alice, plan(caller_id="+12125550100"), plan_id="a")
    assert refused.status == "invalid"
    assert refused.problems == [
        "caller ID: +12125550100 is not a caller ID this server may send; its choices: +16465550123"
    ]
    started = await runner.start_orchestration(alice, plan(caller_id="(646) 555-0123"), plan_id="b")
    assert started.feedback_id is not None
    async with db.scope(alice) as s:
        item = await s.feedback.require(started.feedback_id)
    assert "**caller ID:** +16465550123" in item.payload["description"]
    done = await runner.answer_feedback(alice, started.feedback_id, {"type": "accept"})
    async with db.scope(alice) as s:
        campaign = await s.campaigns.require(done.values["campaign_id"])
    assert campaign.caller_id == "+16465550123"


async def test_do_not_call_and_calling_window_are_checked(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    async with db.scope(alice) as s:
        await s.dnd.add("+12125550102")
    targets = [
        *PLAN["targets"],
        {
            "name": "Everywhere",
            "phone": "+12125550103",
            "time_zones": ["America/New_York", "Europe/London", "Asia/Tokyo"],
        },
    ]
    started = await runner.start_orchestration(alice, plan(targets=targets))
    assert started.status == "awaiting_approval"
    assert started.problems[0] == "Brooklyn Teeth (+12125550102) is on the Do-Not-Call list"
    assert "Everywhere (+12125550103): no time in its time zone(s)" in started.problems[1]
    assert started.feedback_id is not None
    done = await runner.answer_feedback(alice, started.feedback_id, {"type": "accept"})
    async with db.scope(alice) as s:
        phones = [t.phone_e164 for t in await s.tasks.list_for_campaign(done.values["campaign_id"])]
    assert phones == ["+12125550101", "+13105550101"]


async def test_nothing_to_call_ends_without_asking(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    async with db.scope(alice) as s:
        await s.dnd.add("+12125550101")
    started = await runner.start_orchestration(alice, plan(targets=PLAN["targets"][:1]))
    assert started.status == "nothing_to_call" and started.feedback_id is None
    assert await counts(db, alice) == (0, 0, 0)


async def test_a_bad_answer_is_refused_and_the_item_stays_pending(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    started = await runner.start_orchestration(alice, PLAN)
    assert started.feedback_id is not None
    for bad in ({"type": "maybe"}, {"type": "edit", "args": 3}, {"type": "response", "args": ""}):
        with pytest.raises(BadAnswer):
            await runner.answer_feedback(alice, started.feedback_id, bad)
    assert await counts(db, alice) == (0, 0, 1)


async def test_resuming_twice_creates_nothing_twice(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    started = await runner.start_orchestration(alice, PLAN, plan_id="once")
    again = await runner.start_orchestration(alice, PLAN, plan_id="once")
    assert again.feedback_id == started.feedback_id
    assert await counts(db, alice) == (0, 0, 1)
    assert started.feedback_id is not None
    await runner.answer_feedback(alice, started.feedback_id, {"type": "accept"})
    with pytest.raises(FeedbackNotAwaited):
        await runner.answer_feedback(alice, started.feedback_id, {"type": "accept"})
    with pytest.raises(FeedbackNotAwaited):
        await runner.resume_answered(alice, started.feedback_id)
    finished = await runner.start_orchestration(alice, PLAN, plan_id="once")
    assert finished.status == "approved"
    assert await counts(db, alice) == (1, 3, 0)


async def checkpoint_before(
    graph: CompiledGraph, config: RunnableConfig, node: str
) -> StateSnapshot:
    """The latest checkpoint of the thread at which `node` is about to run."""
    async for snapshot in graph.aget_state_history(config):
        if snapshot.next == (node,):
            return snapshot
    raise AssertionError(f"no checkpoint before {node}")


async def test_rerunning_nodes_from_checkpoints_creates_no_duplicates(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    """Replaying the side-effect nodes (as a crash before their checkpoint would) is harmless."""
    alice, _ = two_users
    started = await runner.start_orchestration(alice, PLAN, plan_id="replay")
    graph = runner.graphs["orchestrator"]
    config = runner.thread_config(alice, started.thread_id)
    ctx = runner.context(alice)
    before_request = await checkpoint_before(graph, config, "request_approval")
    replay = await graph.ainvoke(None, before_request.config, context=ctx)
    assert replay["__interrupt__"][0].value["feedback_id"] == started.feedback_id
    assert await counts(db, alice) == (0, 0, 1)

    assert started.feedback_id is not None
    await runner.answer_feedback(alice, started.feedback_id, {"type": "accept"})
    before_create = await checkpoint_before(graph, config, "create_campaign")
    for _ in range(2):
        out = await graph.ainvoke(None, before_create.config, context=ctx)
        assert out["status"] == "approved"
    assert await counts(db, alice) == (1, 3, 0)
    async with db.scope(alice) as s:
        [campaign] = await s.campaigns.list()
    assert campaign.status is CampaignStatus.ACTIVE


async def test_approvals_tab_answers_are_understood(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    """`core.services.feedback` answers {decision: approve|edit|reject} — and edits in words."""
    alice, _ = two_users
    revised = plan(targets=PLAN["targets"][:1], objective="Book a cleaning on Friday morning")
    runner = make_runner(models={"orchestrator": fake(tool_call("CampaignPlan", revised))})
    started = await runner.start_orchestration(alice, PLAN)
    assert started.feedback_id is not None
    again = await runner.answer_feedback(
        alice,
        started.feedback_id,
        {"decision": "edit", "changes": "Only Smile Dental, Friday morning"},
    )
    assert again.waiting_on is not None
    async with db.scope(alice) as s:
        item = await s.feedback.require(again.waiting_on)
    assert item.payload["plan"]["objective"] == "Book a cleaning on Friday morning"
    assert "Revised as you asked: Only Smile Dental, Friday morning" in item.payload["description"]
    done = await runner.answer_feedback(alice, again.waiting_on, {"decision": "approve"})
    assert done.values["status"] == "approved"
    assert await counts(db, alice) == (1, 1, 0)

    second = await runner.start_orchestration(alice, PLAN)
    assert second.feedback_id is not None
    rejected = await runner.answer_feedback(
        alice, second.feedback_id, {"decision": "reject", "reason": "too pricey"}
    )
    assert (rejected.values["status"], rejected.values["owner_comment"]) == (
        "rejected",
        "too pricey",
    )
    async with db.scope(alice) as s:
        assert (await s.feedback.require(second.feedback_id)).answer == {
            "type": "response",
            "args": "too pricey",
        }
        events = await s.audit.list()
    # Each decision once, as the graph applied it, at the run's clock.
    assert [(e.action, e.actor, e.at, e.detail.get("text")) for e in events] == [
        (AuditAction.PLAN_REJECTED, "alice", NOW, "too pricey"),
        (AuditAction.PLAN_APPROVED, "alice", NOW, None),
        (AuditAction.PLAN_EDITED, "alice", NOW, "Only Smile Dental, Friday morning"),
    ]


async def test_a_revision_the_model_gets_wrong_is_sent_back(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    broken = plan(targets=[{"name": "Made up", "phone": "+1 555"}])
    runner = make_runner(models={"orchestrator": fake(tool_call("CampaignPlan", broken))})
    started = await runner.start_orchestration(alice, PLAN)
    assert started.feedback_id is not None
    again = await runner.answer_feedback(
        alice, started.feedback_id, {"type": "edit", "args": "add a dentist"}
    )
    assert again.waiting_on is not None
    async with db.scope(alice) as s:
        item = await s.feedback.require(again.waiting_on)
    assert "Your changes could not be applied" in item.payload["description"]
    assert "'+1 555' is not a valid phone number" in item.payload["description"]
    assert item.payload["plan"]["targets"][0]["name"] == "Smile Dental"  # the old plan stands


async def test_rehearsal_revision_says_it_changed_nothing(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    started = await runner.start_orchestration(alice, PLAN)
    assert started.feedback_id is not None
    again = await runner.answer_feedback(
        alice, started.feedback_id, {"decision": "edit", "changes": "Fridays only"}
    )
    assert again.waiting_on is not None
    async with db.scope(alice) as s:
        item = await s.feedback.require(again.waiting_on)
    assert "rehearsal: the scripted model cannot rewrite plans" in item.payload["description"]
