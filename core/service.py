"""`opendeep serve`: start the switched-on parts on one event loop, stop them on a signal."""

from __future__ import annotations

import asyncio
import signal
from typing import Protocol

from core.db import Database
from core.logging import get_logger
from core.node import PartsWanted
from core.settings import Settings

log = get_logger("opendeep.service")


class Part(Protocol):
    """A long-running piece of the service (UI server, AMI connection, media server…)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def describe(self) -> str:
        """One line for the start-up banner (where to open it, what it listens on)."""
        ...


def build_parts(settings: Settings, db: Database, wanted: PartsWanted) -> list[Part]:
    """The parts of one node, wired together, in start order (see `core.node`)."""
    from core.node import Node

    return Node(settings, db, wanted).parts


async def run_service(
    settings: Settings, wanted: PartsWanted, *, stop_event: asyncio.Event | None = None
) -> int:
    """Run until SIGINT/SIGTERM (or `stop_event`); returns the process exit code."""
    db = Database(settings.database_url)
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started: list[Part] = []
    code = 0
    try:
        for part in build_parts(settings, db, wanted):
            await part.start()
            started.append(part)
            log.info("part started", part=part.name, detail=part.describe())
        print("OpenDeep is running (Ctrl-C to stop):", flush=True)
        for part in started:
            print(f"  {part.name:10} {part.describe()}", flush=True)
        if not started:
            print("  (every part is switched off)", flush=True)
        await stop.wait()
    except OSError as exc:
        print(f"error: cannot start: {exc.strerror or exc}", flush=True)
        code = 1
    finally:
        for part in reversed(started):
            try:
                await asyncio.wait_for(part.stop(), timeout=15)
            except Exception:
                log.exception("part did not stop cleanly", part=part.name)
        await db.dispose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("OpenDeep stopped.", flush=True)
    return code
