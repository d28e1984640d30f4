"""`TelephonyPart`: starts without Asterisk, says where it connects, stops cleanly."""

from __future__ import annotations

import asyncio

from core.db import Database
from core.part import Part
from telephony.channel_ids import attempt_ids, call_namespace
from telephony.part import TelephonyPart
from tests.helpers import free_port
from tests.kit import until
from tests.telephony.conftest import fake_settings
from tests.telephony.fake_ami import FakeAmi


async def test_starts_while_asterisk_is_down(db: Database) -> None:
    port = free_port()
    part: Part = TelephonyPart(fake_settings(port, app_test_mode=False), db)
    assert part.name == "telephony"
    await asyncio.wait_for(part.start(), 1)
    await asyncio.sleep(0.2)
    assert part.describe() == f"AMI 127.0.0.1:{port} connecting (unreachable), calls 0/2"
    await asyncio.wait_for(part.stop(), 2)


async def test_connects_and_says_so(db: Database, fake_ami: FakeAmi) -> None:
    settings = fake_settings(
        fake_ami.port, app_test_mode=True, app_test_mode_redirect_number="+12125550101"
    )
    part = TelephonyPart(settings, db)
    await part.start()
    await until(lambda: part.ami.connected)
    assert part.describe() == (
        f"AMI 127.0.0.1:{fake_ami.port} connected, calls 0/1, "
        "test mode: every call goes to +12125550101"
    )
    await part.stop()
    assert "stopped" in part.describe()


async def test_says_when_the_login_is_refused(db: Database, fake_ami: FakeAmi) -> None:
    fake_ami.secret = "another-secret"
    part = TelephonyPart(fake_settings(fake_ami.port), db)
    await part.start()
    await until(lambda: fake_ami.failed_logins >= 1 and part.ami.problem is not None)
    assert part.describe() == f"AMI 127.0.0.1:{fake_ami.port} connecting (login refused), calls 0/2"
    await part.stop()


async def test_parts_on_one_database_name_an_attempt_alike(db: Database) -> None:
    """Two nodes of one database give an attempt one channel id (so the PBX refuses the
    second's repeat): the one derived from the database's installation id."""
    same_db = Database(db.url)
    parts = [TelephonyPart(fake_settings(free_port()), d) for d in (db, same_db)]
    try:
        for part in parts:
            await part.start()
        async with db.system() as system:
            namespace = call_namespace(await system.installation_id())
        for part in parts:
            assert await part.calls.ids_of(4, 1) == attempt_ids(4, 1, namespace)
    finally:
        for part in parts:
            await part.stop()
        await same_db.dispose()
