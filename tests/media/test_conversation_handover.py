"""Handing the call over to the owner: the agent rings them (its tool, or *Call me in*), says
nothing to the callee meanwhile, briefs the owner on their own leg, has the PBX bridge the two
and leaves; an owner who does not answer, hangs up or cannot be bridged brings the agent back to
the callee with a callback offer. Event by event on the kit's clock (`conversation_kit`)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.domain import EndedBy, TurnRole
from media.conversation import Phase, Timer
from media.conversation.commands import (
    BridgeLegs,
    CancelResponse,
    CancelTimer,
    CloseRealtime,
    Connect,
    CreateResponse,
    DialOwner,
    FlushPlayout,
    HangUp,
    HangUpOwner,
    Play,
    RespondToTurns,
    SendToolOutput,
    StopListening,
    WatchPlayout,
    WriteTurn,
)
from media.conversation.inputs import (
    CallEnded,
    CallStarted,
    Connected,
    LegsBridged,
    OwnerLegEnded,
    OwnerLegFailed,
    OwnerLegUp,
    PlayoutDrained,
    TakeOver,
)
from media.conversation.machine import HANDED_OVER_TURN, NO_OWNER_PHONE
from media.conversation.phases import TRANSITIONS, IllegalTransition
from media.realtime_events import (
    AgentTranscript,
    AudioDelta,
    AudioDone,
    FunctionCall,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
)
from tests.media.conversation_kit import GREET, SCRIPT, Call, timer

AUDIO = b"\xff" * 160
OWNER = "+12125550115"
WITH_OWNER = replace(
    SCRIPT,
    owner_phone=OWNER,
    owner_ring_s=25,
    connecting="Say you are connecting them to Alex.",
    owner_brief="Brief Alex.",
    owner_unavailable="Alex cannot come: offer a callback.",
)
RINGING = "Ringing the owner to take the call over: the callee asked for a person"


def transfer(response_id: str = "r2", call_id: str = "c1") -> FunctionCall:
    arguments = '{"reason": "the callee asked for a person"}'
    return FunctionCall(response_id, f"item-{call_id}", call_id, "transfer_to_owner", arguments)


def talking(script: object = WITH_OWNER) -> Call:
    call = Call()
    assert call(CallStarted(script, "HUMAN")) == [  # type: ignore[arg-type]
        Connect(SCRIPT.instructions, respond_to_turns=False)
    ]
    assert call(Connected()) == [CreateResponse(call.conversation._script_().greeting), GREET[1]]
    call.response("r1")
    return call


def transferring() -> Call:
    """The callee asked for a person; the model said it is connecting them and called
    `transfer_to_owner` in that response."""
    call = talking()
    assert call(ResponseCreated("r2")) == []
    assert call(transfer()) == [
        RespondToTurns(on=False),
        WriteTurn(TurnRole.HANDOVER, RINGING),
        DialOwner(OWNER, 25),
        timer(Timer.OWNER_ANSWER, 30_000),
        SendToolOutput("c1", {"connecting": True}),
    ]
    assert call(ResponseDone("r2", "completed")) == []  # the agent says nothing more
    assert call.phase is Phase.TRANSFERRING
    return call


def test_the_owner_is_rung_and_the_callee_waits_unanswered() -> None:
    call = transferring()
    # "Okay, thanks" while it rings: no barge-in, no answer from the agent.
    assert call(SpeechStarted(call.now_ms, "in-2")) == []
    assert call.speak(1500) == []
    assert call(SpeechStopped(call.now_ms, "in-2"), after_ms=500) == []
    assert call.phase is Phase.TRANSFERRING


def test_the_owner_answers_is_briefed_on_their_leg_and_the_agent_leaves() -> None:
    call = transferring()
    assert call(OwnerLegUp(), after_ms=6000) == [
        CancelTimer(Timer.OWNER_ANSWER),
        timer(Timer.OWNER_BRIEF, 15_000),
        CreateResponse(WITH_OWNER.owner_brief),
    ]
    assert call.phase is Phase.BRIEFING
    assert "owner_answer" not in call.timers
    assert call(ResponseCreated("r3")) == []
    # The brief goes to the owner's leg only, and into the transcript as the handover's.
    assert call(AudioDelta("r3", "item-3", AUDIO)) == [Play(AUDIO, "item-3", "r3", to_owner=True)]
    assert call(AudioDone("r3", "item-3")) == [FlushPlayout(to_owner=True)]
    brief = "Alex, Harbor Insurance asked for a person about a bill."
    assert call(AgentTranscript("r3", "item-3", brief)) == [
        WriteTurn(TurnRole.HANDOVER, f"To the owner: {brief}")
    ]
    assert call(ResponseDone("r3", "completed")) == [WatchPlayout(to_owner=True)]
    assert call(PlayoutDrained(to_owner=True)) == [CancelTimer(Timer.OWNER_BRIEF), BridgeLegs()]
    # The PBX takes the owner's leg into the bridge: that is no hang-up.
    assert call(OwnerLegEnded()) == []
    assert call(LegsBridged()) == [
        WriteTurn(TurnRole.HANDOVER, HANDED_OVER_TURN),
        StopListening(),
        CloseRealtime(),
    ]
    assert call.phase is Phase.HANDED_OVER
    ended = call(CallEnded("hangup"))
    assert not any(isinstance(c, HangUp | HangUpOwner) for c in ended)
    result = call.conversation.result
    assert (result.ended_by, result.handover) == (EndedBy.HANDED_OVER, "handed over")


def test_the_line_closing_before_the_bridge_answers_is_the_handover() -> None:
    call = transferring()
    call(OwnerLegUp())
    call(ResponseCreated("r3"))
    call(ResponseDone("r3", "completed"))
    assert call(PlayoutDrained(to_owner=True)) == [CancelTimer(Timer.OWNER_BRIEF), BridgeLegs()]
    ended = call(CallEnded("hangup"))  # the PBX took the callee's leg: its AudioSocket closed
    assert WriteTurn(TurnRole.HANDOVER, HANDED_OVER_TURN) in ended
    assert HangUpOwner() not in ended
    assert call.conversation.result.ended_by is EndedBy.HANDED_OVER


def test_a_brief_too_long_is_cut_short_and_the_legs_bridged() -> None:
    call = transferring()
    call(OwnerLegUp())
    call(ResponseCreated("r3"))
    assert call.fire(Timer.OWNER_BRIEF) == [CancelResponse(), BridgeLegs()]
    assert call(AudioDelta("r3", "item-3", AUDIO)) == []  # the cancelled brief's late audio


@pytest.mark.parametrize(
    ("gone", "why"),
    [
        (None, "the owner did not answer within 25 s"),
        (OwnerLegFailed("AMI is down"), "the owner's phone could not be rung: AMI is down"),
        (OwnerLegEnded(), "the owner hung up"),
    ],
)
def test_an_owner_who_does_not_take_the_call_brings_the_agent_back(
    gone: OwnerLegFailed | OwnerLegEnded | None, why: str
) -> None:
    call = transferring()
    commands = call.fire(Timer.OWNER_ANSWER) if gone is None else call(gone)
    assert commands == [
        *([] if gone is None else [CancelTimer(Timer.OWNER_ANSWER)]),
        HangUpOwner(),
        WriteTurn(
            TurnRole.HANDOVER,
            f"The owner did not take the call ({why}); the agent offered a callback.",
        ),
        RespondToTurns(),
        CreateResponse(WITH_OWNER.owner_unavailable),
    ]
    assert call.phase is Phase.TALKING
    assert call.conversation.result.handover == why
    # The callee's turns are answered again, and the owner is not rung twice.
    assert call(ResponseCreated("r3")) == []
    assert call(ResponseDone("r3", "completed")) == []
    assert call(transfer("r4", "c2")) == [
        SendToolOutput("c2", {"error": "the call cannot be handed over now"})
    ]


def test_a_bridge_the_pbx_refuses_brings_the_agent_back() -> None:
    call = transferring()
    call(OwnerLegUp())
    call(ResponseCreated("r3"))
    call(ResponseDone("r3", "completed"))
    call(PlayoutDrained(to_owner=True))
    commands = call(LegsBridged("No such channel"))
    assert HangUpOwner() in commands
    assert CreateResponse(WITH_OWNER.owner_unavailable) in commands
    assert call.phase is Phase.TALKING


def test_without_the_owners_phone_the_tool_says_so_and_the_call_goes_on() -> None:
    call = talking(SCRIPT)
    assert call(ResponseCreated("r2")) == []
    assert call(transfer()) == [SendToolOutput("c1", {"error": NO_OWNER_PHONE})]
    assert call(ResponseDone("r2", "completed")) == [CreateResponse()]
    assert call.phase is Phase.TALKING


def test_call_me_in_asks_the_agent_to_tell_the_callee_once_it_has_finished_speaking() -> None:
    call = talking()
    assert call(ResponseCreated("r2")) == []  # the agent is mid-sentence
    commands = call(TakeOver())
    assert DialOwner(OWNER, 25) in commands
    assert not any(isinstance(c, CreateResponse) for c in commands)
    assert call(ResponseDone("r2", "completed")) == [CreateResponse(WITH_OWNER.connecting)]
    assert call.phase is Phase.TRANSFERRING


def test_the_callee_hanging_up_while_the_owner_rings_hangs_the_owner_up() -> None:
    call = transferring()
    ended = call(CallEnded("hangup"))
    assert HangUpOwner() in ended
    assert call.conversation.result.ended_by is EndedBy.CALLEE


def test_the_phase_table_moves_of_a_handover() -> None:
    assert Phase.TRANSFERRING in TRANSITIONS[Phase.TALKING]
    assert Phase.TRANSFERRING in TRANSITIONS[Phase.HOLD]
    assert TRANSITIONS[Phase.HANDED_OVER] == frozenset({Phase.ENDED})
    call = transferring()
    call(OwnerLegUp())
    call(ResponseCreated("r3"))
    call(ResponseDone("r3", "completed"))
    call(PlayoutDrained(to_owner=True))
    call(LegsBridged())
    with pytest.raises(IllegalTransition):
        call.conversation._enter(Phase.TALKING)
