"""The development PBX for end-to-end tests (`tests.kit.devpbx` decides whether it can be used)."""

from __future__ import annotations

import pytest

from core.settings import Settings
from tests.kit.devpbx import DevPbx


@pytest.fixture(scope="session")
def pbx_settings(devpbx: DevPbx) -> Settings:
    """Settings that reach the running development PBX (AMI secret from data/secrets)."""
    return devpbx.settings
