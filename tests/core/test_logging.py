"""One logging set-up; a planted secret never reaches a log line."""

from __future__ import annotations

import io
import json
import logging

from core.logging import configure_logging, get_logger

PLANTED = "planted-SECRET-4f9a1c"


def test_planted_secret_is_redacted_everywhere() -> None:
    buf = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", secrets=[PLANTED], stream=buf)
    log = get_logger("opendeep.test")
    log.info("structured", detail=f"the value is {PLANTED}", nested={"inner": [PLANTED]})
    log.info("by key", ami_secret="whatever-it-is", openai_api_key="sk-abcdef")
    logging.getLogger("panoramisk.manager").info("Action: Login\r\nSecret: %s\r\n", PLANTED)
    logging.getLogger("sqlalchemy").warning("url postgresql://od:%s@127.0.0.1/db", "pg-pass-77")
    try:
        raise RuntimeError(f"boom with {PLANTED}")
    except RuntimeError:
        log.exception("failure")
    out = buf.getvalue()
    assert PLANTED not in out
    assert "whatever-it-is" not in out and "sk-abcdef" not in out and "pg-pass-77" not in out
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 5
    assert lines[0]["detail"] == "the value is ***"
    assert lines[0]["level"] == "info" and lines[0]["logger"] == "opendeep.test"
    assert "timestamp" in lines[0]
    assert "RuntimeError: boom with ***" in lines[4]["exception"]
