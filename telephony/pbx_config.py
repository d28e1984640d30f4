"""Render the development PBX's Asterisk configuration from `asterisk/templates/*.conf.in`.

Placeholders are lower-case `${name}` (`string.Template`), so Asterisk's own upper-case
`${EXTEN}`-style references pass through untouched. Only `manager.conf` receives the AMI
secret, and it is written with mode 600.

    python -m telephony.pbx_config --out DIR [--sounds-dir D] [--spool-dir D] [--secret-file F]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import secrets
import string
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import SecretStr

from core.settings import Settings, SettingsError, load_settings

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "asterisk" / "templates"
DIALPLAN_TEMPLATE = TEMPLATES_DIR / "extensions.conf.in"
DEFAULT_SOUNDS_DIR = "/var/lib/asterisk/sounds/opendeep"
DEFAULT_SPOOL_DIR = "/var/spool/asterisk"
DEFAULT_SIP_PORT = 5060
SECRET_FILES = frozenset({"manager.conf"})

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_HOST = re.compile(r"[A-Za-z0-9.:-]+\Z")
_DIR = re.compile(r"/[A-Za-z0-9_./-]*\Z")
_LEFTOVER = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")


class PbxConfigError(ValueError):
    """A value cannot be put into the Asterisk configuration; the message names it."""


class _Template(string.Template):
    # Case-sensitive lower-case names only: upper-case ${...} belongs to Asterisk.
    idpattern = r"[a-z][a-z0-9_]*"
    flags = re.RegexFlag(0)


def render_configs(
    settings: Settings,
    out_dir: Path,
    *,
    sounds_dir: str,
    spool_dir: str,
    sip_port: int = DEFAULT_SIP_PORT,
    templates_dir: Path = TEMPLATES_DIR,
) -> list[Path]:
    """Write every `<name>.conf.in` template of `templates_dir` to `out_dir/<name>.conf`.

    `sounds_dir` and `spool_dir` are paths as Asterisk sees them (inside the devpbx root).
    Returns the written files. Raises `PbxConfigError` for a value that would break or
    escape the configuration syntax (including an empty AMI secret).
    """
    values = _values(settings, sounds_dir=sounds_dir, spool_dir=spool_dir, sip_port=sip_port)
    templates = sorted(templates_dir.glob("*.conf.in"))
    if not templates:
        raise PbxConfigError(f"no *.conf.in templates in {templates_dir}")
    # Render everything before writing anything: no half-updated configuration.
    rendered = {t.name.removesuffix(".in"): render_template(t, values) for t in templates}
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        write_atomically(out_dir / name, text, 0o600 if name in SECRET_FILES else 0o644)
        for name, text in rendered.items()
    ]


def _values(
    settings: Settings, *, sounds_dir: str, spool_dir: str, sip_port: int
) -> dict[str, str]:
    secret = settings.ami_secret.get_secret_value()
    if not secret:
        raise PbxConfigError(
            "AMI_SECRET is empty: set it, or let asterisk/devpbx generate data/secrets/ami_secret"
        )
    # In Asterisk's configuration syntax ';' starts a comment and a line ends the value.
    if secret != secret.strip() or ";" in secret or any(ord(c) < 32 for c in secret):
        raise PbxConfigError(
            "AMI_SECRET must not contain ';', control characters or surrounding spaces"
        )
    check_value("AMI_USERNAME", settings.ami_username, _NAME)
    check_value("PBX_TRUNK", settings.pbx_trunk, _NAME)
    check_value("AMI_HOST", settings.ami_host, _HOST)
    check_value("AUDIOSOCKET_HOST", settings.audiosocket_host, _HOST)
    if settings.audiosocket_advertised_host:
        check_value("AUDIOSOCKET_ADVERTISED_HOST", settings.audiosocket_advertised_host, _HOST)
    check_value("sounds dir", sounds_dir, _DIR)
    check_value("spool dir", spool_dir, _DIR)
    if not 1 <= sip_port <= 65535:
        raise PbxConfigError(f"SIP port must be 1-65535, got {sip_port}")
    return {
        "ami_host": settings.ami_host,
        "ami_port": str(settings.ami_port),
        "ami_username": settings.ami_username,
        "ami_secret": secret,
        "audiosocket_address": settings.audiosocket_address,
        "trunk": settings.pbx_trunk,
        "sip_port": str(sip_port),
        "sounds_dir": sounds_dir.rstrip("/") or "/",
        "spool_dir": spool_dir.rstrip("/") or "/",
        "dialplan_version": dialplan_version(),
    }


def package_version() -> str:
    """The installed OpenDeep's version ("unknown" when run from a tree never installed)."""
    try:
        return importlib.metadata.version("opendeep")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def dialplan_version() -> str:
    """What `[opendeep-doctor]`'s `version` extension carries: the release and a digest of the
    dialplan template, so `opendeep doctor` can tell a PBX's dialplan from an older one even
    between releases (e.g. `0.1.0+3f2a9c1b`)."""
    digest = hashlib.sha256(DIALPLAN_TEMPLATE.read_bytes()).hexdigest()[:8]
    return f"{package_version()}+{digest}"


