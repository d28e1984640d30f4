"""Calls as the owner reads them: result, duration, transcript, facts with their quotes,
the analysis, the recording (or why there is none) — and the calls that are up right now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.db import Database, NotFound
from core.db.models import Call
from core.domain import (
    REHEARSAL_VOICE,
    CallAnalysis,
    CallState,
    NextStep,
    RecordedFact,
    StoredAnalysis,
    TranscriptTurn,
    TurnRole,
    read_items,
)
from core.domain import Fact as AnalysisFact
from core.services.errors import ServiceError


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str  # "AI", "Callee", "You" (the owner's answers) or "Your note"
    text: str
    at: dt.datetime | None
    role: TurnRole | None = None

    @property
    def note(self) -> bool:
        """The owner's note to the agent: sent during the call, never said on it."""
        return self.role is TurnRole.OWNER_NOTE


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str
    quote: str
    supported: bool = True  # False: the analyzer did not find the quote in the transcript


@dataclass(frozen=True, slots=True)
class Analysis:
    outcome: str
    summary: str
    next_step: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class CallView:
    id: int
    task_id: int
    attempt: int
    dialed_number: str
    state: str
    result: str  # the analysis' outcome when there is one, else what telephony saw
    hangup: str
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    duration_s: int | None
    transcript: tuple[Turn, ...]
    facts: tuple[Fact, ...]
    analysis: Analysis | None
    has_recording: bool
    end_reason: str = ""  # why it ended when the conversation did not end it
    recording_problem: str = ""  # why there is no recording to play, when that was noted
    voice: str = ""  # the voice that carried it ("rehearsal", a model name, or unknown)

    @property
    def rehearsal(self) -> bool:
        """Carried by the local scripted voice: shown as a rehearsal wherever it appears."""
        return self.voice == REHEARSAL_VOICE


@dataclass(frozen=True, slots=True)
class LiveCallView:
    call: CallView
    campaign_id: int
    campaign_name: str
    target_name: str


_SPEAKERS = {
    TurnRole.AGENT: "AI",
    TurnRole.CALLEE: "Callee",
    TurnRole.OWNER: "You",
    TurnRole.OWNER_NOTE: "Your note",
    TurnRole.HANDOVER: "Handover",
}


def _turn(turn: TranscriptTurn) -> Turn | None:
    text = turn.text.strip()
    return Turn(_SPEAKERS[turn.role], text, turn.at, turn.role) if text else None


def _fact(fact: RecordedFact | AnalysisFact) -> Fact | None:
    label, value, quote = fact.name.strip(), fact.value.strip(), fact.quote.strip()
    supported = fact.supported if isinstance(fact, AnalysisFact) else True
    return Fact(label.replace("_", " "), value, quote, supported) if value or label else None


def _next_step(step: NextStep) -> str:
    when = f" at {step.at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if step.at else ""
    reason = step.reason.strip()
    return step.action.replace("_", " ") + when + (f" ({reason})" if reason else "")


def analysis_view(analysis: CallAnalysis | None) -> Analysis | None:
    if analysis is None:
        return None
    return Analysis(
        outcome=analysis.outcome.replace("_", " "),
        summary=analysis.summary.strip(),
        next_step=_next_step(analysis.next_step),
        confidence=analysis.confidence,
    )


def facts_of(
    analysis: CallAnalysis | None, recorded: Sequence[RecordedFact] = ()
) -> tuple[Fact, ...]:
    """The facts of an analysis (and any recorded during the call), each once."""
    seen: set[tuple[str, str]] = set()
    unique = []
    found: list[RecordedFact | AnalysisFact] = [*recorded, *(analysis.facts if analysis else [])]
    for fact in map(_fact, found):
        if fact is not None and (fact.label, fact.value) not in seen:
            seen.add((fact.label, fact.value))
            unique.append(fact)
    return tuple(unique)


# A WAV file's header: a file no bigger holds no audio (what Asterisk leaves when it cannot
# write the recording, e.g. on a full filesystem).
WAV_HEADER_BYTES = 44


def recording_file(call: Call, recordings_dir: Path) -> Path | None:
    """The call's recording if it is a readable file with audio inside `recordings_dir`, else
    None.

    Relative paths are read from `recordings_dir`; symlinks and `..` are resolved first, so a
    path that points outside the directory is refused. An absolute path is Asterisk's own (its
    spool, possibly inside a chroot or on another machine): the file of that name is looked
    up in `recordings_dir`.
    """
    if not call.recording_path:
        return None
    root = recordings_dir.resolve()
    path = Path(call.recording_path)
    if path.is_absolute() and not path.is_relative_to(root):
        path = Path(path.name)
    resolved = (path if path.is_absolute() else root / path).resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    if resolved.stat().st_size <= WAV_HEADER_BYTES:
        return None
    try:
        # Opening tells what this process may read (its effective ids), which `os.access`
        # (the real ids) does not.
        with resolved.open("rb"):
            return resolved
    except OSError:
        return None


def call_view(call: Call, recordings_dir: Path) -> CallView:
    analysis = StoredAnalysis.read(call.analysis)
    view = analysis_view(analysis)
    telephony = call.outcome.value.replace("_", " ") if call.outcome else ""
    if call.state is not CallState.ENDED:
        result = "in progress"
    else:
        result = (view.outcome if view and view.outcome else "") or telephony or "ended"
    duration = None
    if call.answered_at and call.ended_at:
        duration = max(0, round((call.ended_at - call.answered_at).total_seconds()))
    return CallView(
        id=call.id,
        task_id=call.task_id,
        attempt=call.attempt,
        dialed_number=call.dialed_number,
        state=call.state.value,
        result=result,
        hangup=call.hangup_cause_text or "",
        started_at=call.created_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        duration_s=duration,
        transcript=tuple(t for t in map(_turn, read_items(TranscriptTurn, call.transcript)) if t),
        facts=facts_of(analysis, read_items(RecordedFact, call.facts)),
        analysis=view,
        has_recording=recording_file(call, recordings_dir) is not None,
        end_reason=call.end_reason or "",
        recording_problem=call.recording_problem or "",
        voice=call.voice or "",
    )


async def live_calls(db: Database, user_id: int, recordings_dir: Path) -> Sequence[LiveCallView]:
    """The user's calls that have not ended, oldest first, with their transcript so far."""
    out: list[LiveCallView] = []
    async with db.scope(user_id) as s:
        for call in await s.calls.list_live():
            task = await s.tasks.require(call.task_id)
            campaign = await s.campaigns.require(task.campaign_id)
            out.append(
                LiveCallView(
                    call=call_view(call, recordings_dir),
                    campaign_id=campaign.id,
                    campaign_name=campaign.name,
                    target_name=task.target_name,
                )
            )
    return out


async def recording_of(db: Database, user_id: int, call_id: int, recordings_dir: Path) -> Path:
    """The readable recording of one of the user's calls; `ServiceError` when there is none."""
    async with db.scope(user_id) as s:
        call = await s.calls.get(call_id)
    if call is None:
        raise NotFound("call", call_id)
    path = recording_file(call, recordings_dir)
    if path is None:
        raise ServiceError(f"call {call_id} has no recording that can be played")
    return path
