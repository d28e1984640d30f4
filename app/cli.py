"""The `opendeep` command: serve, db, user, pbx, doctor."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from core.settings import Settings, SettingsError, load_settings

app = typer.Typer(
    name="opendeep",
    help="OpenDeep: AI outbound calling on your own Asterisk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
pbx_app = typer.Typer(help="Your own Asterisk.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(pbx_app, name="pbx")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise fail(str(exc), 2) from None
    from core.logging import configure_logging
    from core.settings import secret_values

    configure_logging(
        level=settings.log_level, fmt=settings.log_format, secrets=secret_values(settings)
    )
    return settings


def upgrade_or_exit(settings: Settings) -> str:
    """Migrate the schema to the newest version; exits with a clear error when it cannot."""
    from core.db.migrate import current, upgrade
    from core.logging import redactor

    try:
        upgrade(settings.database_url)
        return current(settings.database_url) or "?"
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(f"cannot upgrade the database: {redactor().text(first)}") from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    settings = settings_or_exit()
    rev = upgrade_or_exit(settings)
    typer.echo(f"database schema at {rev}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="target revision, e.g. base")],
) -> None:
    """Migrate the schema down to REVISION."""
    from core.db.migrate import downgrade

    settings = settings_or_exit()
    downgrade(settings.database_url, revision)
    typer.echo(f"database schema downgraded to {revision}")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="login name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    display_name: Annotated[str | None, typer.Option(help="name the AI uses for you")] = None,
) -> None:
    """Create a user (the password is asked for, or read from stdin)."""
    from core.db import AlreadyExists, BadUserInput, Database

    settings = settings_or_exit()
    password = _read_password(password_stdin)
    upgrade_or_exit(settings)

    async def add() -> int:
        db = Database(settings.database_url)
        try:
            async with db.users() as users:
                return await users.add(name, password, display_name=display_name)
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(add())
    except (BadUserInput, AlreadyExists) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"user {name.strip().lower()} created (id {user_id})")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise fail("the passwords do not match")
    return password


@user_app.command("passwd")
def user_passwd(
    name: Annotated[str, typer.Argument(help="login name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Give a user a new password; every session they have open ends."""
    from core.db import BadUserInput, Database, NotFound

    settings = settings_or_exit()
    password = _read_password(password_stdin)
    upgrade_or_exit(settings)

    async def change() -> int:
        db = Database(settings.database_url)
        try:
            async with db.users() as users:
                user_id = await users.set_password(name, password)
            async with db.sign_in() as records:
                return await records.end_sessions_of(user_id)
        finally:
            await db.dispose()

    try:
        ended = asyncio.run(change())
    except (BadUserInput, NotFound) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"password of {name.strip().lower()} changed; {ended} session(s) ended")


@user_app.command("unlock")
def user_unlock(
    name: Annotated[str, typer.Argument(help="login name")],
    address: Annotated[
        str | None, typer.Option(help="also lift the lock on this client address")
    ] = None,
) -> None:
    """Lift the lock that failed sign-ins put on a user name (and on an address)."""
    from core.db import Database
    from core.db.sign_in import address_key, user_key

    settings = settings_or_exit()
    upgrade_or_exit(settings)
    keys = [user_key(name)] + ([address_key(address.strip())] if address else [])

    async def unlock() -> int:
        db = Database(settings.database_url)
        try:
            async with db.sign_in() as records:
                return await records.forget(keys)
        finally:
            await db.dispose()

    held = asyncio.run(unlock())
    what = name.strip().lower() + (f" and {address.strip()}" if address else "")
    # The same answer for a name that never failed (or does not exist): nothing to lift.
    typer.echo(f"unlocked {what}" if held else f"{what}: no failed sign-ins on record")


