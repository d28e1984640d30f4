"""Who speaks when: the agent waits for a person's "Hello?" before it greets, and a callee who
talks over the agent takes the turn. Event by event on the kit's clock (`conversation_kit`)."""

from __future__ import annotations

from dataclasses import replace

from core.domain import TurnTaking
from media.conversation import Phase, Timer
from media.conversation.commands import (
    CancelResponse,
    CancelTimer,
    ClearPlayout,
    Connect,
    CreateResponse,
    Play,
    Truncate,
)
from media.conversation.inputs import CallStarted, Connected, PlayoutCleared, TimerFired
from media.playout import Cleared
from media.realtime_events import (
    AudioDelta,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
)
from tests.media.conversation_kit import GREET, SCRIPT, Call, timer


def answered() -> Call:
    """A person answered, AMD could not tell (NOTSURE), and the session is up: the agent
    waits for their first words."""
    call = Call()
    assert call(CallStarted(SCRIPT, "NOTSURE")) == [
        Connect(SCRIPT.instructions, respond_to_turns=False)
    ]
    assert call(Connected()) == [timer(Timer.GREETING_WAIT, 1500)]
    return call


def nothing_heard(call: Call) -> None:
    """The callee's speech started while nothing of the agent's was playing."""
    assert call(PlayoutCleared(Cleared(0, 0, None, None, 0))) == []


# --- the greeting waits for "Hello?" ----------------------------------------------------------


def test_a_callee_who_says_hello_is_greeted_only_after_their_words_end() -> None:
    call = answered()
    hello_starts = call.now_ms + 400
    commands = call(SpeechStarted(400, "in-1"), after_ms=400)
    assert commands == [CancelTimer(Timer.GREETING_WAIT)]  # no greeting yet
    assert Timer.GREETING_WAIT not in call.timers  # the wait is off
    call.speak(400)  # "Hello?": nothing of the agent's playing to stop
    nothing_heard(call)
    hello_ends = call.now_ms + 300
    assert call(SpeechStopped(1100, "in-1"), after_ms=300) == GREET
    greeting_asked = call.now_ms
    # The agent's first audio comes after the ask, so after the callee's words ended.
    call(ResponseCreated("r1"), after_ms=150)
    assert call(AudioDelta("r1", "i1", b"\xff" * 160), after_ms=200) == [
        Play(b"\xff" * 160, "i1", "r1")
    ]
    first_audio = call.now_ms
    # The callee spoke over [hello_starts, hello_ends]; the agent from first_audio on.
    overlap_ms = max(0, hello_ends - max(hello_starts, first_audio))
    assert greeting_asked == hello_ends and overlap_ms == 0


def test_a_silent_callee_is_greeted_when_the_wait_runs_out() -> None:
    call = answered()
    assert call.fire(Timer.GREETING_WAIT) == GREET
    assert call.now_ms == 1500 and call.phase is Phase.TALKING


def test_a_callee_still_talking_when_the_wait_would_end_is_waited_for() -> None:
    call = answered()
    token = call.timers[Timer.GREETING_WAIT][1]
    call(SpeechStarted(1000, "in-1"), after_ms=1000)
    nothing_heard(call)
    assert call(TimerFired(Timer.GREETING_WAIT, token), after_ms=500) == []  # stale: cancelled
    assert call(SpeechStopped(3200, "in-1"), after_ms=1700) == GREET


def test_the_greeting_is_asked_for_once() -> None:
    call = answered()
    call(SpeechStarted(200, "in-1"), after_ms=200)
    nothing_heard(call)
    assert call(SpeechStopped(700, "in-1"), after_ms=500) == GREET
    call.response("r1")
    call(SpeechStarted(5000, "in-2"), after_ms=4300)
    nothing_heard(call)
    assert CreateResponse(SCRIPT.greeting) not in call(SpeechStopped(5600, "in-2"), after_ms=600)


def test_a_callee_who_talks_over_the_greeting_takes_the_turn() -> None:
    call = answered()
    call.fire(Timer.GREETING_WAIT)
    call(ResponseCreated("r1"))
    call(AudioDelta("r1", "i1", b"\xff" * 8000), after_ms=300)
    call(SpeechStarted(2600, "in-1"), after_ms=800)
    assert call.speak(300) == [ClearPlayout()]
    assert call(PlayoutCleared(Cleared(20, 400, "i1", "r1", 600))) == [
        CancelResponse(),
        Truncate("i1", 600),
    ]
    assert call.conversation.counts.barge_ins == 1


# --- the interruption threshold ---------------------------------------------------------------


def agent_speaking(interrupt_after_ms: int = 300) -> Call:
    """The greeting is playing (response r1 streaming) when the callee makes a sound."""
    call = Call()
    script = replace(SCRIPT, turn_taking=TurnTaking(interrupt_after_ms=interrupt_after_ms))
    call(CallStarted(script, "HUMAN"))
    assert call(Connected()) == GREET
    call(ResponseCreated("r1"))
    call(AudioDelta("r1", "i1", b"\xff" * 8000), after_ms=300)
    return call


def test_a_cough_or_an_mm_hm_does_not_cut_the_agent_off() -> None:
    call = agent_speaking()
    assert call(SpeechStarted(2000, "in-1"), after_ms=500) == []
    assert call.speak(200) == []  # "mm-hm": 200 ms
    assert call(SpeechStopped(2700, "in-1"), after_ms=500) == []
    assert call.conversation.counts.barge_ins == 0


def test_speech_longer_than_the_threshold_cuts_the_agent_off() -> None:
    call = agent_speaking()
    call(SpeechStarted(2000, "in-1"), after_ms=500)
    assert call.speak(280) == []
    assert call.speak(20) == [ClearPlayout()]  # the 300th millisecond
    assert call(PlayoutCleared(Cleared(30, 600, "i1", "r1", 500))) == [
        CancelResponse(),
        Truncate("i1", 500),
    ]


def test_pauses_restart_the_count_and_quiet_frames_do_not_count() -> None:
    call = agent_speaking()
    call(SpeechStarted(2000, "in-1"), after_ms=500)
    assert call.speak(200) == []
    assert call.speak(240, level=0.001) == []  # a pause: the count starts again
    assert call.speak(200) == []
    assert call.speak(100) == [ClearPlayout()]


def test_a_threshold_of_zero_cuts_the_agent_off_at_the_first_sound() -> None:
    call = agent_speaking(interrupt_after_ms=0)
    assert call(SpeechStarted(2000, "in-1"), after_ms=500) == [ClearPlayout()]


def test_one_turn_interrupts_once() -> None:
    call = agent_speaking()
    call(SpeechStarted(2000, "in-1"), after_ms=500)
    assert call.speak(300) == [ClearPlayout()]
    call(PlayoutCleared(Cleared(30, 600, "i1", "r1", 500)))
    assert call.speak(1000) == []


def test_audio_the_cancelled_response_streamed_before_the_cancel_is_not_played() -> None:
    call = agent_speaking()
    call(SpeechStarted(2000, "in-1"), after_ms=500)
    call.speak(300)
    call(PlayoutCleared(Cleared(30, 600, "i1", "r1", 500)))
    assert call(AudioDelta("r1", "i1", b"\xff" * 160)) == []  # in flight as we cancelled
    call(ResponseDone("r1", "cancelled"))
    call(ResponseCreated("r2"))  # the answer to the callee's turn plays
    assert call(AudioDelta("r2", "i2", b"\xff" * 160)) == [Play(b"\xff" * 160, "i2", "r2")]
