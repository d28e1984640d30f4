"""Live calls: the user's calls in progress with their transcript, refreshed every second or so."""

from __future__ import annotations

from typing import Any

import gradio as gr

from core.domain import FeedbackKind
from core.services import inbox, live_calls
from ui import render
from ui.context import UiContext
from ui.errors import shown_to_user

REFRESH_S = 1.5


class LiveTab:
    def __init__(self, ctx: UiContext) -> None:
        self.ctx = ctx
        gr.Markdown(
            "Calls in progress, with what has been said so far. This page refreshes by itself.",
            elem_classes="od-note",
        )
        self.calls = gr.HTML(elem_id="live-calls")
        # Ticks only while this tab is open (see `activate`).
        self.timer = gr.Timer(REFRESH_S, active=False)
        self.timer.tick(self.load, outputs=[self.calls], show_progress="hidden")

    def activate(self, on: bool) -> Any:
        return gr.Timer(active=on)

    async def load(self, request: gr.Request) -> str:
        with shown_to_user("loading the live calls"):
            user_id = await self.ctx.user_id(request)
            calls = await live_calls(self.ctx.db, user_id, self.ctx.recordings_dir)
            if not calls:
                return render.live_calls(calls, {})
            questions = {}
            for item in await inbox(self.ctx.db, user_id):
                call_id = item.call_id
                if item.kind is FeedbackKind.LIVE_QUESTION and call_id is not None:
                    questions[call_id] = item
            return render.live_calls(calls, questions, await self.ctx.zone(user_id))