def _bootstrap_admin(settings: Settings) -> None:
    """Create the first user `admin` when there is none, and say how to sign in."""
    import secrets

    from core.db import Database

    password_file = settings.data_dir / "secrets" / "admin_password"

    async def bootstrap() -> bool:
        db = Database(settings.database_url)
        try:
            async with db.users() as users:
                if await users.count() > 0:
                    return False
                password = secrets.token_urlsafe(12)
                await users.add("admin", password, display_name="Admin")
        finally:
            await db.dispose()
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.touch(mode=0o600)
        password_file.write_text(password + "\n")
        return True

    if asyncio.run(bootstrap()):
        typer.echo(
            f"created the first user: admin — its password is in {password_file} "
            "(add more with `opendeep user add NAME`)"
        )
    elif password_file.exists():
        typer.echo(
            f"sign in as admin with the password in {password_file}, or as any user you added"
        )


@user_app.command("bootstrap")
def user_bootstrap() -> None:
    """Create a first user `admin` when there is none (its password goes to data/secrets/)."""
    settings = settings_or_exit()
    upgrade_or_exit(settings)
    _bootstrap_admin(settings)


@pbx_app.command("install")
def pbx_install(
    dest: Annotated[
        Path | None,
        typer.Option(
            help="folder to write into (default: /etc/asterisk when it is there and writable, "
            "else ./pbx-install, to copy to the PBX)"
        ),
    ] = None,
    freepbx: Annotated[
        bool,
        typer.Option("--freepbx", help="write FreePBX's *_custom.conf files (no #include to add)"),
    ] = False,
    opendeep_address: Annotated[
        str, typer.Option(help="the address OpenDeep connects to AMI from (the only one permitted)")
    ] = "127.0.0.1",
    trunk: Annotated[
        str | None,
        typer.Option(help="also write a PJSIP trunk named PBX_TRUNK: registering or ip"),
    ] = None,
    sip_server: Annotated[
        str | None, typer.Option(help="the provider's SIP server, HOST[:PORT]")
    ] = None,
    sip_protocol: Annotated[str, typer.Option(help="udp or tcp")] = "udp",
    sip_transport: Annotated[
        str | None,
        typer.Option(
            help="the PBX's PJSIP transport for that protocol (default transport-udp/-tcp; "
            "FreePBX 0.0.0.0-udp/-tcp)"
        ),
    ] = None,
    sip_username: Annotated[str, typer.Option(help="registering: the account's user")] = "",
    sip_password_stdin: Annotated[
        bool, typer.Option(help="registering: read the account's password from stdin")
    ] = False,
    sip_domain: Annotated[
        str, typer.Option(help="registering: the SIP domain (default: the server's host)")
    ] = "",
    sip_match: Annotated[
        str,
        typer.Option(help="ip: the provider's addresses, comma-separated (default: the server)"),
    ] = "",
    inbound_context: Annotated[
        str,
        typer.Option(
            help="where calls from the trunk go (default: opendeep-inbound rejects them; "
            "FreePBX: from-pstn)"
        ),
    ] = "",
    spool_dir: Annotated[
        str, typer.Option(help="Asterisk's spool folder (recordings go to its recordings/)")
    ] = "/var/spool/asterisk",
) -> None:
    """Install OpenDeep's dialplan, AMI user and (with --trunk) a SIP trunk into an existing
    Asterisk, as files it includes; never overwrites a file OpenDeep did not write."""
    from pydantic import SecretStr

    from core.settings import SECRETS_DIR
    from telephony.pbx_config import PbxConfigError, ensure_secret_file
    from telephony.pbx_install import Trunk, default_dest, plan_install, write_install

    settings = settings_or_exit()
    spec: Trunk | None = None
    if trunk is not None:
        if trunk not in ("registering", "ip"):
            raise fail(f"--trunk must be registering or ip, got {trunk!r}", 2)
        if sip_protocol not in ("udp", "tcp"):
            raise fail(f"--sip-protocol must be udp or tcp, got {sip_protocol!r}", 2)
        if not sip_server:
            raise fail("--trunk needs --sip-server HOST[:PORT] (your provider's)", 2)
        password = ""
        if trunk == "registering":
            if not sip_username or not sip_password_stdin:
                raise fail("a registering trunk needs --sip-username and --sip-password-stdin", 2)
            password = sys.stdin.readline().rstrip("\r\n")
        spec = Trunk(
            kind="registering" if trunk == "registering" else "ip",
            server=sip_server,
            protocol=_udp_or_tcp(sip_protocol),
            transport=sip_transport or "",
            username=sip_username,
            password=password,
            domain=sip_domain,
            match=sip_match,
            inbound_context=inbound_context,
        )
    elif sip_server or sip_username or sip_password_stdin or sip_match:
        raise fail("the --sip-* options describe a trunk: add --trunk registering or ip", 2)
    generated = None
    if not settings.ami_secret.get_secret_value():
        generated = SECRETS_DIR / "ami_secret"
        secret = SecretStr(ensure_secret_file(generated))
        settings = settings.model_copy(update={"ami_secret": secret})
    target = dest or default_dest()
    try:
        plan = plan_install(
            settings,
            layout="freepbx" if freepbx else "asterisk",
            opendeep_address=opendeep_address,
            trunk=spec,
            spool_dir=spool_dir,
        )
        written = write_install(plan, target)
    except PbxConfigError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"wrote into {target}:")
    for path in written:
        typer.echo(f"  {path.name}  (mode {path.stat().st_mode & 0o777:o})")
    if generated is not None:
        typer.echo(f"the AMI secret is new: OpenDeep reads it from {generated}")
    if plan.include_lines:
        typer.echo("add at the end of each of these files of your Asterisk, once:")
        for pbx_file, line in plan.include_lines:
            typer.echo(f"  {pbx_file}: {line}")
    if target.resolve() != Path("/etc/asterisk").resolve():
        typer.echo("copy the files into the PBX's /etc/asterisk (keep their modes)")
    typer.echo(f"then reload: {plan.reload_command}")


