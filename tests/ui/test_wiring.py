"""The UI's assistant interface over the real graphs (rehearsal models, no provider):
a streamed turn ends with a plan; confirming it makes an approval item; approving it through
`core.services.answer_item` resumes the orchestrator, which creates the campaign."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db import Database, NotFound
from core.db.models import CampaignStatus, FeedbackKind
from core.services import (
    AssistantPlan,
    AssistantText,
    PlanDecision,
    PlanReply,
    ServiceError,
    answer_item,
    inbox,
    new_chat_thread,
)
from core.settings import Settings
from graphs.runner import GraphRunner
from ui.wiring import REHEARSAL_NOTICE, GraphAssistant, GraphResumer


@pytest.fixture
async def runner(db: Database, database_url: str, tmp_path: Path) -> AsyncIterator[GraphRunner]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        data_dir=tmp_path,
        assistant_model="scripted:rehearsal",
        orchestrator_model="scripted:rehearsal",
        analyzer_model="scripted:rehearsal",
        lifecycle_model="scripted:rehearsal",
        search_model="scripted:rehearsal",
    )
    async with GraphRunner.open(db, settings) as opened:
        yield opened


async def test_chat_plan_approval_campaign_through_the_graphs(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    assistant = GraphAssistant(lambda: runner, runner.settings)
    resumer = GraphResumer(lambda: runner)
    assert assistant.notice == REHEARSAL_NOTICE
    thread = new_chat_thread(alice)

    first = [e async for e in assistant.chat_turn(alice, thread, "Book me a dental cleaning")]
    assert all(isinstance(e, AssistantText) for e in first)
    assert "Whom should I call?" in "".join(e.text for e in first if isinstance(e, AssistantText))

    events = [
        e
        async for e in assistant.chat_turn(
            alice, thread, "Smile Dental +1 212 555 0101, stop after the first success"
        )
    ]
    text = "".join(e.text for e in events if isinstance(e, AssistantText))
    assert "Nothing is dialled until you approve it" in text
    plans = [e.plan for e in events if isinstance(e, AssistantPlan)]
    assert len(plans) == 1 and plans[0].targets[0].phone == "+12125550101"

    with pytest.raises(ServiceError, match="does not belong to you"):
        await assistant.submit_plan(bob, thread, plans[0])
    item_id = await assistant.submit_plan(alice, thread, plans[0])
    assert await assistant.submit_plan(alice, thread, plans[0]) == item_id  # idempotent
    (item,) = await inbox(db, alice)
    assert item.id == item_id and item.kind is FeedbackKind.PLAN_APPROVAL
    assert item.plan is not None and item.plan.name and item.details == ()
    assert await inbox(db, bob) == []

    with pytest.raises(NotFound):
        await answer_item(db, bob, item_id, PlanReply(PlanDecision.APPROVE), resumer=resumer)
    outcome = await answer_item(
        db, alice, item_id, PlanReply(PlanDecision.APPROVE), resumer=resumer
    )
    assert outcome.handed_to_graph
    async with db.scope(alice) as s:
        (campaign,) = await s.campaigns.list()
        tasks = await s.tasks.list_for_campaign(campaign.id)
    assert campaign.status is CampaignStatus.ACTIVE
    assert [t.phone_e164 for t in tasks] == ["+12125550101"]
    with pytest.raises(ServiceError, match="already answered"):
        await answer_item(db, alice, item_id, PlanReply(PlanDecision.APPROVE), resumer=resumer)


async def test_a_stopped_graphs_part_is_a_clear_message(two_users: tuple[int, int]) -> None:
    from graphs.service_part import GraphsNotStarted

    def not_started() -> GraphRunner:
        raise GraphsNotStarted("the agent graphs are not running")

    resumer = GraphResumer(not_started)
    with pytest.raises(ServiceError, match="not running right now"):
        await resumer.answer_feedback(two_users[0], 1, {"decision": "approve"})
