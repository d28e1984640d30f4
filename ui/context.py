"""What every tab needs: settings, the database, the signed-in user, and the wired services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import gradio as gr

from core.db import Database
from core.services import ChatAssistant, HitlResumer, NotConfigured, load_preferences
from core.settings import Settings
from ui.auth import Authenticator
from ui.recordings import RecordingLinks


@dataclass(frozen=True, slots=True)
class UiContext:
    settings: Settings
    db: Database
    auth: Authenticator
    links: RecordingLinks
    assistant: ChatAssistant
    resumer: HitlResumer | None

    @classmethod
    def create(
        cls,
        settings: Settings,
        db: Database,
        *,
        assistant: ChatAssistant | None = None,
        resumer: HitlResumer | None = None,
    ) -> UiContext:
        return cls(
            settings=settings,
            db=db,
            auth=Authenticator(db),
            links=RecordingLinks(),
            assistant=assistant or NotConfigured(),
            resumer=resumer,
        )

    @property
    def recordings_dir(self) -> Path:
        return self.settings.recordings_dir

    async def user_id(self, request: gr.Request | None) -> int:
        """The session's user — the only source of a user id in any view."""
        return await self.auth.user_id(request)

    async def zone(self, user_id: int) -> ZoneInfo:
        """The time zone the user reads times in (their preference; UTC until they set one)."""
        return (await load_preferences(self.db, self.settings, user_id)).zone
