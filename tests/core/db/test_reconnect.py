"""Riding out a database restart: connections opened patiently, a transaction whose connection
died run once more."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from core.db import rerun_if_connection_lost
from core.db.engine import FIRST_RETRY_S, MAX_RETRY_S, patient


class Refused(Exception):
    pass


class Connector:
    """Refuses `refusals` times (the server is down), then connects."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.tries = 0

    async def __call__(self) -> str:
        self.tries += 1
        if self.tries <= self.refusals:
            raise Refused("connection refused")
        return "connection"


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_a_connection_waits_for_the_server_backing_off() -> None:
    connect, sleep = Connector(refusals=6), Sleeps()
    opened = patient(connect, wait_s=30, retry_on=Refused, where="db:5432", sleep=sleep)
    assert await opened() == "connection"
    assert connect.tries == 7
    assert sleep.slept == [FIRST_RETRY_S * 2**n for n in range(5)] + [MAX_RETRY_S]


async def test_past_the_wait_the_last_error_is_raised() -> None:
    connect, sleep = Connector(refusals=100), Sleeps()
    opened = patient(connect, wait_s=1.0, retry_on=Refused, where="db:5432", sleep=sleep)
    with pytest.raises(Refused):
        await opened()
    assert sum(sleep.slept) <= 1.0
    assert connect.tries == len(sleep.slept) + 1


async def test_other_errors_are_not_waited_on() -> None:
    async def broken() -> str:
        raise ValueError("a bug, not an outage")

    sleep = Sleeps()
    with pytest.raises(ValueError, match="a bug"):
        await patient(broken, wait_s=30, retry_on=Refused, where="db", sleep=sleep)()
    assert sleep.slept == []


def dropped(invalidated: bool) -> DBAPIError:
    return DBAPIError(
        "UPDATE calls …",
        None,
        Exception("server closed the connection"),
        connection_invalidated=invalidated,
    )


async def test_a_transaction_whose_connection_died_runs_again_once() -> None:
    runs: list[int] = []

    async def transaction() -> str:
        runs.append(1)
        if len(runs) == 1:
            raise dropped(invalidated=True)
        return "stored"

    assert await rerun_if_connection_lost(transaction, "a test write") == "stored"
    assert len(runs) == 2


async def test_a_failed_statement_is_not_run_again() -> None:
    runs: list[int] = []

    async def transaction() -> str:
        runs.append(1)
        raise dropped(invalidated=False)

    with pytest.raises(DBAPIError):
        await rerun_if_connection_lost(transaction, "a test write")
    assert len(runs) == 1
