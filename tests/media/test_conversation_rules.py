"""The conversation's rules as tables: its phases and moves, who answered from the first words,
and how the model's tool calls are read."""

from __future__ import annotations

import pytest

from media.conversation import TRANSITIONS, Conversation, IllegalTransition, Phase
from media.conversation.answering import who_answered
from media.conversation.commands import AskOwner, PressKeys, RecordFact
from media.conversation.tools import EndCall, Refused, WaitOnHold, read_tool_call
from media.realtime_events import FunctionCall
from tests.media.conversation_kit import EPOCH


def test_every_phase_is_in_the_table_and_every_move_leads_to_one() -> None:
    assert set(TRANSITIONS) == set(Phase)
    for targets in TRANSITIONS.values():
        assert targets <= set(Phase)


def test_every_phase_is_reachable_and_every_call_can_end() -> None:
    reached, frontier = {Phase.STARTING}, [Phase.STARTING]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()] - reached:
            reached.add(nxt)
            frontier.append(nxt)
    assert reached == set(Phase)
    for phase in set(Phase) - {Phase.ENDED}:
        assert Phase.ENDED in TRANSITIONS[phase], phase
    assert TRANSITIONS[Phase.ENDED] == frozenset()
    assert TRANSITIONS[Phase.HANGING_UP] == {Phase.ENDED}  # a hang-up is never taken back


def test_a_move_the_table_does_not_allow_is_refused() -> None:
    conversation = Conversation(wall_epoch=EPOCH)
    with pytest.raises(IllegalTransition, match="from starting to draining"):
        conversation._enter(Phase.DRAINING)
    assert conversation.phase is Phase.STARTING


@pytest.mark.parametrize(
    ("words", "answerer"),
    [
        ("Please leave a message after the tone.", "mailbox"),
        ("You have reached the voicemail of John Smith.", "mailbox"),
        ("The person you are calling is not available.", "mailbox"),
        ("Sorry, I can't come to the phone right now.", "mailbox"),
        ("Thank you for calling. For appointments press 1.", "menu"),
        ("Please listen carefully, as our menu options have changed.", "menu"),
        ("If you know your party's extension, dial the extension now.", "menu"),
        ("To leave a message press 1.", "mailbox"),  # a mailbox's own menu
        (
            "The person you are calling uses a screening service, please say your name and "
            "why you are calling.",
            "screener",
        ),
        ("Before I connect you, may I ask who's calling?", "screener"),
        ("Your call is important to us. Please stay on the line.", "hold"),
        ("Please hold for the next available representative.", "hold"),
        ("One moment please, I'll put you on hold.", "hold"),
        ("Please hold, or leave a message after the tone.", "mailbox"),
        ("Bright Smile Dental, Anna speaking.", "unknown"),
        ("Hello?", "unknown"),
        ("", "unknown"),
    ],
)
def test_who_answered_from_the_first_words(words: str, answerer: str) -> None:
    assert who_answered(words) == answerer


def call(name: str, arguments: str) -> FunctionCall:
    return FunctionCall("r1", "item-1", "c1", name, arguments)


@pytest.mark.parametrize(
    ("name", "arguments", "read"),
    [
        ("end_call", '{"reason": "booked"}', EndCall("booked")),
        ("end_call", "{}", EndCall("the agent ended the call")),
        ("send_dtmf", '{"digits": "1w2#"}', PressKeys("1w2#")),
        ("request_user_feedback", '{"question": " Tuesday? "}', AskOwner("Tuesday?")),
        ("request_user_feedback", '{"question": ""}', AskOwner("The agent needs your decision.")),
        (
            "record_fact",
            '{"name": "price", "value": "80", "quote": "eighty"}',
            RecordFact("price", "80", "eighty"),
        ),
        ("record_fact", '{"key": "doctor", "value": "Lee"}', RecordFact("doctor", "Lee", "")),
        ("record_fact", "", RecordFact("fact", "", "")),  # no arguments at all: an empty object
        ("wait_on_hold", "{}", WaitOnHold()),
        ("wait_on_hold", "", WaitOnHold()),
        ("transfer", "{}", Refused("unknown tool 'transfer'")),
    ],
)
def test_tool_calls_are_read_into_requests(name: str, arguments: str, read: object) -> None:
    assert read_tool_call(call(name, arguments)) == read


@pytest.mark.parametrize(
    ("name", "arguments", "says"),
    [
        ("record_fact", '{"name": "pri', "not JSON"),
        ("record_fact", "[1, 2]", "not a JSON object"),
        ("send_dtmf", '{"digits": "ww"}', "not a keypad sequence"),
        ("send_dtmf", '{"digits": "1 2"}', "not a keypad sequence"),
        ("send_dtmf", "{}", "not a keypad sequence"),
    ],
)
def test_tool_calls_that_cannot_be_done_are_refused_with_why(
    name: str, arguments: str, says: str
) -> None:
    read = read_tool_call(call(name, arguments))
    assert isinstance(read, Refused) and says in read.error
