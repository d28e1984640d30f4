"""Listening in on a call from the browser: `GET /live/{call_id}/listen`.

The answer is a chunked HTTP stream (`application/octet-stream`) of `media.listen` records —
both sides of the call mixed, 8 kHz G.711 μ-law, each record stamped with the time it was
mixed — until the call ends, the listener goes, or its session does (checked every second).
Plain HTTP on the page's own origin: the session cookie goes with it, another site's page
cannot read it, and a reverse proxy passes it as it passes the page's event streams.

Served to the call's owner only: the session's user must own the call (`Database.scope`), and
the node's `CallLines` hands out a listener only for that user's line. A call that is not the
user's is answered exactly like one that does not exist. Statuses: 401 no session; 404 no such
call of theirs; 410 the call has ended; 409 the call is not on the line here (not connected
yet: with `Retry-After`, or carried by another node); 429 enough listeners already.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse

from core.db import Database
from core.domain import CallState
from core.logging import get_logger
from media.listen import CallLines, Listener
from ui.auth import Authenticator, NotSignedIn, session_username

log = get_logger("opendeep.ui.listen")

CHECK_S = 1.0  # how often a stream checks that its session and its client are still there
MEDIA_TYPE = "application/octet-stream"


def add_listen_route(
    app: FastAPI,
    db: Database,
    auth: Authenticator,
    lines: CallLines | None,
    *,
    node_id: str,
    check_s: float = CHECK_S,
) -> None:
    """Register the route; `lines` are the node's calls (None: this node carries none)."""

    async def signed_in_user(request: Request) -> int:
        return await auth.user_id_for_name(session_username(app, request))

    @app.get("/live/{call_id}/listen", include_in_schema=False)
    async def listen(request: Request, call_id: int) -> StreamingResponse:
        try:
            user_id = await signed_in_user(request)
        except NotSignedIn:
            raise HTTPException(401, "sign in first") from None
        async with db.scope(user_id) as s:
            call = await s.calls.get(call_id)
        if call is None:
            raise HTTPException(404, "no such call")
        if call.state is CallState.ENDED:
            raise HTTPException(410, "the call has ended")
        line = lines.line(user_id, call_id) if lines is not None else None
        if line is None:
            if call.node_id and call.node_id != node_id:
                raise HTTPException(
                    409,
                    f"this call is carried by the node {call.node_id}: "
                    "open that node's page to listen",
                )
            # Answered, but not connected to this node yet (the dialplan's answering-machine
            # detection runs first): the page asks again.
            raise HTTPException(
                409, "the call is not on the line yet", headers={"Retry-After": "1"}
            )
        listener = line.listen()
        if listener is None:
            raise HTTPException(429, "enough listeners on this call already")
        log.info("listening in", user_id=user_id, call_id=call_id)
        return StreamingResponse(
            _records(request, listener, user_id, signed_in_user, check_s),
            media_type=MEDIA_TYPE,
            headers={
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # nginx: pass each record on as it comes
                "X-Content-Type-Options": "nosniff",
            },
        )


async def _records(
    request: Request,
    listener: Listener,
    user_id: int,
    signed_in_user: Callable[[Request], Awaitable[int]],
    check_s: float,
) -> AsyncIterator[bytes]:
    """The listener's records while its session lasts and its client stays."""
    loop = asyncio.get_running_loop()
    next_check = loop.time() + check_s
    sent = 0
    try:
        async with contextlib.aclosing(listener.records()) as records:
            async for record in records:
                yield record
                sent += len(record)
                if loop.time() < next_check:
                    continue
                next_check = loop.time() + check_s
                if await request.is_disconnected():
                    return
                try:
                    if await signed_in_user(request) != user_id:
                        return
                except NotSignedIn:
                    return
    finally:
        listener.leave()
        log.info("stopped listening", user_id=user_id, call_id=listener.call_id, bytes=sent)
