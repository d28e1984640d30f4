"""`opendeep doctor`: checks what OpenDeep needs and says in plain words what is missing."""

from __future__ import annotations

import asyncio
import socket

from app.checks import Check, render
from core.settings import Settings

__all__ = ["Check", "render", "run_checks"]


async def check_database(settings: Settings) -> Check:
    from core.db import Database
    from core.db.migrate import current, head

    db = Database(settings.database_url, connect_wait_s=0)  # say at once what is wrong
    try:
        await asyncio.wait_for(db.ping(), timeout=10)
    except Exception as exc:
        from core.logging import redactor

        return Check(
            "database",
            "fail",
            f"cannot reach {redactor().text(settings.database_url)}: "
            f"{redactor().text(type(exc).__name__ + ': ' + str(exc).splitlines()[0])}",
            "check DATABASE_URL; for PostgreSQL make sure the server runs and the user may log in",
        )
    finally:
        await db.dispose()
    try:
        rev = await asyncio.to_thread(current, settings.database_url)
    except Exception as exc:
        return Check(
            "database",
            "fail",
            f"cannot read the schema version: {exc}",
            "run `opendeep db upgrade`",
        )
    want = head()
    if rev != want:
        return Check(
            "database",
            "fail",
            f"schema is at {rev or 'nothing'}, code expects {want}",
            "run `opendeep db upgrade`",
        )
    return Check("database", "ok", f"reachable, schema at {rev}")


async def read_ami_banner(host: str, port: int, wait_s: float) -> str:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), wait_s)
    try:
        line = await asyncio.wait_for(reader.readline(), wait_s)
        return line.decode(errors="replace").strip()
    finally:
        writer.close()


async def check_ami(settings: Settings) -> Check:
    where = f"{settings.ami_host}:{settings.ami_port}"
    try:
        banner = await read_ami_banner(settings.ami_host, settings.ami_port, 3.0)
    except (OSError, TimeoutError) as exc:
        return Check(
            "asterisk (AMI)",
            "fail",
            f"nothing answers at {where} ({type(exc).__name__})",
            "your Asterisk's manager.conf needs `enabled = yes` and a `bindaddr`/`port` this "
            "machine reaches (AMI_HOST/AMI_PORT), through its firewall"
            if settings.pbx_external
            else "start the development PBX with `sudo asterisk/devpbx up`, or set "
            "AMI_HOST/AMI_PORT to your Asterisk",
        )
    if not banner.startswith("Asterisk Call Manager"):
        return Check(
            "asterisk (AMI)",
            "fail",
            f"{where} is not an AMI port (said {banner[:40]!r})",
            "set AMI_PORT to Asterisk's manager port (manager.conf, usually 5038)",
        )
    if not settings.ami_secret.get_secret_value():
        return Check(
            "asterisk (AMI)",
            "fail",
            f"{banner} at {where}, but AMI_SECRET is not set",
            "set AMI_SECRET (the devpbx writes it to data/secrets/ami_secret)",
        )
    return Check("asterisk (AMI)", "ok", f"{banner} at {where}")


def bind_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be bound for listening now, None when it can."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def check_port(settings: Settings) -> Check:
    """AUDIOSOCKET_PORT, and with several media workers the port of each (see
    `check_audiosocket_ports`)."""
    from app.pbx_checks import MAX_PORT, check_audiosocket_ports

    host, first = settings.audiosocket_host, settings.audiosocket_port
    workers = settings.effective_media_workers
    in_use: dict[int, str] = {}
    for port in range(first, min(first + workers, MAX_PORT + 1)):
        problem = bind_problem(host, port)
        if problem is not None:
            in_use[port] = problem
    return check_audiosocket_ports(host, first, workers, in_use)


def check_keys(settings: Settings) -> list[Check]:
    checks = []
    if settings.has_openai or settings.openai_base_url:
        checks.append(
            Check(
                "OpenAI",
                "ok",
                "OPENAI_API_KEY is set"
                if settings.has_openai
                else f"OpenAI-compatible server at {settings.openai_base_url}",
            )
        )
    else:
        checks.append(
            Check(
                "OpenAI",
                "warn",
                "OPENAI_API_KEY is not set: agents run as a rehearsal with scripted turns",
                "set OPENAI_API_KEY (or OPENAI_BASE_URL for a local Ollama/vLLM server)",
            )
        )
    if settings.has_google:
        checks.append(Check("Google", "ok", "GOOGLE_API_KEY is set"))
    else:
        checks.append(
            Check(
                "Google",
                "warn",
                "GOOGLE_API_KEY is not set: no business lookup or internet search in chat",
                "set GOOGLE_API_KEY (Places API (New) + Gemini)",
            )
        )
    return checks


async def check_voice(settings: Settings) -> Check:
    """The calls' voice: the rehearsal voice, or a Realtime server that takes a session."""
    from media.realtime_client import RealtimeClientFactory
    from media.rehearsal_voice import wants_rehearsal_voice
    from media.voice_check import VoiceCheck

    if wants_rehearsal_voice(settings):
        return Check(
            "voice",
            "warn",
            "no OPENAI_API_KEY: calls get the scripted rehearsal voice OpenDeep serves itself",
            "set OPENAI_API_KEY (OpenAI Realtime), or REALTIME_URL for a voice server of your own",
        )
    clients = RealtimeClientFactory.from_settings(settings)
    try:
        problem = await VoiceCheck(clients).problem()
    finally:
        await clients.aclose()
    if problem is not None:
        return Check(
            "voice", "fail", problem, "no call is dialled until the voice can start: fix it"
        )
    return Check(
        "voice", "ok", f"{settings.realtime_url} takes a session ({settings.realtime_model})"
    )


async def run_checks(settings: Settings) -> list[Check]:
    from app.pbx_probe import check_pbx

    # The PBX's own checks bind the AudioSocket port for a moment: the port's check comes first.
    port = check_port(settings)
    # AMI's banner first, alone: the other checks import much, which holds the event loop up
    # for seconds on a busy machine, past the banner's time-out.
    ami = await check_ami(settings)
    database, voice = await asyncio.gather(check_database(settings), check_voice(settings))
    pbx = await check_pbx(settings) if ami.level == "ok" else []
    return [database, ami, *pbx, voice, port, *check_keys(settings)]
