"""The Gradio Blocks: a header and one tab per job."""

from __future__ import annotations

import gradio as gr

from ui.context import UiContext
from ui.errors import shown_to_user
from ui.header import header_html
from ui.tabs.activity import ActivityTab
from ui.tabs.approvals import ApprovalsTab
from ui.tabs.campaigns import CampaignsTab
from ui.tabs.chat import ChatTab
from ui.tabs.dnc import DncTab
from ui.tabs.live import LiveTab
from ui.tabs.settings import SettingsTab


def build_blocks(ctx: UiContext) -> gr.Blocks:
    async def load_header(request: gr.Request) -> str:
        with shown_to_user("loading the page"):
            return await header_html(ctx, await ctx.user_id(request))

    with gr.Blocks(title="OpenDeep", analytics_enabled=False) as blocks:
        header = gr.HTML(elem_id="od-header")
        with gr.Tabs(elem_id="od-tabs"):
            with gr.Tab("Chat", id="chat", elem_id="tab-chat") as chat_tab:
                ChatTab(ctx)
            with gr.Tab("Campaigns", id="campaigns", elem_id="tab-campaigns") as campaigns_tab:
                campaigns = CampaignsTab(ctx)
            with gr.Tab("Live calls", id="live", elem_id="tab-live") as live_tab:
                live = LiveTab(ctx)
            with gr.Tab("Approvals", id="approvals", elem_id="tab-approvals") as approvals_tab:
                approvals = ApprovalsTab(ctx, header)
            with gr.Tab("Do-Not-Call", id="dnc", elem_id="tab-dnc") as dnc_tab:
                dnc = DncTab(ctx)
            with gr.Tab("Settings", id="settings", elem_id="tab-settings") as settings_tab:
                settings = SettingsTab(ctx, header)
            with gr.Tab("Activity", id="activity", elem_id="tab-activity") as activity_tab:
                activity = ActivityTab(ctx)

        blocks.load(load_header, outputs=[header])
        blocks.load(campaigns.load, inputs=[campaigns.selected], outputs=campaigns.outputs)
        blocks.load(dnc.load, outputs=dnc.outputs)
        blocks.load(settings.load, outputs=[*settings.fields, settings.result])
        # Opening a tab shows it fresh; the live view ticks only while it is open.
        campaigns_tab.select(campaigns.load, inputs=[campaigns.selected], outputs=campaigns.outputs)
        live_tab.select(live.load, inputs=[live.shown, live.call_id], outputs=live.outputs).then(
            lambda: live.activate(True), outputs=[live.timer]
        )
        activity_tab.select(activity.load, outputs=[activity.table])
        for tab in (chat_tab, campaigns_tab, approvals_tab, dnc_tab, settings_tab, activity_tab):
            tab.select(lambda: live.activate(False), outputs=[live.timer])
        approvals_tab.select(
            approvals.refresh,
            inputs=[approvals.shown, approvals.item_id],
            outputs=approvals.outputs,
        )
    built: gr.Blocks = blocks
    return built
