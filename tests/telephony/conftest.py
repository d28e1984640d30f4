"""Fixtures of the telephony tests: a fake AMI server and settings pointing at it."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from core.logging import configure_logging
from core.settings import Settings
from tests.telephony.fake_ami import FakeAmi

FAKE_SECRET = "fake-ami-secret-9c1e"


def fake_settings(port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "ami_host": "127.0.0.1",
        "ami_port": port,
        "ami_username": "opendeep",
        "ami_secret": SecretStr(FAKE_SECRET),
        "ami_action_timeout_s": 1.0,
        "ami_ping_interval_s": 0.3,
        "app_test_mode": False,
        "max_concurrent_calls": 2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def fake_ami() -> AsyncIterator[FakeAmi]:
    server = FakeAmi(username="opendeep", secret=FAKE_SECRET)
    await server.start()
    yield server
    await server.stop()


class LogLines:
    def __init__(self, buf: io.StringIO) -> None:
        self._buf = buf

    @property
    def text(self) -> str:
        return self._buf.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def matching(self, needle: str, *, debug: bool = False) -> list[dict[str, Any]]:
        """Lines whose message contains `needle` (debug lines only when asked)."""
        return [
            r
            for r in self.records()
            if needle in str(r.get("event", "")) and (debug or r.get("level") != "debug")
        ]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """Every log line as JSON, with no secret registered with the redactor."""
    buf = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=buf)
    yield LogLines(buf)
    configure_logging(level="INFO", fmt="json")
