"""The scheduler as a service part: APScheduler (3.x, in-process) wakes the dispatcher.

APScheduler holds no job store of ours: its jobs are only "look now" alarms — the next due
time, a short safety-net interval, the lifecycle pass and the lease reaper. The tasks table is
the truth, so several nodes can each run their own scheduler on one PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.db import Database
from core.logging import get_logger
from core.scheduler.dispatcher import Dispatcher

log = get_logger("opendeep.scheduler")


class SchedulerPart:
    name = "scheduler"

    def __init__(
        self,
        db: Database,
        dispatcher: Dispatcher,
        *,
        safety_interval_s: float = 5.0,
        reap_interval_s: float = 30.0,
        lifecycle: Callable[[], Awaitable[object]] | None = None,
        lifecycle_interval_s: float = 300.0,
    ) -> None:
        self._db = db
        self._dispatcher = dispatcher
        self._safety = safety_interval_s
        self._reap = reap_interval_s
        self._lifecycle = lifecycle
        self._lifecycle_interval = lifecycle_interval_s
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)

    def describe(self) -> str:
        return f"dispatching due tasks as node {self._dispatcher.node_id}"

    async def start(self) -> None:
        # Before the first pass: the claims this node left when it last stopped or died.
        try:
            await self._dispatcher.recover()
        except Exception:
            log.exception("taking back this node's earlier claims failed; the reaper will")
        add = self._scheduler.add_job
        add(
            self.dispatch_now,
            "interval",
            seconds=self._safety,
            id="dispatch-safety-net",
            max_instances=1,
            coalesce=True,
        )
        add(
            self._dispatcher.reap,
            "interval",
            seconds=self._reap,
            id="lease-reaper",
            max_instances=1,
            coalesce=True,
        )
        if self._lifecycle is not None:
            add(
                self._lifecycle,
                "interval",
                seconds=self._lifecycle_interval,
                id="lifecycle-pass",
                max_instances=1,
                coalesce=True,
            )
        self._scheduler.start()
        await self.dispatch_now()

    async def dispatch_now(self) -> None:
        """Dispatch, then set the alarm for the earliest due task."""
        try:
            await self._dispatcher.tick()
            async with self._db.system() as system:
                due = await system.next_due_at()
        except Exception:
            log.exception("dispatch pass failed")
            return
        if due is not None:
            self.wake_at(due)

    def wake_at(self, when: dt.datetime) -> None:
        """Make sure a dispatch pass runs at `when` (a newer alarm replaces the old one)."""
        when = max(when, dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=50))
        self._scheduler.add_job(
            self.dispatch_now,
            "date",
            run_date=when,
            id="dispatch-wake",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        await self._dispatcher.stop()
