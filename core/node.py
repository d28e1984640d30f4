"""One OpenDeep node: its parts built from the settings and wired to each other.

graphs → telephony → media → scheduler → ui. The scheduler dials through telephony, the media
bridge hangs up and sends DTMF through the attempt runner, and finished calls are analysed by
the graphs. `opendeep serve`, `opendeep rehearse` and the end-to-end tests all build this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.db import Database
from core.logging import get_logger
from core.rules import RetryPolicy
from core.settings import Settings

if TYPE_CHECKING:
    from core.attempt_runner import AttemptOutcome, CallAttemptRunner
    from core.scheduler import Dispatcher, SchedulerPart
    from core.service import Part
    from graphs.service_part import GraphsPart
    from media.bridge import RealtimeFactory
    from media.bridge_registry import MediaPart
    from media.rehearsal_voice import RehearsalVoicePart
    from telephony.part import TelephonyPart

log = get_logger("opendeep.node")


@dataclass(frozen=True, slots=True)
class PartsWanted:
    ui: bool = True
    telephony: bool = True
    media: bool = True
    scheduler: bool = True


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
    ) -> None:
        """`rehearsal_voice`: serve the calls' voice from the local scripted server (None: when
        the settings have no key for OpenAI's voice, see `wants_rehearsal_voice`)."""
        from graphs.service_part import GraphsPart

        self.settings = settings
        self.db = db
        self.graphs: GraphsPart = GraphsPart(settings, db)
        self.telephony: TelephonyPart | None = None
        self.media: MediaPart | None = None
        self.voice: RehearsalVoicePart | None = None
        self.runner: CallAttemptRunner | None = None
        self.dispatcher: Dispatcher | None = None
        self.scheduler: SchedulerPart | None = None
        self.parts: list[Part] = [self.graphs]
        if wanted.telephony:
            from telephony.part import TelephonyPart

            self.telephony = TelephonyPart(settings, db)
            self.parts.append(self.telephony)
        if wanted.media:
            from media.bridge_registry import BridgeRegistry, MediaPart
            from media.rehearsal_voice import RehearsalVoicePart, wants_rehearsal_voice

            registry = BridgeRegistry(db, settings, realtime=realtime)
            if rehearsal_voice is None:
                rehearsal_voice = wants_rehearsal_voice(settings)
            if rehearsal_voice and registry.clients is not None:
                from agents.call_agent.rehearsal import script_selector

                # Before the media part: its calls' clients are pointed at it when it starts.
                self.voice = RehearsalVoicePart(registry.clients, script_selector())
                self.parts.append(self.voice)
            self.media = MediaPart(settings, db, registry)
            self.parts.append(self.media)
        if wanted.scheduler:
            if self.telephony is None or self.media is None:
                log.warning("the scheduler needs telephony and media; it is not started")
            else:
                from core.attempt_runner import CallAttemptRunner
                from core.scheduler import Dispatcher, SchedulerPart

                self.runner = CallAttemptRunner(
                    db,
                    settings,
                    self.telephony.calls,
                    self.media.registry,
                    self.graphs,
                    retry=retry,
                    ring_timeout_s=ring_timeout_s,
                    on_outcome=on_outcome,
                )
                self.media.registry.actions = self.runner
                self.dispatcher = Dispatcher(
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
            self.parts.append(UiPart(settings, db, assistant=assistant, resumer=resumer))