def check_value(what: str, value: str, pattern: re.Pattern[str]) -> None:
    if not pattern.match(value):
        raise PbxConfigError(f"{what} {value!r} is not usable in the Asterisk configuration")


def render_template(template: Path, values: Mapping[str, str]) -> str:
    text = _Template(template.read_text(encoding="utf-8")).safe_substitute(values)
    unknown = sorted(set(_LEFTOVER.findall(text)))
    if unknown:
        raise PbxConfigError(f"{template.name} uses unknown placeholder(s): {', '.join(unknown)}")
    return text


def write_atomically(path: Path, text: str, mode: int) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)  # the umask may have narrowed it; a reused tmp may be wider
    os.replace(tmp, path)
    return path


def ensure_secret_file(path: Path) -> str:
    """Return the secret stored in `path`, generating one (mode 600) if it is missing or empty."""
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            path.chmod(0o600)
            return secret
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(24)
    write_atomically(path, secret + "\n", 0o600)
    return secret


def env_exports(
    settings: Settings, *, sounds_dir: str, spool_dir: str, host_root: Path | None
) -> str:
    """Shell `export` lines telling tests where the PBX is. Never includes the secret."""
    pairs = {
        "AMI_HOST": settings.ami_host,
        "AMI_PORT": str(settings.ami_port),
        "AMI_USERNAME": settings.ami_username,
        "AUDIOSOCKET_HOST": settings.audiosocket_host,
        "AUDIOSOCKET_PORT": str(settings.audiosocket_port),
        "PBX_TRUNK": settings.pbx_trunk,
    }
    if host_root is not None:
        root = str(host_root).rstrip("/")
        pairs |= {
            "DEVPBX_ROOT": root,
            "DEVPBX_SPOOL": root + spool_dir,
            "DEVPBX_SOUNDS": root + sounds_dir,
        }
    return "".join(f"export {key}={_shell_quote(value)}\n" for key, value in pairs.items())


def _shell_quote(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:-]+", value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m telephony.pbx_config",
        description="Render the development PBX's Asterisk configuration from the settings.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the *.conf files")
    parser.add_argument(
        "--sounds-dir", default=DEFAULT_SOUNDS_DIR, help="prompts, as Asterisk sees it"
    )
    parser.add_argument(
        "--spool-dir", default=DEFAULT_SPOOL_DIR, help="recordings, as Asterisk sees it"
    )
    parser.add_argument("--sip-port", type=int, default=DEFAULT_SIP_PORT, help="loopback SIP port")
    parser.add_argument(
        "--secret-file",
        type=Path,
        help="when no AMI secret is configured, use the one in this file (created if missing)",
    )
    parser.add_argument("--env-file", type=Path, help="also write shell exports (no secret) here")
    parser.add_argument("--host-root", type=Path, help="host path of the root, for --env-file")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
        if not settings.ami_secret.get_secret_value() and args.secret_file is not None:
            secret = SecretStr(ensure_secret_file(args.secret_file))
            settings = settings.model_copy(update={"ami_secret": secret})
        written = render_configs(
            settings,
            args.out,
            sounds_dir=args.sounds_dir,
            spool_dir=args.spool_dir,
            sip_port=args.sip_port,
        )
    except (SettingsError, PbxConfigError) as exc:
        print(f"pbx_config: {exc}", file=sys.stderr)
        return 2
    if args.env_file is not None:
        exports = env_exports(
            settings, sounds_dir=args.sounds_dir, spool_dir=args.spool_dir, host_root=args.host_root
        )
        write_atomically(args.env_file, exports, 0o644)
    print(f"pbx_config: wrote {len(written)} files to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
