"""`python -m bench.pbx_answer [--calls N]`: answer → first agent audio through the development
PBX, with and without prewarming, in one run.

Calls go to the simulated receptionist (+1 212 555-0101, `asterisk/templates/extensions.conf.in`):
she answers, says "Hello?" and pauses; the dialplan's AMD hears that end (HUMAN) and hands the
call to AudioSocket. The calls are placed the way the attempt runner places them — the UUID
expected, `CallInitiator.place_call` (AMI Originate), the call followed (`PlacedCalls`: its
bridge hears the AMD verdict through it), the session prewarmed once the Originate is out
(every other call), the call hung up over AMI a second after the agent's first audio, `forget`
at its end — one at a time, through OpenDeep's own telephony and media parts, with a
local Realtime server whose session set-up and first-audio times are set (`--connect-ms`,
`--model-ms`). A few calls to the busy line and to the line that never answers check that their
prewarmed sessions are closed.

Per answered call, on one monotonic clock (AMI events timed as they arrive here, the
AudioSocket session's own counters):

- answer: the Originate's channel went Up (AMI `Newstate`, the far end picked up);
- AMD verdict: the dialplan's `UserEvent OpenDeepAMD` (its AudioSocket connects right after);
- AudioSocket connected; first agent audio frame written to Asterisk;
- the model's own first-audio time: the local server's `response.created` → first audio delta.

Needs the development PBX (`asterisk/devpbx up`) and the project's settings (its AMI port and
secret). Figures go to `bench/results/pbx-answer.json` and a table to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.call_agent import call_script
from app.attempt_runner import PlacedCalls
from bench import figures
from bench.level import close_db, git_commit
from bench.procfs import loadavg
from core.db import Database
from core.db.migrate import upgrade
from core.logging import configure_logging
from core.ports import free_port
from core.settings import SettingsError, load_settings
from media.audiosocket_server import AudioSocketServer
from media.audiosocket_session import AudioSocketSession
from media.bridge_registry import BridgeRegistry
from media.realtime_client import RealtimeClientFactory
from media.realtime_server import RealtimeTestServer, Say, Script, ScriptedResponse, SimOptions
from media.realtime_server.record import ConnectionRecord
from telephony.ami_panoramisk import AmiMessage
from telephony.part import TelephonyPart

RESULTS = Path(__file__).resolve().parent / "results" / "pbx-answer.json"
RECEPTIONIST = "+12125550101"
BUSY = "+12125550102"
NEVER_ANSWERS = "+12125550103"
RING_TIMEOUT_S = 10
UNANSWERED_RING_S = 3  # the line that never answers is given up after this long
PREWARM_GRACE_S = 10.0  # as the attempt runner's
HOLD_S = 1.0  # after the first agent audio, the call is hung up
CALL_TIMEOUT_S = 30.0
GOAL_OVER_MODEL_MS = 300.0
GREETING = Script(
    responses=[ScriptedResponse(outputs=[Say(text="Hello, this is an assistant calling.")])] * 4
)


@dataclass
class PbxCall:
    number: str
    prewarm: bool
    warmup: bool = False  # the process's first call: first-use costs, not in the figures
    task_id: int = 0
    call_uuid: str = ""
    answered_at: float | None = None  # AMI Newstate Up of the originated channel
    amd_at: float | None = None  # AMI UserEvent OpenDeepAMD
    amd_status: str | None = None
    connected_at: float | None = None  # AudioSocket connected
    first_audio_at: float | None = None  # first agent audio frame written to Asterisk
    model_ms: float | None = None
    prewarmed: bool = False
    barge_ins: int = 0  # the callee talked over the agent (her next line comes 1.2 s after hello)
    outcome: str | None = None

    def ms(self, start: float | None, end: float | None) -> float | None:
        return None if start is None or end is None else (end - start) * 1000

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "warmup": self.warmup,
            "prewarm": self.prewarm,
            "prewarmed": self.prewarmed,
            "call_uuid": self.call_uuid,
            "outcome": self.outcome,
            "barge_ins": self.barge_ins,
            "amd_status": self.amd_status,
            "answer_to_first_audio_ms": self.ms(self.answered_at, self.first_audio_at),
            "answer_to_amd_ms": self.ms(self.answered_at, self.amd_at),
            "amd_to_first_audio_ms": self.ms(self.amd_at, self.first_audio_at),
            "audiosocket_to_first_audio_ms": self.ms(self.connected_at, self.first_audio_at),
            "model_first_audio_ms": self.model_ms,
        }


@dataclass
class Rig:
    telephony: TelephonyPart
    placed: PlacedCalls
    registry: BridgeRegistry
    server: AudioSocketServer
    sim: RealtimeTestServer
    user_id: int
    db: Database
    audiosocket: str
    events: dict[str, list[tuple[float, AmiMessage]]] = field(default_factory=dict)

    def on_event(self, event: AmiMessage) -> None:
        at = time.monotonic()
        for key in ("Uniqueid", "CallUUID"):
            value = event.get(key, "")
            if value:
                self.events.setdefault(value, []).append((at, event))

    def first(self, call_uuid: str, name: str, **fields: str) -> tuple[float, AmiMessage] | None:
        for at, event in self.events.get(call_uuid, []):
            if event.get("Event") == name and all(event.get(k) == v for k, v in fields.items()):
                return at, event
        return None

    def session(self, call_uuid: str) -> AudioSocketSession | None:
        for session in self.server.sessions:
            with contextlib.suppress(RuntimeError):
                if str(session.call_id) == call_uuid:
                    return session
        return None

    def connection(self, tag: str) -> ConnectionRecord | None:
        for record in self.sim.connections:
            if tag in str(record.session.get("instructions", "")):
                return record
        return None


async def seed(db: Database, calls: list[PbxCall]) -> int:
    async with db.users() as users:
        user_id = await users.add("bench", "bench-password-1", display_name="Bench Owner")
    async with db.scope(user_id) as s:
        for i, call in enumerate(calls):
            # A campaign per call: a campaign has one task per number.
            campaign = await s.campaigns.create(
                idempotency_key=f"pbx-answer-{i}", name="PBX answer bench", objective="Greet"
            )
            task = await s.tasks.add(
                campaign_id=campaign.id,
                target_name=f"Bright Smile Dental {i}",
                phone_e164=call.number,
                instructions=f"pbx-answer call {i}",
            )
            call.task_id = task.id
    return user_id


async def place(rig: Rig, call: PbxCall, index: int) -> None:
    calls = rig.telephony.calls
    call.call_uuid = (await calls.ids_of(call.task_id, 1)).call_uuid
    rig.registry.expect(call.call_uuid)
    unanswered = call.number != RECEPTIONIST
    ring_s = UNANSWERED_RING_S if call.number == NEVER_ANSWERS else RING_TIMEOUT_S
    placed = await calls.place_call(
        rig.user_id,
        call.task_id,
        1,
        call.number,
        {"OPENDEEP_AUDIOSOCKET": rig.audiosocket},
        recording=False,
        ring_timeout_s=ring_s,
    )
    rig.placed.follow(placed)
    try:
        if call.prewarm:
            rig.registry.prewarm(call.call_uuid, ring_s + PREWARM_GRACE_S)
        if not unanswered:
            await asyncio.wait_for(watch(rig, call, f"pbx-answer call {index}"), CALL_TIMEOUT_S)
            await asyncio.sleep(HOLD_S)
            await calls.hangup(placed)
        snap = await placed.wait_ended(CALL_TIMEOUT_S + ring_s)
        call.outcome = str(snap.outcome)
        bridge = rig.registry.bridge(call.call_uuid)
        if bridge is not None:
            await asyncio.wait_for(bridge.finished.wait(), CALL_TIMEOUT_S)
            call.barge_ins = bridge.stats.barge_ins
    finally:
        rig.placed.forget(call.call_uuid)
        rig.registry.forget(call.call_uuid)
    if not unanswered:
        answered = rig.first(call.call_uuid, "Newstate", ChannelState="6")
        amd = rig.first(call.call_uuid, "UserEvent", UserEvent="OpenDeepAMD")
        call.answered_at = answered[0] if answered else None
        if amd is not None:
            call.amd_at, call.amd_status = amd[0], amd[1].get("Status")


async def watch(rig: Rig, call: PbxCall, tag: str) -> None:
    """Until the call's first agent audio frame went out; notes its times."""
    while True:
        session = rig.session(call.call_uuid)
        if session is not None and session.counters.first_audio_at is not None:
            call.connected_at = session.counters.connected_at
            call.first_audio_at = session.counters.first_audio_at
            break
        await asyncio.sleep(0.01)
    bridge = rig.registry.bridge(call.call_uuid)
    call.prewarmed = bridge is not None and bridge.stats.prewarmed
    record = rig.connection(tag)
    if record is not None:
        sent = list(zip(record.sent_types(), record.sent_at, strict=True))
        created = next((at for kind, at in sent if kind == "response.created"), None)
        delta = next((at for kind, at in sent if kind == "response.output_audio.delta"), None)
        if created is not None and delta is not None:
            call.model_ms = (delta - created) * 1000


