"""Login against the `users` table, and the request → user id mapping every view starts with."""

from __future__ import annotations

import gradio as gr

from core.db import Database
from core.logging import get_logger

log = get_logger("opendeep.ui.auth")


class NotSignedIn(PermissionError):
    pass


class Authenticator:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._ids: dict[str, int] = {}

    async def login(self, username: str, password: str) -> bool:
        async with self._db.users() as users:
            user_id = await users.authenticate(username, password)
        if user_id is None:
            log.info("login refused", username=username)
            return False
        self._ids[username.strip().lower()] = user_id
        log.info("login", user_id=user_id)
        return True

    async def user_id(self, request: gr.Request | None) -> int:
        """The signed-in user's id; raises `NotSignedIn` for a request without a session."""
        name = getattr(request, "username", None) if request is not None else None
        if not name:
            raise NotSignedIn("not signed in")
        key = str(name).strip().lower()
        if key in self._ids:
            return self._ids[key]
        # A session that outlived a restart: the name came from Gradio's signed token.
        async with self._db.users() as users:
            user_id = await users.id_for(key)
        if user_id is None:
            raise NotSignedIn("unknown user")
        self._ids[key] = user_id
        return user_id
