"""What a test does when a part it needs (PostgreSQL, the development PBX, a browser) is
missing: skipped with a loud NOT TESTED reason when run by hand, failed in CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def not_tested(part: str, reason: str, enable: str, *, in_ci: bool = IN_CI) -> NoReturn:
    """Skip (by hand) or fail (in CI) a test that cannot reach `part`.

    The skip reads `NOT TESTED <part> — <reason>; to enable: <enable>` and is counted at the
    end of the run (tests/conftest.py); CI runs every test, so there it is a failure.
    """
    if in_ci:
        pytest.fail(f"CI must run the tests {part}: {reason}", pytrace=False)
    pytest.skip(f"NOT TESTED {part} — {reason}; to enable: {enable}")
