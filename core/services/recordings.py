"""Why a call has no recording: said in words for its owner, where the recording would be.

Asterisk records a call (MixMonitor) into its own recordings folder, and carries on with the
call when it cannot write there — the folder full, not writable, not a folder — with no word
to OpenDeep but a line in its own log. So once an answered call that was to be recorded has
ended, its recording is looked for in the folder as this machine sees it (`RECORDINGS_DIR`),
and when there is none to play, that folder is looked at to say why.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.db.models import Call
from core.services.calls import WAV_HEADER_BYTES, recording_file

# Less free space than this in the recordings folder: it is full for a recording's purposes
# (a minute of a call is about a megabyte).
FULL_BELOW_BYTES = 1024 * 1024


def recording_problem(call: Call, recordings_dir: Path) -> str | None:
    """Why `call` (answered, to be recorded, ended) has no recording to play, or None when it
    has one. One line, naming the folder and the setting where that helps."""
    if not call.recording_path:
        return "the call ended before its recording started"
    if recording_file(call, recordings_dir) is not None:
        return None
    name = Path(call.recording_path).name
    folder = _folder_problem(recordings_dir)
    if folder is not None:
        return f"the PBX could not write {name}: {folder}"
    path = recordings_dir / name
    if path.is_file() and path.stat().st_size <= WAV_HEADER_BYTES:
        return f"the PBX wrote no audio into {name} in {recordings_dir}"
    if path.exists():
        return f"{name} in {recordings_dir} cannot be read by OpenDeep (its permissions)"
    return (
        f"the PBX did not write {name} into {recordings_dir} (see the PBX's log; is "
        "RECORDINGS_DIR the PBX's recordings folder as this machine sees it?)"
    )


def _folder_problem(folder: Path) -> str | None:
    """What keeps the PBX from writing into `folder` (as this machine sees it), or None."""
    if not folder.exists():
        return f"the recordings folder {folder} does not exist (RECORDINGS_DIR)"
    if not folder.is_dir():
        return f"{folder}, the recordings folder, is a file, not a folder"
    try:
        fs = os.statvfs(folder)
    except OSError as exc:
        return f"the recordings folder {folder} cannot be looked at ({exc.strerror})"
    if fs.f_flag & os.ST_RDONLY:
        return f"the recordings folder {folder} is on a read-only filesystem"
    free = fs.f_bavail * fs.f_frsize
    if free < FULL_BELOW_BYTES:
        return f"the recordings folder {folder} is full ({free // 1024} KiB free)"
    if not os.access(folder, os.W_OK):
        return f"the recordings folder {folder} is not writable"
    return None
