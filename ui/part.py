"""The UI as a service part: Gradio mounted on FastAPI, served by uvicorn on the shared loop."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from core.db import Database
from core.logging import get_logger
from core.services import ChatAssistant, HitlResumer
from core.settings import Settings
from media.listen import CallLines
from ui.stream_closer import StreamCloser

GRACEFUL_SHUTDOWN_S = 3
log = get_logger("opendeep.ui")


def plain_http_warning(host: str) -> str | None:
    """What to warn about when the UI is to serve plain HTTP (it never serves TLS itself)
    beyond this machine; None on a loopback address."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return (
        f"the UI serves plain HTTP on {host}: passwords and session cookies cross the network "
        "unencrypted; put it behind a reverse proxy with TLS "
        "(README, 'Behind a reverse proxy')"
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class UiPart:
    name = "ui"

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        assistant: ChatAssistant | None = None,
        resumer: HitlResumer | None = None,
        lines: CallLines | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._assistant = assistant
        self._resumer = resumer
        self._lines = lines
        self._server: uvicorn.Server | None = None
        self._app: FastAPI | None = None
        self._task: asyncio.Task[None] | None = None
        self._closer: StreamCloser | None = None

    def describe(self) -> str:
        return f"open http://{self._settings.ui_host}:{self._settings.ui_port}/ in your browser"

    async def start(self) -> None:
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        warning = plain_http_warning(self._settings.ui_host)
        if warning:
            log.warning(warning)
        from ui.app import build_asgi_app

        app = self._app = build_asgi_app(
            self._settings,
            self._db,
            assistant=self._assistant,
            resumer=self._resumer,
            lines=self._lines,
        )
        self._closer = StreamCloser(app)
        config = uvicorn.Config(
            self._closer,
            host=self._settings.ui_host,
            port=self._settings.ui_port,
            log_config=None,
            access_log=False,
            # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; which proxies
            # are trusted is `UI_TRUSTED_PROXIES`' to say (`ui.client_address`).
            proxy_headers=False,
            lifespan="on",
            # Open pages hold event streams; without a bound, shutdown would wait for them.
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        self._server = _Server(config)
        # Bind here so a busy port is a clear OSError, not uvicorn's sys.exit inside a task.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._settings.ui_host, self._settings.ui_port))
        except OSError as exc:
            sock.close()
            where = f"{self._settings.ui_host}:{self._settings.ui_port}"
            raise OSError(exc.errno, f"the UI cannot listen on {where}: {exc.strerror}") from None
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="ui-server")
        for _ in range(600):
            if self._server.started:
                return
            if self._task.done():
                self._task.result()
                raise OSError(f"the UI server stopped while starting on {self._settings.ui_port}")
            await asyncio.sleep(0.05)
        raise TimeoutError("the UI server did not start within 30 s")

    async def stop(self) -> None:
        if self._app is not None:
            from ui.app import end_event_streams

            end_event_streams(self._app)
        if self._closer is not None:
            self._closer.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
