"""Times are shown in the reader's time zone, with its abbreviation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from core.db.models import CampaignStatus
from core.domain import TurnRole
from core.services.calls import CallView, LiveCallView, Turn
from core.services.campaigns import CampaignDetail, CampaignSummary
from ui.render import call_block, campaign_cards, campaign_head, header, live_calls, when

NOON_UTC_WINTER = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
NOON_UTC_SUMMER = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.UTC)


def test_utc_by_default() -> None:
    assert when(NOON_UTC_WINTER) == "2026-01-15 12:00 UTC"


def test_in_the_readers_zone_with_daylight_saving() -> None:
    new_york = ZoneInfo("America/New_York")
    assert when(NOON_UTC_WINTER, new_york) == "2026-01-15 07:00 EST"
    assert when(NOON_UTC_SUMMER, new_york) == "2026-07-15 08:00 EDT"
    assert when(NOON_UTC_SUMMER, ZoneInfo("Asia/Kolkata")) == "2026-07-15 17:30 IST"


def test_no_time_is_a_dash() -> None:
    assert when(None, ZoneInfo("Europe/Paris")) == "—"


# --- what a call and a campaign say about the voice and about failures ---------------------

NOW = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)


def _call(**changes: object) -> CallView:
    base = CallView(
        id=7,
        task_id=3,
        attempt=1,
        dialed_number="+12125550101",
        state="ended",
        result="technical failure",
        hangup="Normal Clearing",
        started_at=NOW,
        answered_at=NOW,
        ended_at=NOW + dt.timedelta(seconds=2),
        duration_s=2,
        transcript=(),
        facts=(),
        analysis=None,
        has_recording=False,
        end_reason="the voice could not start: OPENAI_API_KEY is empty",
        voice="rehearsal",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_technical_failure_is_shown_as_one_with_its_reason() -> None:
    html = call_block(_call(), None)
    assert 'od-badge-technical-failure">technical failure<' in html
    assert "answered" not in html
    assert "Why it ended:</strong> the voice could not start: OPENAI_API_KEY is empty" in html


def test_a_call_without_its_recording_says_why_where_the_player_would_be() -> None:
    why = "the PBX could not write x.wav: the recordings folder /rec is full (0 KiB free)"
    html = call_block(_call(recording_problem=why), lambda call_id: f"/recordings/{call_id}")
    assert "<audio" not in html
    assert f'<p class="od-recording-missing"><strong>No recording:</strong> {why}</p>' in html
    # A recording there to play is played, whatever was noted before.
    played = call_block(
        _call(has_recording=True, recording_problem=why), lambda call_id: f"/recordings/{call_id}"
    )
    assert '<audio controls preload="metadata" src="/recordings/7">' in played
    assert "No recording" not in played
    assert "No recording" not in call_block(_call(), None)


def test_a_rehearsal_call_says_so_on_its_card_and_in_live_calls() -> None:
    assert "rehearsal voice" in call_block(_call(), None)
    assert "rehearsal voice" not in call_block(_call(voice="gpt-realtime-2.1"), None)
    live = LiveCallView(_call(state="answered"), 1, "Dentists", "Smile Dental")
    assert 'od-badge-rehearsal">rehearsal voice<' in live_calls([live], {})
    other = LiveCallView(_call(state="answered", voice=""), 1, "Dentists", "Smile Dental")
    assert "rehearsal voice" not in live_calls([other], {})


def test_the_header_labels_the_rehearsal_voice() -> None:
    assert "Rehearsal voice" in header("Admin", True, "+12125550101", 0, rehearsal_voice=True)
    assert "Rehearsal voice" not in header("Admin", True, "+12125550101", 0)


def test_a_campaign_that_does_not_dial_shows_why_on_its_card_and_head() -> None:
    summary = CampaignSummary(
        id=1,
        name="Dentists",
        objective="Book",
        status=CampaignStatus.PAUSED,
        status_label="paused",
        tasks_ended=0,
        tasks_total=3,
        created_at=NOW,
        summary="",
        actions=(),
        status_reason="dialling paused after 3 technical failures in a row — fix it, then Resume",
    )
    banner = '<div class="od-banner" role="alert">dialling paused after 3 technical failures'
    assert banner in campaign_cards([summary])
    assert banner in campaign_head(CampaignDetail(summary, (), ()))
    calm = dataclasses.replace(summary, status_reason="")
    assert "od-banner" not in campaign_cards([calm])


# --- the audit trail -------------------------------------------------------------------------


def test_the_audit_table_escapes_and_reads_in_the_users_zone() -> None:
    from core.domain import AuditAction
    from core.services import AuditEntryView
    from ui.render import audit_table

    entry = AuditEntryView(
        at=NOON_UTC_WINTER,
        actor="alice",
        action=AuditAction.DNC_ADDED,
        action_label="put a number on the Do-Not-Call list",
        subject="+12125550150",
        detail=(("Reason", "<b>asked</b>"), ("Source", "manual")),
    )
    html = audit_table([entry], ZoneInfo("America/New_York"))
    assert "2026-01-15 07:00 EST" in html and "+1 212-555-0150" in html
    assert "&lt;b&gt;asked&lt;/b&gt;" in html and "<b>asked" not in html
    assert "1 decision<" in html
    assert "No decisions recorded yet" in audit_table([])


# --- the owner on the line -------------------------------------------------------------------


def test_an_answered_call_has_a_listen_button_and_shows_the_owners_notes_as_theirs() -> None:
    turns = (
        Turn("AI", "Hello.", NOW, TurnRole.AGENT),
        Turn("Your note", "Offer <Wednesday> instead", NOW, TurnRole.OWNER_NOTE),
    )
    live = LiveCallView(_call(state="answered", transcript=turns), 1, "Dentists", "Smile Dental")
    html = live_calls([live], {})
    assert '<button type="button" class="od-listen" data-listen-call="7"' in html
    assert 'data-listen-status="7"' in html
    note = '<div class="od-turn od-turn-note"><span class="od-speaker">Your note</span>'
    assert note + "<span>Offer &lt;Wednesday&gt; instead</span></div>" in html
    assert '<div class="od-turn od-turn-ai">' in html
    ringing = LiveCallView(_call(state="ringing"), 1, "Dentists", "Smile Dental")
    assert "data-listen-call" not in live_calls([ringing], {})  # nothing to hear yet
