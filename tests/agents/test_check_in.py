"""Reading the owner's answer to a check-in: the buttons, plain commands, new instructions."""

from __future__ import annotations

from typing import Any

import pytest

from agents.lifecycle_manager import CheckInReply, read_check_in


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"decision": "keep_going"}, CheckInReply("keep_going")),
        ({"decision": "pause"}, CheckInReply("pause")),
        ({"decision": "stop"}, CheckInReply("stop")),
        ({"type": "accept", "args": None}, CheckInReply("keep_going")),
        ({"text": "yes"}, CheckInReply("keep_going")),
        ({"text": "OK, keep going please"}, CheckInReply("keep_going")),
        ({"text": "sure, continue"}, CheckInReply("keep_going")),
        ({"text": "Pause for now."}, CheckInReply("pause")),
        ({"text": "hold on"}, CheckInReply("pause")),
        ({"text": "Stop"}, CheckInReply("stop")),
        ({"text": "no"}, CheckInReply("stop")),
        ({"text": "No, stop the campaign."}, CheckInReply("stop")),
        ({"type": "response", "args": "cancel it"}, CheckInReply("stop")),
        # A sentence that starts like a command is an instruction, not the command.
        (
            {"text": "Stop asking about prices"},
            CheckInReply("instructions", "Stop asking about prices"),
        ),
        (
            {"text": " Ask whether they take Aetna too. "},
            CheckInReply("instructions", "Ask whether they take Aetna too."),
        ),
        ({"text": "   "}, None),
        ({}, None),
    ],
)
def test_check_in_answers(answer: dict[str, Any], expected: CheckInReply | None) -> None:
    assert read_check_in(answer) == expected
