"""panoramisk's `Manager` and `AMIProtocol`, minus three behaviours OpenDeep must not have.

panoramisk 1.4, read from its source:
- `AMIProtocol.close()` moves every action still waiting for its first response into
  `Manager.awaiting_actions`, and `Manager.send_awaiting_actions` — registered on the
  `FullyBooted` event, which Asterisk sends right after each login — sends them again. After a
  reconnect an `Originate` whose response was lost would be dialled a second time.
- `Manager.connection_lost` reconnects on its own after a fixed delay, and `Manager.ping`
  pings without ever checking the answer.
- A waiting action's Future is dropped, never resolved, when the connection closes.

Here the protocol fails every waiting action with `AmiConnectionLost` instead of queueing it,
the manager never re-sends, never reconnects and never pings by itself; `AmiConnection` owns
the connection's life.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from telephony.errors import AmiConnectionLost

AmiMessage = dict[str, str]

_log = logging.getLogger("opendeep.telephony.panoramisk")


def plain(message: Any) -> AmiMessage:
    """A panoramisk `Message` as a plain dict (repeated headers joined by newlines)."""
    out: AmiMessage = {}
    for key, value in message.items():
        if key == "content":
            continue
        out[str(key)] = "\n".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


class QuietManager(Manager):  # type: ignore[misc]
    """A `Manager` used only for event dispatch: it never connects, pings or re-sends."""

    def __init__(self, **config: Any) -> None:
        super().__init__(log=_log, **config)

    async def send_awaiting_actions(self, *_: Any) -> None:
        # Never replay: an action without a response may already have been carried out.
        self.awaiting_actions.clear()

    def ping(self) -> None:
        """`AmiConnection` runs its own heartbeat, which checks the answer."""

    def connection_lost(self, exc: Any) -> None:
        """`AmiConnection` decides when to reconnect (never panoramisk's fixed timer)."""


LostCallback = Callable[["OneShotProtocol", BaseException | None], None]


class OneShotProtocol(AMIProtocol):  # type: ignore[misc]
    """One AMI TCP session. When it ends, waiting actions fail; nothing is queued again."""

    def __init__(self, manager: QuietManager, on_lost: LostCallback) -> None:
        super().__init__()
        self._manager = manager
        self._on_lost = on_lost
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = self._manager
        self.log = _log
        self.config = self._manager.config
        self.encoding = self._manager.config["encoding"]

    def connection_lost(self, exc: Any) -> None:
        # Also called by `handle_message` with the `Shutdown` event when Asterisk stops.
        if self.closed:
            return
        self.close()
        self._on_lost(self, exc if isinstance(exc, BaseException) else None)

    def close(self) -> None:
        pending = {id(action): action for action in self.responses.values()}
        self.responses.clear()
        for action in pending.values():
            if not action.future.done():
                action.future.set_exception(
                    AmiConnectionLost(
                        f"AMI connection lost before Asterisk answered {action['action']!s}"
                    )
                )
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def abort(self) -> None:
        """Cut the TCP connection at once (as a network failure would)."""
        if self.transport is not None:
            self.transport.abort()
