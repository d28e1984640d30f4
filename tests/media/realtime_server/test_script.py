"""Scripts (JSON) and the rehearsal CLI `python -m media.realtime_server`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from media.realtime_server import CallTool, Say, ScriptError, demo_script, load_script
from media.realtime_server.__main__ import main


def test_load_a_json_script(tmp_path: Path) -> None:
    path = tmp_path / "plumber.json"
    path.write_text(
        json.dumps(
            {
                "name": "plumber",
                "responses": [
                    {"outputs": [{"type": "say", "text": "Hi!", "audio_file": "hi.wav"}]},
                    {
                        "outputs": [
                            {"type": "call", "name": "send_dtmf", "arguments": {"digits": "2"}}
                        ]
                    },
                ],
                "caller_transcripts": ["Press 2 for sales."],
            }
        )
    )
    script = load_script(path)
    assert script.name == "plumber"
    assert script.responses[0].outputs[0] == Say(text="Hi!", audio_file=Path("hi.wav"))
    assert script.responses[1].outputs[0] == CallTool(name="send_dtmf", arguments={"digits": "2"})
    assert script.base_dir == tmp_path.resolve()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ('{"responses": [{"outputs": []}]}', "responses.0.outputs"),
        ('{"responses": [{"outputs": [{"type": "sing", "text": "x"}]}]}', "responses.0.outputs.0"),
        ('{"responses": [], "extra": 1}', "extra"),
    ],
)
def test_bad_scripts_name_the_file_and_the_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ScriptError, match=message) as info:
        load_script(path)
    assert "bad.json" in str(info.value)
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(tmp_path / "missing.json")


def test_demo_script_books_a_dentist() -> None:
    script = demo_script()
    names = [o.name for r in script.responses for o in r.outputs if isinstance(o, CallTool)]
    assert names == ["request_user_feedback", "record_fact", "end_call"]
    assert len(script.caller_transcripts) >= 2


def test_cli_refuses_a_bad_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--script", str(tmp_path / "none.json")]) == 2
    assert "cannot read script" in capsys.readouterr().err


def test_cli_refuses_an_unknown_transcription_mode(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--transcription", "sometimes"])
    assert exited.value.code == 2
    assert "withhold" in capsys.readouterr().err  # the modes it knows are named


async def test_cli_serves_until_stopped() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "media.realtime_server",
        "--port",
        "0",
        "--realtime-factor",
        "0",
        "--transcription",
        "withhold",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        url = line.split()[3]
        assert url.startswith("ws://127.0.0.1:")
        async with connect(
            f"{url}/realtime?model=m", additional_headers={"Authorization": "Bearer k"}
        ) as ws:
            created = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert created["type"] == "session.created"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
