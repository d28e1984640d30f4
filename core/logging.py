"""One logging set-up for the whole process: structured (JSON or console), secrets redacted.

Library loggers (SQLAlchemy, panoramisk, uvicorn…) go through the same formatter, so a secret
that reaches any log line is replaced by `***` before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "***"
# Values of these keys are redacted whatever they hold.
_SECRET_KEYS = re.compile(r"(secret|password|passwd|api[_-]?key|token|authorization)", re.I)
# `key=value` / `key: value` pairs inside free text (e.g. an AMI action echoed by a library).
_SECRET_PAIRS = re.compile(
    r"(?P<k>\b(?:secret|password|passwd|api[_-]?key|token)\b\s*[=:]\s*)(?P<v>[^\s,;&'\"]+)", re.I
)
_URL_PASSWORD = re.compile(r"(?P<k>://[^:/@\s]+:)(?P<v>[^@\s]+)(?=@)")


class Redactor:
    """Replaces known secret values, and anything that looks like a credential, by `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        new = {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(set(self._secrets) | new, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        value = _SECRET_PAIRS.sub(lambda m: m.group("k") + REDACTED, value)
        return _URL_PASSWORD.sub(lambda m: m.group("k") + REDACTED, value)

    def value(self, key: str, value: Any) -> Any:
        if _SECRET_KEYS.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(key, v) for v in value]
        return value

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            event_dict[key] = self.value(key, event_dict[key])
        return event_dict


_redactor = Redactor()


def redactor() -> Redactor:
    """The process-wide redactor (add secrets learnt at run time, e.g. a user's key)."""
    return _redactor


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "json",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Set up stdlib logging and structlog once; safe to call again (replaces the handlers)."""
    _redactor.add(secrets)
    out = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "httpx",
        "httpcore",
        "websockets",
        "asyncio",
        "aiosqlite",
        "apscheduler",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
