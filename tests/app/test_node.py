"""A node's parts are built from the settings alone (nothing connects until started)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.node import Node, PartsWanted
from core.db import Database
from core.part import Part
from core.settings import Settings
from telephony.channel_ids import attempt_ids, call_namespace
from tests.helpers import free_port

# The calls' media in the node's own process (1), or in media worker processes (2).
MEDIA_WORKERS = pytest.mark.parametrize("media_workers", [1, 2], ids=["in-process", "workers"])


@MEDIA_WORKERS
async def test_parts_are_wired_and_lease_settings_apply(tmp_path: Path, media_workers: int) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'od.db'}",
        task_lease_s=42,
        reaper_interval_s=7,
        openai_api_key=SecretStr("sk-test-not-used"),
        media_workers=media_workers,
    )
    db = Database(settings.database_url)
    try:
        node = Node(settings, db, PartsWanted(ui=False))
        assert [p.name for p in node.parts] == ["graphs", "telephony", "media", "scheduler"]
        assert node.dispatcher is not None
        assert node.dispatcher._lease == dt.timedelta(seconds=42)
        assert node.call_media is not None
        assert (node.workers is not None) == (media_workers > 1)
        # The bridges hang up through the calls the runner placed, given at construction.
        assert node.placed is not None
        assert node.call_media.actions is node.placed
        alone = Node(settings, db, PartsWanted(ui=False, telephony=False))
        assert [p.name for p in alone.parts] == ["graphs", "media"]  # no scheduler without AMI
        assert alone.call_media is not None and alone.call_media.actions is None
    finally:
        await db.dispose()


@MEDIA_WORKERS
async def test_without_a_key_the_node_serves_the_rehearsal_voice(
    tmp_path: Path, media_workers: int
) -> None:
    """No key and OpenAI's voice URL: the node runs the local scripted voice before its media
    part, and its calls' clients are pointed at it once it has started."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'od.db'}",
        openai_api_key=SecretStr(""),
        media_workers=media_workers,
    )
    db = Database(settings.database_url)
    try:
        node = Node(settings, db, PartsWanted(ui=False, telephony=False))
        assert [p.name for p in node.parts] == ["graphs", "voice", "media"]
        assert node.voice is not None and node.call_media is not None
        clients = node.call_media.clients
        assert clients is not None
        assert clients.config_problem() is not None  # OpenAI without a key: no voice yet
        await node.voice.start()
        try:
            assert clients.base_url == node.voice.url
            assert clients.base_url.startswith("ws://127.0.0.1:")
            assert node.call_media.voice == "rehearsal"
            assert await node.call_media.voice_problem() is None
        finally:
            await node.voice.stop()
        # A voice URL of one's own (e.g. a local model server) is left as it is.
        own = settings.model_copy(update={"realtime_url": "ws://127.0.0.1:1/v1"})
        mine = Node(own, db, PartsWanted(ui=False, telephony=False))
        assert mine.voice is None
        assert mine.call_media is not None
        problem = await mine.call_media.voice_problem()
        assert (
            problem is not None and "REALTIME_URL ws://127.0.0.1:1/v1 cannot be reached" in problem
        )
    finally:
        await db.dispose()


async def test_its_calls_get_the_channel_ids_of_the_databases_installation(db: Database) -> None:
    """The initiator the node dials through derives its ids from the installation id in the
    database, as every other node of that database does (nothing is dialled: AMI is down)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db.url,
        ami_port=free_port(),
        ami_secret=SecretStr("not-used-here"),
    )
    node = Node(settings, db, PartsWanted(ui=False))
    assert node.telephony is not None
    await node.telephony.start()
    try:
        async with db.system() as system:
            namespace = call_namespace(await system.installation_id())
        assert await node.telephony.calls.ids_of(5, 2) == attempt_ids(5, 2, namespace)
    finally:
        await node.telephony.stop()


class FakePart:
    def __init__(self, name: str, log: list[str], *, fails: str = "") -> None:
        self.name = name
        self._log = log
        self._fails = fails

    def describe(self) -> str:
        return self.name

    async def start(self) -> None:
        if self._fails == "start":
            raise OSError(f"{self.name} cannot start")
        self._log.append(f"start {self.name}")

    async def stop(self) -> None:
        self._log.append(f"stop {self.name}")
        if self._fails == "stop":
            raise RuntimeError(f"{self.name} cannot stop")


def bare_node(settings: Settings, db: Database, parts: list[Part]) -> Node:
    node = Node(settings, db, PartsWanted(ui=False, telephony=False, media=False, scheduler=False))
    node.parts = parts
    return node


async def test_a_node_starts_its_parts_in_order_and_stops_them_in_reverse(
    db: Database,
) -> None:
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
    log: list[str] = []
    parts: list[Part] = [FakePart(n, log) for n in ("a", "b", "c")]
    async with bare_node(settings, db, parts) as node:
        assert node.running == parts
        assert log == ["start a", "start b", "start c"]
    assert node.running == []
    assert log[3:] == ["stop c", "stop b", "stop a"]


async def test_a_part_that_fails_to_start_stops_those_started_before_it(db: Database) -> None:
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
    log: list[str] = []
    parts: list[Part] = [FakePart("a", log), FakePart("b", log, fails="start"), FakePart("c", log)]
    node = bare_node(settings, db, parts)
    with pytest.raises(OSError, match="b cannot start"):
        async with node:
            pytest.fail("the body runs only when every part started")
    assert log == ["start a", "stop a"]
    assert node.running == []


async def test_parts_start_in_stages_and_a_failing_stop_stops_the_others(db: Database) -> None:
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
    log: list[str] = []
    parts: list[Part] = [FakePart("a", log), FakePart("b", log, fails="stop"), FakePart("c", log)]
    node = bare_node(settings, db, parts)
    await node.start("b")
    await node.start()  # the rest, in the node's order
    assert log == ["start b", "start a", "start c"]
    with pytest.raises(ValueError, match="no part d"):
        await node.start("d")
    await node.stop()
    assert log[3:] == ["stop c", "stop a", "stop b"]  # the reverse of their start
    assert node.running == []