def _udp_or_tcp(value: str) -> Literal["udp", "tcp"]:
    return "tcp" if value == "tcp" else "udp"


@app.command()
def doctor() -> None:
    """Check the database, the PBX, the ports and the keys; say what is missing and how to fix it."""
    from app.doctor import render, run_checks
    from core.logging import configure_logging
    from core.settings import secret_values

    settings = settings_or_exit()
    if "log_level" not in settings.model_fields_set:
        # The checks are the output; the AMI session's own log lines would only repeat them.
        configure_logging(level="ERROR", fmt=settings.log_format, secrets=secret_values(settings))
    checks = asyncio.run(run_checks(settings))
    typer.echo(render(checks))
    if any(c.level == "fail" for c in checks):
        raise typer.Exit(1)


@app.command()
def rehearse(
    timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 300.0,
    user: Annotated[
        str | None,
        typer.Option(help="whose campaign the demo is (default: the first user, e.g. admin)"),
    ] = None,
) -> None:
    """Run one demo campaign end to end against the development PBX, with scripted agents.

    The campaign belongs to a real user (the first one unless --user says), so it stays in
    their Campaigns tab with its transcripts, recordings and analyses."""
    from app.rehearsal import run_rehearsal
    from core.logging import configure_logging
    from core.settings import secret_values

    settings = settings_or_exit()
    if "log_level" not in settings.model_fields_set:
        # The step-by-step account is the output here; routine log lines would drown it.
        configure_logging(level="WARNING", fmt=settings.log_format, secrets=secret_values(settings))
    upgrade_or_exit(settings)
    if user is None:
        _bootstrap_admin(settings)  # a first run has someone to show the demo to
    raise typer.Exit(asyncio.run(run_rehearsal(settings, timeout_s=timeout, username=user)))


@app.command()
def serve(
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="the Gradio app")] = True,
    telephony: Annotated[
        bool, typer.Option("--telephony/--no-telephony", help="AMI connection")
    ] = True,
    media: Annotated[bool, typer.Option("--media/--no-media", help="AudioSocket server")] = True,
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="task dispatcher")
    ] = True,
) -> None:
    """Run OpenDeep: migrate the schema, then start the parts that are switched on."""
    from app.node import PartsWanted
    from app.service import run_service

    settings = settings_or_exit()
    upgrade_or_exit(settings)
    wanted = PartsWanted(ui=ui, telephony=telephony, media=media, scheduler=scheduler)
    code = asyncio.run(run_service(settings, wanted))
    raise typer.Exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
