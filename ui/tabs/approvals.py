"""Approvals: the HITL inbox — plan approvals, live-call questions, reviews, check-ins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from core.db import utcnow
from core.domain import FeedbackKind
from core.services import (
    Answer,
    CheckInAction,
    CheckInDecision,
    InboxItem,
    PlanDecision,
    PlanReply,
    Reply,
    ReviewAction,
    ReviewDecision,
    answer_item,
    inbox,
)
from ui import render
from ui.context import UiContext
from ui.errors import shown_to_user, user_error
from ui.header import header_html

Update = Any
REFRESH_S = 1.0
_SENT = {
    FeedbackKind.LIVE_QUESTION: "Answer sent to the call.",
    FeedbackKind.PLAN_APPROVAL: "Decision sent to the orchestrator.",
    FeedbackKind.ANALYSIS_REVIEW: "Review sent.",
    FeedbackKind.CHECK_IN: "Reply sent.",
}


class ApprovalsTab:
    def __init__(self, ctx: UiContext, header: Any) -> None:
        self.ctx = ctx
        self.header = header
        gr.Markdown(
            "What OpenDeep needs from you. Questions from calls in progress are at the top, "
            "marked red, with the time left to answer. This list refreshes by itself.",
            elem_classes="od-note",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.cards = gr.HTML(elem_id="inbox")
            with gr.Column(scale=2, visible=False, elem_id="respond") as self.respond:
                gr.Markdown("### Respond")
                self.picker = gr.Dropdown(
                    label="Item", choices=[], value=None, interactive=True, elem_id="inbox-picker"
                )
                # The item answered; handlers read it from here, scoped to the session's user.
                self.item_id = gr.Number(value=None, precision=0, visible=False, elem_id="item-id")
                with gr.Column(visible=False) as self.review_box:
                    self.when = gr.Textbox(
                        label="When",
                        placeholder="e.g. tomorrow at 10, Thursday after 3 pm, in 2 hours; "
                        "empty: as soon as calling is allowed",
                        info="Read in the callee's time zone; moved into the calling window.",
                        elem_id="review-when",
                    )
                    with gr.Row():
                        self.retry = gr.Button("Retry at that time", elem_id="review-retry")
                        self.call_back = gr.Button(
                            "Call back at that time", elem_id="review-call-back"
                        )
                    with gr.Row():
                        self.accept = gr.Button(
                            "Accept the analysis", variant="primary", elem_id="review-accept"
                        )
                        self.done = gr.Button("Done", elem_id="review-done")
                        self.cancel_target = gr.Button(
                            "Cancel this target", variant="stop", elem_id="review-cancel"
                        )
                    gr.Markdown(
                        "Or say what to do below, e.g. \u201ccall back Thursday after 3\u201d, "
                        "\u201cgive up\u201d, \u201cthe number is wrong, use +1 212 555 0199\u201d.",
                        elem_classes="od-note",
                    )
                with gr.Column(visible=False) as self.check_in_box:
                    with gr.Row():
                        self.keep_going = gr.Button(
                            "Keep going", variant="primary", elem_id="check-in-keep"
                        )
                        self.pause = gr.Button("Pause", elem_id="check-in-pause")
                        self.stop = gr.Button(
                            "Stop the campaign", variant="stop", elem_id="check-in-stop"
                        )
                    gr.Markdown(
                        "Or write new instructions for the campaign's next calls below.",
                        elem_classes="od-note",
                    )
                with gr.Column(visible=False) as self.text_box:
                    self.answer = gr.Textbox(
                        label="Your answer",
                        lines=3,
                        placeholder="Type what the AI should say or do…",
                        elem_id="answer-text",
                    )
                    self.send = gr.Button("Send answer", variant="primary", elem_id="answer-send")
                with gr.Column(visible=False) as self.plan_box:
                    self.note = gr.Textbox(
                        label="Changes to ask for, or why you reject it",
                        info="Optional when approving.",
                        lines=3,
                        elem_id="plan-note",
                    )
                    self.approve = gr.Button("Approve", variant="primary", elem_id="plan-approve")
                    with gr.Row():
                        self.edit = gr.Button("Ask for changes", elem_id="plan-edit")
                        self.reject = gr.Button("Reject", variant="stop", elem_id="plan-reject")
        # The ids last shown, so a tick that finds nothing new changes nothing on the page.
        self.shown = gr.State(None)
        self.timer = gr.Timer(REFRESH_S)

        self.boxes = [
            self.text_box,
            self.plan_box,
            self.review_box,
            self.check_in_box,
            self.accept,
            self.answer,
            self.note,
            self.when,
        ]
        self.outputs = [
            self.cards,
            self.respond,
            self.picker,
            self.item_id,
            *self.boxes,
            self.shown,
            self.header,
        ]
        state_in = [self.shown, self.item_id]
        self.timer.tick(self.refresh, inputs=state_in, outputs=self.outputs, show_progress="hidden")
        self.picker.input(self.pick, inputs=[self.picker], outputs=[self.item_id, *self.boxes])
        inputs = [self.item_id, self.answer, self.note]
        self.send.click(
            self._handler(lambda text, _n: Reply(text)),
            inputs=inputs,
            outputs=self.outputs,
            api_name="answer_item",
        )
        for button, decision in (
            (self.approve, PlanDecision.APPROVE),
            (self.edit, PlanDecision.EDIT),
            (self.reject, PlanDecision.REJECT),
        ):
            button.click(
                self._handler(lambda _t, note, d=decision: PlanReply(d, note)),
                inputs=inputs,
                outputs=self.outputs,
                api_name=f"{decision.value}_plan",
            )
        for button, action in (
            (self.accept, ReviewAction.ACCEPT),
            (self.retry, ReviewAction.RETRY_AT),
            (self.call_back, ReviewAction.CALL_BACK_AT),
            (self.done, ReviewAction.DONE),
            (self.cancel_target, ReviewAction.CANCEL),
        ):
            button.click(
                self._review_handler(action),
                inputs=[self.item_id, self.when],
                outputs=self.outputs,
                api_name=f"review_{action.value}",
            )
        for button, step in (
            (self.keep_going, CheckInAction.KEEP_GOING),
            (self.pause, CheckInAction.PAUSE),
            (self.stop, CheckInAction.STOP),
        ):
            button.click(
                self._handler(lambda _t, _n, c=step: CheckInDecision(c)),
                inputs=inputs,
                outputs=self.outputs,
                api_name=f"check_in_{step.value}",
            )

    def _boxes(self, item: InboxItem | None, *, clear: bool) -> tuple[Update, ...]:
        kind = item.kind if item is not None else None
        text = gr.update(value="") if clear else gr.skip()
        return (
            gr.update(visible=item is not None and kind is not FeedbackKind.PLAN_APPROVAL),
            gr.update(visible=kind is FeedbackKind.PLAN_APPROVAL),
            gr.update(visible=kind is FeedbackKind.ANALYSIS_REVIEW),
            gr.update(visible=kind is FeedbackKind.CHECK_IN),
            gr.update(visible=item is not None and item.can_accept),
            text,
            text,
            text,
        )

    async def _refresh(
        self, user_id: int, shown: list[int] | None, selected: float | None, *, force: bool
    ) -> tuple[Update, ...]:
        items = await inbox(self.ctx.db, user_id)
        ids = [i.id for i in items]
        if not force and shown == ids:
            return (gr.skip(),) * len(self.outputs)
        current = int(selected) if selected is not None else None
        keep = current in ids
        chosen = current if keep else (ids[0] if ids else None)
        item = next((i for i in items if i.id == chosen), None)
        choices = [(render.item_choice(i), i.id) for i in items]
        return (
            render.inbox_cards(items, utcnow(), await self.ctx.zone(user_id)),
            gr.update(visible=bool(items)),
            gr.update(choices=choices, value=chosen),
            chosen,
            *self._boxes(item, clear=not keep),
            ids,
            await header_html(self.ctx, user_id, len(items)),
        )

    async def refresh(
        self, shown: list[int] | None, selected: float | None, request: gr.Request
    ) -> tuple[Update, ...]:
        with shown_to_user("loading your approvals"):
            user_id = await self.ctx.user_id(request)
            return await self._refresh(user_id, shown, selected, force=False)

    async def pick(self, item_id: int | None, request: gr.Request) -> tuple[Update, ...]:
        with shown_to_user("opening the item"):
            user_id = await self.ctx.user_id(request)
            items = await inbox(self.ctx.db, user_id)
            item = next((i for i in items if i.id == item_id), None)
            return (item.id if item else None, *self._boxes(item, clear=True))

    def _handler(self, make: Any) -> Any:
        """A handler of (item, text, note): the answer box, the plan and check-in buttons."""

        async def respond(
            item_id: float | None, text: str, note: str, request: gr.Request
        ) -> tuple[Update, ...]:
            return await self._send(item_id, lambda: make(text or "", note or ""), request)

        return respond

    def _review_handler(self, action: ReviewAction) -> Any:
        """A handler of (item, when): a review button."""

        async def respond(
            item_id: float | None, when: str, request: gr.Request
        ) -> tuple[Update, ...]:
            return await self._send(item_id, lambda: ReviewDecision(action, when or ""), request)

        return respond

    async def _send(
        self, item_id: float | None, make: Callable[[], Answer], request: gr.Request
    ) -> tuple[Update, ...]:
        with shown_to_user("sending your answer"):
            user_id = await self.ctx.user_id(request)
            if item_id is None:
                raise user_error("Pick an item to respond to first.")
            outcome = await answer_item(
                self.ctx.db, user_id, int(item_id), make(), resumer=self.ctx.resumer
            )
            sent = outcome.message or _SENT[outcome.kind]
            if (
                outcome.kind is not FeedbackKind.LIVE_QUESTION
                and not outcome.handed_to_graph
                and not outcome.message
            ):
                sent = "Saved. The orchestrator is not running on this server, so nothing acts on it yet."
            gr.Info(sent, title="Sent")
            return await self._refresh(user_id, None, None, force=True)
