"""The development PBX for end-to-end tests (`asterisk/devpbx up`; fast when it already runs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from tests.conftest import IN_CI
from tests.helpers import devpbx_up

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pbx_settings() -> Settings:
    """Settings that reach the running development PBX (AMI secret from data/secrets)."""
    if os.geteuid() != 0:
        reason = "the development PBX needs root (asterisk/devpbx builds a chroot)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip("NOT TESTED AGAINST ASTERISK — " + reason)
    failed = devpbx_up()
    if failed is not None:
        pytest.fail(f"asterisk/devpbx up failed:\n{failed}")
    cwd = Path.cwd()
    os.chdir(PROJECT)  # data/secrets/ami_secret is found relative to the project
    try:
        settings = load_settings()
    finally:
        os.chdir(cwd)
    assert settings.ami_secret.get_secret_value(), "devpbx wrote no AMI secret"
    return settings
