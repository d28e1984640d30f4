"""Prompts live in versioned files a prompt engineer edits: `agents/<agent>/prompts/<v>/<name>.md`.

Templates use `$name` placeholders (`string.Template`), so braces in prose need no escaping.
A new version is a new folder; the run context's `prompt_version` picks one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from string import Template

AGENTS_DIR = Path(__file__).resolve().parent
_SAFE = re.compile(r"^[a-z0-9_]+$")


class PromptNotFound(LookupError):
    """No such prompt file; the message names the path that was looked for."""


@lru_cache(maxsize=128)
def load_prompt(agent: str, name: str, version: str = "v1") -> str:
    """The text of `agents/<agent>/prompts/<version>/<name>.md`."""
    for part in (agent, name, version):
        if not _SAFE.match(part):
            raise PromptNotFound(f"bad prompt path component {part!r}")
    path = AGENTS_DIR / agent / "prompts" / version / f"{name}.md"
    if not path.is_file():
        raise PromptNotFound(f"no prompt file {path}")
    return path.read_text(encoding="utf-8").strip() + "\n"


@lru_cache(maxsize=1)
def preload_prompts() -> int:
    """Read every prompt file into the cache once (so async code never waits on the disk)."""
    count = 0
    for path in sorted(AGENTS_DIR.glob("*/prompts/*/*.md")):
        agent, version, name = path.parts[-4], path.parts[-2], path.stem
        if all(_SAFE.match(p) for p in (agent, version, name)):
            load_prompt(agent, name, version)
            count += 1
    return count


def render_prompt(agent: str, name: str, version: str = "v1", /, **values: object) -> str:
    """The prompt with `$placeholders` filled; a missing value raises KeyError naming it."""
    return Template(load_prompt(agent, name, version)).substitute(
        {k: str(v) for k, v in values.items()}
    )
