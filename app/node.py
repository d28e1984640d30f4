"""One OpenDeep node: its parts built from the settings, wired to each other, run together.

graphs → telephony → media → scheduler → ui. The scheduler dials through telephony, the media
bridge hangs up and sends DTMF through the calls the attempt runner placed, and finished calls
are analysed by the graphs. `opendeep serve`, `opendeep rehearse`, the many-nodes benchmark and
the end-to-end tests all run this: `async with Node(...) as node:` starts the parts in that
order and stops them in reverse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from core.db import Database
from core.logging import get_logger
from core.part import Part
from core.rules import RetryPolicy
from core.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from app.attempt_runner import AttemptOutcome, CallAttemptRunner, PlacedCalls
    from core.scheduler import AttemptRunner, Dispatcher, SchedulerPart
    from graphs.service_part import GraphsPart
    from media.bridge_registry import BridgeRegistry, MediaPart
    from media.realtime_client import RealtimeClientFactory
    from media.realtime_session import RealtimeFactory
    from media.rehearsal_voice import RehearsalVoicePart
    from media.workers import CallMedia, MediaWorkers
    from telephony.part import TelephonyPart

log = get_logger("opendeep.node")

STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class PartsWanted:
    ui: bool = True
    telephony: bool = True
    media: bool = True
    scheduler: bool = True


class DispatcherFactory(Protocol):
    """Makes the node's dispatcher (`Dispatcher` itself, or one that also records)."""

    def __call__(
        self,
        db: Database,
        settings: Settings,
        runner: AttemptRunner,
        *,
        lease: dt.timedelta,
        retry: RetryPolicy | None,
    ) -> Dispatcher: ...


