"""The in-call tools' work: keys pressed, the owner asked, facts recorded (bounded waits).

The conversation decides which tool runs (`media.conversation.tools`); the bridge runs each in a
task of its own, through here, and hands the result back to the conversation.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Final, Protocol, assert_never

from media.audio import dtmf_tones
from media.call_store import CallRecord
from media.conversation.commands import AskOwner, PressKeys, RecordFact, ToolRequest
from media.conversation.inputs import OwnerAnswer, ToolResult
from media.playout import PlayoutBuffer

TOOL_TIMEOUT_S: Final = 30.0  # a tool (keys with pauses included), beyond the owner's answer time


class CallActions(Protocol):
    """What the bridge asks of telephony (AMI) for its call."""

    async def hangup(self, call_uuid: str) -> None: ...

    async def send_dtmf(self, call_uuid: str, digits: str) -> None: ...

    async def call_owner(
        self, call_uuid: str, leg_uuid: str, number: str, *, ring_timeout_s: int, audiosocket: str
    ) -> None:
        """Ring the owner's phone on a leg of its own, whose audio comes to `audiosocket`
        under `leg_uuid` (`media.owner_leg.owner_leg_uuid`)."""
        ...

    async def bridge_owner(self, call_uuid: str, leg_uuid: str) -> None:
        """Bridge the call with its owner's leg in the PBX: both leave AudioSocket."""
        ...

    async def hangup_owner(self, call_uuid: str, leg_uuid: str) -> None: ...

    async def transfer_call(self, call_uuid: str, number: str) -> str:
        """Send the callee on to `number` (E.164) in the PBX, the agent leaving (a cold
        transfer); returns the number dialled (the redirect number in test mode)."""
        ...

    def amd_status(self, call_uuid: str) -> str | None:
        """The dialplan's answering-machine verdict as telephony heard it over AMI (None: none
        yet), from memory: it is known before the database has it."""
        ...


class CallTools:
    """Runs the tools of one call. Keys go through telephony, or are played in band when the
    bridge has no telephony (AudioSocket cannot carry DTMF towards Asterisk)."""

    def __init__(
        self,
        store: CallRecord,
        playout: PlayoutBuffer,
        actions: CallActions | None,
        *,
        feedback_timeout_s: float,
    ) -> None:
        self._store = store
        self._playout = playout
        self._actions = actions
        self._feedback_timeout_s = feedback_timeout_s

    async def run(
        self, call_uuid: str, call_id: str, request: ToolRequest
    ) -> ToolResult | OwnerAnswer:
        """Do what `request` asks on the call `call_uuid`; raises what the work raised."""
        match request:
            case PressKeys(digits=digits):
                if self._actions is None:
                    tones = dtmf_tones(digits)
                    self._playout.push(tones, item_id=f"dtmf-{uuid.uuid4()}", response_id="dtmf")
                    self._playout.flush()
                else:
                    async with asyncio.timeout(TOOL_TIMEOUT_S):
                        await self._actions.send_dtmf(call_uuid, digits)
                return ToolResult(call_id, {"pressed": digits})
            case AskOwner(question=question):
                wait_s = self._feedback_timeout_s
                async with asyncio.timeout(wait_s + TOOL_TIMEOUT_S):
                    feedback_id = await self._store.ask_owner(question, wait_s)
                    answer = await self._store.wait_answer(feedback_id, wait_s)
                return OwnerAnswer(call_id, answer)
            case RecordFact(name=name, value=value, quote=quote):
                async with asyncio.timeout(TOOL_TIMEOUT_S):
                    await self._store.add_fact(name, value, quote)
                return ToolResult(call_id, {"recorded": name})
            case _:
                assert_never(request)
