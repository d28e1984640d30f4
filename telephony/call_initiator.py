"""`CallInitiator`: places calls through AMI, follows them, and keeps the `calls` rows true.

One call = one attempt of one task:
1. the number is validated (and redirected in test mode) before anything is sent;
2. a concurrent-call slot is taken — callers wait first come first served for up to
   `slot_wait_s` seconds, then get `NoCallSlot` (0 refuses at once);
3. the `calls` row is created under the attempt's deterministic UUID (a second request for the
   same attempt fails on it with `DuplicateCall`), derived in the namespace of the installation
   whose database this is (`channel_ids.call_namespace`), read when the initiator starts;
4. `Originate` is sent once, never again — and not at all while a channel with the attempt's
   `ChannelId` is up on the PBX (another node's call of the same attempt: `DuplicateCall`);
   Asterisk itself fails a second Originate with a live `ChannelId`, which is caught too;
5. AMI events move the call along; each change is written to the row; the slot is freed when
   the call ends; `PlacedCall.wait_ended()` returns the final snapshot once it is stored.

After a reconnect (or an Originate whose answer never came) the calls that may have missed
events are checked against `CoreShowChannels`: a call whose channel is gone is ended (`failed`,
cause unknown — or `answered` if it had been answered) and its slot freed; a live one keeps it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from core.db import Database, rerun_if_connection_lost, utcnow
from core.logging import get_logger
from core.settings import Settings
from telephony.ami_connection import AmiConnection, AmiState
from telephony.ami_panoramisk import AmiMessage
from telephony.call_slots import CallSlots
from telephony.call_tracker import CallSnapshot, CallTracker, call_key, originate_action_id
from telephony.channel_ids import AttemptIds, attempt_ids, call_namespace
from telephony.dial_rules import DialTarget, call_limit, dial_target
from telephony.errors import (
    AmiActionFailed,
    AmiConnectionLost,
    AmiError,
    AmiNotConnected,
    AmiTimeout,
    CallNotLive,
    ChannelCheckFailed,
    DuplicateCall,
    HandoverFailed,
    InvalidDtmf,
    OriginateRefused,
)
from telephony.originate import AmiAction, originate_action
from telephony.owner_leg import (
    bridge_actions,
    local_half_2,
    owner_leg_action,
    owner_leg_half_2,
    peer_action,
)

log = get_logger("opendeep.telephony.calls")

# Keys 0-9 * # A-D, and `w` for a half-second pause (as a phone's dialler writes it); at least
# one key.
DTMF = re.compile(r"(?=.*[0-9*#A-Da-d])[0-9*#A-Da-dwW]{1,32}\Z")
DTMF_DURATION_MS = 250
DTMF_GAP_S = 0.1
DTMF_PAUSE_S = 0.5
DB_WRITE_TIMEOUT_S = 15.0
# After a call ends, events still arriving (the Originate's response after the Hangup) may
# refine the cause; the end is reported after this pause and the call forgotten after a while.
END_SETTLE_S = 0.3
FORGET_AFTER_S = 30.0
LOST_NOTE = "unknown: the channel was gone when AMI came back (its events were lost)"


def dtmf_steps(digits: str) -> list[str | float]:
    """What `send_dtmf` does for `digits`, in order: a key to play (str) or seconds to wait
    (float) — the gap between two keys, or a pause of its own for each `w`."""
    steps: list[str | float] = []
    for char in digits.upper():
        if char == "W":
            steps.append(DTMF_PAUSE_S)
            continue
        if steps and isinstance(steps[-1], str):
            steps.append(DTMF_GAP_S)
        steps.append(char)
    return steps


def _duplicate_text(channel_id: str) -> str:
    return f"not dialled: channel {channel_id} already exists (this attempt is live elsewhere)"


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """A call this node placed. `wait_ended()` returns its final snapshot once stored."""

    call_id: int
    user_id: int
    task_id: int
    attempt: int
    call_uuid: str
    channel_id: str
    requested_number: str
    dialed_number: str
    _ended: asyncio.Future[CallSnapshot] = field(repr=False, compare=False)

    @property
    def redirected(self) -> bool:
        """True when test mode sent the call elsewhere than `requested_number`."""
        return self.dialed_number != self.requested_number

    async def wait_ended(self, timeout_s: float | None = None) -> CallSnapshot:
        """Wait for the call's end (raises `TimeoutError` after `timeout_s`; the call goes on)."""
        return await asyncio.wait_for(asyncio.shield(self._ended), timeout_s)


