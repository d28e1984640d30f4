"""Why a call has no recording, said from what this machine sees of the recordings folder.

(A full folder and a read-only one need a filesystem mounted for the test: tests/faults.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.db.models import Call
from core.services.calls import WAV_HEADER_BYTES
from core.services.recordings import recording_problem

UUID = "0f118b4a-5d7b-507b-bd44-ad6c0efe3bbc"
ASTERISK_PATH = f"/var/spool/asterisk/recordings/{UUID}.wav"


def recorded(path: Path, size: int) -> None:
    path.write_bytes(b"RIFF" + bytes(size - 4))


Setup = Callable[[Path], Path]  # makes the situation under tmp_path; returns RECORDINGS_DIR


def with_audio(tmp: Path) -> Path:
    (tmp / "rec").mkdir()
    recorded(tmp / "rec" / f"{UUID}.wav", 16_044)
    return tmp / "rec"


def header_only(tmp: Path) -> Path:
    (tmp / "rec").mkdir()
    recorded(tmp / "rec" / f"{UUID}.wav", WAV_HEADER_BYTES)
    return tmp / "rec"


def not_written(tmp: Path) -> Path:
    (tmp / "rec").mkdir()
    return tmp / "rec"


def no_folder(tmp: Path) -> Path:
    return tmp / "rec"


def a_file_instead(tmp: Path) -> Path:
    (tmp / "rec").write_text("not a folder")
    return tmp / "rec"


@pytest.mark.parametrize(
    ("setup", "path", "why"),
    [
        (with_audio, ASTERISK_PATH, None),
        (with_audio, None, "the call ended before its recording started"),
        (header_only, ASTERISK_PATH, f"the PBX wrote no audio into {UUID}.wav in {{rec}}"),
        (
            not_written,
            ASTERISK_PATH,
            f"the PBX did not write {UUID}.wav into {{rec}} (see the PBX's log; is "
            "RECORDINGS_DIR the PBX's recordings folder as this machine sees it?)",
        ),
        (
            no_folder,
            ASTERISK_PATH,
            f"the PBX could not write {UUID}.wav: the recordings folder {{rec}} does not exist "
            "(RECORDINGS_DIR)",
        ),
        (
            a_file_instead,
            ASTERISK_PATH,
            f"the PBX could not write {UUID}.wav: {{rec}}, the recordings folder, is a file, "
            "not a folder",
        ),
    ],
    ids=["recorded", "never-started", "no-audio", "not-written", "no-folder", "a-file"],
)
def test_why_there_is_no_recording(
    tmp_path: Path, setup: Setup, path: str | None, why: str | None
) -> None:
    folder = setup(tmp_path)
    call = Call(call_uuid=UUID, recording_path=path)
    assert recording_problem(call, folder) == (why.format(rec=folder) if why else None)