class Node:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        wanted: PartsWanted = PartsWanted(),
        *,
        retry: RetryPolicy | None = None,
        realtime: RealtimeFactory | None = None,
        ring_timeout_s: int = 30,
        on_outcome: Callable[[AttemptOutcome], None] | None = None,
        safety_interval_s: float = 5.0,
        lifecycle_interval_s: float = 300.0,
        rehearsal_voice: bool | None = None,
        dispatcher: DispatcherFactory | None = None,
        models: Mapping[str, BaseChatModel] | None = None,
    ) -> None:
        """`rehearsal_voice`: serve the calls' voice from the local scripted server (None: when
        the settings have no key for OpenAI's voice, see `wants_rehearsal_voice`).
        `dispatcher`: what makes the dispatcher (default `Dispatcher`). `models`: chat models by
        purpose the graphs use instead of the settings' specs (a scripted analyzer, say)."""
        from graphs.service_part import GraphsPart

        self.settings = settings
        self.db = db
        self.graphs: GraphsPart = GraphsPart(settings, db, models=models)
        self.telephony: TelephonyPart | None = None
        self.media: MediaPart | None = None  # the calls' media in this process
        self.workers: MediaWorkers | None = None  # or in media worker processes
        self.voice: RehearsalVoicePart | None = None
        self.placed: PlacedCalls | None = None
        self.runner: CallAttemptRunner | None = None
        self.dispatcher: Dispatcher | None = None
        self.scheduler: SchedulerPart | None = None
        self.parts: list[Part] = [self.graphs]
        self._running: list[Part] = []
        if wanted.scheduler and not (wanted.telephony and wanted.media):
            log.warning("the scheduler needs telephony and media; it is not started")
        calling = wanted.scheduler and wanted.telephony and wanted.media
        if wanted.telephony:
            from telephony.part import TelephonyPart

            self.telephony = TelephonyPart(settings, db)
            self.parts.append(self.telephony)
            if calling:
                from app.attempt_runner import PlacedCalls

                # Before the bridges: they hang up and send DTMF through it.
                self.placed = PlacedCalls(self.telephony.calls)
        media: CallMedia | None = None
        if wanted.media:
            from agents.call_agent import call_script
            from media.bridge_registry import BridgeRegistry, MediaPart
            from media.rehearsal_voice import RehearsalVoicePart, wants_rehearsal_voice

            clients: RealtimeClientFactory | None
            workers = settings.effective_media_workers
            if workers > 1 and realtime is None:
                from media.workers import MediaWorkers

                self.workers = MediaWorkers(
                    settings, db, script=call_script, workers=workers, actions=self.placed
                )
                media, clients = self.workers, self.workers.clients
            else:
                if workers > 1:
                    # A factory of the caller's cannot be handed to another process.
                    log.warning("a Realtime factory was given: the calls' media stays in-process")
                registry = BridgeRegistry(
                    db, settings, script=call_script, realtime=realtime, actions=self.placed
                )
                self.media = MediaPart(settings, registry)
                media, clients = registry, registry.clients
            if rehearsal_voice is None:
                rehearsal_voice = wants_rehearsal_voice(settings)
            if rehearsal_voice and clients is not None:
                from agents.call_agent.rehearsal import script_selector

                # Before the media part: its calls' clients are pointed at it when it starts.
                self.voice = RehearsalVoicePart(clients, script_selector())
                self.parts.append(self.voice)
            part: Part | None = self.media or self.workers
            assert part is not None
            self.parts.append(part)
        if self.telephony is not None and media is not None and self.placed is not None:
            from app.attempt_runner import CallAttemptRunner
            from core.scheduler import Dispatcher, SchedulerPart

            self.runner = CallAttemptRunner(
                db,
                settings,
                self.telephony.calls,
                media,
                self.graphs,
                placed=self.placed,
                retry=retry,
                ring_timeout_s=ring_timeout_s,
                on_outcome=on_outcome,
            )
            self.dispatcher = (dispatcher or Dispatcher)(
                db,
                settings,
                self.runner,
                retry=retry,
                lease=dt.timedelta(seconds=settings.task_lease_s),
            )
            self.scheduler = SchedulerPart(
                db,
                self.dispatcher,
                safety_interval_s=safety_interval_s,
                reap_interval_s=settings.reaper_interval_s,
                lifecycle=self.graphs.lifecycle_pass_all,
                lifecycle_interval_s=lifecycle_interval_s,
            )
            self.parts.append(self.scheduler)
        if wanted.ui:
            from ui.part import UiPart
            from ui.wiring import graph_services

            assistant, resumer = graph_services(self.graphs, settings)
            # The calls this node carries, for their owners to listen in on from the UI.
            lines = self.call_media.lines if self.call_media is not None else None
            self.parts.append(
                UiPart(settings, db, assistant=assistant, resumer=resumer, lines=lines)
            )

    @property
    def call_media(self) -> BridgeRegistry | MediaWorkers | None:
        """What carries this node's calls' media, in this process or in worker processes."""
        return self.media.registry if self.media is not None else self.workers

    @property
    def running(self) -> list[Part]:
        """The parts started and not stopped yet, in the order they started."""
        return list(self._running)

    async def start(self, *names: str) -> None:
        """Start the named parts (every part when none is named) that are not running yet, in
        the node's order. If one fails to start, those this call started are stopped again
        and the error is raised."""
        unknown = set(names) - {p.name for p in self.parts}
        if unknown:
            raise ValueError(f"this node has no part {', '.join(sorted(unknown))}")
        started: list[Part] = []
        try:
            for part in self.parts:
                if part in self._running or (names and part.name not in names):
                    continue
                await part.start()
                self._running.append(part)
                started.append(part)
                log.info("part started", part=part.name, detail=part.describe())
        except BaseException:
            await self._stop(started)
            raise

    async def stop(self) -> None:
        """Stop every running part, in the reverse order of their start. A part that does not
        stop in time or fails is logged, and the others still stop."""
        await self._stop(self.running)

    async def _stop(self, parts: list[Part]) -> None:
        for part in reversed(parts):
            self._running.remove(part)
            try:
                await asyncio.wait_for(part.stop(), STOP_TIMEOUT_S)
            except Exception:
                log.exception("part did not stop cleanly", part=part.name)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
