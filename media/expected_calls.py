"""The call UUIDs this node is placing right now: the only ones its AudioSocket server serves.

The node knows a call's UUID before it sends the Originate (the attempt's deterministic id), so
it expects that UUID first; Asterisk connects only once the callee has answered. A connection
naming any other UUID, or naming an expected one a second time, is refused before anything is
looked up — a peer that can reach the port cannot make the node read the database or open a
voice session for a call it did not place.
"""

from __future__ import annotations

import uuid

from core.logging import get_logger
from media.audiosocket_session import Resolver
from media.session import SessionHandler

log = get_logger("opendeep.media.audiosocket")


class ExpectedCalls:
    def __init__(self) -> None:
        self._uuids: set[uuid.UUID] = set()

    def expect(self, call_uuid: str | uuid.UUID) -> None:
        """Serve one AudioSocket connection for this call, until it comes or `forget`."""
        self._uuids.add(_as_uuid(call_uuid))

    def forget(self, call_uuid: str | uuid.UUID) -> None:
        self._uuids.discard(_as_uuid(call_uuid))

    def __contains__(self, call_uuid: object) -> bool:
        return call_uuid in self._uuids

    def __len__(self) -> int:
        return len(self._uuids)

    def take(self, call_uuid: uuid.UUID) -> bool:
        """True (once) when `call_uuid` is expected; the expectation is used up."""
        if call_uuid not in self._uuids:
            return False
        self._uuids.discard(call_uuid)
        return True

    def guard(self, resolve: Resolver) -> Resolver:
        """`resolve`, called only for an expected UUID; any other gets None (the session hangs
        up and closes) with a log line."""

        async def resolve_expected(call_uuid: uuid.UUID) -> SessionHandler | None:
            if not self.take(call_uuid):
                log.warning("audiosocket.unexpected_call", call_id=str(call_uuid))
                return None
            return await resolve(call_uuid)

        return resolve_expected


def _as_uuid(value: str | uuid.UUID) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)
