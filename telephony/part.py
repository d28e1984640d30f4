"""`TelephonyPart`: the AMI connection and the call initiator as one part of `opendeep serve`."""

from __future__ import annotations

from core.db import Database
from core.settings import Settings
from telephony.ami_connection import AmiConnection
from telephony.call_initiator import CallInitiator


class TelephonyPart:
    """Factory signature `TelephonyPart(settings, db)`; starts without waiting for Asterisk
    (but reads the installation's id, the namespace of its channel ids, from `db`)."""

    name = "telephony"

    def __init__(self, settings: Settings, db: Database) -> None:
        self._settings = settings
        self.ami = AmiConnection(settings)
        self.calls = CallInitiator(settings, db, self.ami)

    async def start(self) -> None:
        await self.calls.start()
        await self.ami.start()

    async def stop(self) -> None:
        await self.calls.stop()
        await self.ami.stop()

    def describe(self) -> str:
        state = str(self.ami.state)
        if self.ami.problem and not self.ami.connected:
            state += f" ({self.ami.problem})"
        line = f"AMI {self.ami.address} {state}, calls {self.calls.calls_up}/{self.calls.limit}"
        if self._settings.app_test_mode:
            line += (
                f", test mode: every call goes to {self._settings.app_test_mode_redirect_number}"
            )
        return line
