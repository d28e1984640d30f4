"""A node's parts are built from the settings alone (nothing connects until started)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.db import Database
from core.node import Node, PartsWanted
from core.settings import Settings


async def test_parts_are_wired_and_lease_settings_apply(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'od.db'}",
        task_lease_s=42,
        reaper_interval_s=7,
    )
    db = Database(settings.database_url)
    try:
        node = Node(settings, db, PartsWanted(ui=False))
        assert [p.name for p in node.parts] == ["graphs", "telephony", "media", "scheduler"]
        assert node.dispatcher is not None
        assert node.dispatcher._lease == dt.timedelta(seconds=42)
        assert node.media is not None
        assert node.media.registry.actions is node.runner  # the bridge hangs up through it
        alone = Node(settings, db, PartsWanted(ui=False, telephony=False))
        assert [p.name for p in alone.parts] == ["graphs", "media"]  # no scheduler without AMI
    finally:
        await db.dispose()
