"""StreamCloser ends open streaming responses at shutdown, on a real uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.helpers import free_port
from tests.kit import until
from ui.stream_closer import StreamCloser

GRACE_S = 2


async def endless(_: Request) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        while True:
            yield "data: ALIVE\n\n"
            # Like Gradio's queue stream: a long wait for the next message.
            await asyncio.sleep(10)

    return StreamingResponse(events(), media_type="text/event-stream")


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"got": (await request.body()).decode()})


def make_app() -> Starlette:
    return Starlette(routes=[Route("/stream", endless), Route("/echo", echo, methods=["POST"])])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(app: ASGIApp) -> tuple[_Server, asyncio.Task[None], int]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=GRACE_S
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started, 10, "uvicorn to start", step=0.02)
    return server, task, port


async def open_stream_then_stop(app: ASGIApp) -> tuple[float, str]:
    server, task, port = await serve(app)
    base_url = f"http://127.0.0.1:{port}"
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=20) as client,
        client.stream("GET", "/stream") as response,
    ):
        chunks = response.aiter_text()  # kept: a dropped iterator closes the stream
        first = await chunks.__anext__()
        started = time.monotonic()
        if isinstance(app, StreamCloser):
            app.close()
        server.should_exit = True
        await asyncio.wait_for(task, timeout=GRACE_S + 10)
        return time.monotonic() - started, first


async def test_an_open_stream_ends_at_once_and_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    took, first = await open_stream_then_stop(StreamCloser(make_app()))
    assert first == "data: ALIVE\n\n"
    assert took < GRACE_S
    assert "timeout graceful shutdown exceeded" not in caplog.text
    assert "Exception in ASGI application" not in caplog.text


async def test_without_it_the_stream_holds_shutdown_until_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The failure the closer prevents, shown on the same server (so the test above can fail)."""
    caplog.set_level(logging.INFO)
    took, _ = await open_stream_then_stop(make_app())
    assert took >= GRACE_S
    assert "timeout graceful shutdown exceeded" in caplog.text


async def test_requests_pass_untouched_until_close_then_see_a_gone_client() -> None:
    closer = StreamCloser(make_app())
    server, task, port = await serve(closer)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            echoed = await client.post("/echo", content=b"hello")
            assert echoed.json() == {"got": "hello"}
        assert not closer.closing
        closer.close()
        assert closer.closing
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            # The handler's body read sees the disconnect; no echo of the body comes back.
            with contextlib.suppress(httpx.HTTPError):
                response = await client.post("/echo", content=b"late")
                assert response.status_code != 200 or response.json() != {"got": "late"}
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=GRACE_S + 10)
