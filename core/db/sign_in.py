"""What sign-in keeps: failed attempts per key (the throttle's state) and browser sessions.

Times come from the caller (its injected clock): nothing here reads the wall clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import SignInThrottle, UiSession, User
from core.rules.sign_in_throttle import ThrottleState

# A key not touched for this long, and not locked, is forgotten (its lock count with it).
FORGET_AFTER = dt.timedelta(days=1)


def user_key(username: str) -> str:
    return "user:" + username.strip().lower()[:100]


def address_key(address: str) -> str:
    with contextlib.suppress(ValueError):  # "unknown" and the like are kept as they are
        address = str(ipaddress.ip_address(address.strip()))
    return "addr:" + address[:100]


class SignInRecords:
    """The throttle's state per key and the session rows, in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- throttle ------------------------------------------------------------------------
    async def throttle_states(self, keys: Iterable[str]) -> dict[str, ThrottleState]:
        """The state of each key (a fresh one for a key never seen)."""
        wanted = list(keys)
        stmt = select(SignInThrottle).where(SignInThrottle.key.in_(wanted))
        rows = {row.key: row for row in (await self._session.execute(stmt)).scalars()}
        return {
            key: ThrottleState(r.failures, r.locks, r.locked_until)
            if (r := rows.get(key))
            else ThrottleState()
            for key in wanted
        }

    async def save_throttle_state(self, key: str, state: ThrottleState, now: dt.datetime) -> None:
        row = await self._session.get(SignInThrottle, key)
        if row is None:
            row = SignInThrottle(key=key)
            self._session.add(row)
        row.failures, row.locks, row.locked_until = state.failures, state.locks, state.locked_until
        row.updated_at = now
        await self._session.flush()

    async def forget(self, keys: Iterable[str]) -> int:
        """Clear the keys (a success, or an unlock); how many were held."""
        stmt = delete(SignInThrottle).where(SignInThrottle.key.in_(list(keys)))
        return int((await self._session.execute(stmt)).rowcount or 0)  # type: ignore[attr-defined]

    async def forget_stale(self, now: dt.datetime) -> None:
        """Drop keys untouched for a day whose lock (if any) has run out."""
        cutoff = now - FORGET_AFTER
        await self._session.execute(
            delete(SignInThrottle).where(
                SignInThrottle.updated_at < cutoff,
                (SignInThrottle.locked_until.is_(None)) | (SignInThrottle.locked_until < now),
            )
        )

    # --- sessions ------------------------------------------------------------------------
    async def open_session(self, token_hash: str, user_id: int, now: dt.datetime) -> None:
        self._session.add(
            UiSession(token_hash=token_hash, user_id=user_id, created_at=now, last_seen_at=now)
        )
        await self._session.flush()

    async def session(self, token_hash: str) -> tuple[UiSession, str] | None:
        """The session row and its user's name, while the user is active."""
        stmt = (
            select(UiSession, User.username)
            .join(User, User.id == UiSession.user_id)
            .where(UiSession.token_hash == token_hash, User.is_active)
        )
        row = (await self._session.execute(stmt)).one_or_none()
        return (row[0], row[1]) if row else None

    async def touch_session(self, token_hash: str, now: dt.datetime) -> None:
        await self._session.execute(
            update(UiSession).where(UiSession.token_hash == token_hash).values(last_seen_at=now)
        )

    async def end_session(self, token_hash: str) -> None:
        await self._session.execute(delete(UiSession).where(UiSession.token_hash == token_hash))

    async def end_sessions_of(self, user_id: int) -> int:
        """End every session of the user; how many there were."""
        stmt = delete(UiSession).where(UiSession.user_id == user_id)
        return int((await self._session.execute(stmt)).rowcount or 0)  # type: ignore[attr-defined]

    async def end_sessions_before(
        self, created_before: dt.datetime, idle_since: dt.datetime
    ) -> None:
        """Drop sessions past their lifetime or idle time."""
        await self._session.execute(
            delete(UiSession).where(
                (UiSession.created_at < created_before) | (UiSession.last_seen_at < idle_since)
            )
        )
