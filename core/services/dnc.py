"""The user's Do-Not-Call list: add, remove, and import a CSV all-or-nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

from core.db import Database
from core.db.models import DndEntry
from core.domain import AuditAction, AuditDetail
from core.phone import InvalidPhoneNumber, normalize
from core.services.errors import InvalidInput, ServiceError

MAX_IMPORT_BYTES = 2_000_000
MAX_IMPORT_ROWS = 50_000
MAX_REASON_LEN = 500
_PHONE_HEADERS = {"phone", "phone_number", "number", "telephone", "tel", "phone_e164", "e164"}
_REASON_HEADERS = {"reason", "note", "notes", "comment", "comments"}


@dataclass(frozen=True, slots=True)
class DncRow:
    line: int
    phone_e164: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedCsv:
    rows: tuple[DncRow, ...]
    errors: tuple[str, ...]
    duplicates: int  # rows whose number appeared earlier in the same file


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: int
    already_listed: int
    duplicates_in_file: int

    def summary(self) -> str:
        parts = [f"{self.added} number{'s' if self.added != 1 else ''} added"]
        if self.already_listed:
            parts.append(f"{self.already_listed} already on your list")
        if self.duplicates_in_file:
            parts.append(f"{self.duplicates_in_file} repeated in the file (counted once)")
        return ", ".join(parts)


def _normalize(raw: str, region: str) -> str:
    try:
        return normalize(raw, region)
    except InvalidPhoneNumber as exc:
        raise ServiceError(str(exc)) from None


def _header(cells: list[str]) -> tuple[int, int | None] | None:
    """(phone column, reason column) when `cells` is a header row, else None."""
    names = [c.strip().lower().replace(" ", "_").replace("-", "_") for c in cells]
    phone = next((i for i, n in enumerate(names) if n in _PHONE_HEADERS), None)
    if phone is None:
        return None
    reason = next((i for i, n in enumerate(names) if n in _REASON_HEADERS), None)
    return phone, reason


def parse_dnc_csv(text: str, region: str) -> ParsedCsv:
    """Read a Do-Not-Call CSV: `phone[,reason]` rows, with or without a header line.

    Every bad row is reported as `line N: why` (N counts the file's lines from 1); blank lines
    are skipped; a number repeated in the file is kept once.
    """
    reader = csv.reader(io.StringIO(text))
    rows: list[DncRow] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    duplicates = 0
    columns: tuple[int, int | None] | None = None
    header_checked = False
    next_line = 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if not header_checked:
                header_checked = True
                columns = _header(cells)
                if columns is not None:
                    continue
            if len(rows) + len(errors) >= MAX_IMPORT_ROWS:
                errors.append(f"line {line}: the file has more than {MAX_IMPORT_ROWS} rows")
                break
            if columns is None and len(cells) > 2:
                errors.append(
                    f"line {line}: expected phone,reason (2 columns at most), got {len(cells)}"
                )
                continue
            phone_col, reason_col = columns if columns is not None else (0, 1)
            raw = cells[phone_col].strip() if phone_col < len(cells) else ""
            reason = (
                cells[reason_col].strip()
                if reason_col is not None and reason_col < len(cells)
                else ""
            )
            if not raw:
                errors.append(f"line {line}: the phone number is missing")
                continue
            try:
                number = normalize(raw, region)
            except InvalidPhoneNumber as exc:
                errors.append(f"line {line}: {exc}")
                continue
            if len(reason) > MAX_REASON_LEN:
                errors.append(
                    f"line {line}: the reason is {len(reason)} characters; keep it under {MAX_REASON_LEN}"
                )
                continue
            if number in first_line:
                duplicates += 1
                continue
            first_line[number] = line
            rows.append(DncRow(line=line, phone_e164=number, reason=reason))
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: not valid CSV ({exc})")
    return ParsedCsv(rows=tuple(rows), errors=tuple(errors), duplicates=duplicates)


def decode_csv(data: bytes) -> str:
    """The text of an uploaded CSV (UTF-8, with or without a byte-order mark)."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInput([f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput([f"line {line}: the file is not UTF-8 text"]) from None


async def import_dnc_csv(db: Database, user_id: int, text: str, *, region: str) -> ImportReport:
    """Add every number of the CSV to the user's list in one transaction, or none of them.

    Raises `InvalidInput` listing every bad row by line number; nothing is written then.
    """
    parsed = parse_dnc_csv(text, region)
    if parsed.errors:
        raise InvalidInput(list(parsed.errors))
    if not parsed.rows:
        raise InvalidInput(["the file has no phone numbers"])
    added = already = 0
    async with db.scope(user_id) as s:
        for row in parsed.rows:
            if await s.dnd.blocking_list(row.phone_e164) == "user":
                already += 1
                continue
            await s.dnd.add(row.phone_e164, reason=row.reason, source="csv")
            await s.audit.record(
                AuditAction.DNC_ADDED,
                row.phone_e164,
                AuditDetail(reason=row.reason or None, source="csv"),
            )
            added += 1
    return ImportReport(added=added, already_listed=already, duplicates_in_file=parsed.duplicates)


async def add_number(
    db: Database, user_id: int, raw: str, *, reason: str = "", region: str
) -> tuple[str, bool]:
    """Put a number on the user's list; returns (E.164, whether it was new)."""
    number = _normalize(raw, region)
    reason = reason.strip()
    if len(reason) > MAX_REASON_LEN:
        raise ServiceError(
            f"the reason is {len(reason)} characters; keep it under {MAX_REASON_LEN}"
        )
    async with db.scope(user_id) as s:
        new = await s.dnd.blocking_list(number) != "user"
        if new:
            await s.dnd.add(number, reason=reason, source="manual")
            await s.audit.record(
                AuditAction.DNC_ADDED, number, AuditDetail(reason=reason or None, source="manual")
            )
    return number, new


async def remove_number(db: Database, user_id: int, raw: str, *, region: str) -> str:
    """Take a number off the user's list; raises `ServiceError` when it is not on it."""
    number = _normalize(raw, region)
    async with db.scope(user_id) as s:
        if not await s.dnd.remove(number):
            raise ServiceError(f"{number} is not on your Do-Not-Call list")
        await s.audit.record(AuditAction.DNC_REMOVED, number)
    return number


@dataclass(frozen=True, slots=True)
class DncEntryView:
    phone_e164: str
    reason: str
    source: str
    added_at: dt.datetime


def _entry_view(entry: DndEntry) -> DncEntryView:
    return DncEntryView(entry.phone_e164, entry.reason, entry.source, entry.created_at)


async def list_numbers(db: Database, user_id: int) -> Sequence[DncEntryView]:
    """The user's own list, newest first (the global list is honoured but not shown)."""
    async with db.scope(user_id) as s:
        return [_entry_view(e) for e in await s.dnd.list()]
