"""The request → user id mapping every view starts with (sign-in itself: `ui.sign_in`)."""

from __future__ import annotations

from typing import Any

import gradio as gr
from fastapi import FastAPI, Request

from core.db import Database


class NotSignedIn(PermissionError):
    pass


class Authenticator:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._ids: dict[str, int] = {}

    async def user_id(self, request: gr.Request | None) -> int:
        """The signed-in user's id; raises `NotSignedIn` for a request without a session."""
        name = getattr(request, "username", None) if request is not None else None
        return await self.user_id_for_name(name)

    async def user_id_for_name(self, name: object) -> int:
        """The id of the user a Gradio session was opened for; `NotSignedIn` if none."""
        if not name:
            raise NotSignedIn("not signed in")
        key = str(name).strip().lower()
        if key in self._ids:
            return self._ids[key]
        async with self._db.users() as users:
            user_id = await users.id_for(key)
        if user_id is None:
            raise NotSignedIn("unknown user")
        self._ids[key] = user_id
        return user_id


def mounted_gradio_app(app: FastAPI) -> Any | None:
    """The Gradio app `gr.mount_gradio_app` mounted on `app` (it holds the sessions)."""
    for route in app.routes:
        inner = getattr(route, "app", None)
        if isinstance(getattr(inner, "tokens", None), dict) and getattr(inner, "cookie_id", None):
            return inner
    return None


def session_username(app: FastAPI, request: Request) -> str | None:
    """The user name of the Gradio session a plain (non-Gradio) request carries, if any.

    Gradio keeps its sessions as cookie token → user name on the mounted app; this reads them
    the same way it does for `gr.Request.username`, for routes of our own beside it.
    """
    gradio_app = mounted_gradio_app(app)
    if gradio_app is None:
        return None
    cookie_id = gradio_app.cookie_id
    token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
        f"access-token-unsecure-{cookie_id}"
    )
    name = gradio_app.tokens.get(token) if token else None
    return str(name) if name else None
