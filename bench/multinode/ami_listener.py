"""An AMI session of the benchmark's own, independent of OpenDeep's telephony code: it counts
what Asterisk itself reports — every `Newchannel` and `OriginateResponse` — with the time each
arrived, so that how often each task was really dialled is known whatever the nodes believe.

The Local channel's `;1` half has the attempt's deterministic `ChannelId` as its `Uniqueid`
(`telephony.channel_ids.attempt_ids`, in the namespace of the database's installation), so a
`Newchannel` with that id is one dial of that attempt; the `;2` half carries the
`OtherChannelId`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from panoramisk import Manager

LOGIN_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Seen:
    t: float  # wall clock when the event arrived here
    uniqueid: str
    channel: str
    detail: str = ""  # OriginateResponse: Response/Reason


@dataclass
class AmiListener:
    host: str
    port: int
    username: str
    secret: str
    newchannels: list[Seen] = field(default_factory=list)
    originate_responses: list[Seen] = field(default_factory=list)
    disconnects: int = 0
    _manager: Manager | None = None

    async def start(self) -> None:
        """Log in (bounded); raises `ConnectionError` when Asterisk cannot be reached."""
        manager = Manager(
            host=self.host,
            port=self.port,
            username=self.username,
            secret=self.secret,
            ping_delay=10,
            loop=asyncio.get_running_loop(),
            on_disconnect=self._on_disconnect,
        )
        manager.register_event("Newchannel", self._on_newchannel)
        manager.register_event("OriginateResponse", self._on_originate_response)
        self._manager = manager
        try:
            await asyncio.wait_for(manager.connect(), LOGIN_TIMEOUT_S)
            assert manager.authenticated_future is not None
            login = await asyncio.wait_for(manager.authenticated_future, LOGIN_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise ConnectionError(
                f"cannot reach AMI at {self.host}:{self.port} ({exc!r}): is the PBX up?"
            ) from None
        if not login.success:
            self.close()
            raise ConnectionError(f"AMI login as {self.username!r} refused: {dict(login)}")

    async def has_extension(self, context: str, extension: str) -> bool | None:
        """Whether the dialplan has `extension` in `context` (None: AMI would not say)."""
        if self._manager is None:
            return None
        try:
            reply = await asyncio.wait_for(
                self._manager.send_action(
                    {"Action": "ShowDialPlan", "Context": context, "Extension": extension},
                    as_list=True,
                ),
                LOGIN_TIMEOUT_S,
            )
        except TimeoutError:
            return None
        messages = reply if isinstance(reply, list) else [reply]
        if any(str(m.get("Response", "")).lower() == "error" for m in messages):
            text = " ".join(str(m.get("Message", "")) for m in messages).lower()
            return False if "not found" in text else None
        return any(m.get("Event") == "ListDialplan" for m in messages)

    def close(self) -> None:
        if self._manager is not None:
            self._manager.close()
            self._manager = None

    def _on_disconnect(self, _manager: Manager, _exc: Any) -> None:
        self.disconnects += 1

    def _on_newchannel(self, _manager: Manager, event: Any) -> None:
        self.newchannels.append(
            Seen(time.time(), str(event.get("Uniqueid", "")), str(event.get("Channel", "")))
        )

    def _on_originate_response(self, _manager: Manager, event: Any) -> None:
        self.originate_responses.append(
            Seen(
                time.time(),
                str(event.get("Uniqueid", "")),
                str(event.get("Channel", "")),
                f"{event.get('Response', '')}/{event.get('Reason', '')}",
            )
        )
