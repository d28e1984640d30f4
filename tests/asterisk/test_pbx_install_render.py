"""`opendeep pbx install`'s files for an existing Asterisk: OpenDeep's contexts only, an AMI
user with the least privilege and one permitted address, trunks whose sections are linked, a
stamp in every file, and nobody's own file overwritten."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from core.settings import Settings
from telephony.pbx_config import PbxConfigError
from telephony.pbx_install import (
    AMI_READ,
    AMI_WRITE,
    OPENDEEP_CONTEXTS,
    STAMP_PREFIX,
    InstallPlan,
    PbxInstallError,
    Trunk,
    permit,
    plan_install,
    write_install,
)

PLANTED = "planted-Ami-Secret-4711"
PASSWORD = "planted-Sip-Password-0815"
SETTINGS = Settings(ami_secret=PLANTED, ami_username="od-user", pbx_trunk="acme")  # type: ignore[arg-type]
REGISTERING = Trunk(
    kind="registering", server="sip.example.net:5060", username="1001", password=PASSWORD
)
IP = Trunk(kind="ip", server="203.0.113.10", protocol="tcp", match="203.0.113.0/28")


def sections(text: str) -> dict[tuple[str, str], dict[str, list[str]]]:
    """(name, type) → option → values, as Asterisk reads a file: `;` starts a comment unless
    written `\\;`; PJSIP sections share a name when their types differ."""
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    for block in re.split(r"^(?=\[)", text, flags=re.M):
        head = re.match(r"\[([^\]]+)\]", block)
        if not head:
            continue
        options: dict[str, list[str]] = {}
        for line in block.splitlines()[1:]:
            line = re.split(r"(?<!\\);", line, maxsplit=1)[0].replace("\\;", ";").strip()
            if "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                options.setdefault(key, []).append(value)
        found[(head.group(1), options.get("type", ["context"])[0])] = options
    return found


def files(plan: InstallPlan) -> dict[str, str]:
    return {f.name: f.text for f in plan.files}


def test_every_file_starts_with_the_stamp_and_the_layouts_name_their_files() -> None:
    plain = plan_install(SETTINGS, trunk=REGISTERING)
    assert list(files(plain)) == [
        "opendeep_extensions.conf",
        "opendeep_manager.conf",
        "opendeep_pjsip.conf",
    ]
    assert plain.include_lines == [
        ("extensions.conf", "#include opendeep_extensions.conf"),
        ("manager.conf", "#include opendeep_manager.conf"),
        ("pjsip.conf", "#include opendeep_pjsip.conf"),
    ]
    assert plain.reload_command == 'asterisk -rx "core reload"'
    freepbx = plan_install(SETTINGS, layout="freepbx", trunk=IP)
    assert list(files(freepbx)) == [
        "extensions_custom.conf",
        "manager_custom.conf",
        "pjsip.endpoint_custom.conf",
    ]
    assert freepbx.include_lines == [] and freepbx.reload_command == "fwconsole reload"
    for text in [*files(plain).values(), *files(freepbx).values()]:
        assert text.splitlines()[0].startswith(STAMP_PREFIX + " OpenDeep ")
    assert list(files(plan_install(SETTINGS))) == [
        "opendeep_extensions.conf",
        "opendeep_manager.conf",
    ]  # no trunk unless asked


def test_the_dialplan_holds_opendeeps_contexts_only_with_their_globals_written_in() -> None:
    text = files(plan_install(SETTINGS))["opendeep_extensions.conf"]
    names = re.findall(r"^\[([^\]]+)\]", text, re.M)
    assert names == list(OPENDEEP_CONTEXTS)
    assert "opendeep-sim" not in text and "Sim" not in text  # no simulated callee
    assert not re.search(r"^\[(globals|general)\]", text, re.M)
    assert "Dial(PJSIP/${EXTEN}@acme," in text
    assert "Set(OPENDEEP_RECORDING_FILE=/var/spool/asterisk/recordings/${CALL_UUID}.wav)" in text
    # The node's address comes with every call; Asterisk's own variables pass through.
    assert "AudioSocket(${CALL_UUID},${OPENDEEP_AUDIOSOCKET})" in text
    assert "${OPENDEEP_TRUNK}" not in text and "${OPENDEEP_SPOOL}" not in text
    assert "121255501[5-8]X" not in text  # the development PBX's benchmark numbers
    assert PLANTED not in text


def test_the_ami_user_has_exactly_the_classes_opendeep_uses_and_one_permitted_address() -> None:
    plan = plan_install(SETTINGS, opendeep_address="192.168.1.50")
    text = files(plan)["opendeep_manager.conf"]
    (user,) = [options for (name, _), options in sections(text).items() if name == "od-user"]
    assert user["secret"] == [PLANTED]
    assert set(user["read"][0].split(",")) == set(AMI_READ) == {"system", "call", "user"}
    assert set(user["write"][0].split(",")) == set(AMI_WRITE) == {"call", "originate", "reporting"}
    assert user["deny"] == ["0.0.0.0/0.0.0.0", "::/0"]
    assert user["permit"] == ["192.168.1.50/255.255.255.255"]
    # Every class is explained where it is granted.
    for granted in {*AMI_READ, *AMI_WRITE}:
        assert re.search(rf"^;\s+{granted}\s", text, re.M), granted
    assert not re.search(r"^\[general\]", text, re.M)  # the PBX's manager.conf keeps its own
    mode = next(f.mode for f in plan.files if f.name == "opendeep_manager.conf")
    assert mode == 0o600


@pytest.mark.parametrize(
    ("address", "value"),
    [("127.0.0.1", "127.0.0.1/255.255.255.255"), ("fd00::5", "fd00::5/128")],
)
def test_permit(address: str, value: str) -> None:
    assert permit(address) == value


@pytest.mark.parametrize("address", ["10.0.0.0/8", "opendeep.lan", "", "10.0.0.1,10.0.0.2"])
def test_permit_refuses_anything_but_one_address(address: str) -> None:
    with pytest.raises(PbxInstallError, match="one IP address"):
        permit(address)


def test_the_secret_is_only_in_the_manager_file_and_the_password_only_in_the_trunk() -> None:
    plan = plan_install(SETTINGS, trunk=REGISTERING)
    assert [f.name for f in plan.files if PLANTED in f.text] == ["opendeep_manager.conf"]
    assert [f.name for f in plan.files if PASSWORD in f.text] == ["opendeep_pjsip.conf"]
    assert {f.name: f.mode for f in plan.files} == {
        "opendeep_extensions.conf": 0o644,
        "opendeep_manager.conf": 0o600,
        "opendeep_pjsip.conf": 0o600,
    }


def test_a_registering_trunk_is_linked_end_to_end() -> None:
    text = files(plan_install(SETTINGS, trunk=REGISTERING))["opendeep_pjsip.conf"]
    found = sections(text)
    endpoint, aor = found[("acme", "endpoint")], found[("acme", "aor")]
    auth, reg = found[("acme-auth", "auth")], found[("acme-reg", "registration")]
    assert endpoint["aors"] == ["acme"] and aor["qualify_frequency"] == ["60"]
    assert endpoint["outbound_auth"] == ["acme-auth"] == reg["outbound_auth"]
    assert (auth["username"], auth["password"]) == (["1001"], [PASSWORD])
    assert endpoint["transport"] == reg["transport"] == ["transport-udp"]
    for uri in (aor["contact"][0], reg["server_uri"][0], reg["client_uri"][0]):
        assert uri.endswith(";transport=udp")
    assert reg["server_uri"] == ["sip:sip.example.net:5060;transport=udp"]
    assert reg["client_uri"] == ["sip:1001@sip.example.net;transport=udp"]
    assert reg["endpoint"] == ["acme"]
    assert endpoint["allow"][0] == "ulaw" and endpoint["disallow"] == ["all"]
    assert text.index("disallow = all") < text.index("allow = ulaw")
    assert endpoint["dtmf_mode"] == ["rfc4733"] and endpoint["context"] == ["opendeep-inbound"]
    assert endpoint["from_user"] == ["1001"] and endpoint["send_pai"] == ["yes"]


def test_an_ip_trunk_is_identified_by_its_addresses_and_uses_the_named_tcp_transport() -> None:
    text = files(plan_install(SETTINGS, layout="freepbx", trunk=IP))["pjsip.endpoint_custom.conf"]
    found = sections(text)
    endpoint, aor = found[("acme", "endpoint")], found[("acme", "aor")]
    assert found[("acme", "identify")] == {
        "type": ["identify"],
        "endpoint": ["acme"],
        "match": ["203.0.113.0/28"],
    }
    assert endpoint["aors"] == ["acme"] and aor["qualify_frequency"] == ["60"]
    assert endpoint["transport"] == ["0.0.0.0-tcp"]  # FreePBX's name for its TCP transport
    assert aor["contact"] == ["sip:203.0.113.10;transport=tcp"]
    assert endpoint["context"] == ["from-pstn"]  # FreePBX's inbound routes decide
    assert "outbound_auth" not in endpoint and not any(kind == "auth" for _, kind in found)
    assert not any(kind == "registration" for _, kind in found)
    assert endpoint["dtmf_mode"] == ["rfc4733"] and endpoint["allow"][0] == "ulaw"


def test_an_ip_trunk_matches_its_server_unless_told_otherwise() -> None:
    trunk = Trunk(kind="ip", server="sip.carrier.example:5080", transport="my-udp")
    text = files(plan_install(SETTINGS, trunk=trunk))["opendeep_pjsip.conf"]
    assert sections(text)[("acme", "identify")]["match"] == ["sip.carrier.example"]
    assert sections(text)[("acme", "endpoint")]["transport"] == ["my-udp"]


@pytest.mark.parametrize(
    ("trunk", "named"),
    [
        (Trunk(kind="registering", server="sip.example.net"), "user name and password"),
        (Trunk(kind="registering", server="sip.example.net", username="a b", password="x"), "user"),
        (Trunk(kind="registering", server="x", username="1", password="a;b"), "password"),
        (Trunk(kind="ip", server="sip.example.net;evil"), "SIP server"),
        (Trunk(kind="ip", server="h", match="10.0.0.1,not an address"), "match"),
        (Trunk(kind="ip", server="h", transport="udp;x"), "transport"),
    ],
)
def test_unusable_trunk_values_are_refused_by_name(trunk: Trunk, named: str) -> None:
    with pytest.raises(PbxConfigError, match=named):
        plan_install(SETTINGS, trunk=trunk)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(PbxInstallError, match="AMI_SECRET"):
        plan_install(Settings(ami_secret=""))  # type: ignore[arg-type]


def test_writing_refuses_to_overwrite_a_file_opendeep_did_not_write(tmp_path: Path) -> None:
    plan = plan_install(SETTINGS, trunk=REGISTERING)
    own = tmp_path / "opendeep_manager.conf"
    own.write_text("[admin]\nsecret = the-users-own\n")
    with pytest.raises(PbxInstallError, match=r"not overwritten: .*opendeep_manager\.conf"):
        write_install(plan, tmp_path)
    assert own.read_text() == "[admin]\nsecret = the-users-own\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opendeep_manager.conf"]  # nothing else

    own.unlink()
    written = write_install(plan, tmp_path)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {
        "opendeep_extensions.conf": 0o644,
        "opendeep_manager.conf": 0o600,
        "opendeep_pjsip.conf": 0o600,
    }
    again = plan_install(SETTINGS.model_copy(update={"pbx_trunk": "other"}), trunk=REGISTERING)
    write_install(again, tmp_path)  # its own files, stamped: rewritten
    assert "@other," in (tmp_path / "opendeep_extensions.conf").read_text()


def test_an_empty_freepbx_custom_file_is_filled_and_a_used_one_is_left_alone(
    tmp_path: Path,
) -> None:
    (tmp_path / "manager_custom.conf").write_text("\n")
    (tmp_path / "extensions_custom.conf").write_text("[from-internal-custom]\n")
    plan = plan_install(SETTINGS, layout="freepbx")
    with pytest.raises(PbxInstallError, match="install without --freepbx"):
        write_install(plan, tmp_path)
    (tmp_path / "extensions_custom.conf").unlink()
    write_install(plan, tmp_path)
    assert (tmp_path / "manager_custom.conf").read_text().startswith(STAMP_PREFIX)
