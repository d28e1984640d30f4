"""A call's conversation fed by hand, on a clock the test moves: no sockets, no sleeping."""

from __future__ import annotations

import datetime as dt
from unittest.mock import ANY

from media.call_script import CallScript
from media.conversation import Command, Conversation, Input, Phase, Timer, Timing
from media.conversation.commands import (
    CancelTimer,
    Connect,
    CreateResponse,
    RespondToTurns,
    SetTimer,
)
from media.conversation.inputs import CalleeAudio, CallStarted, Connected, TimerFired
from media.realtime_events import ResponseCreated, ResponseDone

EPOCH = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)  # wall-clock time at monotonic 0 ms
TIMING = Timing(
    amd_wait_ms=1000, amd_poll_ms=100, machine_wait_ms=6000, greeting_wait_ms=1500, drain_ms=15000
)
SCRIPT = CallScript(
    instructions="You call Bright Smile Dental for Alex Morgan.",
    greeting="Say you are an AI assistant calling for Alex Morgan.",
    voicemail='Say exactly: "Please call Alex back."',
    tools=(),
    resume="Apologise for the dropped line.",
    history_intro="The conversation so far:",
    hold="On hold: answer a person, else call wait_on_hold.",
    hold_limit="Say you will call back; goodbye.",
    hold_limit_s=300,
    note_intro="A note from Alex Morgan:",
)
# The agent's opening: the greeting, then the server answers the callee's turns itself.
GREET = [CreateResponse(SCRIPT.greeting), RespondToTurns()]


def timer(timer: Timer, delay_ms: int) -> SetTimer:
    """A `SetTimer` as the conversation returns it, whatever its token."""
    return SetTimer(timer, delay_ms, ANY)


class Call:
    """Feeds one `Conversation`, keeping the monotonic time and the timers it set."""

    def __init__(self, timing: Timing = TIMING) -> None:
        self.conversation = Conversation(wall_epoch=EPOCH, timing=timing)
        self.now_ms = 0
        self.timers: dict[Timer, tuple[int, int]] = {}  # timer → (due ms, token)

    @property
    def phase(self) -> Phase:
        return self.conversation.phase

    def __call__(self, event: Input, *, after_ms: int = 0) -> list[Command]:
        """Hand `event` in `after_ms` after the previous one; what the conversation says."""
        self.now_ms += after_ms
        commands = self.conversation.handle(event, self.now_ms)
        for command in commands:
            if isinstance(command, SetTimer):
                self.timers[command.timer] = (self.now_ms + command.delay_ms, command.token)
            elif isinstance(command, CancelTimer):
                self.timers.pop(command.timer, None)
        return commands

    def speak(self, ms: int, level: float = 0.2, *, played: float = 0.0) -> list[Command]:
        """The callee's voice at `level` for `ms`, frame by frame (the agent's frame playing
        meanwhile at `played`); what the conversation said to all of it."""
        commands: list[Command] = []
        for _ in range(ms // 20):
            commands += self(CalleeAudio(20.0, level, played), after_ms=20)
        return commands

    def fire(self, which: Timer) -> list[Command]:
        """Move the clock to the timer's due time and hand in its firing."""
        due, token = self.timers.pop(which)
        self.now_ms = max(self.now_ms, due)
        return self(TimerFired(which, token))

    def talking(self, script: CallScript = SCRIPT) -> None:
        """A person answered (AMD said HUMAN: their "Hello?" has been said and has ended), the
        session is up, the greeting asked for."""
        assert self(CallStarted(script, "HUMAN")) == [
            Connect(script.instructions, respond_to_turns=False)
        ]
        assert self(Connected()) == [CreateResponse(script.greeting), RespondToTurns()]
        assert self.phase is Phase.TALKING

    def screening(self) -> None:
        """AMD said MACHINE; the session is up, the agent listens for the machine's words."""
        assert self(CallStarted(SCRIPT, "MACHINE"))
        assert self(Connected()) == [timer(Timer.MACHINE_WAIT, 6000)]
        assert self.phase is Phase.SCREENING

    def response(self, response_id: str) -> None:
        """A response the model finished without tools."""
        assert self(ResponseCreated(response_id)) == []
        assert self(ResponseDone(response_id, "completed")) == []
