"""The Gradio app, mounted on FastAPI so it runs on the service's own event loop."""

from __future__ import annotations

import asyncio
import datetime as dt

import gradio as gr
from fastapi import FastAPI

from core.db import Database, utcnow
from core.services import ChatAssistant, HitlResumer
from core.settings import Settings
from media.listen import CallLines
from ui.auth import mounted_gradio_app
from ui.blocks import build_blocks
from ui.context import UiContext
from ui.listen import add_listen_route
from ui.recordings import add_recording_route
from ui.sign_in import Clock, SignInGate
from ui.sign_in_http import LOGIN_MESSAGE, add_sign_in, refuse_direct_login
from ui.style import CSS, HEAD


def build_asgi_app(
    settings: Settings,
    db: Database,
    *,
    assistant: ChatAssistant | None = None,
    resumer: HitlResumer | None = None,
    clock: Clock = utcnow,
    lines: CallLines | None = None,
) -> FastAPI:
    """The whole UI; without an `assistant`, Chat says it is not configured, and answers
    to approvals are only stored (see `ui.wiring.graph_services` for the graphs'). `clock`
    times sessions and sign-in locks. `lines` are the calls this node carries, to listen in
    on (None: it carries none)."""
    ctx = UiContext.create(settings, db, assistant=assistant, resumer=resumer)
    blocks = build_blocks(ctx)
    api = FastAPI(title="OpenDeep", docs_url=None, redoc_url=None, openapi_url=None)

    @api.get("/healthz")
    async def healthz() -> dict[str, str]:
        await db.ping()
        return {"status": "ok"}

    add_recording_route(api, db, ctx.auth, ctx.links, ctx.recordings_dir)
    add_listen_route(api, db, ctx.auth, lines, node_id=settings.effective_node_id)
    gate = SignInGate(
        db,
        clock,
        lifetime=dt.timedelta(seconds=settings.ui_session_lifetime_s),
        idle=dt.timedelta(seconds=settings.ui_session_idle_s),
    )
    add_sign_in(api, gate, settings.trusted_proxies)
    mounted: FastAPI = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=refuse_direct_login,
        auth_message=LOGIN_MESSAGE,
        show_error=False,
        footer_links=[],
        css=CSS,
        head=HEAD,
        # System fonts: a self-hosted app fetches nothing from font CDNs.
        theme=gr.themes.Default(
            primary_hue="blue",
            radius_size="md",
            font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
            font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
        ),
    )
    return mounted


def end_event_streams(app: FastAPI) -> None:
    """End the open pages' heartbeat streams, so a shutdown does not wait on them.

    Gradio keeps one long-lived stream per open page and ends them when its `stop_event` is
    set (what `Blocks.close()` does for `launch()`); a mounted app has to do it itself.
    """
    stop = getattr(mounted_gradio_app(app), "stop_event", None)
    if isinstance(stop, asyncio.Event):
        stop.set()
