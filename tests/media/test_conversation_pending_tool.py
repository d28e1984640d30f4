"""A question for the owner is pending while the callee talks: the agent still answers once
the owner's answer is in. The receptionist call of the development PBX, event by event.

The agent's response "One moment please, let me check with Alex Morgan." carries the
`request_user_feedback` call; the owner answers seconds later, and meanwhile the receptionist
says "We have an opening Tuesday at nine in the morning. Does that work?" — after that audio has
played, or over it (while the server still streams the response, or after it finished it). With
`interrupt_response` off, the server answers a turn that ends while a response is in progress
with no response of its own ("may fail to create a response if the model is already
responding"): the ask after the tool's output must not wait for it.
"""

from __future__ import annotations

from media.conversation.commands import (
    AskOwner,
    CancelResponse,
    ClearPlayout,
    Command,
    CreateResponse,
    Play,
    SendToolOutput,
    StartTool,
    Truncate,
    WriteTurn,
)
from media.conversation.inputs import OwnerAnswer, PlayoutCleared
from media.playout import Cleared
from media.realtime_events import (
    AudioDelta,
    AudioDone,
    CallerTranscript,
    FunctionCall,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
)
from tests.media.conversation_kit import Call

QUESTION = '{"question": "Bright Smile Dental offers Tuesday at nine. Shall I book it?"}'
AUDIO = b"\xff" * 800  # 100 ms of μ-law
ANSWER = [
    SendToolOutput("c1", {"answer": "Yes, book it."}),
    CreateResponse(),
]


def quiet(call: Call, ms: int = 300) -> None:
    """The line quiet for `ms` (the callee's frames keep coming)."""
    assert call.speak(ms, level=0.0) == []


def asks(commands: list[Command]) -> list[Command]:
    return [c for c in commands if isinstance(c, CreateResponse)]


def up_to_the_question() -> Call:
    """Greeting cut by the callee, the agent's ask, and "One moment please…" streaming (r3):
    its audio has gone out to the playout, the server has not finished the response yet."""
    call = Call()
    call.talking()
    # The greeting plays; "Doctor Smith's dental office…" over it cuts it off.
    call(ResponseCreated("r1"), after_ms=200)
    assert call(AudioDelta("r1", "i1", AUDIO), after_ms=100) == [Play(AUDIO, "i1", "r1")]
    quiet(call)
    call(SpeechStarted(600, "in-1"), after_ms=300)
    assert call.speak(300) == [ClearPlayout()]
    assert call(PlayoutCleared(Cleared(40, 800, "i1", "r1", 700))) == [
        CancelResponse(),
        Truncate("i1", 700),
    ]
    assert call(AudioDelta("r1", "i1", AUDIO), after_ms=20) == []  # late audio: silenced
    assert call(ResponseDone("r1", "cancelled", "client_cancelled"), after_ms=20) == []
    call.speak(3000)
    call(SpeechStopped(4400, "in-1"), after_ms=500)
    call(CallerTranscript("in-1", "Hello?"), after_ms=100)
    # The server answers the turn itself (create_response is on since the greeting).
    call(ResponseCreated("r2"), after_ms=200)
    assert call(AudioDelta("r2", "i2", AUDIO), after_ms=100) == [Play(AUDIO, "i2", "r2")]
    call(AudioDone("r2", "i2"), after_ms=1000)
    call(ResponseDone("r2", "completed"), after_ms=20)
    # "Doctor Smith's dental office, this is Anna speaking…" after that audio played.
    quiet(call)
    call(SpeechStarted(9000, "in-2"), after_ms=4000)
    assert call.speak(300) == [ClearPlayout()]
    assert call(PlayoutCleared(Cleared(0, 0, None, None, 0))) == []  # nothing was playing
    call.speak(3000)
    call(SpeechStopped(12800, "in-2"), after_ms=500)
    call(CallerTranscript("in-2", "Doctor Smith's dental office, this is Anna speaking."))
    # "One moment please, let me check with Alex Morgan." starts streaming (paced).
    call(ResponseCreated("r3"), after_ms=200)
    assert call(AudioDelta("r3", "i3", AUDIO), after_ms=100) == [Play(AUDIO, "i3", "r3")]
    return call


