"""Recordings served to their owner only, from inside the recordings folder only.

A page that shows a call gets a link signed for (user, call) with an expiry; the route checks
the signature and that the request's own session is that user's, then asks the services for
that user's call — so a link can neither be forged for another call nor used from another
user's session, and a path stored in the database cannot point outside the folder.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse

from core.db import Database, NotFound
from core.services import ServiceError, recording_of
from ui.auth import Authenticator, NotSignedIn, session_username

LINK_LIFETIME_S = 6 * 3600


class RecordingLinks:
    """Signs and checks recording links with a key that lives as long as this process."""

    def __init__(self, key: bytes | None = None, *, lifetime_s: int = LINK_LIFETIME_S) -> None:
        self._key = key or secrets.token_bytes(32)
        self._lifetime = lifetime_s

    def _sign(self, user_id: int, call_id: int, expires: int) -> str:
        msg = f"{user_id}:{call_id}:{expires}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:32]

    def url(self, user_id: int, call_id: int, *, now: float | None = None) -> str:
        expires = int((now or time.time()) + self._lifetime)
        sig = self._sign(user_id, call_id, expires)
        return f"/recordings/{call_id}?u={user_id}&e={expires}&s={sig}"

    def user_for(self, call_id: int, u: int, e: int, s: str, *, now: float | None = None) -> int:
        """The user a link was signed for; `PermissionError` for a forged or stale link."""
        if e < (now or time.time()):
            raise PermissionError("the link has expired: reload the page")
        if not hmac.compare_digest(self._sign(u, call_id, e), s):
            raise PermissionError("the link is not valid")
        return u


def add_recording_route(
    app: FastAPI, db: Database, auth: Authenticator, links: RecordingLinks, folder: Path
) -> None:
    @app.get("/recordings/{call_id}", include_in_schema=False)
    async def recording(request: Request, call_id: int, u: int, e: int, s: str) -> FileResponse:
        try:
            user_id = links.user_for(call_id, u, e, s)
            if await auth.user_id_for_name(session_username(app, request)) != user_id:
                raise PermissionError("this recording belongs to another account")
            path = await recording_of(db, user_id, call_id, folder)
        except NotSignedIn:
            raise HTTPException(401, "sign in first") from None
        except PermissionError as exc:
            raise HTTPException(403, str(exc)) from None
        except (NotFound, ServiceError):
            raise HTTPException(404, "no such recording") from None
        return FileResponse(path, headers={"Cache-Control": "private, max-age=300"})
