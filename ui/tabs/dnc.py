"""Do-Not-Call: the user's own list — add, remove, import a CSV."""

from __future__ import annotations

import asyncio
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from core.services import (
    InvalidInput,
    add_number,
    decode_csv,
    import_dnc_csv,
    list_numbers,
    remove_number,
)
from ui import render
from ui.context import UiContext
from ui.errors import shown_to_user, user_error

Update = Any


class DncTab:
    def __init__(self, ctx: UiContext) -> None:
        self.ctx = ctx
        gr.Markdown(
            "Numbers on this list are never called by your campaigns. A callee who says "
            "“don't call me again” is added automatically.",
            elem_classes="od-note",
        )
        with gr.Row(equal_height=True):
            self.number = gr.Textbox(
                label="Phone number",
                placeholder="(212) 555-0123 or +44 20 7946 0958",
                scale=2,
                elem_id="dnc-number",
            )
            self.reason = gr.Textbox(
                label="Reason (optional)",
                placeholder="asked not to be called",
                scale=3,
                elem_id="dnc-reason",
            )
        with gr.Row():
            self.add = gr.Button("Add to list", variant="primary", elem_id="dnc-add")
            self.remove = gr.Button("Remove from list", elem_id="dnc-remove")
        with gr.Accordion("Import a CSV file", open=False, elem_id="dnc-import-panel"):
            gr.Markdown(
                "One number per line, optionally followed by a reason: `phone,reason`. A header "
                "line (`phone,reason`) is fine. If any line is wrong, nothing is imported and "
                "every wrong line is listed.",
                elem_classes="od-note",
            )
            self.file = gr.File(
                label="CSV file", file_types=[".csv", ".txt"], type="filepath", elem_id="dnc-file"
            )
            self.do_import = gr.Button("Import", elem_id="dnc-import")
            self.report = gr.HTML(elem_id="dnc-report")
        gr.Markdown("### Your list")
        self.table = gr.HTML(elem_id="dnc-table")
        self.outputs = [self.table]
        self.add.click(
            self.add_number,
            inputs=[self.number, self.reason],
            outputs=[*self.outputs, self.number, self.reason],
            api_name="dnc_add",
        )
        self.remove.click(
            self.remove_number,
            inputs=[self.number],
            outputs=[*self.outputs, self.number, self.reason],
            api_name="dnc_remove",
        )
        self.do_import.click(
            self.import_file,
            inputs=[self.file],
            outputs=[*self.outputs, self.report, self.file],
            api_name="dnc_import",
        )

    async def _table(self, user_id: int) -> str:
        entries = await list_numbers(self.ctx.db, user_id)
        return render.dnc_table(entries, await self.ctx.zone(user_id))

    async def load(self, request: gr.Request) -> str:
        with shown_to_user("loading your Do-Not-Call list"):
            return await self._table(await self.ctx.user_id(request))

    async def add_number(self, number: str, reason: str, request: gr.Request) -> tuple[Update, ...]:
        with shown_to_user("adding the number"):
            user_id = await self.ctx.user_id(request)
            e164, new = await add_number(
                self.ctx.db,
                user_id,
                number or "",
                reason=reason or "",
                region=self.ctx.settings.default_region,
            )
            if new:
                gr.Info(f"{render.phone(e164)} will not be called.", title="Added")
            else:
                gr.Info(f"{render.phone(e164)} was already on your list.", title="Already listed")
            return await self._table(user_id), "", ""

    async def remove_number(self, number: str, request: gr.Request) -> tuple[Update, ...]:
        with shown_to_user("removing the number"):
            user_id = await self.ctx.user_id(request)
            e164 = await remove_number(
                self.ctx.db, user_id, number or "", region=self.ctx.settings.default_region
            )
            gr.Info(f"{render.phone(e164)} may be called again.", title="Removed")
            return await self._table(user_id), "", ""

    async def import_file(self, path: str | None, request: gr.Request) -> tuple[Update, ...]:
        with shown_to_user("importing the file"):
            user_id = await self.ctx.user_id(request)
            if not path:
                raise user_error("Choose a CSV file first.", "No file")
            try:
                text = decode_csv(await asyncio.to_thread(Path(path).read_bytes))
                report = await import_dnc_csv(
                    self.ctx.db, user_id, text, region=self.ctx.settings.default_region
                )
            except InvalidInput as exc:
                gr.Warning(
                    f"Nothing was imported: {len(exc.problems)} "
                    f"line{'s' if len(exc.problems) != 1 else ''} to fix.",
                    title="Import refused",
                )
                items = "".join(f"<li>{escape(p)}</li>" for p in exc.problems[:200])
                more = (
                    f"<li>… and {len(exc.problems) - 200} more</li>"
                    if len(exc.problems) > 200
                    else ""
                )
                html = (
                    '<div class="od-problems"><strong>Nothing was imported.</strong> Fix these '
                    f"lines and import the file again:<ul>{items}{more}</ul></div>"
                )
                return gr.skip(), html, None
            gr.Info(report.summary().capitalize() + ".", title="Imported")
            html = f'<div class="od-ok">{escape(report.summary().capitalize())}.</div>'
            return await self._table(user_id), html, None
