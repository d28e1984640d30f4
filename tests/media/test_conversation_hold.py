"""On hold: the agent waits in silence through hold music, a queue or a screener connecting the
call — no greeting loops, no barge-ins — puts each sound on the line to the model, comes back
when a person speaks, ends the call politely at the campaign's limit, and the time on hold is
kept. Event by event on the kit's clock (`conversation_kit`)."""

from __future__ import annotations

from dataclasses import replace

from media.conversation import Phase, Timer
from media.conversation.commands import (
    CancelResponse,
    CancelTimer,
    ClearPlayout,
    CloseRealtime,
    Connect,
    CreateResponse,
    HangUp,
    LoadHistory,
    MarkOutcome,
    Play,
    RespondToTurns,
    SendToolOutput,
    StoreVoiceActivity,
    WatchPlayout,
    WriteTurn,
)
from media.conversation.inputs import (
    CallEnded,
    CallStarted,
    Connected,
    HistoryLoaded,
    PlayoutCleared,
    PlayoutDrained,
    RealtimeClosed,
)
from media.playout import Cleared
from media.realtime_events import (
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
)
from tests.media.conversation_kit import SCRIPT, Call, timer

AUDIO = b"\xff" * 160
NOTHING_PLAYING = PlayoutCleared(Cleared(0, 0, None, None, 0))
ON_HOLD = {"on_hold": True, "hold_limit_s": 300}
SCREENER = (
    "The person you are calling uses a screening service, please say your name and why you "
    "are calling."
)


def wait_on_hold(response_id: str, call_id: str) -> FunctionCall:
    return FunctionCall(response_id, f"item-{call_id}", call_id, "wait_on_hold", "{}")


def sound(call: Call, ms: int, item: str) -> list[object]:
    """A sound on the line on hold (music, a recording, a voice) of `ms`, reported by server
    VAD; everything the conversation said to it."""
    commands: list[object] = list(call(SpeechStarted(call.now_ms, item)))
    commands += call.speak(ms)
    commands += call(SpeechStopped(call.now_ms, item), after_ms=500)
    return commands


def put_on_hold() -> Call:
    """A person answered and was greeted, said "please hold", and the model answered "Sure,
    I'll hold" and called wait_on_hold (server VAD created that response for their turn)."""
    call = Call()
    call.talking()
    call.response("r1")
    call(SpeechStarted(call.now_ms, "in-1"))  # "One moment please, I'll put you on hold."
    assert call.speak(1500) == [ClearPlayout()]
    assert call(NOTHING_PLAYING) == []  # nothing of the agent's was playing
    assert call(SpeechStopped(call.now_ms, "in-1"), after_ms=500) == []  # the server answers
    call(ResponseCreated("r2"))
    assert call(AudioDelta("r2", "i2", AUDIO)) == [Play(AUDIO, "i2", "r2")]
    assert call(wait_on_hold("r2", "c1"), after_ms=800) == [
        RespondToTurns(on=False),  # the server stops answering sounds
        timer(Timer.HOLD_LIMIT, 300_000),
        SendToolOutput("c1", ON_HOLD),  # and no response.create after it
    ]
    assert call.phase is Phase.HOLD
    # "Sure, I'll hold" plays out; the model is not asked to go on.
    assert call(AudioDelta("r2", "i2", AUDIO)) == [Play(AUDIO, "i2", "r2")]
    assert call(ResponseDone("r2", "completed")) == []
    return call


def test_wait_on_hold_turns_the_servers_answers_off_and_starts_the_limit() -> None:
    call = put_on_hold()
    assert call.phase is Phase.HOLD
    assert Timer.HOLD_LIMIT in call.timers


def test_hold_music_cuts_nobody_off_and_each_sound_is_put_to_the_model() -> None:
    call = put_on_hold()
    # The music starts while "Sure, I'll hold" still plays: no barge-in, however long.
    call(SpeechStarted(call.now_ms, "music"))
    assert call.speak(20_000) == []
    assert call(SpeechStopped(call.now_ms, "music"), after_ms=500) == [CreateResponse(SCRIPT.hold)]
    # The model hears music: it calls wait_on_hold again and says nothing.
    call(ResponseCreated("r3"))
    assert call(wait_on_hold("r3", "c2")) == [SendToolOutput("c2", ON_HOLD)]
    assert call(ResponseDone("r3", "completed")) == []
    assert call.phase is Phase.HOLD
    assert call.conversation.counts.barge_ins == 0
    # A second stretch of music: asked again, once.
    assert sound(call, 3000, "music-2") == [CreateResponse(SCRIPT.hold)]


