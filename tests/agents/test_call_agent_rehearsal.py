"""The rehearsal voice's scripts: chosen from the instructions a call's agent was given."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.call_agent import CallBrief, render_instructions
from agents.call_agent.rehearsal import (
    RECEPTIONIST_LINES,
    brief_of,
    demo_scripts,
    rehearsal_script,
    script_selector,
)
from media.realtime_server import CallTool, Say

PROMPTS = Path(__file__).resolve().parents[2] / "asterisk" / "prompts.txt"


def instructions(owner: str, target: str, objective: str) -> str:
    brief = CallBrief(
        user_id=1,
        call_id=2,
        task_id=3,
        call_uuid="u",
        owner=owner,
        target_name=target,
        objective=objective,
        instructions="Ask for mornings.",
        disclosure="Hi.",
        voicemail_message=None,
    )
    return render_instructions(brief)


@pytest.mark.parametrize(
    ("owner", "target", "objective"),
    [
        ("Admin", "Smile Dental", "Book me a dental cleaning next week, mornings"),
        ("Dr. J. Smith", "St. Mary's Clinic", "Ask about\nopening hours."),
        ("Zoë", "A. B. C. Plumbing", "Get a quote. Two lines."),
    ],
)
def test_the_brief_is_read_back_from_the_rendered_instructions(
    owner: str, target: str, objective: str
) -> None:
    assert brief_of(instructions(owner, target, objective)) == (
        owner,
        target,
        " ".join(objective.split()),
    )


def test_instructions_it_cannot_read_give_empty_fields() -> None:
    assert brief_of("You are a helpful assistant.") == ("", "", "")


def test_any_other_call_gets_the_receptionist_with_the_owner_and_objective() -> None:
    script = rehearsal_script(instructions("Admin", "Smile Dental", "Book a cleaning."))
    assert script.name == "receptionist"
    said = [o.text for r in script.responses for o in r.outputs if isinstance(o, Say)]
    assert said[0] == "Hi, this is an AI assistant calling on behalf of Admin."
    assert "Hello! I'm calling about this: Book a cleaning." in said
    tools = [o.name for r in script.responses for o in r.outputs if isinstance(o, CallTool)]
    assert tools == ["record_fact", "end_call"]
    assert script.caller_transcripts == list(RECEPTIONIST_LINES)


def test_demo_targets_get_their_own_scripts() -> None:
    for target in ("Bright Smile Dental", "Harbor Dental", "Quiet Street Dental"):
        script = rehearsal_script(instructions("Admin", target, "Book."))
        assert script.model_copy(update={"replies": {}}) == demo_scripts("Admin")[target]
        assert script.replies  # with the handover's lines


def test_the_receptionist_says_what_the_development_pbx_plays() -> None:
    """Her side of the transcript stands in for speech recognition: it must be her lines."""
    lines = {}
    for row in PROMPTS.read_text().splitlines():
        if row and not row.startswith("#"):
            name, _, text = row.split("|", 2)
            lines[name] = text
    anna = ("hello", "anna-greeting", "anna-opening", "anna-booked")
    assert tuple(lines[n] for n in anna) == RECEPTIONIST_LINES


def test_a_selector_over_given_scripts_matches_by_target() -> None:
    scripts = demo_scripts("Alex")
    select = script_selector({"Harbor Dental": scripts["Harbor Dental"]})
    assert select(instructions("Alex", "Harbor Dental", "x")) == scripts["Harbor Dental"]
    assert select(instructions("Alex", "Nobody", "x")) is None
    assert script_selector()(instructions("Alex", "Nobody", "x")) is not None


def test_the_rehearsal_voice_answers_each_handover_instruction_with_its_own_line() -> None:
    """The handover's response instructions (rendered from `prompts/v1`) each pick one reply of
    the rehearsal voice, not the next line of its script."""
    from agents.call_agent.script import call_script

    brief = CallBrief(
        user_id=1,
        call_id=2,
        task_id=3,
        call_uuid="u",
        owner="Alex Morgan",
        target_name="Harbor Insurance",
        objective="Ask about the March bill.",
        instructions="Ask for mornings.",
        disclosure="Hi.",
        voicemail_message=None,
    )
    script = call_script(brief)
    voice = rehearsal_script(script.instructions)
    said = {}
    for name in ("connecting", "owner_brief", "owner_unavailable", "transfer_failed"):
        asked = getattr(script, name)
        (reply,) = [r for key, r in voice.replies.items() if key in asked]
        (line,) = reply.outputs
        assert isinstance(line, Say)
        said[name] = line.text
    assert said["connecting"].startswith("One moment, I'm connecting you to Alex Morgan")
    assert said["owner_brief"] == (
        "Hi Alex Morgan, this is your assistant. I'm on the line with Harbor Insurance about "
        "this: Ask about the March bill. They're waiting for you. Connecting you now."
    )
    assert "can't come to the phone" in said["owner_unavailable"]
    assert "couldn't transfer you" in said["transfer_failed"]
    # The greeting and the script's own lines are not taken for one of them.
    assert not [k for k in voice.replies if k in script.greeting]
