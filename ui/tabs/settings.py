"""Settings: the user's calling preferences, checked against this node's limits."""

from __future__ import annotations

from html import escape
from typing import Any

import gradio as gr

from core.services import InvalidInput, Preferences, load_preferences, save_preferences
from ui.context import UiContext
from ui.errors import shown_to_user
from ui.header import header_html

Update = Any
AGENTS = (
    ("assistant", "Chat assistant"),
    ("orchestrator", "Orchestrator"),
    ("analyzer", "Post-call analyzer"),
    ("lifecycle", "Lifecycle manager"),
    ("search", "Internet search"),
)


class SettingsTab:
    def __init__(self, ctx: UiContext, header: Any) -> None:
        self.ctx = ctx
        self.header = header
        node = ctx.settings
        gr.Markdown(
            "Your calling preferences. This server's settings are the limits: you can ask for "
            "less, never more.",
            elem_classes="od-note",
        )
        with gr.Group():
            with gr.Row():
                self.test_mode = gr.Checkbox(
                    label="Test mode: send every call to my test number",
                    interactive=not node.app_test_mode,
                    info=(
                        "This server runs in test mode, so it stays on."
                        if node.app_test_mode
                        else "Nobody real is called while this is on."
                    ),
                    elem_id="pref-test-mode",
                )
                self.redirect = gr.Textbox(label="Test-mode number", elem_id="pref-redirect")
            with gr.Row():
                self.max_calls = gr.Number(
                    label="Max concurrent calls",
                    precision=0,
                    info=f"At most {node.max_concurrent_calls} on this server.",
                    elem_id="pref-max-calls",
                )
                self.window_start = gr.Textbox(
                    label="Call from (HH:MM)",
                    info="In the callee's time zone.",
                    elem_id="pref-start",
                )
                self.window_end = gr.Textbox(
                    label="Call until (HH:MM)",
                    info="In the callee's time zone.",
                    elem_id="pref-end",
                )
            with gr.Row():
                self.disclosure = gr.Textbox(
                    label="AI disclosure line",
                    info="Said first on every call. {owner} becomes your name.",
                    elem_id="pref-disclosure",
                    scale=3,
                )
                self.time_zone = gr.Textbox(
                    label="Your time zone",
                    info="The times shown to you, e.g. America/New_York.",
                    elem_id="pref-time-zone",
                    scale=1,
                )
            choices = node.caller_id_numbers
            self.caller_id = gr.Textbox(
                label="Caller ID: the number your calls show",
                placeholder=node.caller_id or "the trunk's own",
                interactive=bool(choices),
                info=(
                    f"One of {', '.join(choices)}; empty: this server's"
                    f" ({node.caller_id or 'the trunk decides'}). A campaign may name its own."
                    if choices
                    else "This server sends its own caller ID; its administrator can offer "
                    "numbers of yours (CALLER_ID_CHOICES)."
                ),
                elem_id="pref-caller-id",
            )
            self.owner_phone = gr.Textbox(
                label="Your phone number",
                placeholder="+1 212 555 0123",
                info="Where a call rings when you take it over (Call me in), or when the agent "
                "hands a callee over to you. Empty: calls are never handed over.",
                elem_id="pref-owner-phone",
            )
        with gr.Accordion("Models (provider:model)", open=False):
            self.models = [
                gr.Textbox(label=label, elem_id=f"pref-model-{key}") for key, label in AGENTS
            ]
        with gr.Row():
            self.save = gr.Button("Save settings", variant="primary", elem_id="pref-save")
            self.reset = gr.Button("Discard changes", elem_id="pref-reset")
        self.result = gr.HTML(elem_id="pref-result")
        self.fields = [
            self.test_mode,
            self.redirect,
            self.max_calls,
            self.window_start,
            self.window_end,
            self.disclosure,
            self.time_zone,
            self.caller_id,
            self.owner_phone,
            *self.models,
        ]
        self.reset.click(self.load, outputs=[*self.fields, self.result])
        self.save.click(
            self.store,
            inputs=self.fields,
            outputs=[*self.fields, self.result, self.header],
            api_name="save_settings",
        )

    @staticmethod
    def _values(prefs: Preferences) -> tuple[Update, ...]:
        models = prefs.models.model_dump()
        return (
            prefs.test_mode,
            prefs.test_redirect_number,
            prefs.max_concurrent_calls,
            prefs.calling_window_start.strftime("%H:%M"),
            prefs.calling_window_end.strftime("%H:%M"),
            prefs.ai_disclosure,
            prefs.time_zone,
            prefs.caller_id,
            prefs.owner_phone,
            *(models[key] for key, _ in AGENTS),
        )

    async def load(self, request: gr.Request) -> tuple[Update, ...]:
        with shown_to_user("loading your settings"):
            user_id = await self.ctx.user_id(request)
            prefs = await load_preferences(self.ctx.db, self.ctx.settings, user_id)
            return (*self._values(prefs), "")

    async def store(
        self,
        test_mode: bool,
        redirect: str,
        max_calls: float | None,
        start: str,
        end: str,
        disclosure: str,
        time_zone: str,
        caller_id: str,
        owner_phone: str,
        assistant: str,
        orchestrator: str,
        analyzer: str,
        lifecycle: str,
        search: str,
        request: gr.Request,
    ) -> tuple[Update, ...]:
        models = (assistant, orchestrator, analyzer, lifecycle, search)
        with shown_to_user("saving your settings"):
            user_id = await self.ctx.user_id(request)
            data = {
                "test_mode": bool(test_mode) or self.ctx.settings.app_test_mode,
                "test_redirect_number": redirect,
                "max_concurrent_calls": max_calls if max_calls is not None else "",
                "calling_window_start": start,
                "calling_window_end": end,
                "ai_disclosure": disclosure,
                "time_zone": time_zone,
                "caller_id": caller_id,
                "owner_phone": owner_phone,
                "models": {key: value for (key, _), value in zip(AGENTS, models, strict=True)},
            }
            try:
                prefs = await save_preferences(self.ctx.db, self.ctx.settings, user_id, data)
            except InvalidInput as exc:
                gr.Warning(
                    "Nothing was saved: " + " · ".join(exc.problems), title="Please fix this"
                )
                items = "".join(f"<li>{escape(p)}</li>" for p in exc.problems)
                html = f'<div class="od-problems"><strong>Nothing was saved.</strong><ul>{items}</ul></div>'
                return (*(gr.skip(),) * len(self.fields), html, gr.skip())
            gr.Info("Your settings were saved.", title="Saved")
            return (
                *self._values(prefs),
                '<div class="od-ok">Saved.</div>',
                await header_html(self.ctx, user_id),
            )
