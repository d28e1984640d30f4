"""Do-Not-Call: normalized numbers, and a CSV import that is all-or-nothing with line numbers."""

from __future__ import annotations

import pytest

from core.db import Database
from core.services import (
    InvalidInput,
    ServiceError,
    add_number,
    decode_csv,
    import_dnc_csv,
    list_numbers,
    parse_dnc_csv,
    remove_number,
)


@pytest.mark.parametrize(
    ("text", "numbers", "errors"),
    [
        ("2125550101\n", ["+12125550101"], []),
        ("phone,reason\n(212) 555-0101,asked\n", ["+12125550101"], []),
        ("Reason,Phone Number\nasked,+1 212 555 0101\n", ["+12125550101"], []),
        ("\n\n2125550101,x\n\n2125550102\n", ["+12125550101", "+12125550102"], []),
        ("2125550101\n12\n2125550102\n", ["+12125550101", "+12125550102"], ["line 2:"]),
        ("phone,reason\n,asked\n", [], ["line 2: the phone number is missing"]),
        ("1,2,3\n", [], ["line 1: expected phone,reason (2 columns at most), got 3"]),
        ('2125550101,"two\nlines"\nbad\n', ["+12125550101"], ["line 3:"]),
        ("+442079460958\n", ["+442079460958"], []),
    ],
)
def test_parse_reports_each_bad_row_by_its_line(
    text: str, numbers: list[str], errors: list[str]
) -> None:
    parsed = parse_dnc_csv(text, "US")
    assert [r.phone_e164 for r in parsed.rows] == numbers
    assert len(parsed.errors) == len(errors)
    for got, want in zip(parsed.errors, errors, strict=True):
        assert got.startswith(want), got


def test_parse_names_the_bad_input_and_why() -> None:
    (error,) = parse_dnc_csv("2125550101\n555-12\n", "US").errors
    assert error.startswith("line 2: '555-12' is not a valid phone number")


def test_parse_counts_a_repeated_number_once() -> None:
    parsed = parse_dnc_csv("2125550101\n(212) 555-0101\n+12125550101,again\n", "US")
    assert [(r.line, r.phone_e164) for r in parsed.rows] == [(1, "+12125550101")]
    assert parsed.duplicates == 2


def test_decode_accepts_a_byte_order_mark_and_refuses_other_encodings() -> None:
    assert decode_csv("\ufeffphone\n2125550101\n".encode()) == "phone\n2125550101\n"
    with pytest.raises(InvalidInput) as info:
        decode_csv(b"phone\n2125550101\n\xff\xfe\n")
    assert info.value.problems == ["line 3: the file is not UTF-8 text"]


async def test_a_bad_row_imports_nothing(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    text = "phone,reason\n2125550101,a\n2125550102,b\nnot a number,c\n2125550103,d\n99,e\n"
    with pytest.raises(InvalidInput) as info:
        await import_dnc_csv(db, alice, text, region="US")
    assert [p.split(":")[0] for p in info.value.problems] == ["line 4", "line 6"]
    assert await list_numbers(db, alice) == []


async def test_a_good_file_imports_every_number_once(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    await add_number(db, alice, "212-555-0101", reason="manual", region="US")
    text = "2125550101,again\n2125550102,asked\n(212) 555-0102\n2125550103\n"
    report = await import_dnc_csv(db, alice, text, region="US")
    assert (report.added, report.already_listed, report.duplicates_in_file) == (2, 1, 1)
    assert report.summary() == (
        "2 numbers added, 1 already on your list, 1 repeated in the file (counted once)"
    )
    entries = {e.phone_e164: e for e in await list_numbers(db, alice)}
    assert set(entries) == {"+12125550101", "+12125550102", "+12125550103"}
    assert entries["+12125550101"].reason == "manual"  # an existing entry is left as it was
    assert entries["+12125550102"].source == "csv"
    assert await list_numbers(db, bob) == []


async def test_an_empty_file_is_refused(db: Database, two_users: tuple[int, int]) -> None:
    with pytest.raises(InvalidInput, match="no phone numbers"):
        await import_dnc_csv(db, two_users[0], "phone,reason\n\n", region="US")


async def test_add_and_remove_normalize_the_number(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    assert await add_number(db, alice, "(212) 555-0104", region="US") == ("+12125550104", True)
    assert await add_number(db, alice, "+1 212 555 0104", region="US") == ("+12125550104", False)
    with pytest.raises(ServiceError, match="not on your Do-Not-Call list"):
        await remove_number(db, bob, "2125550104", region="US")
    assert await remove_number(db, alice, "212.555.0104", region="US") == "+12125550104"
    assert await list_numbers(db, alice) == []
    with pytest.raises(ServiceError, match="'12' is not a valid phone number"):
        await add_number(db, alice, "12", region="US")
