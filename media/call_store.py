"""The database side of one live call, as the bridge needs it (always scoped by the user)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any, Protocol

from pydantic import ValidationError

from core.db import Database, utcnow
from core.domain import (
    HOLD_LIMIT_S,
    MAX_HOLD_LIMIT_S,
    MIN_HOLD_LIMIT_S,
    CallOutcome,
    FeedbackAnswer,
    FeedbackKind,
    FeedbackStatus,
    RecordedFact,
    TranscriptTurn,
    TurnTaking,
    VoiceActivityRecord,
    read_items,
)
from core.logging import get_logger
from core.phone import numbers_in
from core.services.preferences import effective_preferences
from core.settings import Settings
from media.call_script import CallBrief

log = get_logger("opendeep.media.call_store")


class CallRecord(Protocol):
    """What a bridge reads and writes of its call: `CallStore` in the node's own process, the
    node over its local channel in a media worker (`media.worker_process`)."""

    user_id: int
    call_id: int

    async def brief(self) -> CallBrief: ...

    async def amd_status(self) -> str | None: ...

    async def transcript_text(self) -> str: ...

    async def add_fact(self, name: str, value: str, quote: str) -> None: ...

    async def set_voice_activity(self, activity: VoiceActivityRecord) -> None: ...

    async def mark(self, outcome: CallOutcome, reason: str | None = None) -> None: ...

    async def set_voice(self, voice: str) -> None: ...

    async def ask_owner(self, question: str, timeout_s: float) -> int: ...

    async def mark_note(self, note_id: int, outcome: str) -> None: ...

    async def wait_answer(self, feedback_id: int, timeout_s: float) -> str | None: ...


class CallStore:
    """Reads the call's brief and transcript; writes facts, live questions and outcomes.

    Each write is its own transaction, so a crash mid-call loses nothing already recorded.
    Transcript turns are written by the process's `media.transcript_writer.TranscriptWriter`.
    """

    def __init__(self, db: Database, settings: Settings, user_id: int, call_id: int) -> None:
        self._db = db
        self._settings = settings
        self.user_id = user_id
        self.call_id = call_id

    @classmethod
    async def for_uuid(
        cls, db: Database, settings: Settings, call_uuid: uuid.UUID
    ) -> CallStore | None:
        async with db.system() as system:
            ref = await system.locate_call(str(call_uuid))
        return None if ref is None else cls(db, settings, ref.user_id, ref.call_id)

    async def brief(self) -> CallBrief:
        async with self._db.scope(self.user_id) as s:
            call = await s.calls.require(self.call_id)
            task = await s.tasks.require(call.task_id)
            campaign = await s.campaigns.require(task.campaign_id)
        async with self._db.users() as users:
            profile = await users.profile(self.user_id)
        owner = profile.display_name if profile else "the account owner"
        # The one source of the disclosure line: the owner's preference in force (the node's
        # default when they set none); the call's task sheet only refers to it.
        prefs = effective_preferences(self._settings, dict(profile.preferences) if profile else {})
        return CallBrief(
            user_id=self.user_id,
            call_id=self.call_id,
            task_id=call.task_id,
            call_uuid=call.call_uuid,
            owner=owner,
            target_name=task.target_name,
            objective=campaign.objective,
            instructions=task.instructions,
            disclosure=prefs.ai_disclosure.replace("{owner}", owner),
            voicemail_message=campaign.voicemail_message,
            amd_status=call.amd_status,
            turn_taking=self._turn_taking(campaign.plan),
            hold_limit_s=self._hold_limit_s(campaign.plan),
            owner_phone=profile.owner_phone if profile else None,
            transfer_numbers=numbers_in(task.instructions or "", self._settings.default_region),
        )

    def _turn_taking(self, plan: dict[str, Any] | None) -> TurnTaking:
        """The campaign's turn-taking settings; a plan stored without them (or with settings
        that no longer validate) gets the telephone defaults."""
        raw = (plan or {}).get("turn_taking")
        if raw is None:
            return TurnTaking()
        try:
            return TurnTaking.model_validate(raw)
        except ValidationError as exc:
            log.warning(
                "campaign turn-taking settings unreadable; using the defaults",
                call_id=self.call_id,
                error=str(exc),
            )
            return TurnTaking()

    def _hold_limit_s(self, plan: dict[str, Any] | None) -> int:
        """The campaign's limit on waiting on hold; the default for a plan stored without one
        (or with one out of range)."""
        raw = (plan or {}).get("hold_limit_s")
        if raw is None:
            return HOLD_LIMIT_S
        whole = isinstance(raw, int) and not isinstance(raw, bool)
        if whole and MIN_HOLD_LIMIT_S <= raw <= MAX_HOLD_LIMIT_S:
            return int(raw)
        log.warning(
            "campaign hold limit unreadable; using the default",
            call_id=self.call_id,
            hold_limit_s=repr(raw),
        )
        return HOLD_LIMIT_S

    async def amd_status(self) -> str | None:
        async with self._db.scope(self.user_id) as s:
            return (await s.calls.require(self.call_id)).amd_status

    async def transcript_text(self) -> str:
        """The conversation so far as plain lines (`agent: …`), for resuming a session."""
        async with self._db.scope(self.user_id) as s:
            call = await s.calls.require(self.call_id)
        turns = read_items(TranscriptTurn, call.transcript)
        return "\n".join(f"{t.role}: {t.text}" for t in turns)

    async def add_fact(self, name: str, value: str, quote: str) -> None:
        """Append one fact; facts recorded at the same moment (several tool calls of one
        response) all land, in one statement each."""
        fact = RecordedFact(name=name, value=value, quote=quote, at=utcnow())
        async with self._db.scope(self.user_id) as s:
            await s.calls.append_fact(self.call_id, fact)

    async def set_voice_activity(self, activity: VoiceActivityRecord) -> None:
        """Store what the bridge saw of the callee's voice (`media.speech_activity`)."""
        async with self._db.scope(self.user_id) as s:
            await s.calls.set_voice_activity(self.call_id, activity)

    async def mark(self, outcome: CallOutcome, reason: str | None = None) -> None:
        async with self._db.scope(self.user_id) as s:
            await s.calls.set_progress(self.call_id, outcome=outcome, end_reason=reason)

    async def set_voice(self, voice: str) -> None:
        async with self._db.scope(self.user_id) as s:
            await s.calls.set_progress(self.call_id, voice=voice)

    async def ask_owner(self, question: str, timeout_s: float) -> int:
        """Create the live-call question; returns its id."""
        async with self._db.scope(self.user_id) as s:
            call = await s.calls.require(self.call_id)
            task = await s.tasks.require(call.task_id)
            item = await s.feedback.create(
                kind=FeedbackKind.LIVE_QUESTION,
                question=question,
                payload={"call_uuid": call.call_uuid, "target": task.target_name},
                campaign_id=task.campaign_id,
                task_id=task.id,
                call_id=self.call_id,
                expires_at=utcnow() + dt.timedelta(seconds=timeout_s),
            )
            return item.id

    async def mark_note(self, note_id: int, outcome: str) -> None:
        """Record what became of a note ("delivered", or why not): it is not read again."""
        async with self._db.scope(self.user_id) as s:
            await s.feedback.mark_applied(note_id, outcome)

    async def wait_answer(
        self, feedback_id: int, timeout_s: float, poll_s: float = 0.2
    ) -> str | None:
        """The owner's answer text, or None when none came in time (the item is then expired).

        The row is the truth (any node's UI may answer), so this polls it: an answer reaches
        the call within `poll_s`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            async with self._db.scope(self.user_id) as s:
                item = await s.feedback.require(feedback_id)
                if item.status is FeedbackStatus.ANSWERED:
                    return FeedbackAnswer.words_in(item.answer)
                if item.status is not FeedbackStatus.PENDING:
                    return None
                if loop.time() >= deadline:
                    await s.feedback.close(feedback_id, FeedbackStatus.EXPIRED)
                    # An answer may have landed between the read and the close.
                    item = await s.feedback.require(feedback_id)
                    return (
                        FeedbackAnswer.words_in(item.answer)
                        if item.status is FeedbackStatus.ANSWERED
                        else None
                    )
            await asyncio.sleep(poll_s)
