"""The rehearsal scripts: deterministic stand-ins for each agent, labelled as rehearsal."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage, ToolMessage

from agents.scripted import REHEARSAL_LABEL, scripted_model
from agents.ui_assistant.rehearsal import _targets


def test_assistant_reads_names_and_numbers() -> None:
    assert _targets(["Smile Dental +1 212 555 0101, Brooklyn Teeth +1 212 555 0102"]) == [
        {"name": "Smile Dental", "phone": "+1 212 555 0101"},
        {"name": "Brooklyn Teeth", "phone": "+1 212 555 0102"},
    ]
    assert _targets(["call +12125550101"]) == [{"name": "Target 1", "phone": "+12125550101"}]


def test_assistant_asks_then_plans_then_reports_a_refused_plan() -> None:
    model = scripted_model("rehearsal", "assistant")
    ask = model.invoke([HumanMessage(content="book a cleaning")])
    assert str(ask.content).startswith(REHEARSAL_LABEL + "Whom should I call?")
    plan = model.invoke(
        [HumanMessage(content="book a cleaning"), HumanMessage(content="Smile +12125550101")]
    )
    [call] = plan.tool_calls
    assert call["name"] == "CampaignPlan" and call["args"]["targets"][0]["name"] == "Smile"
    refused = model.invoke(
        [ToolMessage(content="bad number", tool_call_id="x", name="CampaignPlan", status="error")]
    )
    assert "I could not use that plan: bad number" in str(refused.content)


@pytest.mark.parametrize(
    ("line", "outcome"),
    [
        ("Please don't call this number again", "opt_out"),
        ("Sorry, wrong number", "wrong_number"),
        ("Call me back Thursday after 3 pm", "callback_requested"),
        ("Please leave a message after the tone", "voicemail"),
        ("We're not interested", "refused"),
        ("Yes, Tuesday 9:30 is booked", "achieved"),
        ("Hmm", "partial"),
    ],
)
def test_analyzer_rules(line: str, outcome: str) -> None:
    model = scripted_model("rehearsal", "analyzer")
    reply = model.invoke(
        [HumanMessage(content=f"Objective: x\nTRANSCRIPT:\nagent: hello\ncallee: {line}")]
    )
    [call] = reply.tool_calls
    assert call["args"]["outcome"] == outcome
    assert reply.response_metadata["rehearsal"] is True


def test_orchestrator_and_lifecycle_keep_things_as_they_are() -> None:
    plan = {"name": "x", "objective": "y", "targets": []}
    revision = scripted_model("rehearsal", "orchestrator").invoke(
        [HumanMessage(content=f"Current plan:\n{json.dumps(plan)}\n\nThe owner's changes:\nmore")]
    )
    assert revision.tool_calls[0]["args"] == plan
    decision = scripted_model("rehearsal", "lifecycle").invoke([HumanMessage(content="{}")])
    assert decision.tool_calls[0]["args"] == {"choices": [], "summaries": []}
    with pytest.raises(KeyError, match="no part for 'nobody'"):
        scripted_model("rehearsal", "nobody")
