"""A node's parts are built from the settings alone (nothing connects until started)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import SecretStr

from core.db import Database
from core.node import Node, PartsWanted
from core.settings import Settings
from telephony.channel_ids import attempt_ids, call_namespace
from tests.helpers import free_port


async def test_parts_are_wired_and_lease_settings_apply(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'od.db'}",
        task_lease_s=42,
        reaper_interval_s=7,
        openai_api_key=SecretStr("sk-test-not-used"),
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


async def test_without_a_key_the_node_serves_the_rehearsal_voice(tmp_path: Path) -> None:
    """No key and OpenAI's voice URL: the node runs the local scripted voice before its media
    part, and its calls' clients are pointed at it once it has started."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'od.db'}",
        openai_api_key=SecretStr(""),
    )
    db = Database(settings.database_url)
    try:
        node = Node(settings, db, PartsWanted(ui=False, telephony=False))
        assert [p.name for p in node.parts] == ["graphs", "voice", "media"]
        assert node.voice is not None and node.media is not None
        clients = node.media.registry.clients
        assert clients is not None
        assert clients.config_problem() is not None  # OpenAI without a key: no voice yet
        await node.voice.start()
        try:
            assert clients.base_url == node.voice.url
            assert clients.base_url.startswith("ws://127.0.0.1:")
            assert node.media.registry.voice == "rehearsal"
            assert await node.media.registry.voice_problem() is None
        finally:
            await node.voice.stop()
        # A voice URL of one's own (e.g. a local model server) is left as it is.
        own = settings.model_copy(update={"realtime_url": "ws://127.0.0.1:1/v1"})
        mine = Node(own, db, PartsWanted(ui=False, telephony=False))
        assert mine.voice is None
        assert mine.media is not None
        problem = await mine.media.registry.voice_problem()
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
