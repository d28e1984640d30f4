"""How a call's conversation ends, event by event: a mailbox or a phone menu, the drain before
hanging up, and the one resumed session after a lost connection."""

from __future__ import annotations

import dataclasses

from core.db.models import CallOutcome
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
    SendToolOutput,
    StopListening,
    WatchPlayout,
    WriteTurn,
)
from media.conversation.inputs import (
    CallEnded,
    CallStarted,
    Connected,
    ConnectFailed,
    HistoryLoaded,
    PlayoutCleared,
    PlayoutDrained,
    RealtimeClosed,
    TimerFired,
    ToolResult,
)
from media.conversation.machine import CONNECTION_LOST
from media.playout import Cleared
from media.realtime_events import (
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    RealtimeError,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
)
from tests.media.conversation_kit import SCRIPT, Call, timer

MAILBOX = "Hi, you have reached John. Please leave a message after the tone."
MENU = "Thank you for calling City Clinic. For appointments press 1."
NOTHING_CLEARED = PlayoutCleared(Cleared(0, 0, None, None, 0))


def end_call(call_id: str = "c9", response_id: str = "r1") -> FunctionCall:
    return FunctionCall(response_id, "item-end", call_id, "end_call", '{"reason": "booked"}')


def leaves_the_message(detected_from_words: bool) -> list[object]:
    return [
        *([CancelTimer(Timer.MACHINE_WAIT)] if not detected_from_words else []),
        MarkOutcome(CallOutcome.VOICEMAIL),
        StopListening(),
        CreateResponse(SCRIPT.voicemail),
        timer(Timer.DRAIN_RESPONSE, 15000),
    ]


# --- a mailbox or a phone menu -------------------------------------------------------------


def test_a_machine_that_stays_silent_is_a_mailbox_and_gets_the_message() -> None:
    call = Call()
    call.screening()
    assert call.fire(Timer.MACHINE_WAIT) == [
        MarkOutcome(CallOutcome.VOICEMAIL),
        StopListening(),
        CreateResponse(SCRIPT.voicemail),
        timer(Timer.DRAIN_RESPONSE, 15000),
    ]
    assert call.now_ms == 6000
    assert call.phase is Phase.DRAINING
    call(ResponseCreated("vm"))
    assert call(ResponseDone("vm", "completed"), after_ms=4000) == [
        CancelTimer(Timer.DRAIN_RESPONSE),
        timer(Timer.DRAIN_PLAYOUT, 15000),
        WatchPlayout(),
    ]
    assert call(PlayoutDrained(), after_ms=3000) == [
        CancelTimer(Timer.DRAIN_PLAYOUT),
        HangUp("voicemail", "voicemail message left"),
    ]
    result = call.conversation.result
    assert result.voicemail and result.ended_by == "voicemail"


def test_a_mailbox_with_no_message_to_leave_is_hung_up_on() -> None:
    call = Call()
    call(CallStarted(dataclasses.replace(SCRIPT, voicemail=None), "MACHINE"))
    call(Connected())
    assert call.fire(Timer.MACHINE_WAIT) == [
        MarkOutcome(CallOutcome.VOICEMAIL),
        StopListening(),
        HangUp("voicemail", "voicemail, no message to leave"),
    ]


def test_a_machine_that_offers_keys_is_a_menu_the_agent_navigates() -> None:
    call = Call()
    call.screening()
    assert call(CallerTranscript("in-1", MENU), after_ms=2500) == [
        WriteTurn("callee", MENU),
        CancelTimer(Timer.MACHINE_WAIT),
    ]
    assert call.phase is Phase.TALKING
    # Later words are a conversation, whatever they say.
    said = "Please leave your name after the tone."
    assert call(CallerTranscript("in-2", said)) == [WriteTurn("callee", said)]
    assert not call.conversation.result.voicemail


def test_a_machine_that_speaks_of_anything_but_keys_is_a_mailbox() -> None:
    call = Call()
    call.screening()
    said = "Hi, this is John."
    assert call(CallerTranscript("in-1", said), after_ms=1500) == [
        WriteTurn("callee", said),
        ClearPlayout(),
        *leaves_the_message(detected_from_words=False),
    ]


def test_a_machine_still_speaking_when_the_wait_ends_is_judged_by_its_words() -> None:
    call = Call()
    call.screening()
    call(SpeechStarted(400, "in-1"), after_ms=500)
    call(NOTHING_CLEARED)
    assert call.fire(Timer.MACHINE_WAIT) == []  # no words yet: no verdict yet
    assert call.phase is Phase.SCREENING
    assert call(CallerTranscript("in-1", MENU))[-1] == WriteTurn("callee", MENU)
    assert call.phase is Phase.TALKING


