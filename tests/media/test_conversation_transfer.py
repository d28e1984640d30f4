"""A cold transfer (`transfer_call`): only to a number the task's instructions name, after the
agent's "transferring you" has played; the PBX sends the callee on and the agent leaves, or it
cannot and the agent is back with the callee. Event by event on the kit's clock."""

from __future__ import annotations

from dataclasses import replace

from core.domain import EndedBy, TurnRole
from media.call_script import CallScript
from media.conversation import Phase, Timer
from media.conversation.commands import (
    CancelTimer,
    CloseRealtime,
    CreateResponse,
    Play,
    RespondToTurns,
    SendToolOutput,
    StopListening,
    TransferCallee,
    WatchPlayout,
    WriteTurn,
)
from media.conversation.inputs import CalleeTransferred, CallEnded, PlayoutDrained
from media.conversation.tools import transfer_number
from media.realtime_events import AudioDelta, FunctionCall, ResponseCreated, ResponseDone
from tests.media.conversation_kit import SCRIPT, Call, timer

ASSISTANT = "+12125550199"
WITH_ASSISTANT = replace(
    SCRIPT,
    transfer_numbers=(ASSISTANT,),
    transfer_failed="The transfer failed: offer a callback.",
)
AUDIO = b"\x7f" * 160
REASON = "the callee asked for the owner's assistant"


def transfer_call(number: str, call_id: str = "c1") -> FunctionCall:
    arguments = f'{{"number": "{number}", "reason": "{REASON}"}}'
    return FunctionCall("r1", f"item-{call_id}", call_id, "transfer_call", arguments)


def talking(script: CallScript = WITH_ASSISTANT) -> Call:
    call = Call()
    call.talking(script)
    call(ResponseCreated("r1"))
    return call


def sent_on() -> Call:
    """The model said it is transferring them and called `transfer_call` in that response;
    its audio played out, and the PBX is asked to send the callee on."""
    call = talking()
    assert call(transfer_call("(212) 555-0199")) == [
        RespondToTurns(on=False),
        SendToolOutput("c1", {"transferring_to": ASSISTANT}),
        timer(Timer.DRAIN_RESPONSE, 15000),
    ]
    assert call(AudioDelta("r1", "i1", AUDIO)) == [Play(AUDIO, "i1", "r1")]
    # Not asked to go on: the announcement is the agent's last word to the callee.
    assert call(ResponseDone("r1", "completed"), after_ms=1200) == [
        CancelTimer(Timer.DRAIN_RESPONSE),
        timer(Timer.DRAIN_PLAYOUT, 15000),
        WatchPlayout(),
    ]
    assert call(PlayoutDrained(), after_ms=2400) == [
        CancelTimer(Timer.DRAIN_PLAYOUT),
        WriteTurn(TurnRole.HANDOVER, f"Transferring the call to {ASSISTANT}: {REASON}"),
        TransferCallee(ASSISTANT),
    ]
    assert call.phase is Phase.TRANSFERRING_OUT
    return call


def test_the_callee_is_sent_on_after_the_announcement_and_the_agent_leaves() -> None:
    call = sent_on()
    assert call(CalleeTransferred()) == [
        WriteTurn(
            TurnRole.HANDOVER, f"The call was transferred to {ASSISTANT}; the agent left it."
        ),
        StopListening(),
        CloseRealtime(),
    ]
    assert call.phase is Phase.HANDED_OVER
    call(CallEnded("hangup"))  # the Local pair lost its SIP leg
    result = call.conversation.result
    assert (result.ended_by, result.reason) == (
        EndedBy.TRANSFERRED,
        f"transferred to {ASSISTANT}",
    )


def test_a_line_that_closes_before_the_pbx_answers_was_transferred() -> None:
    call = sent_on()
    commands = call(CallEnded("hangup"))
    assert commands[:3] == [
        WriteTurn(
            TurnRole.HANDOVER, f"The call was transferred to {ASSISTANT}; the agent left it."
        ),
        StopListening(),
        CloseRealtime(),
    ]
    assert call.conversation.result.ended_by is EndedBy.TRANSFERRED
    assert call(CalleeTransferred()) == []  # late: nothing more to do


def test_a_transfer_the_pbx_cannot_make_brings_the_agent_back() -> None:
    call = sent_on()
    assert call(CalleeTransferred("the callee's line is gone")) == [
        WriteTurn(
            TurnRole.HANDOVER, f"The transfer to {ASSISTANT} failed (the callee's line is gone)."
        ),
        RespondToTurns(),
        CreateResponse(WITH_ASSISTANT.transfer_failed),
    ]
    assert call.phase is Phase.TALKING


def test_a_number_the_instructions_do_not_name_is_refused_and_nothing_is_dialled() -> None:
    call = talking()
    commands = call(transfer_call("+1 415 555 0100"))
    assert [type(c) for c in commands] == [SendToolOutput]
    (output,) = commands
    assert isinstance(output, SendToolOutput)
    assert output.output == {
        "error": f"+1 415 555 0100 is not a number your instructions name; you may only "
        f"transfer to {ASSISTANT}"
    }
    assert call.phase is Phase.TALKING
    assert call(ResponseDone("r1", "completed")) == [CreateResponse()]  # the model goes on


def test_without_a_named_number_no_transfer_is_made() -> None:
    call = talking(SCRIPT)
    commands = call(transfer_call(ASSISTANT))
    assert commands == [
        SendToolOutput(
            "c1", {"error": "your instructions name no number to transfer to: do not transfer"}
        )
    ]
    assert call.phase is Phase.TALKING


def test_the_number_the_model_writes_is_matched_to_one_the_plan_names() -> None:
    named = ("+12125550199", "+442071838750")
    assert transfer_number("+1 (212) 555-0199", named) == "+12125550199"
    assert transfer_number("212 555 0199", named) == "+12125550199"  # no country code
    assert transfer_number("020 7183 8750", named) is None  # a trunk prefix is not a suffix
    assert transfer_number("207 183 8750", named) == "+442071838750"
    assert transfer_number("0199", named) is None  # too few digits to tell
    assert transfer_number("+1 212 555 0100", named) is None
    # Two named numbers ending alike: the model must say which.
    assert transfer_number("555 0199", ("+12125550199", "+13125550199")) is None
