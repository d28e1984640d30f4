"""The Gradio app, mounted on FastAPI so it runs on the service's own event loop."""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI

from core.db import Database
from core.settings import Settings
from ui.auth import Authenticator
from ui.views import build_blocks


def build_asgi_app(settings: Settings, db: Database) -> FastAPI:
    auth = Authenticator(db)
    blocks = build_blocks(settings, db, auth)
    api = FastAPI(title="OpenDeep", docs_url=None, redoc_url=None, openapi_url=None)

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        await db.ping()
        return {"status": "ok"}

    mounted: FastAPI = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=auth.login,
        auth_message="Sign in to OpenDeep",
        show_error=False,
    )
    return mounted
