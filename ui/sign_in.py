"""Sign-in and sessions: the throttle on failed attempts, and sessions the server can end.

Gradio keeps its sessions as an in-memory map (cookie token → user name) on the mounted app.
Here the database is the truth: `/login` and `/logout` are ours (in front of Gradio's), every
request's token is checked against the `ui_sessions` row (lifetime, idle time, sign-out, a
password change) and Gradio's map only mirrors what that check found.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from core.db import Database
from core.db.sign_in import address_key, user_key
from core.logging import get_logger
from core.rules.sign_in_throttle import ADDRESS_POLICY, USER_POLICY, ThrottlePolicy

Clock = Callable[[], dt.datetime]
audit = get_logger("opendeep.audit")

# How long a session found valid is believed without asking the database again: a session
# ended on another node (or by `opendeep user passwd`) stops working within this time.
RECHECK = dt.timedelta(seconds=5)
# `last_seen_at` is written at most this often (idle time is measured to within it).
TOUCH_EVERY = dt.timedelta(seconds=30)


def locked_message(wait_s: int) -> str:
    # The same words for every name, existing or not.
    return f"too many failed sign-ins; try again in {wait_s} s"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in's answer: a session token, or a refusal (`wait_s` > 0 while locked)."""

    token: str | None = None
    username: str | None = None
    wait_s: int = 0


class SignInGate:
    """Checks credentials under the throttle, and opens, checks and ends sessions."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        lifetime: dt.timedelta,
        idle: dt.timedelta,
        user_policy: ThrottlePolicy = USER_POLICY,
        address_policy: ThrottlePolicy = ADDRESS_POLICY,
    ) -> None:
        self._db = db
        self._clock = clock
        self._lifetime = lifetime
        self._idle = idle
        self._policies = (user_policy, address_policy)
        # One attempt at a time on this node: parallel guesses cannot slip past the count
        # (the password check holds the event loop anyway).
        self._attempts = asyncio.Lock()
        self._believed: dict[str, tuple[str, dt.datetime]] = {}

    async def attempt(self, username: str, password: str, address: str) -> Attempt:
        """Check `username`/`password` from `address`; never says whether the name exists."""
        keys = dict(zip((user_key(username), address_key(address)), self._policies, strict=True))
        async with self._attempts:
            now = self._clock()
            async with self._db.sign_in() as records:
                states = await records.throttle_states(keys)
            wait = max(policy.wait(states[key], now) for key, policy in keys.items())
            if wait:
                self._audit(username, address, "locked", wait_s=wait)
                return Attempt(wait_s=wait)
            async with self._db.users() as users:
                user_id = await users.authenticate(username, password)
            async with self._db.sign_in() as records:
                if user_id is None:
                    for key, policy in keys.items():
                        states[key] = policy.after_failure(states[key], now)
                        await records.save_throttle_state(key, states[key], now)
                    wait = max(policy.wait(states[key], now) for key, policy in keys.items())
                    if wait:
                        await records.forget_stale(now)
                    self._audit(username, address, "refused", wait_s=wait)
                    return Attempt(wait_s=wait)
                await records.forget(keys)
                token = secrets.token_urlsafe(32)
                await records.open_session(token_hash(token), user_id, now)
        name = username.strip().lower()
        self._audit(username, address, "signed in")
        return Attempt(token=token, username=name)

    async def session_user(self, token: str) -> str | None:
        """The user name of a live session; None once it has ended or run out."""
        now = self._clock()
        key = token_hash(token)
        believed = self._believed.get(key)
        if believed is not None and now - believed[1] < RECHECK:
            return believed[0]
        async with self._db.sign_in() as records:
            found = await records.session(key)
            if found is not None:
                row, name = found
                if now - row.created_at >= self._lifetime or now - row.last_seen_at >= self._idle:
                    await records.end_session(key)
                    found = None
                elif now - row.last_seen_at >= TOUCH_EVERY:
                    await records.touch_session(key, now)
        if found is None:
            self._believed.pop(key, None)
            return None
        if len(self._believed) > 4096:
            self._believed.clear()
        self._believed[key] = (name, now)
        return name

    async def sign_out(self, token: str) -> None:
        """End the session on the server: its cookie is worthless from now on."""
        key = token_hash(token)
        self._believed.pop(key, None)
        async with self._db.sign_in() as records:
            await records.end_session(key)

    def _audit(self, username: str, address: str, outcome: str, *, wait_s: int = 0) -> None:
        fields: dict[str, object] = {"user": username[:64], "client": address, "outcome": outcome}
        if wait_s:
            fields["locked_s"] = wait_s
        audit.info("sign-in", **fields)
