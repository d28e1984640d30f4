"""Calls: recordings are served only from inside the recordings folder; live calls listed."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import Database, NotFound
from core.db.models import Call
from core.services import ServiceError, live_calls, recording_of
from core.services.calls import recording_file
from tests.core.services.seed import seed_campaign

# A WAV file with a little audio after its 44-byte header.
SOME_AUDIO = b"RIFF....WAVE" + bytes(100)


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "a.wav").write_bytes(SOME_AUDIO)
    (folder / "empty.wav").write_bytes(SOME_AUDIO[:44])  # what a full disk leaves
    (tmp_path / "secret.wav").write_bytes(SOME_AUDIO)
    (folder / "link.wav").symlink_to(tmp_path / "secret.wav")
    return folder


@pytest.mark.parametrize(
    ("stored", "playable"),
    [
        ("a.wav", True),
        ("{root}/a.wav", True),
        ("../secret.wav", False),
        ("{root}/../secret.wav", False),
        ("link.wav", False),
        ("missing.wav", False),
        ("empty.wav", False),
        ("", False),
        # Asterisk's own path (its spool, e.g. inside the development PBX's chroot): by name
        ("/var/spool/asterisk/recordings/a.wav", True),
        ("/var/spool/asterisk/recordings/link.wav", False),
        ("/etc/passwd", False),
    ],
)
async def test_only_readable_files_inside_the_folder_are_played(
    db: Database, two_users: tuple[int, int], recordings: Path, stored: str, playable: bool
) -> None:
    alice, bob = two_users
    path = stored.format(root=recordings) or None
    seeded = await seed_campaign(db, alice, "Rec", recording_path=path)
    call_id = seeded.call_ids[0]
    if playable:
        assert await recording_of(db, alice, call_id, recordings) == recordings / "a.wav"
    else:
        with pytest.raises(ServiceError, match="has no recording"):
            await recording_of(db, alice, call_id, recordings)
    with pytest.raises(NotFound):
        await recording_of(db, bob, call_id, recordings)


@contextlib.contextmanager
def without_root() -> Iterator[None]:
    """Root reads every file: for the check, act as `nobody` (effective uid only)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(pwd.getpwnam("nobody").pw_uid)
    try:
        yield
    finally:
        os.seteuid(0)


def test_an_unreadable_file_is_not_offered() -> None:
    folder = Path(tempfile.mkdtemp(prefix="od-recordings-"))  # beside tmp_path: 0700 for root
    try:
        folder.chmod(0o755)
        for name in ("locked.wav", "open.wav"):
            (folder / name).write_bytes(SOME_AUDIO)
        (folder / "locked.wav").chmod(0)
        with without_root():
            assert recording_file(Call(recording_path="locked.wav"), folder) is None
            assert recording_file(Call(recording_path="open.wav"), folder) == folder / "open.wav"
    finally:
        shutil.rmtree(folder)


async def test_live_calls_are_the_users_calls_in_progress(
    db: Database, two_users: tuple[int, int], tmp_path: Path
) -> None:
    alice, bob = two_users
    await seed_campaign(db, alice, "Quiet")
    seeded = await seed_campaign(db, alice, "Busy", live=True)
    (live,) = await live_calls(db, alice, tmp_path)
    assert (live.campaign_name, live.target_name) == ("Busy", "Park Slope Dentistry")
    assert live.call.id == seeded.call_ids[-1] and live.call.result == "in progress"
    assert [t.text for t in live.call.transcript][-1] == "Park Slope Dentistry, please hold."
    assert await live_calls(db, bob, tmp_path) == []