def the_question(call: Call) -> None:
    """r3's function call and its end: the owner is asked."""
    call(AudioDone("r3", "i3"), after_ms=20)
    assert call(FunctionCall("r3", "i3b", "c1", "request_user_feedback", QUESTION)) == [
        StartTool("c1", AskOwner("Bright Smile Dental offers Tuesday at nine. Shall I book it?"))
    ]
    assert call(ResponseDone("r3", "completed"), after_ms=20) == []


def opening(call: Call, *, over_ms: int = 0) -> None:
    """ "We have an opening Tuesday at nine…" (nothing of the agent's left to cut when
    `over_ms` is 0)."""
    quiet(call)
    call(SpeechStarted(20000, "in-3"), after_ms=1500)
    if over_ms == 0:
        assert call.speak(300) == [ClearPlayout()]
        assert call(PlayoutCleared(Cleared(0, 0, None, None, 0))) == []
    call.speak(3000)


def turn_ends(call: Call) -> list[Command]:
    commands = call(SpeechStopped(23800, "in-3"), after_ms=500)
    commands += call(CallerTranscript("in-3", "We have an opening Tuesday at nine."), after_ms=50)
    assert WriteTurn in {type(c) for c in commands}
    return commands


# --- the callee speaks once "One moment please" has played ----------------------------------


def test_the_answer_during_the_callees_turn_goes_to_the_servers_response() -> None:
    call = up_to_the_question()
    the_question(call)
    opening(call)
    # The owner answers while she talks: the server's response to her turn will see it.
    assert call(OwnerAnswer("c1", "Yes, book it."), after_ms=10)[1:] == [
        SendToolOutput("c1", {"answer": "Yes, book it."})
    ]
    assert asks(turn_ends(call)) == []
    call(ResponseCreated("r4"), after_ms=200)
    assert call(AudioDelta("r4", "i4", AUDIO), after_ms=100) == [Play(AUDIO, "i4", "r4")]
    assert call(ResponseDone("r4", "completed"), after_ms=20) == []


def test_the_answer_after_the_callees_turn_is_asked_for_once_the_servers_response_ends() -> None:
    call = up_to_the_question()
    the_question(call)
    opening(call)
    assert asks(turn_ends(call)) == []
    call(ResponseCreated("r4"), after_ms=200)  # the server's answer to her turn
    assert asks(call(OwnerAnswer("c1", "Yes, book it."), after_ms=300)) == []
    assert call(ResponseDone("r4", "completed"), after_ms=20) == [CreateResponse()]
    call(ResponseCreated("r5"), after_ms=200)
    assert call(AudioDelta("r5", "i5", AUDIO), after_ms=100) == [Play(AUDIO, "i5", "r5")]


def test_the_answer_after_the_callees_turn_and_its_response_is_asked_for_at_once() -> None:
    call = up_to_the_question()
    the_question(call)
    opening(call)
    turn_ends(call)
    call.response("r4")
    assert call(OwnerAnswer("c1", "Yes, book it."), after_ms=2000)[1:] == ANSWER
    call(ResponseCreated("r5"), after_ms=200)
    assert call(AudioDelta("r5", "i5", AUDIO), after_ms=100) == [Play(AUDIO, "i5", "r5")]


# --- the callee speaks over "One moment please" -----------------------------------------------


