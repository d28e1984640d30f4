"""End every open HTTP stream at shutdown, as if its client had gone.

A page keeps long-lived responses open (Gradio's heartbeat and its queue's event streams, which
wait up to 10 s for their next message). uvicorn's graceful shutdown waits for them and then
cancels them, which logs a traceback per stream. Wrapping the app in `StreamCloser` lets the
service answer each pending `receive()` with `http.disconnect` when it stops: the streaming
responses see a client that left and finish on their own, at once and cleanly.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_DISCONNECT: Message = {"type": "http.disconnect"}


class StreamCloser:
    """ASGI middleware; `close()` disconnects every in-flight and later HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._closing: asyncio.Event | None = None

    @property
    def closing(self) -> bool:
        return self._closing is not None and self._closing.is_set()

    def close(self) -> None:
        self._event().set()

    def _event(self) -> asyncio.Event:
        # Created on first use, so the event belongs to the loop that serves.
        if self._closing is None:
            self._closing = asyncio.Event()
        return self._closing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        closing = self._event()

        async def receive_until_closed() -> Message:
            if closing.is_set():
                return _DISCONNECT
            received: asyncio.Task[Any] = asyncio.ensure_future(receive())
            closed = asyncio.ensure_future(closing.wait())
            try:
                await asyncio.wait({received, closed}, return_when=asyncio.FIRST_COMPLETED)
            except BaseException:
                received.cancel()
                raise
            finally:
                closed.cancel()
            if received.done():
                message: Message = received.result()
                return message
            received.cancel()
            return _DISCONNECT

        await self.app(scope, receive_until_closed, send)
