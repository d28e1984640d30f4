"""A call's conversation event by event, without sockets: how it starts, barge-in, tool calls,
transcripts and the evidence of the callee's voice. Each test runs in microseconds on a clock
the test moves (`tests/media/conversation_kit.py`)."""

from __future__ import annotations

import datetime as dt

from core.db.models import CallOutcome
from media.conversation import Phase, Timer
from media.conversation.commands import (
    AskOwner,
    CancelResponse,
    ClearPlayout,
    CloseRealtime,
    Connect,
    CreateResponse,
    FlushPlayout,
    FlushTurns,
    HangUp,
    MarkOutcome,
    Play,
    PressKeys,
    ReadAmd,
    RecordFact,
    SendToolOutput,
    StartTool,
    StoreVoiceActivity,
    Truncate,
    WriteTurn,
)
from media.conversation.inputs import (
    AmdVerdict,
    BridgeFailed,
    CalleeAudio,
    CallEnded,
    CallStarted,
    Connected,
    ConnectFailed,
    OwnerAnswer,
    PlayoutCleared,
    ToolFailed,
    ToolResult,
)
from media.conversation.machine import INTERNAL_ERROR
from media.playout import Cleared
from media.realtime_events import (
    AgentTranscript,
    AudioDelta,
    AudioDone,
    CallerTranscript,
    CallerTranscriptFailed,
    FunctionCall,
    RealtimeError,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
)
from media.session import Dtmf
from media.speech_activity import INAUDIBLE, SpeechTurn
from tests.media.conversation_kit import EPOCH, GREET, SCRIPT, Call, timer


def cleared(dropped_frames: int, item_id: str | None, played_ms: int) -> PlayoutCleared:
    return PlayoutCleared(Cleared(dropped_frames, dropped_frames * 20, item_id, "r1", played_ms))


def tool(call_id: str, name: str, arguments: str, response_id: str = "r1") -> FunctionCall:
    return FunctionCall(response_id, f"item-{call_id}", call_id, name, arguments)


# --- starting ----------------------------------------------------------------------------


def test_a_person_whose_hello_amd_heard_end_is_greeted_at_once() -> None:
    """AMD says HUMAN only once a short greeting ended in silence: the person is waiting."""
    call = Call()
    assert call(CallStarted(SCRIPT, "HUMAN")) == [
        Connect(SCRIPT.instructions, respond_to_turns=False)
    ]
    assert call.phase is Phase.CONNECTING
    assert call(Connected()) == GREET
    assert call.phase is Phase.TALKING


def test_the_amd_verdict_gets_a_grace_period_read_every_100_ms() -> None:
    call = Call()
    assert call(CallStarted(SCRIPT, None)) == [timer(Timer.AMD_POLL, 100)]
    assert call.fire(Timer.AMD_POLL) == [ReadAmd()]
    assert call(AmdVerdict(None)) == [timer(Timer.AMD_POLL, 100)]
    assert call.fire(Timer.AMD_POLL) == [ReadAmd()]
    assert call(AmdVerdict("MACHINE")) == [Connect(SCRIPT.instructions, respond_to_turns=True)]
    assert call(Connected()) == [timer(Timer.MACHINE_WAIT, 6000)]  # no greeting for a machine
    assert call.phase is Phase.SCREENING


def test_without_a_verdict_in_a_second_the_callee_is_taken_for_a_person() -> None:
    call = Call()
    call(CallStarted(SCRIPT, None))
    for _ in range(9):
        assert call.fire(Timer.AMD_POLL) == [ReadAmd()]
        assert call(AmdVerdict(None)) == [timer(Timer.AMD_POLL, 100)]
    assert call.fire(Timer.AMD_POLL) == [ReadAmd()]
    assert call.now_ms == 1000
    assert call(AmdVerdict(None)) == [Connect(SCRIPT.instructions, respond_to_turns=False)]
    assert call(Connected()) == [timer(Timer.GREETING_WAIT, 1500)]
    assert call.fire(Timer.GREETING_WAIT) == GREET


def test_a_voice_that_cannot_start_is_a_technical_failure() -> None:
    call = Call()
    call(CallStarted(SCRIPT, "HUMAN"))
    reason = "the voice could not start: connection refused"
    assert call(ConnectFailed("connection refused")) == [
        MarkOutcome(CallOutcome.TECHNICAL_FAILURE, reason),
        HangUp("failure", reason),
    ]
    assert call.phase is Phase.HANGING_UP
    result = call.conversation.result
    assert (result.ended_by, result.reason, result.technical_failure) == ("failure", reason, True)


