"""`opendeep serve`: start the switched-on parts on one event loop, stop them on a signal."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel

from app.node import Node, PartsWanted
from core.db import Database
from core.logging import get_logger
from core.settings import Settings

log = get_logger("opendeep.service")


async def run_service(
    settings: Settings,
    wanted: PartsWanted,
    *,
    stop_event: asyncio.Event | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or `stop_event`); returns the process exit code. `models`: see
    `Node`."""
    db = Database(settings.database_url)
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    code = 0
    try:
        async with Node(settings, db, wanted, models=models) as node:
            print("OpenDeep is running (Ctrl-C to stop):", flush=True)
            for part in node.running:
                print(f"  {part.name:10} {part.describe()}", flush=True)
            if not node.running:
                print("  (every part is switched off)", flush=True)
            await stop.wait()
    except OSError as exc:
        print(f"error: cannot start: {exc.strerror or exc}", flush=True)
        code = 1
    finally:
        await db.dispose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("OpenDeep stopped.", flush=True)
    return code