def test_a_persons_call_that_opens_with_mailbox_words_leaves_the_message() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))  # the greeting is speaking over the mailbox's
    message = leaves_the_message(detected_from_words=True)
    assert call(CallerTranscript("in-1", MAILBOX)) == [
        WriteTurn("callee", MAILBOX),
        CancelResponse(),
        ClearPlayout(),
        *[c for c in message if c != CreateResponse(SCRIPT.voicemail)],  # not yet: r1 is active
    ]
    assert call(NOTHING_CLEARED) == []  # that clear was no barge-in
    # The cancellation confirmed, the message's response is asked for; the cancelled
    # greeting's end does not end the drain, the message's does.
    assert call(ResponseDone("r1", "cancelled")) == [CreateResponse(SCRIPT.voicemail)]
    call(ResponseCreated("vm"))
    assert call(ResponseDone("vm", "completed"))[-1] == WatchPlayout()


def test_the_message_waits_for_the_servers_own_response_to_be_cancelled() -> None:
    """The race: the mailbox's greeting ends, the server's VAD creates a response, and our
    message's `response.create` arrives just after — refused. The server's response is
    cancelled, and the message asked for again once `response.done` confirms it."""
    call = Call()
    call.talking()
    call.response("r1")  # the greeting, done
    call(SpeechStarted(3000, "in-1"), after_ms=1000)
    assert call(CallerTranscript("in-1", MAILBOX), after_ms=2000)[-2:] == [
        CreateResponse(SCRIPT.voicemail),
        timer(Timer.DRAIN_RESPONSE, 15000),
    ]
    assert call(ResponseCreated("server")) == []  # taken for the message's …
    refused = RealtimeError(
        "invalid_request_error",
        "Conversation already has an active response in progress: server.",
        "conversation_already_has_active_response",
    )
    # … until the refusal says otherwise: it is cancelled, and none of it is played
    assert call(refused) == [CancelResponse(), ClearPlayout()]
    assert call(NOTHING_CLEARED) == []
    assert call(AudioDelta("server", "i-s", b"\xff" * 160)) == []
    assert call(ResponseDone("server", "cancelled")) == [CreateResponse(SCRIPT.voicemail)]
    call(ResponseCreated("vm"))
    assert call(ResponseDone("vm", "completed")) == [
        CancelTimer(Timer.DRAIN_RESPONSE),
        timer(Timer.DRAIN_PLAYOUT, 15000),
        WatchPlayout(),
    ]
    assert call.phase is Phase.DRAINING


def test_a_person_is_not_taken_for_a_mailbox() -> None:
    call = Call()
    call.talking()
    said = "Bright Smile Dental, Anna speaking."
    assert call(CallerTranscript("in-1", said)) == [WriteTurn("callee", said)]
    # Only the first words are judged.
    assert call(CallerTranscript("in-2", MAILBOX)) == [WriteTurn("callee", MAILBOX)]
    assert call.phase is Phase.TALKING


# --- the drain before hanging up ----------------------------------------------------------


def test_end_call_lets_the_goodbye_finish_and_play_out_then_hangs_up() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    assert call(end_call()) == [
        SendToolOutput("c9", {"ok": True}),
        timer(Timer.DRAIN_RESPONSE, 15000),
    ]
    assert call.phase is Phase.DRAINING
    assert call(AudioDelta("r1", "i1", b"\x7f" * 160)) == [Play(b"\x7f" * 160, "i1", "r1")]
    # The model is not asked to go on after end_call.
    assert call(ResponseDone("r1", "completed"), after_ms=1200) == [
        CancelTimer(Timer.DRAIN_RESPONSE),
        timer(Timer.DRAIN_PLAYOUT, 15000),
        WatchPlayout(),
    ]
    assert call(PlayoutDrained(), after_ms=2400) == [
        CancelTimer(Timer.DRAIN_PLAYOUT),
        HangUp("agent", "booked"),
    ]
    assert call.phase is Phase.HANGING_UP
    call(CallEnded("hangup"))
    assert (call.conversation.result.ended_by, call.conversation.result.reason) == (
        "agent",
        "booked",
    )


def test_a_drain_that_waits_too_long_hangs_up_anyway() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    ended_at = call.now_ms
    call(end_call())
    assert call.fire(Timer.DRAIN_RESPONSE) == [timer(Timer.DRAIN_PLAYOUT, 15000), WatchPlayout()]
    assert call.fire(Timer.DRAIN_PLAYOUT) == [HangUp("agent", "booked")]
    assert call.now_ms - ended_at == 30_000


def test_end_call_after_its_response_ended_waits_only_for_the_playout() -> None:
    call = Call()
    call.talking()
    call.response("r1")
    assert call(end_call(response_id="r1")) == [
        SendToolOutput("c9", {"ok": True}),
        timer(Timer.DRAIN_PLAYOUT, 15000),
        WatchPlayout(),
    ]


