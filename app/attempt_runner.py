"""One call attempt from dial to next step: place it, let the bridge talk, analyse, decide.

This is the dispatcher's `AttemptRunner` on a real node: telephony places the call, the media
bridge (reached by the dialplan over AudioSocket) holds the conversation, the post-call
analyzer reads the transcript, and the outcome moves the task on — retry, call back, done,
ask the owner, or end the campaign's other calls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from core.db import Claim, Database, UserScope, utcnow
from core.domain import AttemptResult, CallOutcome, CampaignStatus, TaskResult, TaskStatus
from core.logging import get_logger
from core.rules import PAUSE_AFTER, RetryPolicy, caller_id_for_call, technical_pause
from core.services.preferences import load_preferences
from core.services.recordings import recording_problem
from core.services.tasks import apply_next_step, ask_owner_about_call
from core.settings import Settings

if TYPE_CHECKING:
    from core.db.models import Call
    from graphs.runner import Analysis
    from media.workers import CallMedia
    from telephony.call_initiator import CallInitiator, PlacedCall

log = get_logger("opendeep.attempts")

# How long a conversation may last before the runner stops waiting for it (the call goes on).
MAX_CALL_S = 30 * 60.0
BRIDGE_GRACE_S = 20.0
# A call's session is prewarmed while it rings; unused for the ring timeout plus this long (the
# dialplan's answering-machine detection, at most 3 s in the shipped amd.conf, its steps before
# AudioSocket, the bridge's first reads), it is closed.
PREWARM_GRACE_S = 10.0
# Why a live question still open at hang-up is closed (the owner reads it on the item).
CALL_ENDED = "the call ended before an answer"

# Telephony outcomes that need no reading of a transcript: the retry policy decides.
_NO_CONVERSATION = {
    CallOutcome.BUSY: AttemptResult.BUSY,
    CallOutcome.NO_ANSWER: AttemptResult.NO_ANSWER,
    CallOutcome.CONGESTION: AttemptResult.CONGESTION,
    CallOutcome.FAILED: AttemptResult.FAILED,
    CallOutcome.TECHNICAL_FAILURE: AttemptResult.TECHNICAL_FAILURE,
    CallOutcome.VOICEMAIL: AttemptResult.VOICEMAIL,
}


class CallAnalyzer(Protocol):
    async def analyze_call(self, user_id: int, call_id: int) -> Analysis: ...

    async def lifecycle_pass(self, user_id: int) -> None:
        """The lifecycle manager's pass over the user's campaigns (closes finished ones)."""
        ...


class PlacedCalls:
    """The calls this node's attempts have placed and still follow, by call UUID: what a
    call's bridge hangs up, sends DTMF and hands over to its owner through (media's
    `CallActions`).

    Built before the bridges and the runner, and given to both, so neither is patched into
    the other after it is built.
    """

    def __init__(self, calls: CallInitiator) -> None:
        self._calls = calls
        self._placed: dict[str, PlacedCall] = {}

    def follow(self, placed: PlacedCall) -> None:
        self._placed[placed.call_uuid] = placed

    def forget(self, call_uuid: str) -> None:
        self._placed.pop(call_uuid, None)

    async def hangup(self, call_uuid: str) -> None:
        await self._calls.hangup(self._followed(call_uuid))

    async def send_dtmf(self, call_uuid: str, digits: str) -> None:
        await self._calls.send_dtmf(self._followed(call_uuid), digits)

    async def call_owner(
        self, call_uuid: str, leg_uuid: str, number: str, *, ring_timeout_s: int, audiosocket: str
    ) -> None:
        await self._calls.call_owner(
            self._followed(call_uuid),
            leg_uuid,
            number,
            ring_timeout_s=ring_timeout_s,
            audiosocket=audiosocket,
        )

    async def bridge_owner(self, call_uuid: str, leg_uuid: str) -> None:
        await self._calls.bridge_owner(self._followed(call_uuid), leg_uuid)

    async def hangup_owner(self, call_uuid: str, leg_uuid: str) -> None:
        await self._calls.hangup_owner(self._followed(call_uuid), leg_uuid)

    async def transfer_call(self, call_uuid: str, number: str) -> str:
        return await self._calls.transfer_call(self._followed(call_uuid), number)

    def amd_status(self, call_uuid: str) -> str | None:
        placed = self._placed.get(call_uuid)
        snap = self._calls.snapshot(placed) if placed is not None else None
        return snap.amd_status if snap is not None else None

    def _followed(self, call_uuid: str) -> PlacedCall:
        placed = self._placed.get(call_uuid)
        if placed is None:
            raise LookupError(f"call {call_uuid} is not followed by this node")
        return placed


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one attempt came to, for logs, progress displays and tests."""

    task_id: int
    attempt: int
    call_id: int | None
    outcome: str  # an `AttemptResult`, or the outcome of the call's analysis
    task_status: TaskStatus
    due_at: dt.datetime | None
    detail: str


class CallAttemptRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        calls: CallInitiator,
        bridges: CallMedia,
        analyzer: CallAnalyzer,
        *,
        placed: PlacedCalls,
        retry: RetryPolicy | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        ring_timeout_s: int = 30,
        on_outcome: Callable[[AttemptOutcome], None] | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._calls = calls
        self._bridges = bridges
        self._analyzer = analyzer
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._ring_timeout_s = ring_timeout_s
        self._on_outcome = on_outcome
        self._placed = placed
        # Attempts between their start and their call's end: each holds a call slot, even
        # before Asterisk has a channel for it, so the dispatcher never claims more than fit.
        self._dialling = 0

    # --- what the dispatcher asks --------------------------------------------------------

    def free_slots(self) -> int:
        if not self._calls.ready:
            return 0  # no AMI: claiming now would only burn attempts
        return max(0, self._calls.limit - max(self._dialling, self._calls.calls_up))

    async def is_call_live(self, call_uuid: str) -> bool | None:
        return await self._calls.channel_up(call_uuid)

    async def was_dialled(
        self, call_uuid: str, placed_at: dt.datetime, now: dt.datetime
    ) -> bool | None:
        return await self._calls.was_dialled(call_uuid, placed_at, now)

    async def voice_problem(self) -> str | None:
        return await self._bridges.voice_problem()

    async def run_attempt(self, claim: Claim, number: str) -> None:
        self._dialling += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._dialling -= 1

        try:
            await self._run_attempt(claim, number, release)
        finally:
            release()
        await self._close_if_done(claim)

    async def _run_attempt(self, claim: Claim, number: str, release: Callable[[], None]) -> None:
        from telephony.errors import TelephonyError

        async with self._db.scope(claim.user_id) as s:
            task = await s.tasks.require(claim.task_id)
            campaign = await s.campaigns.require(task.campaign_id)
            recording = campaign.recording
        owner = await load_preferences(self._db, self._settings, claim.user_id)
        caller_id = caller_id_for_call(
            campaign=campaign.caller_id,
            owner=owner.caller_id,
            node=self._settings.caller_id,
            choices=self._settings.caller_id_numbers,
        )
        # The media server serves this call's AudioSocket only if it is expected before
        # Asterisk can connect, i.e. before the Originate goes out.
        call_uuid = (await self._calls.ids_of(claim.task_id, claim.attempt)).call_uuid
        self._bridges.expect(call_uuid)
        try:
            try:
                placed = await self._calls.place_call(
                    claim.user_id,
                    claim.task_id,
                    claim.attempt,
                    number,
                    # The call's audio comes back to this node's own AudioSocket server (the
                    # media worker the call was given to, with several).
                    {"OPENDEEP_AUDIOSOCKET": self._bridges.audiosocket_address(call_uuid)},
                    recording=recording,
                    ring_timeout_s=self._ring_timeout_s,
                    caller_id=caller_id,
                )
            except TelephonyError as exc:
                log.warning("call not placed", task_id=claim.task_id, error=str(exc))
                await self._finish(claim, None, AttemptResult.TECHNICAL_FAILURE, None, str(exc))
                return
            self._placed.follow(placed)
            # The Originate is out: the call's voice session opens while the phone rings.
            self._bridges.prewarm(call_uuid, self._ring_timeout_s + PREWARM_GRACE_S)
            try:
                await self._follow(claim, placed, release, recording=recording)
            finally:
                self._placed.forget(placed.call_uuid)
        finally:
            self._bridges.forget(call_uuid)

    async def _close_if_done(self, claim: Claim) -> None:
        """When this attempt ended the campaign's last open task, let the lifecycle manager
        close the campaign now (with its summary) rather than at its next periodic pass."""
        try:
            async with self._db.scope(claim.user_id) as s:
                task = await s.tasks.require(claim.task_id)
                ended, total = await s.campaigns.progress(task.campaign_id)
            if total and ended == total:
                await self._analyzer.lifecycle_pass(claim.user_id)
        except Exception:
            log.exception("closing the finished campaign failed", task_id=claim.task_id)

    # --- the attempt ---------------------------------------------------------------------

    async def _follow(
        self, claim: Claim, placed: PlacedCall, release: Callable[[], None], *, recording: bool
    ) -> None:
        try:
            snap = await placed.wait_ended(MAX_CALL_S)
        except TimeoutError:
            log.error("call still up after the maximum; hanging up", call_uuid=placed.call_uuid)
            await self._calls.hangup(placed)
            snap = await placed.wait_ended(60)
        # The call slot is kept until the call's fate is written: a technical failure may
        # pause the campaign (`_finish`), and no sibling may be dialled before it has.
        bridge = self._bridges.bridge(placed.call_uuid)
        failure: str | None = None
        not_a_mailbox = False
        if bridge is not None:
            try:
                await asyncio.wait_for(bridge.finished.wait(), BRIDGE_GRACE_S)
            except TimeoutError:
                log.warning("bridge did not finish after hangup", call_uuid=placed.call_uuid)
            # A stopping PBX also cuts the bridge's audio: the PBX's own word says why.
            if bridge.result.technical_failure and not snap.pbx_stopped:
                failure = bridge.result.reason or "the call bridge failed"
            not_a_mailbox = bridge.result.not_a_mailbox
        async with self._db.scope(claim.user_id) as s:
            # A question the owner did not answer in time leaves the inbox with the call; an
            # answer still given is kept for the next attempt (`core.services.feedback`).
            closed = await s.feedback.close_call_questions(placed.call_id, CALL_ENDED)
            if closed:
                log.info("live questions closed at hang-up", call_id=placed.call_id, ids=closed)
            if failure is not None:
                # Written after telephony's last word on the call, which saw it answered: the
                # call's row says what it really was.
                call = await s.calls.set_progress(
                    placed.call_id, outcome=CallOutcome.TECHNICAL_FAILURE, end_reason=failure
                )
            else:
                call = await s.calls.require(placed.call_id)
                if call.outcome is CallOutcome.VOICEMAIL and not_a_mailbox:
                    # AMD heard a machine, but a phone menu, a call screener or a queue that
                    # the agent talked its way through: the call was answered, and is read.
                    call = await s.calls.set_progress(placed.call_id, outcome=CallOutcome.ANSWERED)
        if recording and call.answered_at is not None:
            await self._note_missing_recording(claim.user_id, call)
        outcome = call.outcome or snap.outcome or CallOutcome.FAILED
        if outcome in _NO_CONVERSATION:
            detail = call.end_reason or str(outcome)
            # A PBX that stops or restarts cuts all its calls at once: one event, not repeated
            # failures of the campaign's calls, so it pauses nothing (nothing is dialled until
            # the PBX is back, and then the cut calls are retried).
            await self._finish(
                claim,
                placed.call_id,
                _NO_CONVERSATION[outcome],
                None,
                detail,
                may_pause=not snap.pbx_stopped,
            )
            return
        if outcome is CallOutcome.CANCELLED:
            await self._finish(
                claim, placed.call_id, AttemptResult.CANCELLED, None, "the call was cancelled"
            )
            return
        release()  # the line is free; the analysis does not need a call slot
        async with self._db.scope(claim.user_id) as s:
            # The claim stays this node's while the analyzer reads the call (the UI shows it).
            await s.tasks.start_analysis(claim.task_id, node_id=self._settings.effective_node_id)
        await self._analyse(claim, placed.call_id)

    async def _note_missing_recording(self, user_id: int, call: Call) -> None:
        """An answered call that was to be recorded and has no recording to play: its row
        says why, and the owner reads it where the recording would be. (The PBX goes on with
        a call it cannot record and tells nobody but its own log.)"""
        problem = await asyncio.to_thread(recording_problem, call, self._settings.recordings_dir)
        if problem is None:
            return
        log.warning("call has no recording", call_id=call.id, why=problem)
        async with self._db.scope(user_id) as s:
            await s.calls.set_progress(call.id, recording_problem=problem)

    def _lost(self, claim: Claim, call_id: int | None, outcome: str) -> bool:
        """Whether the task is another's now (the lease was lost): the call's own record
        stands, the task is left to its new holder."""
        if not claim.lease.lost:
            return False
        log.warning(
            "lease lost: the task is left to its new holder",
            task_id=claim.task_id,
            call_id=call_id,
            outcome=outcome,
            why=claim.lease.why,
        )
        return True

    async def _analyse(self, claim: Claim, call_id: int) -> None:
        try:
            result = await self._analyzer.analyze_call(claim.user_id, call_id)
        except Exception as exc:
            if self._lost(claim, call_id, "analysis failed"):
                return
            # The call happened: dialling again would only guess. The owner decides, from the
            # transcript, with the same answers as any review (the lifecycle pass applies them).
            log.exception("post-call analysis failed", call_id=call_id)
            problem = f"the automatic analysis failed ({type(exc).__name__})"
            async with self._db.scope(claim.user_id) as s:
                await ask_owner_about_call(s, claim.task_id, call_id, problem)
            self._report(
                claim, call_id, AttemptResult.AWAITING_REVIEW, TaskStatus.ON_HOLD, None, problem
            )
            return
        if self._lost(claim, call_id, result.status):
            return
        if result.status != "done" or result.next_step is None or result.analysis is None:
            # The analyzer asked the owner (and put the task on hold); answering the review
            # resumes it, and it applies the next step then.
            async with self._db.scope(claim.user_id) as s:
                task = await s.tasks.require(claim.task_id)
                if task.status is TaskStatus.ANALYZING:
                    await s.tasks.set_status(
                        claim.task_id,
                        TaskStatus.ON_HOLD,
                        last_outcome=AttemptResult.AWAITING_REVIEW,
                    )
            self._report(
                claim,
                call_id,
                AttemptResult.AWAITING_REVIEW,
                TaskStatus.ON_HOLD,
                None,
                "owner review",
            )
            return
        await apply_next_step(
            self._db,
            claim.user_id,
            claim.task_id,
            outcome=result.analysis.outcome,
            action=result.next_step.action,
            at=result.next_step.at,
            reason=result.next_step.reason,
            goal_achieved=result.analysis.goal_achieved,
            now=self._clock(),
        )
        async with self._db.scope(claim.user_id) as s:
            task = await s.tasks.require(claim.task_id)
        self._report(
            claim,
            call_id,
            result.analysis.outcome,
            task.status,
            task.due_at,
            result.next_step.reason,
        )

    async def _finish(
        self,
        claim: Claim,
        call_id: int | None,
        outcome: AttemptResult,
        callback_at: dt.datetime | None,
        detail: str,
        *,
        may_pause: bool = True,
    ) -> None:
        if self._lost(claim, call_id, outcome):
            return
        now = self._clock()
        async with self._db.scope(claim.user_id) as s:
            task = await s.tasks.require(claim.task_id)
            nxt = self._retry.next_attempt(
                outcome,
                attempts_made=task.attempts,
                max_attempts=task.max_attempts,
                now=now,
                callback_at=callback_at,
            )
            if nxt.retry:
                status, due = TaskStatus.PENDING, nxt.at
            elif outcome is AttemptResult.CANCELLED:
                status, due = TaskStatus.CANCELLED, None
            else:
                status, due = TaskStatus.FAILED, None
            await s.tasks.set_status(
                claim.task_id,
                status,
                due_at=due,
                last_outcome=outcome,
                result=TaskResult(reason=nxt.reason, detail=detail),
            )
            if outcome is AttemptResult.TECHNICAL_FAILURE and may_pause:
                await self._pause_if_failing(s, task.campaign_id, detail)
        self._report(claim, call_id, outcome, status, due, nxt.reason)

    async def _pause_if_failing(self, s: UserScope, campaign_id: int, detail: str) -> None:
        """Pause the campaign's dialling after repeated technical failures (see the rule)."""
        campaign = await s.campaigns.require(campaign_id)
        if campaign.status is not CampaignStatus.ACTIVE:
            return
        recent = [
            str(o) if o else None for o in await s.calls.last_outcomes(campaign_id, PAUSE_AFTER)
        ]
        banner = technical_pause(recent, detail)
        if banner is not None:
            await s.campaigns.set_status(campaign_id, CampaignStatus.PAUSED, reason=banner)
            log.warning("campaign paused", campaign_id=campaign_id, reason=banner)

    def _report(
        self,
        claim: Claim,
        call_id: int | None,
        outcome: str,
        status: TaskStatus,
        due: dt.datetime | None,
        detail: str,
    ) -> None:
        result = AttemptOutcome(claim.task_id, claim.attempt, call_id, outcome, status, due, detail)
        log.info(
            "attempt finished",
            task_id=claim.task_id,
            attempt=claim.attempt,
            outcome=outcome,
            task_status=status.value,
            due_at=due.isoformat() if due else None,
        )
        if self._on_outcome is not None:
            self._on_outcome(result)
