"""Campaigns: every campaign with its progress; one campaign's tasks, calls and controls."""

from __future__ import annotations

import datetime as dt
from typing import Any

import gradio as gr

from core.services import (
    CampaignAction,
    CampaignDetail,
    apply_action,
    campaign_detail,
    list_campaigns,
)
from ui import render
from ui.context import UiContext
from ui.errors import shown_to_user

Update = Any
_ACTION_DONE = {
    CampaignAction.PAUSE: "paused: no new calls start until you resume it",
    CampaignAction.RESUME: "resumed",
    CampaignAction.CANCEL: "cancelled",
}


class CampaignsTab:
    def __init__(self, ctx: UiContext) -> None:
        self.ctx = ctx
        with gr.Row(equal_height=False, visible=False) as self.picker_row:
            self.picker = gr.Dropdown(
                label="Campaign",
                choices=[],
                value=None,
                interactive=True,
                scale=5,
                elem_id="campaign-picker",
                info="Pick a campaign to see its tasks, calls and controls.",
            )
            with gr.Column(scale=1, min_width=120):
                self.refresh = gr.Button("Refresh", size="sm", elem_id="campaigns-refresh")
        # The campaign shown; actions read it from here (and are scoped to the session's user).
        self.selected = gr.Number(value=None, precision=0, visible=False, elem_id="campaign-id")
        with gr.Column(visible=False, elem_id="campaign-detail") as self.detail:
            self.head = gr.HTML(elem_id="campaign-head")
            with gr.Row():
                self.pause = gr.Button("Pause", elem_id="campaign-pause", interactive=False)
                self.resume = gr.Button("Resume", elem_id="campaign-resume", interactive=False)
                self.cancel = gr.Button(
                    "Cancel campaign", variant="stop", elem_id="campaign-cancel", interactive=False
                )
            self.chart = gr.HTML(elem_id="campaign-chart")
            self.tasks = gr.HTML(elem_id="campaign-tasks")
        gr.Markdown("### All campaigns")
        self.overview = gr.HTML(elem_id="campaign-list")

        detail_outputs = [
            self.selected,
            self.detail,
            self.head,
            self.pause,
            self.resume,
            self.cancel,
            self.chart,
            self.tasks,
        ]
        self.outputs = [self.picker_row, self.picker, self.overview, *detail_outputs]
        self.refresh.click(self.load, inputs=[self.selected], outputs=self.outputs)
        self.picker.input(
            self.show, inputs=[self.picker], outputs=detail_outputs, api_name="show_campaign"
        )
        for button, action in (
            (self.pause, CampaignAction.PAUSE),
            (self.resume, CampaignAction.RESUME),
            (self.cancel, CampaignAction.CANCEL),
        ):
            js = (
                "(id) => confirm('Cancel this campaign? Calls not yet started will not be made.')"
                " ? id : null"
                if action is CampaignAction.CANCEL
                else None
            )
            button.click(
                self._act(action),
                inputs=[self.selected],
                outputs=self.outputs,
                api_name=f"{action.value}_campaign",
                js=js,
            )

    def _detail(
        self, detail: CampaignDetail | None, user_id: int, zone: dt.tzinfo = dt.UTC
    ) -> tuple[Update, ...]:
        if detail is None:
            return (
                None,
                gr.update(visible=False),
                "",
                *(gr.update(interactive=False),) * 3,
                "",
                "",
            )
        actions = detail.campaign.actions
        return (
            detail.campaign.id,
            gr.update(visible=True),
            render.campaign_head(detail),
            gr.update(interactive=CampaignAction.PAUSE in actions),
            gr.update(interactive=CampaignAction.RESUME in actions),
            gr.update(interactive=CampaignAction.CANCEL in actions),
            render.outcome_chart(detail.outcomes),
            render.campaign_tasks(
                detail, lambda call_id: self.ctx.links.url(user_id, call_id), zone
            ),
        )

    async def _load(self, user_id: int, wanted: int | None) -> tuple[Update, ...]:
        ctx = self.ctx
        zone = await ctx.zone(user_id)
        campaigns = await list_campaigns(ctx.db, user_id)
        ids = [c.id for c in campaigns]
        current = wanted if wanted in ids else (ids[0] if ids else None)
        choices = [
            (f"{c.name} — {c.status_label} ({c.tasks_ended}/{c.tasks_total})", c.id)
            for c in campaigns
        ]
        detail = (
            await campaign_detail(ctx.db, user_id, current, ctx.recordings_dir)
            if current is not None
            else None
        )
        return (
            gr.update(visible=bool(campaigns)),
            gr.update(choices=choices, value=current),
            render.campaign_cards(campaigns, zone),
            *self._detail(detail, user_id, zone),
        )

    async def load(self, selected: float | None, request: gr.Request) -> tuple[Update, ...]:
        with shown_to_user("loading your campaigns"):
            user_id = await self.ctx.user_id(request)
            return await self._load(user_id, int(selected) if selected is not None else None)

    async def show(self, campaign_id: int | None, request: gr.Request) -> tuple[Update, ...]:
        with shown_to_user("loading the campaign"):
            user_id = await self.ctx.user_id(request)
            if campaign_id is None:
                return self._detail(None, user_id)
            detail = await campaign_detail(
                self.ctx.db, user_id, int(campaign_id), self.ctx.recordings_dir
            )
            return self._detail(detail, user_id, await self.ctx.zone(user_id))

    def _act(self, action: CampaignAction) -> Any:
        async def act(campaign_id: float | None, request: gr.Request) -> tuple[Update, ...]:
            with shown_to_user(f"trying to {action.value} the campaign"):
                user_id = await self.ctx.user_id(request)
                if campaign_id is None:
                    return (gr.skip(),) * len(self.outputs)
                result = await apply_action(self.ctx.db, user_id, int(campaign_id), action)
                done = f"“{result.campaign.name}” {_ACTION_DONE[action]}."
                if result.tasks_cancelled:
                    done += f" {result.tasks_cancelled} calls not yet started were cancelled."
                gr.Info(done, title="Done")
                return await self._load(user_id, result.campaign.id)

        act.__name__ = f"{action.value}_campaign"
        return act
