"""Chat: talk the task through with the assistant; confirm its plan to schedule it."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from core.services import (
    AssistantPlan,
    AssistantText,
    PlanView,
    check_chat_thread,
    new_chat_thread,
)
from ui import render
from ui.context import UiContext
from ui.errors import shown_to_user, user_error

Update = Any
Message = dict[str, str]


def _copy(messages: list[Message]) -> list[Message]:
    # Each streamed frame gets its own snapshot, so Gradio's diff sees the growth.
    return [dict(m) for m in messages]


class ChatTab:
    def __init__(self, ctx: UiContext) -> None:
        self.ctx = ctx
        if not ctx.assistant.configured:
            gr.HTML(
                render.empty(
                    "The assistant is not configured on this server",
                    "Chat needs the planning assistant, which is not wired in yet. Every other "
                    "tab works: follow campaigns, answer approvals, keep your Do-Not-Call list.",
                ),
                elem_id="chat-not-configured",
            )
        elif ctx.assistant.notice:
            gr.HTML(
                f'<div class="od-warning">{html.escape(ctx.assistant.notice)}</div>',
                elem_id="chat-notice",
            )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.chatbot = gr.Chatbot(
                    label="Assistant",
                    height=460,
                    elem_id="chat",
                    buttons=["copy_all"],
                    feedback_options=None,
                    placeholder=(
                        "Say what you need done by phone — for example: *call three dentists "
                        "near me and book a cleaning next week, mornings only.*"
                    ),
                )
                with gr.Row(equal_height=True):
                    self.message = gr.Textbox(
                        show_label=False,
                        placeholder="Describe the task…",
                        scale=5,
                        elem_id="chat-input",
                        autofocus=True,
                    )
                    self.send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
                self.new = gr.Button("New conversation", size="sm", elem_id="chat-new")
            with gr.Column(scale=2):
                gr.Markdown("### Plan")
                self.plan_html = gr.HTML(render.plan_card(None), elem_id="plan-card")
                self.confirm = gr.Button(
                    "Confirm and schedule", variant="primary", visible=False, elem_id="plan-confirm"
                )
        self.thread = gr.State("")
        self.plan = gr.State(None)
        # The conversation as the server holds it; the Chatbot only displays it.
        self.history = gr.State([])

        turn_outputs = [
            self.chatbot,
            self.history,
            self.message,
            self.thread,
            self.plan,
            self.plan_html,
            self.confirm,
        ]
        turn_inputs = [self.message, self.history, self.thread, self.plan]
        self.send.click(self.turn, inputs=turn_inputs, outputs=turn_outputs, api_name="chat")
        self.message.submit(self.turn, inputs=turn_inputs, outputs=turn_outputs)
        self.new.click(self.restart, outputs=turn_outputs)
        self.chatbot.clear(self.restart, outputs=turn_outputs)  # its bin icon starts over too
        self.confirm.click(
            self.submit,
            inputs=[self.thread, self.plan],
            outputs=[self.plan, self.plan_html, self.confirm],
        )

    async def turn(
        self,
        message: str,
        history: list[Message] | None,
        thread: str,
        plan: PlanView | None,
        request: gr.Request,
    ) -> AsyncIterator[tuple[Update, ...]]:
        with shown_to_user("talking to the assistant"):
            user_id = await self.ctx.user_id(request)
            text = (message or "").strip()
            if not text:
                raise user_error("Type a message first.", "Nothing to send")
            thread = check_chat_thread(user_id, thread) if thread else new_chat_thread(user_id)
            messages = [*(history or []), {"role": "user", "content": text}]
            reply = {"role": "assistant", "content": ""}
            messages.append(reply)
            yield _copy(messages), messages, "", thread, plan, gr.skip(), gr.skip()
            async for event in self.ctx.assistant.chat_turn(user_id, thread, text):
                if isinstance(event, AssistantText):
                    reply["content"] += event.text
                    yield _copy(messages), messages, gr.skip(), thread, plan, gr.skip(), gr.skip()
                elif isinstance(event, AssistantPlan):
                    plan = event.plan
                    yield (
                        _copy(messages),
                        messages,
                        gr.skip(),
                        thread,
                        plan,
                        render.plan_card(plan),
                        gr.update(visible=self.ctx.assistant.configured),
                    )

    async def restart(self, request: gr.Request) -> tuple[Update, ...]:
        with shown_to_user("starting a new conversation"):
            user_id = await self.ctx.user_id(request)
            return (
                [],
                [],
                "",
                new_chat_thread(user_id),
                None,
                render.plan_card(None),
                gr.update(visible=False),
            )

    async def submit(
        self, thread: str, plan: PlanView | None, request: gr.Request
    ) -> tuple[Update, ...]:
        with shown_to_user("sending the plan to the orchestrator"):
            user_id = await self.ctx.user_id(request)
            if plan is None:
                raise user_error("There is no plan to confirm yet.")
            await self.ctx.assistant.submit_plan(user_id, check_chat_thread(user_id, thread), plan)
            gr.Info(
                "The plan was sent. Approve it in the Approvals tab to start the calls.",
                title="Sent for approval",
            )
            return None, render.plan_card(None), gr.update(visible=False)
