"""A node on the development PBX whose voice is the local Realtime server playing scripts (one
per simulated callee, chosen by the target's name), and what the tests measure on its calls:
the call read back from the database, the PBX's AMI events, the simulated callee's recordings
(`-heard.wav`: what it heard of the agent; `-said.wav`: what it said, both from the moment it
answered)."""

from __future__ import annotations

import contextlib
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.call_agent.rehearsal import script_selector
from agents.schemas import CampaignPlan, Target
from app.node import Node, PartsWanted
from app.rehearsal import node_settings
from core.db import Database
from core.db.models import Call, CallState
from core.rules import RetryPolicy
from core.settings import Settings
from media.realtime_server import ConnectionRecord, RealtimeTestServer, Script
from media.realtime_server.responses import SimOptions
from tests.integration.scheduling import dispatching
from tests.kit import make_user, until
from tests.kit.devpbx import PROJECT

FRAME_MS = 20
VOICED_RMS = 300  # of 32767, about -40 dBFS: the callee's line is silent below it


@dataclass
class Rig:
    node: Node
    db: Database
    sim: RealtimeTestServer
    user_id: int
    events: list[dict[str, Any]] = field(default_factory=list)  # every AMI event, in order

    def user_events(self, name: str, call_uuid: str) -> list[dict[str, Any]]:
        return [
            e for e in self.events if e.get("UserEvent") == name and e.get("CallUUID") == call_uuid
        ]

    def connection(self) -> ConnectionRecord:
        """The Realtime connection of the test's one call."""
        (conn,) = self.sim.conversations
        return conn


@contextlib.asynccontextmanager
async def open_rig(
    db: Database,
    pbx_settings: Settings,
    scripts: dict[str, Script],
    *,
    settings: dict[str, Any] | None = None,
    retry: RetryPolicy | None = None,
) -> AsyncIterator[Rig]:
    """A running node whose calls are voiced by `scripts` (by target name), at real time;
    `settings`: what differs from the rig's (e.g. `media_workers`); `retry`: the node's."""
    async with RealtimeTestServer(
        Script(responses=[]),
        options=SimOptions(realtime_factor=1.0),
        select_script=script_selector(scripts),
    ) as sim:
        # Before the rig's own settings: the node's AudioSocket ports depend on its workers.
        update = {"database_url": db.url, **(settings or {})}
        node = Node(
            node_settings(pbx_settings.model_copy(update=update), sim.url),
            db,
            PartsWanted(ui=False),
            retry=retry,
            ring_timeout_s=10,
            safety_interval_s=0.5,
        )
        user_id = await make_user(db, "owner", display_name="Alex Morgan")
        rig = Rig(node, db, sim, user_id)
        assert node.telephony is not None
        node.telephony.ami.on_event(lambda e: rig.events.append(dict(e)))
        async with node:
            await node.telephony.ami.wait_connected(20)
            yield rig


async def call(rig: Rig, name: str, phone: str, notes: str = "", **plan: Any) -> Call:
    """Plan, approve and place one call to `phone` (the target `name`, with `notes`); the call
    read back from the database once it has ended and its task moved on."""
    campaign = CampaignPlan(
        name=name,
        objective="Book an appointment.",
        targets=[Target(name=name, phone=phone, notes=notes)],
        max_attempts=1,
        **plan,
    )
    runner = rig.node.graphs.runner
    orch = await runner.start_orchestration(rig.user_id, campaign, plan_id=name)
    assert orch.feedback_id is not None
    await runner.answer_feedback(rig.user_id, orch.feedback_id, {"type": "accept"})
    async with rig.db.scope(rig.user_id) as s:
        (task,) = await s.tasks.list_for_campaign(
            orch.campaign_id or (await s.campaigns.list())[0].id
        )

    async def finished() -> Call | None:
        async with rig.db.scope(rig.user_id) as s:
            calls = await s.calls.list_for_task(task.id)
            now = await s.tasks.require(task.id)
        ended = calls and calls[-1].state is CallState.ENDED
        # Moved on: done, on hold, failed, or due again later (a callback: pending once more,
        # with the attempt's outcome kept) — once analysed: while the analysis runs the task
        # is `analyzing`, and what it moves on to is not decided yet.
        moved_on = now.status.value not in ("pending", "claimed", "analyzing") or (
            now.status.value == "pending" and now.last_outcome is not None
        )
        return calls[-1] if ended and moved_on else None

    ended: Call = await until(dispatching(rig.node, finished), 150, "the call to finish", step=0.5)
    return ended


def host_path(asterisk_path: str) -> Path:
    """A file Asterisk wrote, as this machine sees it (inside the development PBX's root)."""
    return PROJECT / ".devpbx" / "root" / asterisk_path.lstrip("/")


async def recording(asterisk_path: str) -> Path:
    """A simulated callee's recording, once MixMonitor or Record has finished it."""
    path = host_path(asterisk_path)
    await until(lambda: path.exists() and path.stat().st_size > 44, 10, f"the recording {path}")
    return path


def frame_levels(path: Path) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The RMS level (of 32767) of each 20 ms frame of a mono 16-bit WAV."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
    frame = rate * FRAME_MS // 1000
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
    levels: np.ndarray[Any, np.dtype[np.float64]] = np.sqrt((frames**2).mean(axis=1))
    return levels


def voiced_ms(path: Path, start_ms: int = 0, end_ms: int | None = None) -> int:
    """Milliseconds of sound in the recording (between `start_ms` and `end_ms`)."""
    levels = frame_levels(path)[
        start_ms // FRAME_MS : None if end_ms is None else end_ms // FRAME_MS
    ]
    return int((levels > VOICED_RMS).sum() * FRAME_MS)


def spans(path: Path, *, gap_ms: int = 400, min_ms: int = 100) -> list[tuple[int, int]]:
    """The stretches of sound in the recording as (start, end) ms — pauses of up to `gap_ms`
    inside one, none shorter than `min_ms`."""
    voiced = frame_levels(path) > VOICED_RMS
    found: list[tuple[int, int]] = []
    start: int | None = None
    last = 0
    for i, loud in enumerate(voiced):
        if not loud:
            continue
        if start is not None and (i - last) * FRAME_MS > gap_ms:
            found.append((start * FRAME_MS, (last + 1) * FRAME_MS))
            start = None
        if start is None:
            start = i
        last = i
    if start is not None:
        found.append((start * FRAME_MS, (last + 1) * FRAME_MS))
    return [(a, b) for a, b in found if b - a >= min_ms]