def test_a_turn_ending_while_the_question_streams_does_not_hold_the_answer_back() -> None:
    """Her words end while the server still streams the response (too short to cut the agent
    off): the server creates no response for her turn, so the answer is asked for."""
    call = up_to_the_question()
    quiet(call)
    call(SpeechStarted(14000, "in-3"), after_ms=100)
    assert call.speak(200, played=0.3) == []  # "mm-hm": no barge-in
    assert asks(call(SpeechStopped(14700, "in-3"), after_ms=500)) == []
    the_question(call)  # no response of the server's for her turn follows
    assert call(OwnerAnswer("c1", "Yes, book it."), after_ms=3000)[1:] == ANSWER
    call(ResponseCreated("r4"), after_ms=200)
    assert call(AudioDelta("r4", "i4", AUDIO), after_ms=100) == [Play(AUDIO, "i4", "r4")]


def test_a_turn_ending_while_the_question_streams_gets_the_answer_after_the_response() -> None:
    """As above, but the owner answers before the response with the question has ended."""
    call = up_to_the_question()
    call(AudioDone("r3", "i3"), after_ms=20)
    call(FunctionCall("r3", "i3b", "c1", "request_user_feedback", QUESTION))
    quiet(call)
    call(SpeechStarted(14000, "in-3"), after_ms=100)
    call.speak(200, played=0.3)
    call(SpeechStopped(14700, "in-3"), after_ms=500)
    assert asks(call(OwnerAnswer("c1", "Yes, book it."), after_ms=10)) == []
    assert call(ResponseDone("r3", "completed"), after_ms=20) == [CreateResponse()]


def test_cutting_off_the_question_while_it_streams_then_answering_asks_once() -> None:
    """She talks over "One moment please" while the server streams it: the agent stops and
    cancels the response (its function call had come already); the server answers her turn,
    then the owner's answer is asked for."""
    call = up_to_the_question()
    call(AudioDone("r3", "i3"), after_ms=20)
    call(FunctionCall("r3", "i3b", "c1", "request_user_feedback", QUESTION))
    quiet(call)
    call(SpeechStarted(14000, "in-3"), after_ms=100)
    assert call.speak(300) == [ClearPlayout()]
    assert call(PlayoutCleared(Cleared(50, 1000, "i3", "r3", 400))) == [
        CancelResponse(),
        Truncate("i3", 400),
    ]
    assert call(ResponseDone("r3", "cancelled", "client_cancelled"), after_ms=30) == []
    call.speak(2000)
    assert asks(turn_ends(call)) == []
    call(ResponseCreated("r4"), after_ms=200)  # the server's answer to her turn
    assert call(AudioDelta("r4", "i4", AUDIO), after_ms=100) == [Play(AUDIO, "i4", "r4")]
    assert asks(call(OwnerAnswer("c1", "Yes, book it."), after_ms=500)) == []
    assert call(ResponseDone("r4", "completed"), after_ms=20) == [CreateResponse()]
    call(ResponseCreated("r5"), after_ms=200)
    assert call(AudioDelta("r5", "i5", AUDIO), after_ms=100) == [Play(AUDIO, "i5", "r5")]


def test_cutting_off_the_questions_audio_after_the_server_finished_it_asks_once() -> None:
    """She talks over the audio still playing, the response long finished on the server: the
    item is truncated, nothing cancelled; the answer comes during her turn."""
    call = up_to_the_question()
    the_question(call)
    quiet(call)
    call(SpeechStarted(14000, "in-3"), after_ms=100)
    assert call.speak(300) == [ClearPlayout()]
    assert call(PlayoutCleared(Cleared(50, 1000, "i3", "r3", 400))) == [Truncate("i3", 400)]
    call.speak(1000)
    assert asks(call(OwnerAnswer("c1", "Yes, book it."), after_ms=10)) == []
    call.speak(1000)
    assert asks(turn_ends(call)) == []
    call(ResponseCreated("r4"), after_ms=200)
    assert call(AudioDelta("r4", "i4", AUDIO), after_ms=100) == [Play(AUDIO, "i4", "r4")]
    assert call(ResponseDone("r4", "completed"), after_ms=20) == []