def test_an_internal_error_fails_the_call_once() -> None:
    call = Call()
    assert call(BridgeFailed()) == [
        MarkOutcome(CallOutcome.TECHNICAL_FAILURE, INTERNAL_ERROR),
        HangUp("failure", INTERNAL_ERROR),
    ]
    assert call(BridgeFailed()) == []
    assert call(ConnectFailed("late")) == []


# --- the agent's audio and barge-in --------------------------------------------------------


def test_agent_audio_is_played_and_each_item_flushed() -> None:
    call = Call()
    call.talking()
    assert call(AudioDelta("r1", "i1", b"\xff" * 160)) == [Play(b"\xff" * 160, "i1", "r1")]
    assert call(AudioDone("r1", "i1")) == [FlushPlayout()]


def test_barge_in_cancels_the_response_and_truncates_at_what_was_heard() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    assert call(SpeechStarted(3400, "in-1"), after_ms=2000) == []  # a cough, or a bid?
    # 300 ms of the callee's voice: a bid for the turn.
    assert call.speak(300) == [ClearPlayout()]
    # What the playout dropped and had played decides the cut: 1240 ms of i1 reached the callee.
    assert call(cleared(40, "i1", 1240)) == [CancelResponse(), Truncate("i1", 1240)]
    assert call.conversation.counts.barge_ins == 1


def test_barge_in_after_the_response_ended_still_truncates_the_queued_audio() -> None:
    call = Call()
    call.talking()
    call.response("r1")  # fully streamed, still playing
    call.speak(300)
    assert call(SpeechStarted(3400, "in-1")) == [ClearPlayout()]  # heard 300 ms already
    assert call(cleared(25, "i1", 2000)) == [Truncate("i1", 2000)]  # nothing left to cancel


def test_speech_while_the_agent_is_silent_interrupts_nothing() -> None:
    call = Call()
    call.talking()
    call.response("r1")
    call(SpeechStarted(9000, "in-1"))
    assert call.speak(400) == [ClearPlayout()]
    assert call(cleared(0, "i1", 2600)) == []
    assert call.conversation.counts.barge_ins == 0


# --- tool calls ------------------------------------------------------------------------------


def test_parallel_tool_calls_lead_to_one_response_create_after_every_output() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    fact = '{"name": "price", "value": "80 dollars", "quote": "eighty dollars"}'
    assert call(tool("c1", "record_fact", fact)) == [
        StartTool("c1", RecordFact("price", "80 dollars", "eighty dollars"))
    ]
    assert call(tool("c2", "request_user_feedback", '{"question": "Tuesday 9?"}')) == [
        StartTool("c2", AskOwner("Tuesday 9?"))
    ]
    assert call(ResponseDone("r1", "completed")) == []  # both still running
    assert call(ToolResult("c1", {"recorded": "price"})) == [
        SendToolOutput("c1", {"recorded": "price"})
    ]
    assert call(OwnerAnswer("c2", "Tuesday please"), after_ms=40_000) == [
        WriteTurn("owner", "Tuesday please"),
        SendToolOutput("c2", {"answer": "Tuesday please"}),
        CreateResponse(),  # once, after the last output
    ]


def test_outputs_in_before_their_response_ends_wait_for_it() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    call(tool("c1", "send_dtmf", '{"digits": "1w2"}'))
    assert call(ToolResult("c1", {"pressed": "1w2"})) == [SendToolOutput("c1", {"pressed": "1w2"})]
    assert call(ResponseDone("r1", "completed")) == [CreateResponse()]


def test_a_refused_ask_is_made_again_once_the_active_response_is_done() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    call(tool("c1", "record_fact", '{"name": "a", "value": "b", "quote": "c"}'))
    call(ResponseDone("r1", "completed"))
    assert call(ToolResult("c1", {"recorded": "a"}))[-1] == CreateResponse()
    call(ResponseCreated("r2"))  # the server's, for a callee turn, taken for ours
    refused = RealtimeError(
        "invalid_request_error", "busy", "conversation_already_has_active_response"
    )
    assert call(refused) == []
    assert call(ResponseDone("r2", "completed")) == [CreateResponse()]


def test_a_cancel_the_server_had_done_already_is_no_error() -> None:
    call = Call()
    call.talking()
    assert call(RealtimeError("invalid_request_error", "none", "response_cancel_not_active")) == []


