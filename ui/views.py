"""The Gradio Blocks: what a signed-in user sees."""

from __future__ import annotations

import gradio as gr

from core.db import Database
from core.settings import Settings
from ui.auth import Authenticator


def build_blocks(settings: Settings, db: Database, auth: Authenticator) -> gr.Blocks:
    async def load_overview(request: gr.Request) -> tuple[str, list[list[object]]]:
        user_id = await auth.user_id(request)
        async with db.users() as users:
            profile = await users.profile(user_id)
        async with db.scope(user_id) as scope:
            campaigns = await scope.campaigns.list()
            rows: list[list[object]] = []
            for c in campaigns:
                ended, total = await scope.campaigns.progress(c.id)
                rows.append(
                    [
                        c.id,
                        c.name,
                        c.status.value,
                        f"{ended}/{total}",
                        c.created_at.strftime("%Y-%m-%d %H:%M"),
                    ]
                )
        name = profile.display_name if profile else "?"
        mode = (
            "test mode: every call goes to " + settings.app_test_mode_redirect_number
            if settings.app_test_mode
            else "live calling"
        )
        return f"### Signed in as {name}\n{mode}", rows

    with gr.Blocks(title="OpenDeep") as blocks:
        gr.Markdown("# OpenDeep")
        header = gr.Markdown()
        with gr.Tab("Campaigns"):
            table = gr.Dataframe(
                headers=["id", "name", "status", "done", "created (UTC)"],
                interactive=False,
                wrap=True,
            )
            refresh = gr.Button("Refresh")
        blocks.load(load_overview, outputs=[header, table])
        refresh.click(load_overview, outputs=[header, table])
    built: gr.Blocks = blocks
    return built
