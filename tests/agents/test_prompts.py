"""Prompt files: every one loads, placeholders are filled, paths stay inside agents/."""

from __future__ import annotations

from string import Template

import pytest

from agents.call_agent.brief import render_hold, render_instructions
from agents.prompts import AGENTS_DIR, PromptNotFound, load_prompt, render_prompt
from media.call_script import CallBrief

PROMPTS = sorted(AGENTS_DIR.glob("*/prompts/*/*.md"))


def test_every_agent_has_versioned_prompts() -> None:
    agents = {p.parts[-4] for p in PROMPTS}
    assert agents == {
        "ui_assistant",
        "orchestrator",
        "post_call_analyzer",
        "lifecycle_manager",
        "call_agent",
    }


@pytest.mark.parametrize("path", PROMPTS, ids=lambda p: "/".join(p.parts[-4:]))
def test_each_prompt_loads_and_its_placeholders_are_wellformed(path) -> None:  # type: ignore[no-untyped-def]
    text = load_prompt(path.parts[-4], path.stem, path.parts[-2])
    assert text.strip()
    Template(text).get_identifiers()  # raises on a malformed $placeholder
    assert Template(text).is_valid()


def test_a_missing_value_is_named() -> None:
    with pytest.raises(KeyError, match="objective"):
        render_prompt("post_call_analyzer", "call", "v1")


@pytest.mark.parametrize(
    ("agent", "name", "version"),
    [("../core", "x", "v1"), ("orchestrator", "nope", "v1"), ("orchestrator", "approval", "v9")],
)
def test_bad_prompt_paths(agent: str, name: str, version: str) -> None:
    with pytest.raises(PromptNotFound):
        load_prompt(agent, name, version)


BRIEF = CallBrief(
    user_id=1,
    call_id=1,
    task_id=1,
    call_uuid="u",
    owner="Alex Morgan",
    target_name="Bright Smile Dental",
    objective="Book a cleaning",
    instructions="Ask for a morning slot.",
    disclosure="Hi, this is an AI assistant calling on behalf of Alex Morgan.",
    voicemail_message=None,
)


def test_the_call_agent_reads_numbers_spellings_and_dates_back_in_groups() -> None:
    """Misheard digits and letters are the commonest failure of a phone call: the agent is told
    to read them back in groups and have them confirmed."""
    text = " ".join(render_instructions(BRIEF).split()).lower()
    assert "read back every phone number, e-mail address, date and time" in text
    assert "in groups" in text
    assert "spell e-mail addresses letter by letter" in text
    assert "ask the person to confirm" in text


def test_the_call_agent_waits_on_hold_in_silence_and_answers_call_screeners() -> None:
    text = " ".join(render_instructions(BRIEF).split()).lower()
    assert "call `wait_on_hold` and say nothing until a person speaks to you" in text
    assert "never talk over hold music" in text
    assert "call-screening service" in text
    assert (
        "you are an ai assistant calling on behalf of alex morgan and why you are calling" in text
    )
    # Each sound on hold: a person is answered (who calls, for whom), anything else waited out.
    hold = " ".join(render_hold(BRIEF).split()).lower()
    assert "on behalf of alex morgan" in hold and "call `wait_on_hold` and say nothing" in hold
