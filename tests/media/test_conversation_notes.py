"""The owner's notes to a call's agent, event by event: delivered at once while a session is
up (as a `system` message, a transcript turn and a mark on its row), never with a response of
their own; held while the phone rings or a lost session resumes; declined once the call is
ending; each delivered once."""

from __future__ import annotations

from unittest.mock import ANY

from core.domain import TurnRole
from media.conversation import Phase
from media.conversation.commands import (
    ClearPlayout,
    CloseRealtime,
    Connect,
    CreateResponse,
    FlushTurns,
    LoadHistory,
    MarkNote,
    SendNote,
    StoreVoiceActivity,
    WriteTurn,
)
from media.conversation.inputs import (
    CallEnded,
    CallStarted,
    Connected,
    HistoryLoaded,
    OwnerNote,
    PlayoutCleared,
    RealtimeClosed,
)
from media.conversation.machine import NOTE_DELIVERED, NOTE_TOO_LATE
from media.playout import Cleared
from media.realtime_events import FunctionCall, ResponseCreated, SpeechStarted, SpeechStopped
from tests.media.conversation_kit import GREET, SCRIPT, Call

WEDNESDAY = "Offer Wednesday instead."


def delivered(note_id: int, text: str) -> list[object]:
    """What delivering a note looks like: the message, the turn, the mark — no response."""
    return [
        SendNote(f"{SCRIPT.note_intro}\n{text}"),
        WriteTurn(TurnRole.OWNER_NOTE, text),
        MarkNote(note_id, NOTE_DELIVERED),
    ]


def test_a_note_while_talking_goes_to_the_model_at_once_without_a_response_of_its_own() -> None:
    call = Call()
    call.talking()
    call.response("r1")
    assert call(OwnerNote(7, WEDNESDAY), after_ms=400) == delivered(7, WEDNESDAY)
    # The model takes it into the response the callee's next turn brings.
    assert call(SpeechStarted(3000, "in-1"), after_ms=500) == []
    assert call(SpeechStopped(4200, "in-1"), after_ms=1200) == []
    assert call.conversation.counts.notes == 1


def test_a_note_during_a_response_is_delivered_without_cancelling_it() -> None:
    call = Call()
    call.talking()
    assert call(ResponseCreated("r1")) == []
    assert call(OwnerNote(7, WEDNESDAY)) == delivered(7, WEDNESDAY)


def test_a_note_while_a_tool_runs_is_delivered_and_the_tool_goes_on() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    started = call(
        FunctionCall("r1", "item-1", "c1", "request_user_feedback", '{"question": "Q?"}')
    )
    assert started and call.phase is Phase.TALKING
    assert call(OwnerNote(8, "Tuesday is fine too.")) == delivered(8, "Tuesday is fine too.")


def test_notes_sent_while_the_phone_rings_come_before_the_greeting() -> None:
    call = Call()
    assert call(OwnerNote(1, "Say I'm a returning patient.")) == []  # no script yet
    assert call(CallStarted(SCRIPT, "HUMAN")) == [
        Connect(SCRIPT.instructions, respond_to_turns=False)
    ]
    assert call(OwnerNote(2, WEDNESDAY)) == []  # the session is being opened
    assert call(Connected()) == [
        *delivered(1, "Say I'm a returning patient."),
        *delivered(2, WEDNESDAY),
        *GREET,
    ]


def test_a_note_to_a_machine_being_screened_is_delivered() -> None:
    call = Call()
    call.screening()
    assert call(OwnerNote(3, "If it is a menu, press 2.")) == delivered(
        3, "If it is a menu, press 2."
    )


def test_a_note_during_a_resume_waits_for_the_new_session() -> None:
    call = Call()
    call.talking()
    assert call(OwnerNote(1, WEDNESDAY)) == delivered(1, WEDNESDAY)
    assert call(RealtimeClosed("reset"), after_ms=2000) == [
        CloseRealtime(),
        ClearPlayout(),
        LoadHistory(),
    ]
    assert call(PlayoutCleared(Cleared(0, 0, None, None, 0))) == []
    assert call(OwnerNote(2, "Mornings only.")) == []
    # The first note is in the history read back (the transcript turn); the second is sent.
    history = f"agent: Hello.\nowner_note: {WEDNESDAY}"
    assert call(HistoryLoaded(history)) == [
        Connect(f"{SCRIPT.instructions}\n\n{SCRIPT.history_intro}\n{history}")
    ]
    assert call(Connected()) == [*delivered(2, "Mornings only."), CreateResponse(SCRIPT.resume)]


def test_a_note_once_the_call_is_ending_is_declined() -> None:
    call = Call()
    call.talking()
    call(ResponseCreated("r1"))
    call(FunctionCall("r1", "item-end", "c9", "end_call", '{"reason": "booked"}'))
    assert call.phase is Phase.DRAINING
    assert call(OwnerNote(4, WEDNESDAY)) == [MarkNote(4, NOTE_TOO_LATE)]


def test_notes_held_when_the_line_closes_are_declined() -> None:
    call = Call()
    call(CallStarted(SCRIPT, None))
    call(OwnerNote(5, WEDNESDAY))
    assert call(CallEnded("hangup")) == [
        CloseRealtime(),
        MarkNote(5, NOTE_TOO_LATE),
        FlushTurns(),
        StoreVoiceActivity(ANY),
    ]
    assert call(OwnerNote(6, "too late")) == [MarkNote(6, NOTE_TOO_LATE)]


def test_a_note_is_delivered_once_however_often_it_is_handed_in() -> None:
    call = Call()
    call.talking()
    assert call(OwnerNote(7, WEDNESDAY)) == delivered(7, WEDNESDAY)
    assert call(OwnerNote(7, WEDNESDAY)) == []
    assert call.conversation.counts.notes == 1
