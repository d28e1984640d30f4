"""User accounts: creation and password checks (argon2id, never stored or logged in clear)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.errors import AlreadyExists, NotFound
from core.db.models import User

_HASHER = PasswordHasher()
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LEN = 8


class BadUserInput(ValueError):
    """A username or password that cannot be accepted; the message says why."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise BadUserInput(
            f"username {username!r} is not allowed: use 2-64 characters a-z, 0-9, '.', '_' or '-'"
        )
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise BadUserInput(f"the password is too short: use at least {MIN_PASSWORD_LEN} characters")


class UserDirectory:
    """Accounts. A user's own data is reached through `UserScope`, never from here."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, username: str, password: str, *, display_name: str | None = None) -> int:
        """Create a user and return its id. Raises `BadUserInput` or `AlreadyExists`."""
        name = check_username(username)
        check_password(password)
        user = User(
            username=name, display_name=display_name or name, password_hash=hash_password(password)
        )
        self._session.add(user)
        try:
            await self._session.flush()
        except IntegrityError:
            await self._session.rollback()
            raise AlreadyExists(f"a user named {name!r} already exists") from None
        return user.id

    async def authenticate(self, username: str, password: str) -> int | None:
        """The user's id when the password matches, else None (same answer for unknown names)."""
        stmt = select(User).where(User.username == username.strip().lower(), User.is_active)
        user = (await self._session.execute(stmt)).scalar_one_or_none()
        if user is None:
            # Spend the same effort as a real check so response time does not reveal names.
            _HASHER.hash(password)
            return None
        try:
            _HASHER.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = _HASHER.hash(password)
            await self._session.flush()
        return user.id

    async def set_password(self, username: str, password: str) -> int:
        """Give a user a new password; the user's id. Raises `BadUserInput` or `NotFound`."""
        check_password(password)
        name = username.strip().lower()
        user = (
            await self._session.execute(select(User).where(User.username == name))
        ).scalar_one_or_none()
        if user is None:
            raise NotFound("user", repr(name))
        user.password_hash = hash_password(password)
        await self._session.flush()
        return user.id

    async def id_for(self, username: str) -> int | None:
        """The id of an active user by login name (for a session signed in earlier)."""
        stmt = select(User.id).where(User.username == username.strip().lower(), User.is_active)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def first_id(self) -> int | None:
        """The id of the first active user (the bootstrapped `admin` on a new installation)."""
        stmt = select(User.id).where(User.is_active).order_by(User.id).limit(1)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def profile(self, user_id: int) -> User | None:
        """The user's own account row (for showing the display name and preferences)."""
        return await self._session.get(User, user_id)

    async def set_preferences(self, user_id: int, preferences: dict[str, object]) -> None:
        user = await self._session.get(User, user_id)
        if user is None:
            raise LookupError(f"user {user_id} not found")
        user.preferences = dict(preferences)
        await self._session.flush()

    async def set_owner_phone(self, user_id: int, number: str | None) -> None:
        """The user's own phone number (E.164, checked by the caller); None clears it."""
        user = await self._session.get(User, user_id)
        if user is None:
            raise LookupError(f"user {user_id} not found")
        user.owner_phone = number
        await self._session.flush()

    async def count(self) -> int:
        from sqlalchemy import func

        return int((await self._session.execute(select(func.count(User.id)))).scalar_one())
