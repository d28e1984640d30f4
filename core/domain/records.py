"""The shapes of the JSON columns: every reader and writer goes through these models.

Each model dumps (`to_json`) exactly the JSON stored before it existed, so rows written
earlier read back unchanged. Reading is tolerant: an item of a list that does not fit is left
out (`read_items`), a key of an object that does not fit reads as missing (`read_record`) —
never allowed to hide the rest of the row. (The plan and the feedback payload have modules of
their own: `plan.py`, `feedback.py`.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PlainSerializer, ValidationError

from core.domain.vocabulary import TurnRole

# Stored as `datetime.isoformat()` wrote it ("+00:00", not pydantic's "Z").
IsoDateTime = Annotated[dt.datetime, PlainSerializer(dt.datetime.isoformat, return_type=str)]

R = TypeVar("R", bound=BaseModel)


class Record(BaseModel):
    """A JSON column's item: unknown keys are ignored on reading, never written."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def read_items(model: type[R], raw: Any) -> list[R]:
    """The items of a stored JSON list that fit `model`, in order; anything else is skipped."""
    if not isinstance(raw, list):
        return []
    items = []
    for item in raw:
        try:
            items.append(model.model_validate(item))
        except ValidationError:
            continue
    return items


def read_record(model: type[R], raw: Any) -> R:
    """The record stored in a JSON object, never failing: a key whose value does not fit is
    read as missing, so one bad key never hides the rest; anything but an object reads as the
    empty record (`model` has a default for every field)."""
    data = dict(raw) if isinstance(raw, Mapping) else {}
    while True:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            bad = {error["loc"][0] for error in exc.errors() if error["loc"]} & data.keys()
            if not bad:
                return model()
            for key in bad:
                del data[key]


def read_texts(raw: Any) -> list[str]:
    """A stored list of texts: a lone text is a list of one; blanks and non-lists are nothing."""
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple):
        return []
    return [str(item).strip() for item in items if str(item).strip()]


def dump_items(items: Iterable[Record]) -> list[dict[str, Any]]:
    return [item.to_json() for item in items]


class TranscriptTurn(Record):
    """One turn of `calls.transcript`: who said what, and when the bridge heard it."""

    role: TurnRole
    text: str
    at: IsoDateTime | None = None


class RecordedFact(Record):
    """One item of `calls.facts`: what the agent recorded during the call (`record_fact`)."""

    name: str
    value: str
    quote: str = ""
    at: IsoDateTime | None = None


class SpeechTurnRecord(Record):
    """One callee turn as server VAD reported it (see `media.speech_activity.SpeechTurn`)."""

    start_ms: int
    end_ms: int | None = None
    started_at: IsoDateTime
    ended_at: IsoDateTime | None = None


def _count(value: Any) -> int:
    # A counter that is missing, negative or not a number counts as nothing seen.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class VoiceActivityRecord(Record):
    """`calls.voice_activity`: what the bridge saw of the callee's voice (`{}` before it was
    measured), and how long the callee kept the agent on hold."""

    turns: list[SpeechTurnRecord] = Field(default_factory=list)
    turns_dropped: NonNegativeInt = 0  # VAD turns past the bridge's limit: counted, not kept
    audio_ms: NonNegativeInt = 0
    voiced_ms: NonNegativeInt = 0
    transcribed: NonNegativeInt = 0
    failed_transcriptions: NonNegativeInt = 0
    on_hold_ms: NonNegativeInt = 0  # hold music, a queue, a screener connecting: in all

    @classmethod
    def read(cls, raw: Any) -> VoiceActivityRecord:
        """The stored record; anything missing or malformed counts as nothing seen."""
        if not isinstance(raw, dict):
            return cls()
        counters = {name: _count(raw.get(name)) for name in cls.model_fields if name != "turns"}
        return cls(turns=read_items(SpeechTurnRecord, raw.get("turns")), **counters)


class TaskResult(Record):
    """`tasks.result`: why the task stands where it does (only the keys set are stored)."""

    outcome: str | None = None  # the analysis' outcome, when a call was analysed
    reason: str = ""
    goal_achieved: bool | None = None
    detail: str | None = None  # what telephony or the bridge said, for an unanalysed attempt

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def read(cls, raw: Any) -> TaskResult:
        try:
            return cls.model_validate(raw if isinstance(raw, dict) else {})
        except ValidationError:
            return cls()


class FeedbackAnswer(Record):
    """`feedback_requests.answer`: the Approvals tab stores `{text}`, an agent-inbox response
    `{type, args}`, a review card's button `{decision, …}`."""

    model_config = ConfigDict(frozen=True, extra="allow")

    text: str | None = None
    type: str | None = None
    args: Any = None
    decision: str | None = None

    @property
    def words(self) -> str | None:
        """What the owner wrote: the text, or a response's text; None when they wrote none."""
        said = self.text if self.type is None else self.args
        return said.strip() if isinstance(said, str) and said.strip() else None

    @classmethod
    def read(cls, raw: Any) -> FeedbackAnswer | None:
        if not isinstance(raw, dict) or not raw:
            return None
        try:
            return cls.model_validate(raw)
        except ValidationError:
            return cls()

    @classmethod
    def words_in(cls, raw: Any) -> str | None:
        """The owner's words in a stored answer (`words`), None when there are none."""
        answer = cls.read(raw)
        return answer.words if answer is not None else None


class AuditDetail(Record):
    """`audit_events.detail`: what was decided, in the owner's words where they wrote some.

    Only the keys set are stored. Never a secret: settings changes name preferences, which
    hold none, and no field carries a password or a key.
    """

    decision: str | None = None  # approve / edit / reject, a review's or check-in's button
    text: str | None = None  # what the owner wrote: an answer, the changes, a reason
    question: str | None = None  # the question answered
    late: bool | None = None  # answered after the call had ended
    reason: str | None = None  # why a number went on the Do-Not-Call list
    source: str | None = None  # how it got there: manual, csv, call
    changes: dict[str, str] | None = None  # settings: preference -> its new value

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def read(cls, raw: Any) -> AuditDetail:
        try:
            return cls.model_validate(raw if isinstance(raw, dict) else {})
        except ValidationError:
            return cls()
