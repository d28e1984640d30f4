"""The README's configuration table, generated from the settings object.

`python -m core.settings_doc` prints it; a test checks the README holds exactly this table.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import SecretStr

from core.settings import Settings, _env_name

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"


def _default(value: object) -> str:
    if isinstance(value, SecretStr):
        return "(secret, empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, Path):
        return str(value)
    text = str(value)
    return f"`{text}`" if text else "(empty)"


def render_table() -> str:
    lines = ["| setting | default | what it does |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        lines.append(
            f"| `{_env_name(Settings, name)}` | {_default(field.default)} | {description} |"
        )
    return "\n".join(lines)


def render_block() -> str:
    return f"{BEGIN}\n{render_table()}\n{END}"


def update_readme(path: Path) -> bool:
    """Rewrite the table inside `path`; True when it changed."""
    text = path.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + render_block() + text[end:]
    if new != text:
        path.write_text(new)
        return True
    return False


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "--update":
        changed = update_readme(Path(sys.argv[2] if len(sys.argv) > 2 else "README.md"))
        print("README table updated" if changed else "README table already current")
    else:
        print(render_table())
