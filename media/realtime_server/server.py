"""`RealtimeTestServer`: a local WebSocket server speaking the OpenAI Realtime GA protocol.

Point the SDK at it with `AsyncOpenAI(api_key=<any>, websocket_base_url=srv.url)`; the client
connects to `<url>/realtime?model=…` with a Bearer key, exactly as it would to OpenAI. Each
connection plays the script from its start and keeps a `ConnectionRecord` of what it saw.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from media.realtime_server.connection import ScriptSelector, SimConnection, Transcriber
from media.realtime_server.record import ConnectionRecord
from media.realtime_server.responses import SimOptions
from media.realtime_server.script import Script, demo_script

REALTIME_PATH = "/v1/realtime"
_MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the real API accepts audio appends of several MB


class RealtimeTestServer:
    """`async with RealtimeTestServer(script=...) as srv:` then connect to `srv.url`."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        options: SimOptions | None = None,
        transcriber: Transcriber | None = None,
        select_script: ScriptSelector | None = None,
    ) -> None:
        self.script = script or demo_script()
        self.options = options or SimOptions()
        self._host = host
        self._port = port
        self._transcriber = transcriber
        self._select_script = select_script
        self._server: Server | None = None
        self.connections: list[ConnectionRecord] = []
        self._sockets: set[ServerConnection] = set()
        self._new_connection = asyncio.Event()

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        """The WebSocket base URL for `websocket_base_url` (the SDK appends `/realtime`)."""
        return f"ws://{self._host}:{self.port}/v1"

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            process_request=self._check_request,
            max_size=_MAX_MESSAGE_BYTES,
            compression=None,
        )

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def conversations(self) -> list[ConnectionRecord]:
        """The connections a client configured (`session.update`): its calls. A readiness
        check (`media.voice_check`) opens a session and closes it unconfigured."""
        return [c for c in self.connections if "session.update" in c.received_types()]

    async def wait_for_connection(self, index: int = 0, timeout_s: float = 5.0) -> ConnectionRecord:
        """The `index`-th connection's record, once it has connected."""
        async with asyncio.timeout(timeout_s):
            while len(self.connections) <= index:
                self._new_connection.clear()
                await self._new_connection.wait()
        return self.connections[index]

    async def _check_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        if self.options.connect_latency_ms:
            await asyncio.sleep(self.options.connect_latency_ms / 1000)
        path = urlsplit(request.path).path
        if path.rstrip("/") != REALTIME_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, f"no Realtime endpoint at {path}\n")
        auth = request.headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return connection.respond(
                HTTPStatus.UNAUTHORIZED, "missing bearer authentication in header\n"
            )
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        query = parse_qs(urlsplit(request.path).query)
        record = ConnectionRecord(
            path=request.path,
            model=query["model"][0] if query.get("model") else None,
            api_key=request.headers.get("Authorization", "").partition(" ")[2],
            limit=self.options.record_limit,
        )
        self.connections.append(record)
        self._sockets.add(ws)
        self._new_connection.set()
        try:
            await SimConnection(
                ws, record, self.script, self.options, self._transcriber, self._select_script
            ).run()
        finally:
            self._sockets.discard(ws)

    async def drop_connections(self) -> None:
        """Cut every open connection abnormally (code 1011), as a network or server fault would."""
        for ws in list(self._sockets):
            await ws.close(code=1011, reason="simulated server fault")
