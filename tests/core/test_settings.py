from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core.settings import Settings, SettingsError, load_settings, secret_values


def test_defaults_are_embedded_and_safe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.database_url == "sqlite+aiosqlite:///./data/opendeep.db"
    assert s.app_test_mode is True
    assert s.app_test_mode_redirect_number == "+12125550101"
    assert s.max_concurrent_calls >= 1
    assert (s.calling_window_start, s.calling_window_end) == (dt.time(8), dt.time(21))
    assert not s.has_openai and not s.has_google


def test_environment_names_kept_from_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_TEST_MODE", "false")
    monkeypatch.setenv("APP_TEST_MODE_REDIRECT_NUMBER", "(212) 555-0102")
    monkeypatch.setenv("MAX_CONCURRENT_CALLS", "7")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1/od")
    s = load_settings()
    assert s.app_test_mode is False
    assert s.app_test_mode_redirect_number == "+12125550102"
    assert s.max_concurrent_calls == 7
    assert s.database_url == "postgresql+psycopg://u:p@127.0.0.1/od"
    assert s.is_postgres


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("MAX_CONCURRENT_CALLS=9\nAMI_SECRET=from-dotenv\n")
    s = load_settings()
    assert s.max_concurrent_calls == 9
    assert s.ami_secret.get_secret_value() == "from-dotenv"


def test_secrets_dir_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "secrets").mkdir(parents=True)
    (tmp_path / "data" / "secrets" / "ami_secret").write_text("from-file")
    assert load_settings().ami_secret.get_secret_value() == "from-file"


def test_secrets_never_print() -> None:
    s = Settings(openai_api_key="sk-planted-1234", ami_secret="ami-planted-5678")  # type: ignore[arg-type]
    text = repr(s) + str(s) + s.model_dump_json()
    assert "sk-planted-1234" not in text
    assert "ami-planted-5678" not in text
    assert set(secret_values(s)) >= {"sk-planted-1234", "ami-planted-5678"}


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("MAX_CONCURRENT_CALLS", "zero", "MAX_CONCURRENT_CALLS"),
        ("MAX_CONCURRENT_CALLS", "0", "MAX_CONCURRENT_CALLS"),
        ("APP_TEST_MODE", "perhaps", "APP_TEST_MODE"),
        ("APP_TEST_MODE_REDIRECT_NUMBER", "12", "APP_TEST_MODE_REDIRECT_NUMBER"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL"),
        ("AMI_PORT", "70000", "AMI_PORT"),
        ("CALLING_WINDOW_START", "25:00", "CALLING_WINDOW_START"),
        ("CALLING_WINDOW_START", "22:00", "CALLING_WINDOW_START"),
        ("AUDIOSOCKET_ALLOWED_PEERS", "10.0.0.1,pbx.example", "AUDIOSOCKET_ALLOWED_PEERS"),
        ("AUDIOSOCKET_HOST", "0.0.0.0", "AUDIOSOCKET_ADVERTISED_HOST"),  # noqa: S104
        ("CALLER_ID", "+1212555,0100", "CALLER_ID"),
    ],
)
def test_bad_value_gives_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message
    assert named in message.upper()


def test_audiosocket_is_loopback_only_by_default() -> None:
    s = Settings()
    assert s.audiosocket_host == "127.0.0.1"
    assert [str(n) for n in s.audiosocket_allowed_networks] == ["127.0.0.0/8", "::1/128"]
    assert s.audiosocket_address == "127.0.0.1:9092"


@pytest.mark.parametrize(
    ("fields", "address"),
    [
        ({"audiosocket_host": "192.168.1.5"}, "192.168.1.5:9092"),
        ({"audiosocket_host": "::1", "audiosocket_port": 9300}, "[::1]:9300"),
        (
            {"audiosocket_host": "0.0.0.0", "audiosocket_advertised_host": "10.0.0.7"},  # noqa: S104
            "10.0.0.7:9092",
        ),
        ({"audiosocket_host": "::", "audiosocket_advertised_host": "fd00::7"}, "[fd00::7]:9092"),
        ({"audiosocket_advertised_host": "node1.lan"}, "node1.lan:9092"),
    ],
)
def test_the_address_asterisk_is_told_to_connect_to(
    fields: dict[str, object], address: str
) -> None:
    assert Settings(**fields).audiosocket_address == address  # type: ignore[arg-type]


def test_allowed_peers_are_trimmed_networks() -> None:
    s = Settings(audiosocket_allowed_peers=" 192.168.1.20 , 10.0.0.0/8 ,")
    assert s.audiosocket_allowed_peers == "192.168.1.20,10.0.0.0/8"
    assert [str(n) for n in s.audiosocket_allowed_networks] == ["192.168.1.20/32", "10.0.0.0/8"]


@pytest.mark.parametrize(
    "value", ["", "+12125550100", "12125550100", '"Acme Dental" <+12125550100>', "<+12125550100>"]
)
def test_caller_ids_accepted(value: str) -> None:
    assert Settings(caller_id=value).caller_id == value


@pytest.mark.parametrize(
    "value",
    [
        "Acme",
        "+1 212 555 0100",
        '"Ac"me" <+12125550100>',
        '"A;B" <+1212>',
        "+1212\r\nAction: Hangup",
    ],
)
def test_caller_ids_refused(value: str) -> None:
    with pytest.raises(ValueError, match="caller ID"):
        Settings(caller_id=value)


def test_caller_id_choices_are_e164_numbers_without_repeats() -> None:
    s = Settings(caller_id_choices=" +1 212 555 0100, +16465550123 ,+12125550100,")
    assert s.caller_id_choices == "+12125550100,+16465550123"
    assert s.caller_id_numbers == ("+12125550100", "+16465550123")
    assert Settings().caller_id_numbers == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [("2125550100", "must be written in E.164"), ("+1212", "not a valid")],
)
def test_caller_id_choices_refused(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(caller_id_choices=value)