def test_a_second_ending_keeps_the_first_reason() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    call(end_call("c1"))
    second = FunctionCall("r1", "item-2", "c2", "end_call", '{"reason": "other"}')
    assert call(second) == [SendToolOutput("c2", {"ok": True})]
    call(ResponseDone("r1", "completed"))
    assert call(PlayoutDrained())[-1] == HangUp("agent", "booked")


def test_a_hang_up_is_sent_once_and_late_timers_are_ignored() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    call(end_call())
    _, token = call.timers[Timer.DRAIN_RESPONSE]
    call(ResponseDone("r1", "completed"))
    call(PlayoutDrained())
    assert call(PlayoutDrained()) == []
    assert call(TimerFired(Timer.DRAIN_RESPONSE, token)) == []  # cancelled: stale


# --- a lost Realtime connection ------------------------------------------------------------


def test_a_lost_connection_is_resumed_once_with_the_conversation_so_far() -> None:
    call = Call()
    call.talking()
    call.response("r1")
    call(ResponseCreated("r2"))
    call(FunctionCall("r2", "item-1", "c1", "record_fact", '{"name": "a", "value": "b"}'))
    assert call(RealtimeClosed("connection reset"), after_ms=5000) == [
        CloseRealtime(),
        ClearPlayout(),
        LoadHistory(),
    ]
    assert call.phase is Phase.RECONNECTING
    assert call(NOTHING_CLEARED) == []
    # A tool that finishes meanwhile has no session to tell.
    assert call(ToolResult("c1", {"recorded": "a"})) == []
    history = "agent: Hello, this is an AI assistant.\ncallee: Who is this?"
    assert call(HistoryLoaded(history)) == [
        Connect(f"{SCRIPT.instructions}\n\n{SCRIPT.history_intro}\n{history}")
    ]
    assert call(Connected(), after_ms=300) == [CreateResponse(SCRIPT.resume)]
    assert call.phase is Phase.TALKING
    assert call.conversation.counts.reconnects == 1
    # The new session's responses are counted afresh: the old r2's tools are gone with it.
    call(ResponseCreated("n1"))
    assert call(ResponseDone("n1", "completed")) == []


def test_a_second_loss_is_a_technical_failure() -> None:
    call = Call()
    call.talking()
    call(RealtimeClosed("reset"))
    call(HistoryLoaded(""))
    call(Connected())
    assert call(RealtimeClosed("reset again")) == [
        MarkOutcome(CallOutcome.TECHNICAL_FAILURE, CONNECTION_LOST),
        HangUp("failure", CONNECTION_LOST),
    ]
    assert call.conversation.result.technical_failure


def test_a_session_that_cannot_be_resumed_is_a_technical_failure() -> None:
    call = Call()
    call.talking()
    call(RealtimeClosed("reset"))
    assert call(HistoryLoaded("")) == [Connect(SCRIPT.instructions)]  # nothing said yet
    assert call(ConnectFailed("refused")) == [
        MarkOutcome(CallOutcome.TECHNICAL_FAILURE, CONNECTION_LOST),
        HangUp("failure", CONNECTION_LOST),
    ]


def test_a_machine_being_screened_is_still_screened_after_a_resume() -> None:
    call = Call()
    call.screening()
    _, old_token = call.timers[Timer.MACHINE_WAIT]
    assert call(RealtimeClosed("reset"), after_ms=2000) == [
        CancelTimer(Timer.MACHINE_WAIT),
        CloseRealtime(),
        ClearPlayout(),
        LoadHistory(),
    ]
    call(HistoryLoaded(""))
    assert call(Connected()) == [
        timer(Timer.MACHINE_WAIT, 6000),
        CreateResponse(SCRIPT.resume),
    ]
    assert call.phase is Phase.SCREENING
    assert call(TimerFired(Timer.MACHINE_WAIT, old_token)) == []  # the old wait is stale


def test_a_loss_while_draining_ends_the_call_as_it_was_going_to() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    call(end_call())
    assert call(RealtimeClosed("reset")) == [
        CancelTimer(Timer.DRAIN_RESPONSE),
        timer(Timer.DRAIN_PLAYOUT, 15000),
        WatchPlayout(),
    ]
    assert call(PlayoutDrained()) == [CancelTimer(Timer.DRAIN_PLAYOUT), HangUp("agent", "booked")]
    assert call.conversation.counts.reconnects == 0


def test_a_loss_after_the_hang_up_or_a_normal_close_changes_nothing() -> None:
    call = Call()
    call.talking()
    assert call(RealtimeClosed(None)) == []  # the server closed the session normally
    assert call.phase is Phase.TALKING
    call(ResponseCreated("r1"))  # a session that is closed has nobody to tell
    call(end_call())
    call(ResponseDone("r1", "completed"))
    call(PlayoutDrained())
    assert call(RealtimeClosed("reset")) == []
    assert call.conversation.counts.reconnects == 0
