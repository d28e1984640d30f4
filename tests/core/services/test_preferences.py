"""Per-user preferences: validated against the node's limits, stored, and read back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.db import Database
from core.services import (
    InvalidInput,
    Preferences,
    dialing_rules,
    effective_preferences,
    load_preferences,
    save_preferences,
    validate_preferences,
)
from core.settings import Settings


def node(**kw: Any) -> Settings:
    base: dict[str, Any] = {"app_test_mode": False, "max_concurrent_calls": 4}
    base.update(kw)
    return Settings(**base)


def good(**changes: Any) -> dict[str, Any]:
    data = Preferences.defaults(node()).model_dump(mode="json")
    data.update(changes)
    return data


def test_the_nodes_settings_are_valid_preferences() -> None:
    prefs = Preferences.defaults(node())
    assert prefs.max_concurrent_calls == 4
    assert prefs.models.assistant == "openai:gpt-4.1-mini"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"max_concurrent_calls": 5}, "Max concurrent calls: must be between 1 and 4"),
        ({"max_concurrent_calls": 0}, "Max concurrent calls: must be between 1 and 4"),
        ({"max_concurrent_calls": "many"}, "Max concurrent calls: must be a whole number"),
        ({"test_redirect_number": "555"}, "Test-mode number: '555' is not a valid phone number"),
        ({"calling_window_start": "nine"}, "Calling window start: 'nine' is not a time"),
        ({"calling_window_start": "10:00", "calling_window_end": "09:00"}, "must start before"),
        ({"calling_window_start": "07:00"}, "must lie within this node's 08:00–21:00"),
        ({"calling_window_end": "22:30"}, "must lie within this node's 08:00–21:00"),
        ({"ai_disclosure": "  "}, "AI disclosure line: is required"),
        ({"ai_disclosure": "Hello from {owner}"}, "must tell the callee they are talking to an AI"),
        ({"ai_disclosure": "An AI for {user}"}, "only {owner} is filled in; remove {user}"),
        ({"ai_disclosure": "An AI for {owner"}, "broken placeholder"),
        ({"ai_disclosure": "AI " * 200}, "keep it under 300"),
        ({"time_zone": "Mars/Olympus"}, "Your time zone: 'Mars/Olympus' is not a time zone"),
        ({"time_zone": "../etc/passwd"}, "Your time zone: '../etc/passwd' is not a time zone"),
        ({"time_zone": ""}, "Your time zone: '' is not a time zone"),
        ({"owner_phone": "555"}, "Your phone number: '555' is not a valid phone number"),
        ({"owner_phone": "call me"}, "Your phone number: 'call me' is not a valid phone number"),
    ],
)
def test_each_bad_value_gets_a_message_naming_the_field(
    changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_preferences(node(), good(**changes))
    assert len(info.value.problems) == 1
    assert problem in info.value.problems[0]


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ("gpt-4.1", "'gpt-4.1' is not a model name: write provider:model"),
        ("openai:", "is not a model name"),
        ("acme:big-model", "unknown provider 'acme'"),
    ],
)
def test_models_are_provider_colon_model(model: str, problem: str) -> None:
    data = good()
    data["models"] = {**data["models"], "analyzer": model}
    with pytest.raises(InvalidInput) as info:
        validate_preferences(node(), data)
    assert info.value.problems[0].startswith("Analyzer model: ")
    assert problem in info.value.problems[0]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_preferences(node(), good(max_concurrent_calls=99, test_redirect_number="x"))
    assert len(info.value.problems) == 2


def test_a_test_mode_node_cannot_be_switched_to_live_calling() -> None:
    with pytest.raises(InvalidInput, match="this node runs in test mode"):
        validate_preferences(node(app_test_mode=True), good(test_mode=False))
    assert validate_preferences(node(), good(test_mode=True)).test_mode


def test_values_are_normalized() -> None:
    prefs = validate_preferences(
        node(),
        good(
            test_redirect_number="(212) 555-0102",
            calling_window_start="09:30",
            ai_disclosure="  Hi,   this is an AI  for {owner}. ",
            time_zone=" America/New_York ",
        ),
    )
    assert prefs.time_zone == "America/New_York"
    assert prefs.zone.key == "America/New_York"
    assert prefs.test_redirect_number == "+12125550102"
    assert prefs.calling_window_start == dt.time(9, 30)
    assert prefs.ai_disclosure == "Hi, this is an AI for {owner}."


def test_a_stored_value_the_node_no_longer_allows_falls_back_to_the_default() -> None:
    stored = good(max_concurrent_calls=3, calling_window_start="09:00")
    prefs = effective_preferences(node(max_concurrent_calls=2), stored)
    assert prefs.max_concurrent_calls == 2
    assert prefs.calling_window_start == dt.time(9)


async def test_saved_preferences_are_read_back_per_user(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    settings = node()
    async with db.users() as users:
        await users.set_preferences(alice, {"elsewhere": 1})
    saved = await save_preferences(db, settings, alice, good(max_concurrent_calls=2))
    assert await load_preferences(db, settings, alice) == saved
    assert (await load_preferences(db, settings, bob)).max_concurrent_calls == 4
    async with db.users() as users:
        profile = await users.profile(alice)
    assert profile is not None and profile.preferences["elsewhere"] == 1


async def test_an_invalid_save_stores_nothing(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    with pytest.raises(InvalidInput):
        await save_preferences(db, node(), alice, good(max_concurrent_calls=50))
    async with db.users() as users:
        profile = await users.profile(alice)
    assert profile is not None and profile.preferences == {}


@pytest.mark.parametrize(
    ("node_test", "user_test", "expected"),
    [
        (True, True, (True, "+12125550102", 1)),
        (False, True, (True, "+12125550102", 1)),
        (False, False, (False, None, 3)),
    ],
)
def test_dialing_rules(
    node_test: bool, user_test: bool, expected: tuple[bool, str | None, int]
) -> None:
    settings = node(app_test_mode=node_test)
    prefs = validate_preferences(
        settings,
        good(
            test_mode=user_test,
            test_redirect_number="+12125550102",
            max_concurrent_calls=3,
            calling_window_start="09:00",
        ),
    )
    rules = dialing_rules(settings, prefs)
    assert (rules.test_mode, rules.redirect_number, rules.max_concurrent_calls) == expected
    assert (rules.window_start, rules.window_end) == (dt.time(9), dt.time(21))


def test_a_caller_id_must_be_one_the_node_offers() -> None:
    offering = node(caller_id_choices="+12125550100,+16465550123")
    prefs = validate_preferences(offering, good(caller_id="(646) 555-0123"))
    assert prefs.caller_id == "+16465550123"
    assert validate_preferences(offering, good(caller_id="")).caller_id == ""
    with pytest.raises(InvalidInput) as refused:
        validate_preferences(offering, good(caller_id="+12125550101"))
    assert refused.value.problems == [
        "Caller ID: +12125550101 is not a caller ID this server may send; its choices: "
        "+12125550100, +16465550123"
    ]
    with pytest.raises(InvalidInput, match="Caller ID"):
        validate_preferences(node(), good(caller_id="+12125550100"))  # nothing offered


def test_a_caller_id_the_node_no_longer_offers_falls_back_to_the_nodes() -> None:
    prefs = effective_preferences(node(), {"caller_id": "+12125550100"})
    assert prefs.caller_id == ""


async def test_the_owners_phone_is_e164_in_its_own_column_per_user(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    settings = node()
    assert validate_preferences(settings, good(owner_phone="  ")).owner_phone == ""
    saved = await save_preferences(db, settings, alice, good(owner_phone="(212) 555-0115"))
    assert saved.owner_phone == "+12125550115"
    assert (await load_preferences(db, settings, alice)).owner_phone == "+12125550115"
    assert (await load_preferences(db, settings, bob)).owner_phone == ""
    async with db.users() as users:
        profile = await users.profile(alice)
    assert profile is not None and profile.owner_phone == "+12125550115"
    assert "owner_phone" not in profile.preferences  # the column is the one place it is kept
    await save_preferences(db, settings, alice, good(owner_phone=""))
    async with db.users() as users:
        profile = await users.profile(alice)
    assert profile is not None and profile.owner_phone is None
