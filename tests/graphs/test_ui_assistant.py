"""UI assistant: asks what is missing, looks businesses up, ends with a validated plan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.language_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, ToolMessage
from pydantic import SecretStr

from core.db import Database
from core.settings import Settings
from graphs import GraphRunner
from tests.agents.places_server import API_KEY, PlacesServer, places_server
from tests.graphs.conftest import RunnerFactory, fake, tool_call

PLAN_ARGS = {
    "name": "Cleaning",
    "objective": "Book a dental cleaning next week, mornings",
    "targets": [{"name": "Smile Dental", "phone": "+1 212-555-0101"}],
    "stop_rule": "first_success",
}


@pytest.fixture
def places() -> Iterator[PlacesServer]:
    with places_server() as server:
        yield server


async def history(runner: GraphRunner, user_id: int, thread_id: str) -> list[object]:
    return list((await runner.thread_state(user_id, thread_id)).values["messages"])


async def test_it_asks_what_is_missing_and_remembers_the_conversation(
    make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    model = fake(
        "Which dentist should I call, and do you have their number?",
        tool_call("CampaignPlan", PLAN_ARGS),
    )
    runner = make_runner(models={"assistant": model})
    first = await runner.chat(alice, "conv-1", "I need a dental cleaning next week")
    assert first.plan is None and first.reply.startswith("Which dentist")
    second = await runner.chat(
        alice, "conv-1", "Smile Dental, +1 212 555 0101, stop after the first"
    )
    assert second.plan is not None and second.plan.targets[0].phone == "+12125550101"
    assert "Nothing is dialled until you approve it" in second.reply
    messages = await history(runner, alice, second.thread_id)
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage",
        "AIMessage",
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]


async def test_it_looks_businesses_up_with_places(
    db: Database,
    make_runner: RunnerFactory,
    settings: Settings,
    two_users: tuple[int, int],
    places: PlacesServer,
) -> None:
    alice, _ = two_users
    with_places = settings.model_copy(
        update={"google_places_url": places.url, "google_api_key": SecretStr(API_KEY)}
    )
    model = fake(
        tool_call("LookupBusiness", {"query": "dentists in Park Slope", "max_results": 2}),
        "I found Smile Dental (+12125550101) and Brooklyn Teeth (+12125550102). Which one?",
    )
    runner = make_runner(models={"assistant": model}, settings=with_places)
    turn = await runner.chat(alice, "conv-2", "Find me a dentist in Park Slope")
    assert turn.plan is None and "Which one?" in turn.reply
    assert places.requests[0]["body"]["textQuery"] == "dentists in Park Slope"
    tool = next(
        m for m in await history(runner, alice, turn.thread_id) if isinstance(m, ToolMessage)
    )
    assert tool.name == "LookupBusiness" and "1. Smile Dental — phone +12125550101" in str(
        tool.content
    )


async def test_without_keys_the_tools_say_so(
    make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    model = fake(
        AIMessage(
            content="",
            tool_calls=[
                {"name": "LookupBusiness", "args": {"query": "dentists"}, "id": "a"},
                {"name": "SearchInternet", "args": {"query": "best dentist"}, "id": "b"},
            ],
        ),
        "Lookups are not available; please give me the number.",
    )
    runner = make_runner(models={"assistant": model})
    turn = await runner.chat(alice, "conv-3", "find a dentist")
    tools = [m for m in await history(runner, alice, turn.thread_id) if isinstance(m, ToolMessage)]
    assert "Business lookup is not configured" in str(tools[0].content)
    assert str(tools[1].content).startswith("[rehearsal] Internet search is not available")


async def test_a_plan_with_a_bad_number_goes_back_naming_the_number(
    make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    bad = {**PLAN_ARGS, "targets": [{"name": "Smile Dental", "phone": "+1 212 555"}]}
    model = fake(
        tool_call("CampaignPlan", bad, "p1"),
        "The number +1 212 555 looks incomplete. What is Smile Dental's full number?",
        tool_call("CampaignPlan", PLAN_ARGS, "p2"),
    )
    runner = make_runner(models={"assistant": model})
    turn = await runner.chat(alice, "conv-4", "Call Smile Dental at +1 212 555")
    assert turn.plan is None and "looks incomplete" in turn.reply
    error = next(
        m for m in await history(runner, alice, turn.thread_id) if isinstance(m, ToolMessage)
    )
    assert error.status == "error"
    assert "targets.0.phone: '+1 212 555' is not a valid phone number" in str(error.content)
    fixed = await runner.chat(alice, "conv-4", "It is +1 212 555 0101")
    assert fixed.plan is not None and fixed.plan.targets[0].phone == "+12125550101"


async def test_a_model_that_never_stops_calling_tools_is_stopped(
    make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    forever = FakeMessagesListChatModel(responses=[tool_call("SearchInternet", {"query": "x"})])
    runner = make_runner(models={"assistant": forever})
    turn = await runner.chat(alice, "conv-5", "hello")
    assert turn.reply.startswith("Sorry, I could not finish that")


async def test_rehearsal_conversation_ends_with_a_plan(
    runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    first = await runner.chat(alice, "conv-6", "Book me a cleaning, stop after the first success")
    assert first.plan is None and first.reply.startswith("[rehearsal] Whom should I call?")
    bad = await runner.chat(alice, "conv-6", "Smile Dental +1 212 555")
    assert bad.plan is None and "[rehearsal] I could not use that plan" in bad.reply
    assert "'+1 212 555' is not a valid phone number" in bad.reply
    good = await runner.chat(alice, "conv-6", "Smile Dental +1 212 555 0101")
    assert good.plan is not None
    assert (
        good.plan.targets[0].name == "Smile Dental" and good.plan.stop_rule.value == "first_success"
    )
    assert good.plan.objective == "Book me a cleaning, stop after the first success"


async def test_a_chat_thread_id_from_the_ui_is_accepted_only_for_its_user(
    runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    from graphs import ThreadAccessDenied

    alice, bob = two_users
    thread = f"user:{alice}:chat:AbCdEf123456"
    turn = await runner.chat(alice, thread, "hello")
    # kept on this database's thread of that conversation, which the next turn continues
    assert turn.thread_id == f"inst:{runner.installation_id}:{thread}"
    again = await runner.chat(alice, turn.thread_id, "hello again")
    assert again.thread_id == turn.thread_id
    for conversation in (thread, turn.thread_id):
        with pytest.raises(ThreadAccessDenied):
            await runner.chat(bob, conversation, "hello")
