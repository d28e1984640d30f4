"""Can a call's voice start? Asked before every dial, so no one is rung only to be hung up on.

Two questions: do the settings make a Realtime client at all (a key for OpenAI, a ws/wss URL),
and does the Realtime server accept a session (opened and closed at once, as a call would open
it). The answer is kept a few seconds (a dispatch pass asks once), on an injected monotonic
clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from core.domain import REHEARSAL_VOICE
from media.realtime_client import RealtimeClientFactory, RealtimeConnectionError

CHECK_TTL_S = 10.0
CONNECT_TIMEOUT_S = 3.0


class VoiceCheck:
    def __init__(
        self,
        clients: RealtimeClientFactory,
        *,
        ttl_s: float = CHECK_TTL_S,
        timeout_s: float = CONNECT_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._checked: tuple[float, str, str | None] | None = None  # (at, url, problem)
        self._lock = asyncio.Lock()

    async def problem(self) -> str | None:
        """None when the voice can start; else one line that names the setting to fix."""
        async with self._lock:
            url = self._clients.base_url
            now = self._clock()
            if self._checked is not None:
                at, checked_url, problem = self._checked
                if checked_url == url and now - at < self._ttl_s:
                    return problem
            problem = self._clients.config_problem()
            if problem is None and self._clients.voice != REHEARSAL_VOICE:
                # The rehearsal voice is this process's own server: up while the node is.
                problem = await self._reach(url)
            self._checked = (self._clock(), url, problem)
            return problem

    async def _reach(self, url: str) -> str | None:
        # A session opened and closed the way a call opens one: the address, the TLS, the
        # WebSocket upgrade and the key are all checked, and the server sees an ordinary
        # client (a bare TCP probe makes a WebSocket server log a failed handshake).
        rt = self._clients()
        try:
            async with asyncio.timeout(self._timeout_s):
                await rt.connect()
        except TimeoutError:
            return f"REALTIME_URL {url} cannot be reached (no answer within {self._timeout_s:g} s)"
        except RealtimeConnectionError as exc:
            cause = exc.__cause__
            why = (getattr(cause, "strerror", None) or str(cause)) if cause else str(exc)
            return f"REALTIME_URL {url} cannot be reached ({why})"
        finally:
            await rt.close()
        return None
