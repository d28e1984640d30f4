"""A campaign's turn-taking settings: stored plans with or without them, and the session fields
each setting becomes (which the local Realtime server accepts in their GA shape); its limit on
waiting on hold."""

from __future__ import annotations

import pytest

from agents.schemas import CampaignPlan
from core.domain import TurnTaking
from media.realtime_events import session_update
from media.realtime_server.session_config import check_update, default_session
from media.turn_settings import noise_reduction, turn_detection

PLAN = {
    "name": "Dentist",
    "objective": "Book a cleaning",
    "targets": [{"name": "Bright Smile Dental", "phone": "+12125550101"}],
}


def test_a_plan_stored_without_turn_taking_loads_with_the_telephone_defaults() -> None:
    plan = CampaignPlan.model_validate(PLAN)
    assert plan.turn_taking == TurnTaking()
    assert (plan.turn_taking.mode, plan.turn_taking.noise_reduction) == ("server_vad", "near_field")
    assert plan.turn_taking.interrupt_after_ms == 300
    partial = CampaignPlan.model_validate({**PLAN, "turn_taking": {"silence_duration_ms": 900}})
    assert partial.turn_taking == TurnTaking(silence_duration_ms=900)


@pytest.mark.parametrize(
    ("settings", "respond", "expected"),
    [
        (
            TurnTaking(),
            True,
            {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
                "create_response": True,
                "interrupt_response": False,  # the conversation decides barge-in
            },
        ),
        (
            TurnTaking(threshold=0.7, prefix_padding_ms=200, silence_duration_ms=900),
            False,
            {
                "type": "server_vad",
                "threshold": 0.7,
                "prefix_padding_ms": 200,
                "silence_duration_ms": 900,
                "create_response": False,
                "interrupt_response": False,
            },
        ),
        (
            TurnTaking(mode="semantic_vad", eagerness="low", silence_duration_ms=900),
            True,
            {
                "type": "semantic_vad",
                "eagerness": "low",
                "create_response": True,
                "interrupt_response": False,
            },
        ),
    ],
)
def test_each_setting_becomes_its_turn_detection_field(
    settings: TurnTaking, respond: bool, expected: dict[str, object]
) -> None:
    assert turn_detection(settings, respond=respond).to_dict() == expected


@pytest.mark.parametrize(
    ("setting", "sent"),
    [("near_field", {"type": "near_field"}), ("far_field", {"type": "far_field"}), ("off", None)],
)
def test_noise_reduction_is_sent_as_its_ga_object_or_left_out(
    setting: str, sent: dict[str, str] | None
) -> None:
    settings = TurnTaking.model_validate({"noise_reduction": setting})
    update = session_update(
        instructions="x",
        voice="alloy",
        turn_detection=turn_detection(settings, respond=True),
        noise_reduction=noise_reduction(settings),
    )
    assert update["session"]["audio"]["input"].get("noise_reduction") == sent


@pytest.mark.parametrize("mode", ["server_vad", "semantic_vad"])
def test_the_local_realtime_server_accepts_the_session_each_mode_makes(mode: str) -> None:
    settings = TurnTaking.model_validate({"mode": mode, "noise_reduction": "far_field"})
    update = session_update(
        instructions="x",
        voice="alloy",
        turn_detection=turn_detection(settings, respond=False),
        noise_reduction=noise_reduction(settings),
    )
    session = check_update(default_session("gpt-realtime"), update["session"], audio_sent=False)
    assert session["audio"]["input"]["turn_detection"]["type"] == mode
    assert session["audio"]["input"]["noise_reduction"] == {"type": "far_field"}


def test_settings_outside_their_range_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="interrupt_after_ms"):
        TurnTaking.model_validate({"interrupt_after_ms": -1})
    with pytest.raises(ValueError, match="eagerness"):
        TurnTaking.model_validate({"eagerness": "eager"})


def test_a_plan_stored_without_a_hold_limit_waits_on_hold_five_minutes_at_most() -> None:
    assert CampaignPlan.model_validate(PLAN).hold_limit_s == 300
    assert CampaignPlan.model_validate({**PLAN, "hold_limit_s": 900}).hold_limit_s == 900


@pytest.mark.parametrize("limit", [0, 29, 3601])
def test_a_hold_limit_outside_its_range_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="hold_limit_s"):
        CampaignPlan.model_validate({**PLAN, "hold_limit_s": limit})