def plan(answered: int) -> list[PbxCall]:
    calls = [PbxCall(RECEPTIONIST, prewarm=i % 2 == 0) for i in range(answered)]
    calls.insert(0, PbxCall(RECEPTIONIST, prewarm=False, warmup=True))
    # The unanswered ones, prewarmed: their sessions must be closed.
    calls[2:2] = [PbxCall(BUSY, prewarm=True), PbxCall(NEVER_ANSWERS, prewarm=True)]
    calls.append(PbxCall(BUSY, prewarm=True))
    return calls


async def run(
    answered: int, connect_ms: int, model_ms: int, log_level: str = "WARNING"
) -> dict[str, Any]:
    configure_logging(level=log_level, fmt="console")
    # An opening abandoned when its call ended unanswered is a client leaving mid-handshake:
    # the local server's library logs it as an error, which says nothing here.
    logging.getLogger("websockets.server").setLevel(logging.CRITICAL)
    work = Path(tempfile.mkdtemp(prefix="opendeep-pbx-answer-"))
    url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    try:
        settings = load_settings(
            database_url=url,
            data_dir=work,
            app_test_mode=False,
            audiosocket_port=free_port(),
            max_concurrent_calls=2,
        )
    except SettingsError as exc:
        raise SystemExit(f"error: {exc}") from None
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    calls = plan(answered)
    user_id = await seed(db, calls)
    options = SimOptions(
        realtime_factor=1.0, connect_latency_ms=connect_ms, response_latency_ms=model_ms
    )
    load_before = loadavg()
    async with RealtimeTestServer(GREETING, options=options) as sim:
        clients = RealtimeClientFactory(base_url=sim.url, model="gpt-realtime")
        telephony = TelephonyPart(settings, db)
        placed = PlacedCalls(telephony.calls)  # what the bridges hang up and hear AMD through
        registry = BridgeRegistry(
            db, settings, script=call_script, realtime=clients, actions=placed
        )
        server = AudioSocketServer(
            registry.expected.guard(registry.resolve),
            host=settings.audiosocket_host,
            port=settings.audiosocket_port,
        )
        rig = Rig(
            telephony, placed, registry, server, sim, user_id, db, settings.audiosocket_address
        )
        telephony.ami.on_event(rig.on_event)
        await server.start()
        await telephony.start()
        try:
            await telephony.ami.wait_connected(20)
            for index, call in enumerate(calls):
                await place(rig, call, index)
                print(f"call {index + 1}/{len(calls)}: {call.to_json()}", file=sys.stderr)
            counts = registry.prewarmer.counts
            settle = time.monotonic() + 10
            while (counts.open_now or counts.opening_now) and time.monotonic() < settle:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # the last closes reach the server
            open_at_server = sum(1 for c in sim.connections if not c.closed)
        finally:
            await telephony.stop()
            await server.stop()
            await registry.aclose()
            await clients.aclose()
            await close_db(db)
    return report(calls, counts.to_json(), open_at_server, connect_ms, model_ms, load_before)