def test_a_person_back_on_the_line_ends_the_hold_and_its_time_is_kept() -> None:
    call = put_on_hold()
    held_from = call.now_ms
    sound(call, 20_000, "music")
    call(ResponseCreated("r3"))
    call(wait_on_hold("r3", "c2"))
    call(ResponseDone("r3", "completed"))
    call(SpeechStarted(call.now_ms, "maria"), after_ms=1000)  # "Thanks for holding …"
    person_from = call.now_ms
    call.speak(2500)
    assert call(SpeechStopped(call.now_ms, "maria"), after_ms=500) == [CreateResponse(SCRIPT.hold)]
    call(ResponseCreated("r4"))
    # The model answers her: the hold is over, the server answers turns again.
    assert call(AudioDelta("r4", "i4", AUDIO), after_ms=300) == [
        CancelTimer(Timer.HOLD_LIMIT),
        RespondToTurns(),
        Play(AUDIO, "i4", "r4"),
    ]
    assert call.phase is Phase.TALKING
    # Talking over the agent cuts it off again.
    call.speak(1000, level=0.0)
    assert call(SpeechStarted(call.now_ms, "in-2")) == []
    assert call.speak(300) == [ClearPlayout()]
    [store] = [
        c for c in call(CallEnded("hangup"), after_ms=5000) if isinstance(c, StoreVoiceActivity)
    ]
    assert store.activity.on_hold_ms == person_from - held_from
    assert call.conversation.result.on_hold_ms == person_from - held_from


def test_a_sound_that_ends_while_a_check_runs_is_checked_after_it() -> None:
    call = put_on_hold()
    sound(call, 5000, "music")
    call(ResponseCreated("r3"))
    assert sound(call, 800, "music-2") == []  # r3 still runs: one ask at a time
    assert call(wait_on_hold("r3", "c2")) == [SendToolOutput("c2", ON_HOLD)]
    assert call(ResponseDone("r3", "completed")) == [CreateResponse(SCRIPT.hold)]


def test_holds_add_up_against_one_limit() -> None:
    call = put_on_hold()
    start = call.now_ms
    call(SpeechStarted(call.now_ms, "maria"), after_ms=60_000)
    call(SpeechStopped(call.now_ms, "maria"), after_ms=1500)
    call(ResponseCreated("r3"))
    call(AudioDelta("r3", "i3", AUDIO))  # back after 60 s
    call.response("r3")
    call(ResponseCreated("r4"), after_ms=4000)
    assert call(wait_on_hold("r4", "c2")) == [
        RespondToTurns(on=False),
        timer(Timer.HOLD_LIMIT, 300_000 - 60_000),  # what is left of the limit
        SendToolOutput("c2", ON_HOLD),
    ]
    assert call.now_ms - start > 60_000


def test_the_limit_ends_the_call_politely() -> None:
    call = put_on_hold()
    held_from = call.now_ms
    assert call.fire(Timer.HOLD_LIMIT) == [
        CreateResponse(SCRIPT.hold_limit),
        timer(Timer.DRAIN_RESPONSE, 15000),
    ]
    assert call.phase is Phase.DRAINING
    call(ResponseCreated("bye"))
    call(AudioDelta("bye", "i9", AUDIO))
    assert call(ResponseDone("bye", "completed"))[-1] == WatchPlayout()
    assert call(PlayoutDrained())[-1] == HangUp("agent", "on hold for 300 s, the campaign's limit")
    call(CallEnded("hangup"))
    assert call.conversation.result.on_hold_ms == call.now_ms - held_from == 300_000


def test_a_check_running_at_the_limit_gives_way_to_the_goodbye() -> None:
    call = put_on_hold()
    sound(call, 4000, "music")
    call(ResponseCreated("r3"))
    assert call.fire(Timer.HOLD_LIMIT) == [
        CancelResponse(),
        ClearPlayout(),
        timer(Timer.DRAIN_RESPONSE, 15000),
    ]
    assert call(AudioDelta("r3", "i3", AUDIO)) == []  # cancelled: none of it plays
    assert call(ResponseDone("r3", "cancelled")) == [CreateResponse(SCRIPT.hold_limit)]


