"""The rehearsal voice: a node without an OpenAI key serves its calls' voice itself.

The local Realtime-protocol server (`media.realtime_server`) runs on a free loopback port as a
part of the node, and the node's Realtime clients are pointed at it, so a call placed from the
UI holds a real (scripted) conversation instead of failing for want of a key. Every call it
carries is stored with `calls.voice = "rehearsal"`, which the UI shows as such.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from core.domain import REHEARSAL_VOICE
from core.settings import Settings
from media.realtime_client import OPENAI_HOST, RealtimeClientFactory
from media.realtime_server import RealtimeTestServer, Script, SimOptions
from media.realtime_server.connection import ScriptSelector

__all__ = ["REHEARSAL_VOICE", "RehearsalVoicePart", "wants_rehearsal_voice"]


def wants_rehearsal_voice(settings: Settings) -> bool:
    """No key and the voice would be OpenAI's: the node serves the rehearsal voice itself.

    A key, or a REALTIME_URL of one's own (a local model server), leaves the voice as set.
    """
    return not settings.has_openai and urlsplit(settings.realtime_url).hostname == OPENAI_HOST


class RehearsalVoicePart:
    """The local scripted Realtime server as a service part; `start` points `clients` at it."""

    name = "voice"

    def __init__(
        self,
        clients: RealtimeClientFactory,
        select_script: ScriptSelector,
        *,
        options: SimOptions | None = None,
    ) -> None:
        self._clients = clients
        # The default script never plays: each call's first session.update chooses its own.
        self._server = RealtimeTestServer(
            Script(name="unselected"),
            options=options or SimOptions(realtime_factor=1.0),
            select_script=select_script,
        )

    @property
    def url(self) -> str:
        return self._server.url

    def describe(self) -> str:
        return (
            f"REHEARSAL voice: local scripted Realtime server at {self.url} "
            "(set OPENAI_API_KEY for a real voice)"
        )

    async def start(self) -> None:
        await self._server.start()
        self._clients.base_url = self._server.url
        self._clients.voice = REHEARSAL_VOICE

    async def stop(self) -> None:
        await self._server.close()
