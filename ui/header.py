"""The line at the top: who is signed in, whether calls are redirected, whether the voice is
the rehearsal's, what is waiting.

The calling mode shown is the node's, because that is what the dispatcher applies today; a
user's own test-mode preference is stored (see `core.services.dialing_rules`) but the header
must never claim a redirect that is not enforced.
"""

from __future__ import annotations

from core.services import inbox
from media.rehearsal_voice import wants_rehearsal_voice
from ui import render
from ui.context import UiContext


async def header_html(ctx: UiContext, user_id: int, waiting: int | None = None) -> str:
    async with ctx.db.users() as users:
        profile = await users.profile(user_id)
    if waiting is None:
        waiting = len(await inbox(ctx.db, user_id))
    name = profile.display_name if profile is not None else "?"
    node = ctx.settings
    return render.header(
        name,
        node.app_test_mode,
        node.app_test_mode_redirect_number,
        waiting,
        rehearsal_voice=wants_rehearsal_voice(node),
    )