def _summary(values: list[float | None]) -> dict[str, Any]:
    s = figures.summarize([v / 1000 for v in values if v is not None])
    return s.to_json() if s is not None else {"n": 0}


def report(
    calls: list[PbxCall],
    prewarm: dict[str, int],
    open_at_server: int,
    connect_ms: int,
    model_ms: int,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    halves: dict[str, Any] = {}
    for name, prewarmed in (("prewarmed", True), ("connect_at_answer", False)):
        measured = [c for c in calls if c.number == RECEPTIONIST and not c.warmup]
        rows = [c.to_json() for c in measured if c.prewarm is prewarmed]
        own = [
            r["answer_to_first_audio_ms"] - r["model_first_audio_ms"] - r["answer_to_amd_ms"]
            for r in rows
            if None
            not in (r["answer_to_first_audio_ms"], r["model_first_audio_ms"], r["answer_to_amd_ms"])
        ]
        share = _summary(own)
        halves[name] = {
            "answer_to_first_audio_ms": _summary([r["answer_to_first_audio_ms"] for r in rows]),
            "answer_to_amd_ms": _summary([r["answer_to_amd_ms"] for r in rows]),
            "amd_to_first_audio_ms": _summary([r["amd_to_first_audio_ms"] for r in rows]),
            "audiosocket_to_first_audio_ms": _summary(
                [r["audiosocket_to_first_audio_ms"] for r in rows]
            ),
            "model_first_audio_ms": _summary([r["model_first_audio_ms"] for r in rows]),
            "opendeep_share_ms": {
                **share,
                "goal_p99": GOAL_OVER_MODEL_MS,
                "met": bool(share.get("n")) and share["p99"] <= GOAL_OVER_MODEL_MS,
            },
            "amd_human": sum(1 for r in rows if r["amd_status"] == "HUMAN"),
            "talked_over": sum(1 for r in rows if r["barge_ins"]),
            "talked_on_the_prewarmed_session": sum(
                1 for c in measured if c.prewarm is prewarmed and c.prewarmed
            ),
            "calls": len(rows),
        }
    return {
        "scenario": "pbx-answer",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "settings": {"connect_ms": connect_ms, "model_ms": model_ms, "hold_s": HOLD_S},
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "figures": halves,
        "warmup": [c.to_json() for c in calls if c.warmup],
        "unanswered": [c.to_json() for c in calls if c.number != RECEPTIONIST],
        "prewarm": prewarm,
        "open_sessions_at_server_end": open_at_server,
        "per_call": [c.to_json() for c in calls],
    }


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_table(result: dict[str, Any]) -> str:
    lines = [
        "| answer → first agent audio (ms) | prewarmed p50 | p99 | connected at answer p50 | p99 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, label in (
        ("answer_to_first_audio_ms", "answer (AMI Up) → first agent frame sent"),
        ("answer_to_amd_ms", "of it: the dialplan's AMD (Hello? and 0.7 s of silence)"),
        ("amd_to_first_audio_ms", "AMD verdict → first agent frame sent"),
        ("audiosocket_to_first_audio_ms", "AudioSocket connected → first agent frame sent"),
        ("model_first_audio_ms", "of it: the model's own first audio (local server)"),
        ("opendeep_share_ms", "OpenDeep's share (answer → frame − AMD − model)"),
    ):
        p, c = result["figures"]["prewarmed"][key], result["figures"]["connect_at_answer"][key]
        lines.append(
            f"| {label} | {_num(p.get('p50'))} | {_num(p.get('p99'))} | "
            f"{_num(c.get('p50'))} | {_num(c.get('p99'))} |"
        )
    counts = result["prewarm"]
    lines += [
        "",
        f"calls: {result['figures']['prewarmed']['calls']} prewarmed, "
        f"{result['figures']['connect_at_answer']['calls']} connected at answer; local server "
        f"session set-up {result['settings']['connect_ms']} ms, model first audio "
        f"{result['settings']['model_ms']} ms",
        "calls where the receptionist talked over the agent's opening (she says her next line "
        "1.2 s after her Hello?): "
        f"{result['figures']['prewarmed']['talked_over']} prewarmed, "
        f"{result['figures']['connect_at_answer']['talked_over']} connected at answer",
        "prewarmed sessions: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f"; open at the Realtime server at the end: {result['open_sessions_at_server_end']}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pbx_answer", description=__doc__)
    parser.add_argument("--calls", type=int, default=20, help="answered calls (half prewarmed)")
    parser.add_argument("--connect-ms", type=int, default=400, help="Realtime session set-up")
    parser.add_argument("--model-ms", type=int, default=250, help="the model's first audio")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--log-level", default="WARNING", help="of OpenDeep's logs (stderr)")
    args = parser.parse_args()
    result = asyncio.run(run(args.calls, args.connect_ms, args.model_ms, args.log_level))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(format_table(result))


if __name__ == "__main__":
    main()
