"""Per-user preferences: what they may be, the node's limits on them, and where they are kept.

The node's settings are the defaults and the ceilings: a user may ask for fewer concurrent calls
than the node allows, a narrower calling window than the legal one, or test mode on a live
node — never the other way round.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.db import Database, UserDirectory
from core.db.models import User
from core.domain import AuditAction, AuditDetail
from core.phone import InvalidPhoneNumber, normalize
from core.rules.caller_id import CallerIdRefused, allowed_caller_id
from core.services.errors import InvalidInput
from core.settings import Settings

# Providers `init_chat_model` knows by name (the part before the colon), and the two of
# `agents.models`: `local` (an OpenAI-compatible server) and `scripted` (rehearsals).
KNOWN_PROVIDERS = frozenset(
    {
        "local",
        "scripted",
        "openai",
        "azure_openai",
        "azure_ai",
        "anthropic",
        "google_genai",
        "google_vertexai",
        "google_anthropic_vertex",
        "bedrock",
        "bedrock_converse",
        "cohere",
        "deepseek",
        "fireworks",
        "groq",
        "huggingface",
        "ibm",
        "mistralai",
        "nvidia",
        "ollama",
        "perplexity",
        "together",
        "xai",
    }
)
_MODEL_RE = re.compile(r"^(?P<provider>[a-z][a-z0-9_]*):(?P<model>\S+)$")
_DISCLOSES_AI = re.compile(r"\b(AI|A\.I\.|artificial intelligence|automated)(?!\w)", re.I)
DISCLOSURE_MAX_LEN = 300
DEFAULT_TIME_ZONE = "UTC"

FIELD_LABELS: dict[str, str] = {
    "test_mode": "Test mode",
    "test_redirect_number": "Test-mode number",
    "max_concurrent_calls": "Max concurrent calls",
    "calling_window_start": "Calling window start",
    "calling_window_end": "Calling window end",
    "ai_disclosure": "AI disclosure line",
    "time_zone": "Your time zone",
    "caller_id": "Caller ID",
    "owner_phone": "Your phone number",
    "assistant": "Assistant model",
    "orchestrator": "Orchestrator model",
    "analyzer": "Analyzer model",
    "lifecycle": "Lifecycle manager model",
    "search": "Search model",
}


def _node(info: ValidationInfo) -> Settings:
    settings = (info.context or {}).get("settings")
    if not isinstance(settings, Settings):
        raise TypeError("validate preferences with context={'settings': <Settings>}")
    return settings


class AgentModels(BaseModel):
    """The chat model of each agent, as `provider:model` (e.g. `openai:gpt-4.1-mini`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assistant: str
    orchestrator: str
    analyzer: str
    lifecycle: str
    search: str

    @field_validator("*", mode="before")
    @classmethod
    def _check_model(cls, value: Any) -> Any:
        text = str(value or "").strip()
        match = _MODEL_RE.match(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a model name: write provider:model, e.g. openai:gpt-4.1-mini"
            )
        if match["provider"] not in KNOWN_PROVIDERS:
            known = ", ".join(sorted(KNOWN_PROVIDERS))
            raise ValueError(f"unknown provider {match['provider']!r}: use one of {known}")
        return text


class Preferences(BaseModel):
    """One user's calling preferences. Validate with `context={"settings": settings}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    test_mode: bool = Field(description="Send every call to the test-mode number instead.")
    test_redirect_number: str = Field(description="Where test mode sends every call (E.164).")
    max_concurrent_calls: int = Field(description="Calls of this user that may be up at once.")
    calling_window_start: dt.time = Field(description="Earliest callee-local time to call.")
    calling_window_end: dt.time = Field(description="Latest callee-local time to call.")
    ai_disclosure: str = Field(description="The greeting's disclosure line; {owner} is you.")
    time_zone: str = Field(description="Where you are: the times shown to you are in this zone.")
    caller_id: str = Field(
        "",
        description="The number your calls show: one of this server's CALLER_ID_CHOICES; "
        "empty: this server's own (CALLER_ID).",
    )
    owner_phone: str = Field(
        "",
        description="Your own phone (E.164): where a call of yours rings when you take it over; "
        "empty: no call is handed over to you.",
    )
    models: AgentModels

    @property
    def zone(self) -> ZoneInfo:
        """`time_zone` as a tzinfo (validation has checked that it is one)."""
        return ZoneInfo(self.time_zone)

    @classmethod
    def defaults(cls, settings: Settings) -> Self:
        """The node's own settings, as a user's preferences."""
        return cls.model_validate(
            {
                "test_mode": settings.app_test_mode,
                "test_redirect_number": settings.app_test_mode_redirect_number,
                "max_concurrent_calls": settings.max_concurrent_calls,
                "calling_window_start": settings.calling_window_start,
                "calling_window_end": settings.calling_window_end,
                "ai_disclosure": settings.ai_disclosure,
                "time_zone": DEFAULT_TIME_ZONE,
                "caller_id": "",
                "owner_phone": "",
                "models": {
                    "assistant": settings.assistant_model,
                    "orchestrator": settings.orchestrator_model,
                    "analyzer": settings.analyzer_model,
                    "lifecycle": settings.lifecycle_model,
                    "search": settings.search_model,
                },
            },
            context={"settings": settings},
        )

    @field_validator("test_mode")
    @classmethod
    def _node_test_mode(cls, value: bool, info: ValidationInfo) -> bool:
        if _node(info).app_test_mode and not value:
            raise ValueError(
                "this node runs in test mode (APP_TEST_MODE=true), so it cannot be switched off here"
            )
        return value

    @field_validator("test_redirect_number", mode="before")
    @classmethod
    def _e164(cls, value: Any, info: ValidationInfo) -> str:
        try:
            return normalize(str(value or ""), _node(info).default_region)
        except InvalidPhoneNumber as exc:
            raise ValueError(str(exc)) from None

    @field_validator("owner_phone", mode="before")
    @classmethod
    def _owner_e164(cls, value: Any, info: ValidationInfo) -> str:
        text = str(value or "").strip()
        if not text:
            return ""
        try:
            return normalize(text, _node(info).default_region)
        except InvalidPhoneNumber as exc:
            raise ValueError(str(exc)) from None

    @field_validator("caller_id", mode="before")
    @classmethod
    def _allowed_caller_id(cls, value: Any, info: ValidationInfo) -> str:
        node = _node(info)
        try:
            return allowed_caller_id(
                str(value or ""), node.caller_id_numbers, region=node.default_region
            )
        except CallerIdRefused as exc:
            raise ValueError(str(exc)) from None

    @field_validator("max_concurrent_calls")
    @classmethod
    def _within_node(cls, value: int, info: ValidationInfo) -> int:
        ceiling = _node(info).max_concurrent_calls
        if not 1 <= value <= ceiling:
            raise ValueError(
                f"must be between 1 and {ceiling} (this node's MAX_CONCURRENT_CALLS), got {value}"
            )
        return value

    @field_validator("calling_window_start", "calling_window_end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            try:
                return dt.time.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a time: write HH:MM, e.g. 09:30") from None
        return value

    @field_validator("time_zone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> str:
        text = str(value or "").strip()
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{text!r} is not a time zone: write a name like America/New_York or Europe/Paris"
            ) from None
        return text

    @field_validator("ai_disclosure")
    @classmethod
    def _disclosure(cls, value: str) -> str:
        text = " ".join(value.split())
        if not text:
            raise ValueError("is required: the callee must hear that an AI is calling")
        if len(text) > DISCLOSURE_MAX_LEN:
            raise ValueError(f"is {len(text)} characters long; keep it under {DISCLOSURE_MAX_LEN}")
        if not _DISCLOSES_AI.search(text):
            raise ValueError("must tell the callee they are talking to an AI (say 'AI')")
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            raise ValueError(f"has a broken placeholder ({exc}); write {{owner}}") from None
        unknown = sorted(fields - {"owner"})
        if unknown:
            raise ValueError(
                f"only {{owner}} is filled in; remove {', '.join('{' + n + '}' for n in unknown)}"
            )
        return text

    @model_validator(mode="after")
    def _window(self, info: ValidationInfo) -> Self:
        node = _node(info)
        start, end = self.calling_window_start, self.calling_window_end
        if start >= end:
            raise ValueError(
                f"the calling window must start before it ends (got {start:%H:%M}–{end:%H:%M})"
            )
        if start < node.calling_window_start or end > node.calling_window_end:
            raise ValueError(
                f"the calling window {start:%H:%M}–{end:%H:%M} must lie within this node's "
                f"{node.calling_window_start:%H:%M}–{node.calling_window_end:%H:%M}"
            )
        return self


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        label = FIELD_LABELS.get(loc[-1], loc[-1].replace("_", " ")) if loc else "Calling window"
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "int_parsing":
            msg = "must be a whole number"
        elif err.get("type") == "missing":
            msg = "is required"
        problems.append(f"{label}: {msg}")
    return problems


def validate_preferences(settings: Settings, data: dict[str, Any]) -> Preferences:
    """Check a full set of preferences; raises `InvalidInput` with one line per problem."""
    try:
        return Preferences.model_validate(data, context={"settings": settings})
    except ValidationError as exc:
        raise InvalidInput(_problems(exc)) from None


def _merged(defaults: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    merged = {**defaults, **{k: v for k, v in stored.items() if k in defaults and k != "models"}}
    models = stored.get("models")
    if isinstance(models, dict):
        merged["models"] = {**defaults["models"], **models}
    return merged


def effective_preferences(settings: Settings, stored: dict[str, Any]) -> Preferences:
    """The preferences in force: what the user stored, over the node's defaults.

    A stored value the node no longer allows (say MAX_CONCURRENT_CALLS was lowered) falls back
    to the node's default rather than making the user's account unusable.
    """
    defaults = Preferences.defaults(settings).model_dump(mode="json")
    data = _merged(defaults, stored)
    for _ in range(len(FIELD_LABELS) + 1):
        try:
            return Preferences.model_validate(data, context={"settings": settings})
        except ValidationError as exc:
            for err in exc.errors():
                loc = [str(p) for p in err.get("loc", ())]
                if not loc:  # the window as a whole
                    data["calling_window_start"] = defaults["calling_window_start"]
                    data["calling_window_end"] = defaults["calling_window_end"]
                elif loc[0] == "models" and len(loc) > 1:
                    data["models"][loc[1]] = defaults["models"][loc[1]]
                else:
                    data[loc[0]] = defaults[loc[0]]
    return Preferences.defaults(settings)


@dataclass(frozen=True, slots=True)
class DialingRules:
    """How one user's calls are to be dialled: their preferences within the node's limits."""

    test_mode: bool
    redirect_number: str | None  # every call goes here in test mode
    max_concurrent_calls: int  # 1 in test mode, as the node's own rule
    window_start: dt.time
    window_end: dt.time


def dialing_rules(settings: Settings, prefs: Preferences) -> DialingRules:
    """The rules the dialler should apply to this user's calls (validation already keeps each
    preference within the node's limits; test mode is on if the node or the user says so)."""
    test_mode = settings.app_test_mode or prefs.test_mode
    return DialingRules(
        test_mode=test_mode,
        redirect_number=prefs.test_redirect_number if test_mode else None,
        max_concurrent_calls=1 if test_mode else prefs.max_concurrent_calls,
        window_start=prefs.calling_window_start,
        window_end=prefs.calling_window_end,
    )


async def load_preferences(db: Database, settings: Settings, user_id: int) -> Preferences:
    """The user's preferences in force (the node's defaults for anything never saved)."""
    async with db.users() as users:
        profile = await users.profile(user_id)
    return effective_preferences(settings, _stored(profile))


def _stored(profile: User | None) -> dict[str, Any]:
    """What the user saved: the preferences' JSON, and their phone number from its column."""
    if profile is None:
        return {}
    return {**(profile.preferences or {}), "owner_phone": profile.owner_phone or ""}


async def save_preferences(
    db: Database, settings: Settings, user_id: int, data: dict[str, Any]
) -> Preferences:
    """Validate and store the user's preferences; raises `InvalidInput` naming each problem."""
    prefs = validate_preferences(settings, data)
    async with db.scope(user_id) as s:
        users = UserDirectory(s.session)
        profile = await users.profile(user_id)
        if profile is None:
            raise LookupError(f"user {user_id} not found")
        before = _flat(effective_preferences(settings, _stored(profile)))
        # Keep keys other parts of OpenDeep may store beside these; the phone number has a
        # column of its own (the call that rings it reads it there).
        stored = {
            **(profile.preferences or {}),
            **prefs.model_dump(mode="json", exclude={"owner_phone"}),
        }
        await users.set_preferences(user_id, stored)
        await users.set_owner_phone(user_id, prefs.owner_phone or None)
        changes = {FIELD_LABELS[k]: v for k, v in _flat(prefs).items() if before.get(k) != v}
        if changes:
            await s.audit.record(
                AuditAction.SETTINGS_CHANGED, "settings", AuditDetail(changes=changes)
            )
    return prefs


def _flat(prefs: Preferences) -> dict[str, str]:
    """Each preference (the agents' models one by one) as the text the owner entered."""
    values = prefs.model_dump(mode="json")
    models = values.pop("models")
    return {k: str(v) for k, v in {**values, **models}.items()}
