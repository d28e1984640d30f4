"""The one settings object of OpenDeep.

Every knob is read here, from the environment or a `.env` file, and passed on explicitly;
no other module reads `os.environ`. Secrets are `SecretStr` so they never print by accident.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/opendeep.db"
# A caller ID as AMI's Originate takes it: a number, or a quoted name and the number in <>.
_CALLER_ID = re.compile(r'(?:"[^"\\,;\x00-\x1f]{1,40}" ?)?(?:<\+?[0-9]{2,20}>|\+?[0-9]{2,20})\Z')


def _is_unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


class SettingsError(Exception):
    """A setting has a bad value; the message names the setting and says what is expected."""


class Settings(BaseSettings):
    """All of OpenDeep's configuration. Field names map 1:1 to upper-case environment names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    # --- storage -------------------------------------------------------------------------
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the database: SQLite (embedded default) or PostgreSQL.",
    )
    data_dir: Path = Field(
        Path("./data"), description="Folder for the SQLite file, recordings and state."
    )

    recordings_dir: Path = Field(
        Path("./.devpbx/root/var/spool/asterisk/recordings"),
        description="Where this machine reads Asterisk's call recordings (the development "
        "PBX's spool by default; a mount of your PBX's recordings folder otherwise).",
    )

    # --- node ----------------------------------------------------------------------------
    node_id: str = Field(
        "", description="This node's id in task claims; empty means host name + pid."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="Log line format; auto: readable lines on a terminal, JSON otherwise."
    )

    task_lease_s: float = Field(
        300.0, ge=5, description="How long a node's claim on a task lasts unless it renews it."
    )
    reaper_interval_s: float = Field(
        30.0, ge=1, description="How often a node returns tasks whose claim ran out."
    )

    # --- Asterisk (AMI) ------------------------------------------------------------------
    ami_host: str = Field("127.0.0.1", description="Asterisk Manager Interface host.")
    ami_port: int = Field(5038, ge=1, le=65535, description="AMI TCP port.")
    ami_username: str = Field("opendeep", description="AMI user (manager.conf).")
    ami_secret: SecretStr = Field(
        SecretStr(""), description="AMI secret (manager.conf). Never logged."
    )
    ami_action_timeout_s: float = Field(10.0, gt=0, description="Upper bound on any AMI action.")
    ami_ping_interval_s: float = Field(
        5.0, gt=0, description="Heartbeat period on the AMI connection."
    )
    pbx_trunk: str = Field(
        "opendeep-sim",
        description="PJSIP endpoint/trunk that outbound calls dial through (devpbx: simulated callees).",
    )
    pbx_external: bool = Field(
        False,
        description="True when an external Asterisk is configured; `make run` then skips devpbx.",
    )

    # --- AudioSocket (media) -------------------------------------------------------------
    audiosocket_host: str = Field(
        "127.0.0.1",
        description="AudioSocket server bind address. Loopback by default; an address of this "
        "machine (or 0.0.0.0) to take calls from a PBX on another machine, together with "
        "AUDIOSOCKET_ALLOWED_PEERS.",
    )
    audiosocket_port: int = Field(9092, ge=1, le=65535, description="AudioSocket server TCP port.")
    media_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Media worker processes carrying the calls' audio, each with its own event "
        "loop and AudioSocket port (AUDIOSOCKET_PORT, AUDIOSOCKET_PORT+1, …; each call's "
        "Originate names its worker's). 0 (the default): one per CPU core. 1: the calls' audio "
        "runs in the node's own process (as on a one-core machine).",
    )
    realtime_append_ms: Literal[20, 40, 60] = Field(
        20,
        description="How much of the callee's audio each `input_audio_buffer.append` carries: "
        "20 (every frame as it comes), 40 or 60 ms (fewer, larger messages; the callee's voice "
        "reaches the model up to 20 or 40 ms later).",
    )
    media_uvloop: bool = Field(
        False,
        description="Run the media workers' event loops on uvloop (only with MEDIA_WORKERS "
        "above 1).",
    )
    audiosocket_advertised_host: str = Field(
        "",
        description="The address Asterisk connects to for this node's AudioSocket, sent with "
        "every call (empty: AUDIOSOCKET_HOST). Needed when AUDIOSOCKET_HOST is 0.0.0.0 or ::.",
    )
    audiosocket_allowed_peers: str = Field(
        "127.0.0.0/8,::1",
        description="Addresses or networks (comma-separated) that may connect to the "
        "AudioSocket server: your PBX. A connection from any other address is closed at once "
        "and logged. Default: loopback only.",
    )
    caller_id: str = Field(
        "",
        description="Caller ID sent with every call (AMI Originate CallerID): a number such as "
        '+12125550100, or "Name" <+12125550100>. Empty: the trunk\'s own. The trunk decides '
        "whether it is passed on.",
    )

    caller_id_choices: str = Field(
        "",
        description="Numbers (E.164, comma-separated) users may choose as their calls' caller "
        "ID, for all their calls (Settings tab) or one campaign: the ones your trunk lets you "
        "send. Any other is refused. Empty: every call carries CALLER_ID.",
    )

    # --- model providers -----------------------------------------------------------------
    openai_api_key: SecretStr = Field(SecretStr(""), description="OpenAI API key. Never logged.")
    openai_base_url: str = Field("", description="OpenAI-compatible HTTP base URL (empty: OpenAI).")
    realtime_url: str = Field(
        "wss://api.openai.com/v1",
        description="Realtime WebSocket base URL (the calls' voice). Left at OpenAI's without "
        "OPENAI_API_KEY, OpenDeep serves its own scripted rehearsal voice on loopback instead; a "
        "URL of your own (a local Realtime-compatible server) is used as it is. No call is "
        "dialled while the voice cannot start.",
    )
    # gpt-realtime is to be shut down on 2027-01-20; gpt-realtime-2.1 is its named successor.
    realtime_model: str = Field("gpt-realtime-2.1", description="Realtime speech-to-speech model.")
    realtime_transcription_model: str = Field(
        "gpt-4o-mini-transcribe",
        description="Model that transcribes the callee inside the Realtime session (empty: no "
        "callee transcripts). gpt-4o-mini-transcribe is to be shut down on 2027-02-26.",
    )
    realtime_voice: str = Field("marin", description="Realtime voice.")
    realtime_prewarm: bool = Field(
        True,
        description="Open and configure each call's Realtime session while its phone rings, so "
        "the agent can speak as soon as the callee has said hello; a session the call does not "
        "use (busy, no answer, a hang-up while ringing) is closed. Off: connect at answer.",
    )
    google_api_key: SecretStr = Field(
        SecretStr(""), description="Google API key (Places, Gemini). Never logged."
    )
    google_places_url: str = Field(
        "https://places.googleapis.com/v1", description="Google Places API (New) base URL."
    )
    assistant_model: str = Field(
        "openai:gpt-4.1-mini", description="Chat model of the UI assistant."
    )
    orchestrator_model: str = Field("openai:gpt-4.1-mini", description="Model of the orchestrator.")
    analyzer_model: str = Field(
        "openai:gpt-4.1-mini", description="Model of the post-call analyzer."
    )
    lifecycle_model: str = Field(
        "openai:gpt-4.1-mini", description="Model of the lifecycle manager."
    )
    search_model: str = Field(
        "google_genai:gemini-2.5-flash", description="Model used for grounded internet search."
    )

    # --- calling rules -------------------------------------------------------------------
    app_test_mode: bool = Field(
        True,
        validation_alias=AliasChoices("APP_TEST_MODE", "app_test_mode"),
        description="Redirect every call to APP_TEST_MODE_REDIRECT_NUMBER and dial one at a time.",
    )
    app_test_mode_redirect_number: str = Field(
        "+12125550101",
        validation_alias=AliasChoices(
            "APP_TEST_MODE_REDIRECT_NUMBER", "app_test_mode_redirect_number"
        ),
        description="Where test mode sends every call (devpbx: the simulated human).",
    )
    max_concurrent_calls: int = Field(
        4,
        ge=1,
        le=1000,
        validation_alias=AliasChoices("MAX_CONCURRENT_CALLS", "max_concurrent_calls"),
        description="Calls this node may have up at once.",
    )
    calling_window_start: dt.time = Field(
        dt.time(8, 0), description="Earliest callee-local time to call."
    )
    calling_window_end: dt.time = Field(
        dt.time(21, 0), description="Latest callee-local time to call."
    )
    default_region: str = Field(
        "US", min_length=2, max_length=2, description="Region for numbers without +."
    )
    ai_disclosure: str = Field(
        "Hi, this is an AI assistant calling on behalf of {owner}.",
        description="The greeting's disclosure line; {owner} is the user's display name.",
    )
    feedback_timeout_s: float = Field(
        60.0, gt=0, description="How long a live call waits for the owner's answer."
    )

    # --- UI ------------------------------------------------------------------------------
    ui_host: str = Field("127.0.0.1", description="Gradio bind address.")
    ui_port: int = Field(7860, ge=1, le=65535, description="Gradio port.")
    ui_trusted_proxies: str = Field(
        "",
        description="Reverse proxies (addresses or networks, comma-separated) whose "
        "X-Forwarded-For names the client; from any other peer the header is ignored. "
        "Empty: none.",
    )
    ui_session_lifetime_s: float = Field(
        12 * 3600.0, gt=0, description="A sign-in lasts at most this long."
    )
    ui_session_idle_s: float = Field(
        3600.0, gt=0, description="A sign-in ends after this long without a request."
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        value = value.strip()
        if value.startswith(("postgres://", "postgresql://")):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            value = "sqlite+aiosqlite:///" + value[len("sqlite:///") :]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError("expected sqlite:///PATH or postgresql://USER:PASS@HOST/DB")
        return value

    @field_validator("ui_trusted_proxies", "audiosocket_allowed_peers")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        entries = [part.strip() for part in value.split(",") if part.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return ",".join(entries)

    @field_validator("caller_id")
    @classmethod
    def _check_caller_id(cls, value: str) -> str:
        value = value.strip()
        if value and not _CALLER_ID.match(value):
            raise ValueError(
                f"{value!r} is not a caller ID: expected a number such as +12125550100, or "
                '"Name" <+12125550100> (no commas, semicolons or quotes inside the name)'
            )
        return value

    @field_validator("caller_id_choices")
    @classmethod
    def _check_caller_id_choices(cls, value: str) -> str:
        from core.phone import InvalidPhoneNumber, normalize

        numbers = []
        for entry in (part.strip() for part in value.split(",")):
            if not entry:
                continue
            if not entry.startswith("+"):
                raise ValueError(f"{entry!r} must be written in E.164, e.g. +12125550100")
            try:
                numbers.append(normalize(entry))
            except InvalidPhoneNumber as exc:
                raise ValueError(str(exc)) from None
        return ",".join(dict.fromkeys(numbers))

    @field_validator("app_test_mode_redirect_number")
    @classmethod
    def _check_redirect(cls, value: str) -> str:
        from core.phone import InvalidPhoneNumber, normalize

        try:
            return normalize(value)
        except InvalidPhoneNumber as exc:
            raise ValueError(str(exc)) from None

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _check_window(self) -> Settings:
        if self.calling_window_start >= self.calling_window_end:
            raise ValueError(
                "calling_window_start must be before calling_window_end "
                f"(got {self.calling_window_start} and {self.calling_window_end})"
            )
        return self

    @model_validator(mode="after")
    def _check_audiosocket_address(self) -> Settings:
        if _is_unspecified(self.audiosocket_host) and not self.audiosocket_advertised_host:
            raise ValueError(
                f"AUDIOSOCKET_ADVERTISED_HOST must be set when AUDIOSOCKET_HOST is "
                f"{self.audiosocket_host}: Asterisk needs an address to connect to"
            )
        return self

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @cached_property
    def effective_node_id(self) -> str:
        import os
        import socket

        return self.node_id or f"{socket.gethostname()}-{os.getpid()}"

    @property
    def trusted_proxies(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """`ui_trusted_proxies` as networks (a single address is a /32 or /128)."""
        return tuple(
            ipaddress.ip_network(entry, strict=False)
            for entry in self.ui_trusted_proxies.split(",")
            if entry
        )

    @property
    def audiosocket_allowed_networks(
        self,
    ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """`audiosocket_allowed_peers` as networks (a single address is a /32 or /128)."""
        return tuple(
            ipaddress.ip_network(entry, strict=False)
            for entry in self.audiosocket_allowed_peers.split(",")
            if entry
        )

    @property
    def effective_media_workers(self) -> int:
        """How many media workers the node runs (`media_workers`, 0 meaning one per core)."""
        return self.media_workers or os.cpu_count() or 1

    @property
    def audiosocket_address(self) -> str:
        """Where Asterisk reaches this node's AudioSocket server, as `AudioSocket()` takes it:
        `host:port`, or `[v6]:port`."""
        host = self.audiosocket_advertised_host or self.audiosocket_host
        try:
            is_v6 = ipaddress.ip_address(host).version == 6
        except ValueError:
            is_v6 = False
        return f"[{host}]:{self.audiosocket_port}" if is_v6 else f"{host}:{self.audiosocket_port}"

    @property
    def caller_id_numbers(self) -> tuple[str, ...]:
        """`caller_id_choices` as E.164 numbers."""
        return tuple(n for n in self.caller_id_choices.split(",") if n)

    @property
    def has_openai(self) -> bool:
        return bool(self.openai_api_key.get_secret_value())

    @property
    def has_google(self) -> bool:
        return bool(self.google_api_key.get_secret_value())


def _env_name(settings_cls: type[Settings], field: str) -> str:
    info = settings_cls.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and alias.choices:
        first = alias.choices[0]
        return str(first)
    return field.upper()


SECRETS_DIR = Path("data/secrets")


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation failure into one clear `SettingsError` line.

    Besides the environment and `.env`, secrets may sit one per file in `./data/secrets/`
    (file name = setting name, e.g. `ami_secret`, as the development PBX writes it).
    """
    kwargs: dict[str, object] = dict(overrides)
    if SECRETS_DIR.is_dir():
        kwargs.setdefault("_secrets_dir", SECRETS_DIR)
    try:
        return Settings(**kwargs)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err.get("loc") or ("settings",)
            field = str(loc[0])
            name = _env_name(Settings, field) if field in Settings.model_fields else field.upper()
            msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
            problems.append(f"{name}: {msg}")
        raise SettingsError("bad setting " + "; ".join(problems)) from None


def secret_values(settings: Settings) -> list[str]:
    """Every secret's clear value (non-empty), for the log redactor."""
    values = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            values.append(value.get_secret_value())
    from sqlalchemy.engine import make_url

    password = make_url(settings.database_url).password
    if password:
        values.append(str(password))
    return values
