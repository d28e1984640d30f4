"""The AudioSocket TCP server: accepts Asterisk's connections and runs one session per call.

Only peers in the allow-list (`allowed_peers`, loopback by default) get a session: any other
connection is closed at once, before a byte is read or sent, and logged. Each accepted socket
gets `TCP_NODELAY` (20 ms frames must not wait for Nagle) and an
`AudioSocketSession`; the server owns every session task and cancels them on `stop()`. A bad
peer ends only its own session. All sessions send their frames on the server's one
`FrameClock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from core.logging import get_logger
from media.audiosocket_session import AudioSocketSession, Resolver, SessionLimits
from media.pacer import FrameClock

log = get_logger("opendeep.media.audiosocket")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


def peer_allowed(address: str, allowed: Sequence[Network]) -> bool:
    """Whether a peer at `address` (as `getpeername()` gives it) is in one of the `allowed`
    networks. An IPv4 peer reaching a dual-stack IPv6 socket (`::ffff:10.0.0.5`) counts as its
    IPv4 address; anything that is not an IP address (a Unix socket's path) is not allowed."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (`fe80::1%eth0`)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in allowed)


class AudioSocketServer:
    """Listens on `host:port` (port 0: the OS picks; read `port` after `start()`) and serves
    the peers in `allowed_peers` only."""

    name = "audiosocket"

    def __init__(
        self,
        resolve: Resolver,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allowed_peers: Sequence[Network] = LOOPBACK,
        limits: SessionLimits | None = None,
        max_sessions: int = 256,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self._resolve = resolve
        self._host = host
        self._port = port
        self._allowed = tuple(allowed_peers)
        self._limits = limits or SessionLimits()
        self._max_sessions = max_sessions
        self._stop_timeout_s = stop_timeout_s
        self._server: asyncio.Server | None = None
        self._sessions: dict[asyncio.Task[None], AudioSocketSession] = {}
        self._clock = FrameClock()
        self.rejected = 0  # connections refused because `max_sessions` were running
        self.refused_peers = 0  # connections closed because the peer is not allowed

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active_sessions(self) -> int:
        return len(self._sessions)

    @property
    def sessions(self) -> list[AudioSocketSession]:
        """The live sessions, for metrics (`call_id`, `counters`, `pacer_stats`)."""
        return list(self._sessions.values())

    def describe(self) -> str:
        return f"AudioSocket on {self.host}:{self.port}"

    async def start(self) -> None:
        """Bind and start accepting; raises `OSError` if the address is taken."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._on_connect, self._host, self._port)
        log.info(
            "audiosocket.listening",
            host=self._host,
            port=self.port,
            allowed_peers=[str(net) for net in self._allowed],
        )

    async def stop(self) -> None:
        """Stop accepting, end every session (reason `server_shutdown`), and wait for them."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._sessions)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._stop_timeout_s)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), self._stop_timeout_s)
        await self._clock.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
        if not peer_allowed(address, self._allowed):
            # Audio of a call is private: a stranger gets neither silence frames nor a look-up.
            self.refused_peers += 1
            log.warning("audiosocket.peer_refused", peer=address)
            writer.close()
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if len(self._sessions) >= self._max_sessions:
            self.rejected += 1
            log.warning("audiosocket.too_many_sessions", limit=self._max_sessions)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        session = AudioSocketSession(reader, writer, self._resolve, self._limits, self._clock)
        self._sessions[task] = session
        try:
            await session.run()
        except asyncio.CancelledError:
            pass  # stop() cancelled us; the session has already ended cleanly
        except Exception:
            log.exception("audiosocket.session_crashed", peer=session.peer)
        finally:
            self._sessions.pop(task, None)
