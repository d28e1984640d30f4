"""Live calls: the user's calls in progress with their transcript, refreshed every second or so;
a note to a call's agent ("offer Wednesday instead"), *Call me in* (the call is handed over to
the user: their phone rings and the agent bridges them in), and *Listen* on each answered call
(the page's player streams it from `ui.listen`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from core.domain import FeedbackKind
from core.services import MAX_NOTE_LEN, LiveCallView, inbox, live_calls, send_note, take_over
from ui import render
from ui.context import UiContext
from ui.errors import shown_to_user, user_error

REFRESH_S = 1.5
Update = Any


def _choice(live: LiveCallView) -> tuple[str, int]:
    return f"{live.target_name} · {render.phone(live.call.dialed_number)}", live.call.id


class LiveTab:
    def __init__(self, ctx: UiContext) -> None:
        self.ctx = ctx
        gr.Markdown(
            "Calls in progress, with what has been said so far. This page refreshes by itself. "
            "Press *Listen* to hear an answered call, send its agent a note, or press *Call me "
            "in* to take the call over on your own phone (its number is in Settings).",
            elem_classes="od-note",
        )
        self.calls = gr.HTML(elem_id="live-calls")
        with gr.Row(visible=False, equal_height=True, elem_id="live-steer") as self.steer:
            self.picker = gr.Dropdown(
                label="Call", choices=[], value=None, scale=2, elem_id="live-picker"
            )
            self.note = gr.Textbox(
                label="Note to the agent",
                placeholder="e.g. offer Wednesday instead",
                max_length=MAX_NOTE_LEN,
                scale=5,
                elem_id="live-note",
            )
            self.send = gr.Button(
                "Send to the call", variant="primary", scale=1, elem_id="live-note-send"
            )
            self.call_me = gr.Button("Call me in", scale=1, elem_id="live-take-over")
        self.result = gr.Markdown(elem_id="live-note-result")
        # The call a note goes to; handlers read it from here, scoped to the session's user.
        self.call_id = gr.Number(value=None, precision=0, visible=False, elem_id="live-call-id")
        # The ids last offered, so a tick that finds the same calls leaves the picker alone.
        self.shown = gr.State(None)
        self.outputs = [self.calls, self.steer, self.picker, self.call_id, self.shown]
        # Ticks only while this tab is open (see `activate`).
        self.timer = gr.Timer(REFRESH_S, active=False)
        self.timer.tick(
            self.load,
            inputs=[self.shown, self.call_id],
            outputs=self.outputs,
            show_progress="hidden",
        )
        self.picker.input(lambda value: value, inputs=[self.picker], outputs=[self.call_id])
        self.send.click(
            self.send_note,
            inputs=[self.call_id, self.note],
            outputs=[self.result, self.note],
            api_name="send_note",
        )
        self.call_me.click(
            self.take_over,
            inputs=[self.call_id],
            outputs=[self.result],
            api_name="take_over",
        )

    def activate(self, on: bool) -> Any:
        return gr.Timer(active=on)

    async def load(
        self, shown: list[int] | None, call_id: float | None, request: gr.Request
    ) -> tuple[str, Update, Update, Update, list[int]]:
        with shown_to_user("loading the live calls"):
            user_id = await self.ctx.user_id(request)
            calls = await live_calls(self.ctx.db, user_id, self.ctx.recordings_dir)
            html = render.live_calls(calls, {})
            if calls:
                questions = {}
                for item in await inbox(self.ctx.db, user_id):
                    if item.kind is FeedbackKind.LIVE_QUESTION and item.call_id is not None:
                        questions[item.call_id] = item
                html = render.live_calls(calls, questions, await self.ctx.zone(user_id))
            return (html, *self._steering(calls, shown, call_id))

    def _steering(
        self, calls: Sequence[LiveCallView], shown: list[int] | None, call_id: float | None
    ) -> tuple[Update, Update, Update, list[int]]:
        ids = [live.call.id for live in calls]
        if ids == shown:
            return gr.update(), gr.update(), gr.update(), ids
        # The call picked stays picked while it is up; otherwise the first (oldest) one.
        picked = int(call_id) if call_id is not None and int(call_id) in ids else None
        if picked is None and ids:
            picked = ids[0]
        return (
            gr.update(visible=bool(ids)),
            gr.update(choices=[_choice(live) for live in calls], value=picked),
            picked,
            ids,
        )

    async def send_note(
        self, call_id: float | None, text: str, request: gr.Request
    ) -> tuple[str, Update]:
        with shown_to_user("sending the note"):
            user_id = await self.ctx.user_id(request)
            if call_id is None:
                raise user_error("Pick the call the note is for.")
            sent = await send_note(self.ctx.db, user_id, int(call_id), text or "")
            return sent.message, gr.update(value="")

    async def take_over(self, call_id: float | None, request: gr.Request) -> str:
        with shown_to_user("calling you in"):
            user_id = await self.ctx.user_id(request)
            if call_id is None:
                raise user_error("Pick the call to take over.")
            sent = await take_over(self.ctx.db, user_id, int(call_id))
            return sent.message
