"""The end-of-call rule: Originate reasons, hangup causes and answered calls → CallOutcome."""

from __future__ import annotations

import pytest

from core.db.models import CallOutcome
from telephony.call_outcome import OriginateReason, classify_end, parse_cause, parse_reason
from telephony.hangup_causes import CAUSE_TEXTS, CauseKind, cause_kind, cause_text

Out = CallOutcome


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (16, CauseKind.NORMAL),
        (31, CauseKind.NORMAL),
        (17, CauseKind.BUSY),
        (21, CauseKind.BUSY),
        (18, CauseKind.NO_ANSWER),
        (19, CauseKind.NO_ANSWER),
        (20, CauseKind.NO_ANSWER),
        (34, CauseKind.CONGESTION),
        (38, CauseKind.CONGESTION),
        (41, CauseKind.CONGESTION),
        (42, CauseKind.CONGESTION),
        (44, CauseKind.CONGESTION),
        (1, CauseKind.FAILED),
        (3, CauseKind.FAILED),
        (22, CauseKind.FAILED),
        (28, CauseKind.FAILED),
        (66, CauseKind.FAILED),
        (0, CauseKind.FAILED),
        (999, CauseKind.FAILED),
        (None, CauseKind.FAILED),
    ],
)
def test_cause_kinds(code: int | None, kind: CauseKind) -> None:
    assert cause_kind(code) is kind


@pytest.mark.parametrize(
    ("code", "reported", "text"),
    [
        (16, None, "Normal Clearing"),
        (17, "", "User busy"),
        (19, None, "User alerting, no answer"),
        (34, None, "Circuit/channel congestion"),
        (1, None, "Unallocated (unassigned) number"),
        (16, " Normal Clearing ", "Normal Clearing"),
        (66, "Channel not implemented", "Channel not implemented"),
        (250, None, "Cause 250"),
        (None, None, None),
        (None, "Something", "Something"),
    ],
)
def test_cause_text_prefers_what_asterisk_reported(
    code: int | None, reported: str | None, text: str | None
) -> None:
    assert cause_text(code, reported) == text


def test_cause_table_uses_asterisk_texts_for_the_common_codes() -> None:
    assert CAUSE_TEXTS[21] == "Call Rejected"
    assert CAUSE_TEXTS[18] == "No user responding"
    assert CAUSE_TEXTS[42] == "Switching equipment congestion"


@pytest.mark.parametrize(
    ("raw", "value"),
    [("4", 4), (" 5 ", 5), ("0", 0), ("", None), ("x", None), (None, None)],
)
def test_parse_reason(raw: str | None, value: int | None) -> None:
    assert parse_reason(raw) == value
    assert parse_cause(raw) == value


def test_originate_reasons_are_asterisks_control_frames() -> None:
    assert [int(r) for r in OriginateReason] == [0, 1, 2, 3, 4, 5, 8]


@pytest.mark.parametrize(
    ("kwargs", "outcome"),
    [
        # answered wins over everything
        ({"answered": True, "cause": 16}, Out.ANSWERED),
        ({"answered": True, "cause": 17, "reason": 5}, Out.ANSWERED),
        ({"answered": True, "cancelled": True}, Out.ANSWERED),
        ({"answered": True, "amd_status": "MACHINE"}, Out.VOICEMAIL),
        ({"answered": True, "amd_status": "machine"}, Out.VOICEMAIL),
        ({"answered": True, "amd_status": "HUMAN"}, Out.ANSWERED),
        ({"answered": True, "amd_status": "NOTSURE"}, Out.ANSWERED),
        # OpenDeep hung up first
        ({"answered": False, "cancelled": True, "cause": 16}, Out.CANCELLED),
        ({"answered": False, "refused": True}, Out.TECHNICAL_FAILURE),
        # a refused Originate's "answer" was another call's
        ({"answered": True, "refused": True}, Out.TECHNICAL_FAILURE),
        # the PBX stopped or restarted under the call: nobody ended it
        ({"answered": True, "cause": 16, "pbx_stopped": True}, Out.TECHNICAL_FAILURE),
        ({"answered": True, "amd_status": "MACHINE", "pbx_stopped": True}, Out.TECHNICAL_FAILURE),
        (
            {"answered": False, "rang": True, "cause": 16, "pbx_stopped": True},
            Out.TECHNICAL_FAILURE,
        ),
        # the Originate's reason
        ({"answered": False, "reason": 5, "cause": 16}, Out.BUSY),
        ({"answered": False, "reason": 8}, Out.CONGESTION),
        ({"answered": False, "reason": 3, "cause": 16}, Out.NO_ANSWER),
        # then the cause
        ({"answered": False, "reason": 0, "cause": 17}, Out.BUSY),
        ({"answered": False, "reason": 1, "cause": 21}, Out.BUSY),
        ({"answered": False, "reason": 0, "cause": 19}, Out.NO_ANSWER),
        ({"answered": False, "cause": 18}, Out.NO_ANSWER),
        ({"answered": False, "reason": 0, "cause": 34}, Out.CONGESTION),
        ({"answered": False, "cause": 42}, Out.CONGESTION),
        ({"answered": False, "reason": 0, "cause": 1}, Out.FAILED),
        ({"answered": False, "reason": 0, "cause": 66}, Out.FAILED),
        ({"answered": False, "rang": True, "cause": 16}, Out.NO_ANSWER),
        ({"answered": False, "rang": False, "cause": 16}, Out.FAILED),
        ({"answered": False}, Out.FAILED),
        ({"answered": False, "reason": 0}, Out.FAILED),
    ],
)
def test_classify_end(kwargs: dict[str, object], outcome: CallOutcome) -> None:
    assert classify_end(**kwargs) is outcome  # type: ignore[arg-type]
