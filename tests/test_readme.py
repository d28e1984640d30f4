"""The README stays true: its configuration table is the settings object's, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from core.settings_doc import render_block

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_configuration_table_matches_the_settings_object() -> None:
    assert render_block() in README, "run `uv run python -m core.settings_doc --update README.md`"


def test_the_two_commands_are_make_targets_and_ci_runs_the_test_one() -> None:
    assert "make run " in README and "make test " in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_design_names_are_kept() -> None:
    for name in ("APP_TEST_MODE", "APP_TEST_MODE_REDIRECT_NUMBER", "MAX_CONCURRENT_CALLS"):
        assert f"`{name}`" in README


def test_using_your_own_asterisk_is_explained() -> None:
    section = README.split("## Use your own Asterisk", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "opendeep pbx install",
        "#include opendeep_extensions.conf",
        'asterisk -rx "core reload"',
        "fwconsole reload",
        "--trunk registering",
        "--trunk ip",
        "`CALLER_ID`",
        "AUDIOSOCKET_ALLOWED_PEERS",
        "APP_TEST_MODE_REDIRECT_NUMBER",
        "opendeep doctor",
    ):
        assert needed in section, needed