def test_the_model_giving_up_on_hold_ends_the_hold_and_the_call() -> None:
    call = put_on_hold()
    held_from = call.now_ms
    sound(call, 40_000, "music")
    call(ResponseCreated("r3"))
    end = FunctionCall("r3", "item-9", "c9", "end_call", '{"reason": "nobody came"}')
    assert call(end) == [
        SendToolOutput("c9", {"ok": True}),
        CancelTimer(Timer.HOLD_LIMIT),
        timer(Timer.DRAIN_RESPONSE, 15000),
    ]
    assert call.phase is Phase.DRAINING
    ended_hold = call.now_ms
    call(ResponseDone("r3", "completed"), after_ms=2000)
    call(PlayoutDrained(), after_ms=1000)
    call(CallEnded("hangup"))
    assert call.conversation.result.on_hold_ms == ended_hold - held_from


def test_a_campaigns_own_limit_is_used() -> None:
    call = Call()
    call(CallStarted(replace(SCRIPT, hold_limit_s=60), "HUMAN"))
    call(Connected())
    call(ResponseCreated("r1"))
    assert timer(Timer.HOLD_LIMIT, 60_000) in call(wait_on_hold("r1", "c1"))


def test_the_line_dropping_on_hold_resumes_the_wait_in_silence() -> None:
    call = put_on_hold()
    assert call(RealtimeClosed("reset"), after_ms=10_000) == [
        CloseRealtime(),
        ClearPlayout(),
        LoadHistory(),
    ]
    assert Timer.HOLD_LIMIT in call.timers  # the limit runs on
    history = "agent: Sure, I'll hold."
    assert call(HistoryLoaded(history)) == [
        Connect(
            f"{SCRIPT.instructions}\n\n{SCRIPT.history_intro}\n{history}", respond_to_turns=False
        )
    ]
    assert call(Connected()) == []  # no apology to the hold music
    assert call.phase is Phase.HOLD
    assert sound(call, 2000, "music") == [CreateResponse(SCRIPT.hold)]


def test_a_callee_who_hangs_up_on_hold_leaves_the_time_on_hold() -> None:
    call = put_on_hold()
    held_from = call.now_ms
    sound(call, 30_000, "music")
    call(CallEnded("hangup"), after_ms=2000)
    assert call.conversation.result.on_hold_ms == call.now_ms - held_from


def test_a_call_without_a_hold_records_none() -> None:
    call = Call()
    call.talking()
    [store] = [c for c in call(CallEnded("hangup")) if isinstance(c, StoreVoiceActivity)]
    assert store.activity.on_hold_ms == 0


# --- machines that are no mailbox ------------------------------------------------------------


def test_a_call_screener_is_answered_and_the_agent_waits_to_be_connected() -> None:
    call = Call()
    call.screening()  # AMD: MACHINE (the screener's long greeting)
    call(SpeechStarted(0, "in-1"))
    call.speak(5000)
    call(SpeechStopped(call.now_ms, "in-1"), after_ms=500)  # the server answers it
    call(ResponseCreated("r1"))
    assert call(CallerTranscript("in-1", SCREENER)) == [
        WriteTurn("callee", SCREENER),
        CancelTimer(Timer.MACHINE_WAIT),
    ]
    assert call.phase is Phase.TALKING  # no mailbox: no message, no hang-up
    # The agent says who it is, for whom and why, then waits to be connected.
    assert call(AudioDelta("r1", "i1", AUDIO)) == [Play(AUDIO, "i1", "r1")]
    assert call(wait_on_hold("r1", "c1"))[0] == RespondToTurns(on=False)
    call(ResponseDone("r1", "completed"))
    # "Please stay on the line." — the model keeps waiting, silent.
    assert sound(call, 1200, "in-2") == [CreateResponse(SCRIPT.hold)]
    call(ResponseCreated("r2"))
    call(wait_on_hold("r2", "c2"))
    call(ResponseDone("r2", "completed"))
    # The person: the model answers, the hold is over.
    assert sound(call, 3000, "in-3") == [CreateResponse(SCRIPT.hold)]
    call(ResponseCreated("r3"))
    assert call(AudioDelta("r3", "i3", AUDIO))[-1] == Play(AUDIO, "i3", "r3")
    assert call.phase is Phase.TALKING
    result = call.conversation.result
    assert result.not_a_mailbox and not result.voicemail  # the call was answered


def test_a_queues_recording_is_no_mailbox() -> None:
    call = Call()
    call.screening()
    said = "Thank you for calling. Your call is important to us, please stay on the line."
    commands = call(CallerTranscript("in-1", said))
    assert MarkOutcome("voicemail") not in commands
    assert call.phase is Phase.TALKING
    assert call.conversation.result.not_a_mailbox