def test_tool_calls_nothing_can_be_done_with_are_answered_at_once() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    [bad_json] = call(tool("c1", "record_fact", '{"name": "price", "value'))
    assert isinstance(bad_json, SendToolOutput)
    assert "not JSON" in bad_json.output["error"] and "Nothing was done" in bad_json.output["error"]
    [bad_keys] = call(tool("c2", "send_dtmf", '{"digits": "ww"}'))
    assert isinstance(bad_keys, SendToolOutput) and "keypad" in bad_keys.output["error"]
    assert call(tool("c3", "transfer", "{}")) == [
        SendToolOutput("c3", {"error": "unknown tool 'transfer'"})
    ]
    assert call(ResponseDone("r1", "completed")) == [CreateResponse()]  # it may try again


def test_a_failing_tool_is_answered_with_its_name_and_the_error() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    call(tool("c1", "send_dtmf", '{"digits": "5"}'))
    call(ResponseDone("r1", "completed"))
    assert call(ToolFailed("c1", "TimeoutError")) == [
        SendToolOutput("c1", {"error": "send_dtmf failed: TimeoutError"}),
        CreateResponse(),
    ]


def test_an_owner_who_does_not_answer_is_told_as_such() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    assert call(tool("c1", "request_user_feedback", "{}")) == [
        StartTool("c1", AskOwner("The agent needs your decision."))
    ]
    call(ResponseDone("r1", "completed"))
    assert call(OwnerAnswer("c1", None)) == [
        WriteTurn("owner", "(no answer)"),
        SendToolOutput("c1", {"answer": "no answer"}),
        CreateResponse(),
    ]


def test_keys_are_pressed_as_asked() -> None:
    call = Call()
    call.talking()
    assert call(tool("c1", "send_dtmf", '{"digits": "1w1234#"}')) == [
        StartTool("c1", PressKeys("1w1234#"))
    ]


# --- transcripts and the callee's voice ----------------------------------------------------


def test_both_sides_are_written_and_an_unreadable_turn_is_kept_as_such() -> None:
    call = Call()
    call.talking()
    assert call(AgentTranscript("r1", "i1", "  Hello there. ")) == [
        WriteTurn("agent", "Hello there.")
    ]
    assert call(AgentTranscript("r1", "i2", "   ")) == []
    call(CallerTranscript("in-1", "Hi, who is this?"))  # the first words: a person
    assert call(CallerTranscript("in-2", "Sorry?")) == [WriteTurn("callee", "Sorry?")]
    assert call(CallerTranscriptFailed("in-3", "model retired")) == [WriteTurn("callee", INAUDIBLE)]
    assert call(Dtmf("5")) == []  # logged only


def test_the_callees_voice_is_kept_with_wall_clock_times_and_stored_at_the_end() -> None:
    call = Call()
    call.talking()
    for _ in range(25):
        call(CalleeAudio(20.0, 0.2), after_ms=20)  # speech level
    for _ in range(25):
        call(CalleeAudio(20.0, 0.001), after_ms=20)  # line noise
    call(SpeechStarted(700, "in-1"), after_ms=1000)
    call(cleared(0, None, 0))
    call(SpeechStopped(2100, "in-1"), after_ms=1500)
    call(CallerTranscriptFailed("in-1", "model retired"))
    commands = call(CallEnded("hangup"), after_ms=500)
    [store] = [c for c in commands if isinstance(c, StoreVoiceActivity)]
    activity = store.activity
    assert activity.audio_ms == 1000 and activity.voiced_ms == 500
    assert activity.turns == (
        SpeechTurn(700, EPOCH + dt.timedelta(seconds=2), 2100, EPOCH + dt.timedelta(seconds=3.5)),
    )
    assert activity.failed_transcriptions == 1 and activity.spoke
    assert commands == [CloseRealtime(), FlushTurns(), store]


def test_the_callee_hanging_up_ends_the_call_as_theirs() -> None:
    call = Call()
    call.talking()
    call(CallEnded("hangup"))
    result = call.conversation.result
    assert (result.ended_by, result.reason, result.technical_failure) == ("callee", "hangup", False)
    assert call.phase is Phase.ENDED
    assert call(CallEnded("hangup")) == []


def test_a_line_that_fails_ends_the_call_as_a_failure() -> None:
    call = Call()
    call.talking()
    call(CallEnded("timeout"))
    assert (call.conversation.result.ended_by, call.conversation.result.reason) == (
        "failure",
        "timeout",
    )
