"""Activity: the signed-in user's own decisions (the audit trail), newest first."""

from __future__ import annotations

import gradio as gr

from core.services import audit_trail
from ui import render
from ui.context import UiContext
from ui.errors import shown_to_user


class ActivityTab:
    def __init__(self, ctx: UiContext) -> None:
        self.ctx = ctx
        gr.Markdown(
            "What was decided on your campaigns and lists, by whom and when: plans approved, "
            "changed or rejected, questions and reviews answered, campaigns paused or "
            "cancelled, Do-Not-Call and settings changes. Only you see your activity.",
            elem_classes="od-note",
        )
        self.table = gr.HTML(elem_id="activity-table")

    async def load(self, request: gr.Request) -> str:
        with shown_to_user("loading your activity"):
            user_id = await self.ctx.user_id(request)
            entries = await audit_trail(self.ctx.db, user_id)
            return render.audit_table(entries, await self.ctx.zone(user_id))
