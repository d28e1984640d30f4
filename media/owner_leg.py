"""The owner's leg of a handover as this node's AudioSocket server sees it.

When a call is handed over, telephony rings the owner's phone on a leg of its own whose audio
comes to the same AudioSocket server under the leg's UUID. The call's bridge registers an
`OwnerLeg` for that UUID (`OwnerLegs.expect`) before the leg is placed; the server's resolver
takes it (`OwnerLegs.take`) when the owner answers. The leg plays what the bridge queues on
its playout (the agent's brief) and tells the bridge when it comes up and when it closes; what
the owner says is not listened to: they talk with the callee once the PBX bridges the legs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from media.conversation.inputs import Input, OwnerLegEnded, OwnerLegUp
from media.expected_calls import ExpectedCalls
from media.playout import PlayoutBuffer
from media.session import EndReason, SessionControl, SessionEvent


def owner_leg_uuid(call_uuid: str) -> str:
    """The UUID of a call's (one) owner leg: its AudioSocket UUID and its channel's id, the
    same for every try, so the PBX refuses a second leg while the first lives."""
    return str(uuid.uuid5(uuid.UUID(call_uuid), "owner"))


class OwnerLeg:
    """The `SessionHandler` of an owner's leg; `offer` hands its news to the call's bridge."""

    def __init__(self, offer: Callable[[Input], None]) -> None:
        self._offer = offer
        self._playout = PlayoutBuffer()

    @property
    def playout(self) -> PlayoutBuffer:
        return self._playout

    async def on_start(self, control: SessionControl) -> None:
        self._offer(OwnerLegUp())

    async def on_event(self, event: SessionEvent) -> None:
        return None  # the owner's words are for the callee, once the legs are bridged

    async def on_end(self, reason: EndReason) -> None:
        self._offer(OwnerLegEnded())


class OwnerLegs:
    """The owner legs this node's AudioSocket server awaits, by leg UUID."""

    def __init__(self, expected: ExpectedCalls) -> None:
        self._expected = expected
        self._legs: dict[uuid.UUID, OwnerLeg] = {}

    def expect(self, leg_uuid: str, leg: OwnerLeg) -> None:
        """Serve `leg_uuid`'s AudioSocket connection with `leg` (once), until `forget`."""
        key = uuid.UUID(leg_uuid)
        self._legs[key] = leg
        self._expected.expect(key)

    def take(self, leg_uuid: uuid.UUID) -> OwnerLeg | None:
        return self._legs.pop(leg_uuid, None)

    def forget(self, leg_uuid: str) -> None:
        key = uuid.UUID(leg_uuid)
        self._legs.pop(key, None)
        self._expected.forget(key)
