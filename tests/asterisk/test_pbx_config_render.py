"""The renderer of the devpbx configuration: secrets stay out of templates and land only in
manager.conf; values that would break Asterisk's syntax are refused."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from core.settings import load_settings
from telephony import pbx_config
from telephony.pbx_config import PbxConfigError, render_configs

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATES = PROJECT / "asterisk" / "templates"
PLANTED = "planted-Secret-4711"


def _render(tmp_path: Path, **overrides: object) -> dict[str, str]:
    settings = load_settings(**{"ami_secret": PLANTED, **overrides})
    paths = render_configs(
        settings, tmp_path / "etc", sounds_dir="/snd/opendeep", spool_dir="/spool/asterisk"
    )
    return {p.name: p.read_text() for p in paths}


def test_templates_hold_no_secret() -> None:
    texts = {p.name: p.read_text() for p in TEMPLATES.glob("*.conf.in")}
    assert {"manager.conf.in", "extensions.conf.in", "pjsip.conf.in", "modules.conf.in"} <= set(
        texts
    )
    for name, text in texts.items():
        for line in text.splitlines():
            if re.match(r"\s*secret\s*=", line):
                assert line.split("=", 1)[1].strip() == "${ami_secret}", f"{name}: {line}"
    generated = PROJECT / "data" / "secrets" / "ami_secret"
    if generated.exists():
        secret = generated.read_text().strip()
        assert all(secret not in text for text in texts.values())


def test_planted_secret_lands_only_in_manager_conf(tmp_path: Path) -> None:
    rendered = _render(tmp_path)
    assert [name for name, text in rendered.items() if PLANTED in text] == ["manager.conf"]
    mode = stat.S_IMODE((tmp_path / "etc" / "manager.conf").stat().st_mode)
    assert mode == 0o600


def test_rendering_uses_the_settings_and_leaves_asterisk_variables_alone(tmp_path: Path) -> None:
    rendered = _render(
        tmp_path,
        ami_port=5039,
        ami_username="od-test",
        audiosocket_host="127.0.0.2",
        audiosocket_port=9300,
        pbx_trunk="sim-trunk",
    )
    manager = rendered["manager.conf"]
    assert "port = 5039" in manager
    assert "[od-test]" in manager
    dialplan = rendered["extensions.conf"]
    assert "OPENDEEP_AUDIOSOCKET = 127.0.0.2:9300" in dialplan
    assert "OPENDEEP_TRUNK = sim-trunk" in dialplan
    assert "OPENDEEP_SOUNDS = /snd/opendeep" in dialplan
    assert "Dial(PJSIP/${EXTEN}@${OPENDEEP_TRUNK}" in dialplan
    assert "[sim-trunk]" in rendered["pjsip.conf"]
    assert "autoload = no" in rendered["modules.conf"]
    for name, text in rendered.items():
        assert not re.search(r"\$\{[a-z][a-z0-9_]*\}", text), name


def test_ipv6_audiosocket_host_is_bracketed(tmp_path: Path) -> None:
    rendered = _render(tmp_path, audiosocket_host="::1", audiosocket_port=9092)
    assert "OPENDEEP_AUDIOSOCKET = [::1]:9092" in rendered["extensions.conf"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ami_secret": ""}, "AMI_SECRET is empty"),
        ({"ami_secret": "abc;def"}, "AMI_SECRET must not contain"),
        ({"ami_secret": "abc\ndef"}, "AMI_SECRET must not contain"),
        ({"ami_username": "bob]\n[admin"}, "AMI_USERNAME"),
        ({"pbx_trunk": "sim trunk"}, "PBX_TRUNK"),
        ({"audiosocket_host": "127.0.0.1,evil"}, "AUDIOSOCKET_HOST"),
    ],
)
def test_unusable_values_are_refused(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(PbxConfigError, match=message):
        _render(tmp_path, **overrides)
    assert not (tmp_path / "etc").exists()


def test_unknown_placeholder_is_an_error(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "x.conf.in").write_text("a = ${ami_port}\nb = ${EXTEN}\nc = ${no_such_thing}\n")
    with pytest.raises(PbxConfigError, match="no_such_thing"):
        render_configs(
            load_settings(ami_secret=PLANTED),
            tmp_path / "etc",
            sounds_dir="/s",
            spool_dir="/p",
            templates_dir=templates,
        )


def test_cli_generates_a_private_secret_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env, no ./data/secrets of the project
    monkeypatch.delenv("AMI_SECRET", raising=False)
    secret_file = tmp_path / "data" / "secrets" / "ami_secret"
    env_file = tmp_path / "devpbx.env"
    argv = [
        "--out", str(tmp_path / "etc"),
        "--secret-file", str(secret_file),
        "--env-file", str(env_file),
        "--host-root", "/cache/root",
    ]  # fmt: skip
    assert pbx_config.main(argv) == 0
    secret = secret_file.read_text().strip()
    assert len(secret) >= 24
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert f"secret = {secret}" in (tmp_path / "etc" / "manager.conf").read_text()
    exports = env_file.read_text()
    assert secret not in exports
    assert "export DEVPBX_SPOOL=/cache/root/var/spool/asterisk" in exports
    assert "export AMI_PORT=5038" in exports

    assert pbx_config.main(argv) == 0  # a second run keeps the secret
    assert secret_file.read_text().strip() == secret


def test_cli_reports_a_bad_setting_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMI_SECRET", "has;semicolon")
    assert pbx_config.main(["--out", str(tmp_path / "etc")]) == 2
    assert "AMI_SECRET must not contain" in capsys.readouterr().err