@dataclass(slots=True, eq=False)
class _Live:
    placed: PlacedCall
    tracker: CallTracker
    dirty: bool = False
    writer: asyncio.Task[None] | None = None
    may_have_missed_events: bool = False
    hangup_pending: bool = False


class CallInitiator:
    """Places and follows this node's calls over one `AmiConnection`.

    `namespace` is that of the attempts' channel ids; by default (None) the installation's,
    read from `db` by `start()` — every node of one database then derives the same ids.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        ami: AmiConnection,
        *,
        slot_wait_s: float = 60.0,
        namespace: uuid.UUID | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._ami = ami
        self._slot_wait_s = slot_wait_s
        self._namespace = namespace
        self.limit = call_limit(settings.max_concurrent_calls, test_mode=settings.app_test_mode)
        self._slots = CallSlots(self.limit)
        self._calls: dict[str, _Live] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: list[Callable[[], None]] = []

    # --- life ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Read the id namespace, subscribe to the connection's events and state (call before
        it connects). Raises if the database cannot be read."""
        await self.namespace()
        if not self._unsubscribe:
            self._unsubscribe = [
                self._ami.on_event(self._on_event),
                self._ami.on_state(self._on_state),
            ]

    async def stop(self) -> None:
        """Stop following calls; pending row writes get a moment to finish. Calls stay up."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        writers = [live.writer for live in self._calls.values() if live.writer is not None]
        if writers:
            await asyncio.wait(writers, timeout=DB_WRITE_TIMEOUT_S)
        for task in [*writers, *self._tasks]:
            task.cancel()
        await asyncio.gather(*writers, *self._tasks, return_exceptions=True)

    # --- observing -----------------------------------------------------------------------
    async def namespace(self) -> uuid.UUID:
        """The namespace of this node's channel ids (the installation's, unless one was given)."""
        if self._namespace is None:
            async with self._db.system() as system:
                self._namespace = call_namespace(await system.installation_id())
        return self._namespace

    async def ids_of(self, task_id: int, attempt: int) -> AttemptIds:
        """The channel ids attempt `attempt` of task `task_id` gets — on any node of this
        installation (what `place_call` sends; `ValueError` for a non-positive number)."""
        return attempt_ids(task_id, attempt, await self.namespace())

    @property
    def ready(self) -> bool:
        """True while the AMI connection is up (a call placed now can be originated)."""
        return self._ami.connected

    @property
    def calls_up(self) -> int:
        """Calls holding a slot right now."""
        return self._slots.in_use

    def snapshot(self, call: PlacedCall) -> CallSnapshot | None:
        """What is known about a call this node still follows (None once forgotten)."""
        live = self._calls.get(call.channel_id)
        return live.tracker.snapshot() if live else None

    # --- placing -------------------------------------------------------------------------
    async def place_call(
        self,
        user_id: int,
        task_id: int,
        attempt: int,
        number: str,
        variables: Mapping[str, str] | None = None,
        *,
        recording: bool = True,
        ring_timeout_s: int = 30,
        caller_id: str | None = None,
    ) -> PlacedCall:
        """Place attempt `attempt` of task `task_id` to `number`; return once Asterisk queued it.
        `caller_id`: what the callee sees (None: the node's CALLER_ID).

        Raises, with nothing dialled: `InvalidNumber`, `InvalidCallVariable`, `AmiNotConnected`,
        `NoCallSlot`, `DuplicateCall`, `OriginateRefused` (the row then reads
        `technical_failure`), and `core.db.NotFound` for another user's task. When the
        Originate's answer is lost the call is returned and checked against the PBX's channels.
        """
        target = dial_target(
            number,
            test_mode=self._settings.app_test_mode,
            redirect_number=self._settings.app_test_mode_redirect_number,
            region=self._settings.default_region,
        )
        ids = await self.ids_of(task_id, attempt)
        action_id = originate_action_id(ids.channel_id, uuid.uuid4().hex[:12])
        action = originate_action(
            ids=ids,
            number=target.dialed,
            user_id=user_id,
            task_id=task_id,
            recording=recording,
            ring_timeout_s=ring_timeout_s,
            action_id=action_id,
            variables=variables,
            caller_id=self._settings.caller_id if caller_id is None else caller_id,
        )
        if ids.channel_id in self._calls:
            raise DuplicateCall(f"task {task_id} attempt {attempt} is already being called")
        if not self._ami.connected:
            raise AmiNotConnected(f"cannot call now: AMI {self._ami.address} is {self._ami.state}")
        await self._slots.acquire(ids.channel_id, self._slot_wait_s)
        try:
            if not self._ami.connected:  # it may have dropped while we waited for the slot
                raise AmiNotConnected(f"cannot call now: AMI {self._ami.address} is down")
            # With Async, Asterisk queues an Originate whose ChannelId is taken and only then
            # fails it (OriginateResponse Failure, Reason 0): look first, and never send it
            # then. Looking before the row is written keeps the gap between "the row says we
            # dial" and "the Originate is on the wire" to one socket write, which is what a
            # node dying in between can leave unknown.
            if await self._channel_before_dialling(ids.channel_id, task_id, attempt):
                raise DuplicateCall(_duplicate_text(ids.channel_id))
            live = await self._open_call(user_id, task_id, attempt, ids, target, action_id)
        except BaseException:
            self._slots.release(ids.channel_id)
            raise
        await self._originate(live, action)
        return live.placed

    async def _open_call(
        self,
        user_id: int,
        task_id: int,
        attempt: int,
        ids: AttemptIds,
        target: DialTarget,
        action_id: str,
    ) -> _Live:
        try:
            async with self._db.scope(user_id) as scope:
                row = await scope.calls.create(
                    task_id=task_id,
                    attempt=attempt,
                    call_uuid=ids.call_uuid,
                    dialed_number=target.dialed,
                    node_id=self._settings.effective_node_id,
                )
                call_id = row.id
        except IntegrityError:
            raise DuplicateCall(
                f"task {task_id} attempt {attempt} was already placed (call {ids.call_uuid})"
            ) from None
        ended: asyncio.Future[CallSnapshot] = asyncio.get_running_loop().create_future()
        placed = PlacedCall(
            call_id=call_id,
            user_id=user_id,
            task_id=task_id,
            attempt=attempt,
            call_uuid=ids.call_uuid,
            channel_id=ids.channel_id,
            requested_number=target.requested,
            dialed_number=target.dialed,
            _ended=ended,
        )
        live = _Live(placed=placed, tracker=CallTracker(ids.channel_id, action_id))
        self._calls[ids.channel_id] = live
        return live

    async def _originate(self, live: _Live, action: Mapping[str, str | list[str]]) -> None:
        placed = live.placed
        log.info(
            "placing call",
            call_uuid=placed.call_uuid,
            task_id=placed.task_id,
            attempt=placed.attempt,
            number=placed.dialed_number,
            redirected=placed.redirected,
        )
        try:
            await self._ami.send(action)
        except AmiActionFailed as exc:
            why = f"Asterisk refused the Originate: {exc.message or 'no reason given'}"
            try:
                duplicate = await self._channel_listed(placed.channel_id)
            except AmiError as check:
                # Refused either way; only whether a twin call holds the id is unknown.
                log.warning(
                    "Originate refused; could not check for a live channel with its id",
                    call_uuid=placed.call_uuid,
                    error=str(check),
                )
                duplicate = False
                why += f" (whether the attempt is live elsewhere could not be checked: {check})"
            if duplicate:
                why = _duplicate_text(placed.channel_id)
            self._refuse(live, why)
            if duplicate:
                raise DuplicateCall(why) from None
            raise OriginateRefused(why) from None
        except AmiNotConnected as exc:
            self._refuse(live, f"not sent: {exc}")
            raise
        except (AmiTimeout, AmiConnectionLost) as exc:
            # Asterisk may or may not have it. Never send it again; ask the PBX instead.
            log.warning(
                "Originate unconfirmed; checking the PBX's channels",
                call_uuid=placed.call_uuid,
                error=str(exc),
            )
            live.may_have_missed_events = True
            self._spawn(self.reconcile())
        except BaseException:
            self._refuse(live, "not sent: the request was cancelled")
            raise

    async def _check_duplicate(self, live: _Live) -> None:
        """Our Originate failed with no Hangup of our own: if a channel with our id is up, it
        is another node's call of the same attempt (a race past the look-up before sending)."""
        try:
            duplicate = await self._channel_listed(live.placed.channel_id)
        except AmiError as exc:
            # The failed Originate ends the call as it reported; only the cause stays less precise.
            log.warning(
                "Originate failed; could not check for a live channel with its id",
                call_uuid=live.placed.call_uuid,
                error=str(exc),
            )
            return
        if duplicate:
            log.warning("Originate lost a race for its channel id", call_uuid=live.placed.call_uuid)
            self._refuse(live, _duplicate_text(live.placed.channel_id))

    def _refuse(self, live: _Live, why: str) -> None:
        if live.tracker.refuse(why, utcnow()):
            self._changed(live)

    # --- acting on a call ----------------------------------------------------------------
    async def hangup(self, call: PlacedCall) -> None:
        """Hang the call up (cause 16). Before the channel exists, it is hung up on arrival."""
        live = self._require_live(call)
        live.tracker.request_cancel()
        if live.tracker.channel is None:
            live.hangup_pending = True
            return
        await self._send_hangup(live)

    async def send_dtmf(self, call: PlacedCall, digits: str) -> None:
        """Play `digits` (0-9 * # A-D) to the callee, one `PlayDTMF` each, on the agent's side;
        each `w` waits half a second before the next key.

        The ;1 half runs the agent; a digit played on it travels through the Local pair and
        the trunk to the callee (RFC 4733), as a caller's keypad would.
        """
        if not DTMF.match(digits or ""):
            raise InvalidDtmf(
                f"DTMF digits must be 1–32 of 0-9 * # A-D and w (a pause), with at least one "
                f"key, got {digits!r}"
            )
        live = self._require_live(call)
        snap = live.tracker.snapshot()
        if snap.answered_at is None or live.tracker.channel is None:
            raise CallNotLive(f"call {call.call_uuid} is not answered yet ({snap.state})")
        for step in dtmf_steps(digits):
            if isinstance(step, float):
                await asyncio.sleep(step)
                continue
            await self._ami.send(
                {
                    "Action": "PlayDTMF",
                    "Channel": live.tracker.channel,
                    "Digit": step,
                    "Duration": str(DTMF_DURATION_MS),
                }
            )

    # --- handing a call over to its owner ------------------------------------------------
    async def call_owner(
        self,
        call: PlacedCall,
        leg_uuid: str,
        number: str,
        *,
        ring_timeout_s: int,
        audiosocket: str,
    ) -> None:
        """Ring the owner's phone `number` (E.164) on a leg of its own whose audio goes to
        `audiosocket` under `leg_uuid`. Raises `CallNotLive` when the call is not up,
        `AmiError` when Asterisk refuses or cannot be reached."""
        self._require_live(call)
        action = owner_leg_action(
            call_uuid=call.call_uuid,
            leg_uuid=leg_uuid,
            number=number,
            user_id=call.user_id,
            ring_timeout_s=ring_timeout_s,
            audiosocket=audiosocket,
            action_id=f"owner-{call.call_uuid}-{uuid.uuid4().hex[:8]}",
        )
        log.info("ringing the owner", call_uuid=call.call_uuid, ring_timeout_s=ring_timeout_s)
        await self._ami.send(action)

    async def bridge_owner(self, call: PlacedCall, leg_uuid: str) -> None:
        """Bridge the call's SIP leg with its owner's in the PBX (`telephony.owner_leg`): both
        Local pairs, and so both AudioSockets, end. Raises `CallNotLive`, `AmiError`, or
        `HandoverFailed` when a leg has no SIP peer (it hung up)."""
        live = self._require_live(call)
        channel = live.tracker.channel
        if channel is None:
            raise CallNotLive(f"call {call.call_uuid} has no channel yet")
        tag = f"bridge-{call.call_uuid}-{uuid.uuid4().hex[:8]}"
        callee_peer = await self._getvar(peer_action(local_half_2(channel), f"{tag}-callee"))
        owner_peer = await self._getvar(peer_action(owner_leg_half_2(leg_uuid), f"{tag}-owner"))
        if not callee_peer or not owner_peer:
            raise HandoverFailed(
                f"no SIP leg to bridge (callee: {callee_peer or 'none'}, "
                f"owner: {owner_peer or 'none'})"
            )
        recording = await self._getvar(
            {
                "Action": "Getvar",
                "ActionID": f"{tag}-rec",
                "Channel": channel,
                "Variable": "OPENDEEP_RECORDING_FILE",
            }
        )
        if recording:
            # The SIP leg records on into the same file; two writers at once would not do.
            await self._ami.send(
                {"Action": "StopMixMonitor", "ActionID": f"{tag}-stop", "Channel": channel}
            )
        for action in bridge_actions(
            callee_peer=callee_peer,
            owner_peer=owner_peer,
            recording_file=recording,
            leg_uuid=leg_uuid,
            action_id=tag,
        ):
            await self._ami.send(action)
        log.info("call bridged with its owner", call_uuid=call.call_uuid)

    async def _getvar(self, action: AmiAction) -> str:
        response = await self._ami.send(action)
        value = response.get("Value")
        return value if isinstance(value, str) and value != "(null)" else ""

    async def hangup_owner(self, call: PlacedCall, leg_uuid: str) -> None:
        """Hang up the call's owner leg, ringing or answered (gone already: nothing to do)."""
        try:
            await self._ami.send({"Action": "Hangup", "Channel": leg_uuid, "Cause": "16"})
        except AmiActionFailed as exc:
            log.info("owner leg already gone", call_uuid=call.call_uuid, error=exc.message)

    def _require_live(self, call: PlacedCall) -> _Live:
        live = self._calls.get(call.channel_id)
        if live is None or live.tracker.ended:
            raise CallNotLive(f"call {call.call_uuid} has ended or is not followed by this node")
        return live

    async def _send_hangup(self, live: _Live) -> None:
        channel = live.tracker.channel
        if channel is None or live.tracker.ended:
            return
        try:
            await self._ami.send({"Action": "Hangup", "Channel": channel, "Cause": "16"})
        except AmiActionFailed as exc:
            # "No such channel": it ended meanwhile; its Hangup event says how.
            log.info("hangup: channel already gone", channel=channel, error=exc.message)

    # --- reconciling ---------------------------------------------------------------------
    async def reconcile(self) -> None:
        """Check calls that may have missed events against `CoreShowChannels`."""
        suspects = [
            live
            for live in self._calls.values()
            if live.may_have_missed_events and not live.tracker.ended
        ]
        if not suspects:
            return
        try:
            channels = await self._ami.send_list({"Action": "CoreShowChannels"})
        except AmiError as exc:
            log.warning("reconcile postponed: cannot list channels", error=str(exc))
            return
        by_id = {c.get("Uniqueid", ""): c for c in channels}
        now = utcnow()
        for live in suspects:
            channel = by_id.get(live.placed.channel_id)
            live.may_have_missed_events = False
            if channel is not None:
                changed = live.tracker.apply({**channel, "Event": "Newchannel"}, now)
            else:
                changed = live.tracker.end_unseen(now, LOST_NOTE)
                log.warning(
                    "call ended while its events were lost",
                    call_uuid=live.placed.call_uuid,
                    outcome=str(live.tracker.snapshot().outcome),
                )
            if changed:
                self._changed(live)
            if live.hangup_pending and live.tracker.channel is not None:
                live.hangup_pending = False
                self._spawn(self._send_hangup(live))

    async def channel_up(self, channel_id: str) -> bool | None:
        """Whether Asterisk has a channel with this id now; None when AMI cannot tell."""
        if not self._ami.connected:
            return None
        try:
            return await self._channel_listed(channel_id)
        except AmiError as exc:
            log.warning(
                "cannot tell whether a channel is up", channel_id=channel_id, error=str(exc)
            )
            return None

    async def _channel_listed(self, channel_id: str) -> bool:
        """Whether `CoreShowChannels` lists a channel with this id; raises `AmiError` when
        Asterisk cannot be asked."""
        channels = await self._ami.send_list({"Action": "CoreShowChannels"})
        return any(c.get("Uniqueid") == channel_id for c in channels)

    async def _channel_before_dialling(self, channel_id: str, task_id: int, attempt: int) -> bool:
        """Whether the attempt's channel is up already. Not knowing is no "no": a failed
        look-up raises `ChannelCheckFailed` and nothing is dialled."""
        try:
            return await self._channel_listed(channel_id)
        except AmiError as exc:
            log.warning(
                "not dialling: cannot check whether the attempt is live elsewhere",
                task_id=task_id,
                attempt=attempt,
                channel_id=channel_id,
                error=str(exc),
            )
            raise ChannelCheckFailed(
                f"not dialled: could not ask Asterisk whether channel {channel_id} is up "
                f"(another node may be calling this attempt): {exc}"
            ) from exc

    # --- events --------------------------------------------------------------------------
    def _on_event(self, event: AmiMessage) -> None:
        key = call_key(event)
        live = self._calls.get(key) if key else None
        if live is None:
            return
        if live.tracker.apply(event, utcnow()):
            self._changed(live)
            if (
                event.get("Event") == "OriginateResponse"
                and event.get("ActionID") == live.tracker.action_id
                and event.get("Response", "").lower() == "failure"
                and live.tracker.snapshot().hangup_cause is None
            ):
                self._spawn(self._check_duplicate(live))
        if live.hangup_pending and live.tracker.channel is not None:
            live.hangup_pending = False
            self._spawn(self._send_hangup(live))

    def _on_state(self, state: AmiState) -> None:
        if state is AmiState.DISCONNECTED:
            for live in self._calls.values():
                if not live.tracker.ended:
                    live.may_have_missed_events = True
        elif state is AmiState.CONNECTED:
            self._spawn(self.reconcile())

    def _changed(self, live: _Live) -> None:
        if live.tracker.ended and self._slots.release(live.placed.channel_id):
            snap = live.tracker.snapshot()
            log.info(
                "call ended",
                call_uuid=live.placed.call_uuid,
                outcome=str(snap.outcome),
                cause=snap.hangup_cause,
                cause_text=snap.hangup_cause_text,
            )
            asyncio.get_running_loop().call_later(FORGET_AFTER_S, self._forget, live)
        live.dirty = True
        if live.writer is None or live.writer.done():
            live.writer = asyncio.create_task(self._write(live), name="call-row-writer")

    def _forget(self, live: _Live) -> None:
        if self._calls.get(live.placed.channel_id) is not live:
            return
        if live.writer is not None and not live.writer.done():
            asyncio.get_running_loop().call_later(FORGET_AFTER_S, self._forget, live)
            return
        del self._calls[live.placed.channel_id]

    async def _write(self, live: _Live) -> None:
        """Store the latest snapshot until none is newer; resolve the end once it is stored."""
        ended = live.placed._ended
        while live.dirty:
            if live.tracker.ended and not ended.done():
                await asyncio.sleep(END_SETTLE_S)
            live.dirty = False
            snap = live.tracker.snapshot()
            try:
                async with asyncio.timeout(DB_WRITE_TIMEOUT_S):
                    await self._store(live.placed, snap)
            except Exception:
                log.exception("could not store call progress", call_uuid=live.placed.call_uuid)
            if snap.ended and not ended.done():
                ended.set_result(snap)

    async def _store(self, placed: PlacedCall, snap: CallSnapshot) -> None:
        await rerun_if_connection_lost(
            lambda: self._store_once(placed, snap), f"progress of call {placed.call_uuid}"
        )

    async def _store_once(self, placed: PlacedCall, snap: CallSnapshot) -> None:
        async with self._db.scope(placed.user_id) as scope:
            await scope.calls.set_progress(
                placed.call_id,
                state=snap.state,
                outcome=snap.outcome,
                hangup_cause=snap.hangup_cause,
                hangup_cause_text=snap.hangup_cause_text,
                amd_status=snap.amd_status,
                recording_path=snap.recording_path,
                answered_at=snap.answered_at,
                ended_at=snap.ended_at,
                end_reason=snap.end_reason,
            )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("telephony background task failed", exc_info=task.exception())
