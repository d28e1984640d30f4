"""`langgraph dev` (LangGraph Studio's backend) loads every graph offline and serves its schemas."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.db import Database
from core.db.migrate import upgrade
from tests.helpers import free_port
from tests.kit import make_user

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = {"ui_assistant", "orchestrator", "post_call_analyzer", "lifecycle_manager"}
INPUT_KEYS = {
    "ui_assistant": "messages",
    "orchestrator": "plan",
    "post_call_analyzer": "call_id",
    "lifecycle_manager": None,
}


def test_langgraph_json_lists_the_four_graphs() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"] == ["."]
    assert set(config["graphs"]) == GRAPHS
    for name, target in config["graphs"].items():
        path, _, variable = target.partition(":")
        assert (ROOT / path).is_file() and variable == "graph", name


def test_the_graphs_import_without_network_or_database() -> None:
    """Importing the modules compiles the graphs and touches nothing (no checkpointer either)."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network at import time')\n"
        "socket.socket.connect = refuse\n"
        "import graphs.ui_assistant, graphs.orchestrator, graphs.post_call_analyzer, graphs.lifecycle_manager as l\n"
        "assert all(m.graph.checkpointer is None for m in (graphs.ui_assistant, graphs.orchestrator, graphs.post_call_analyzer, l))\n"
    )
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody:x@192.0.2.1/none"}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=120)


def _database_with_a_user(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)

    async def add() -> None:
        db = Database(url)
        assert await make_user(db, "alice") == 1
        await db.dispose()

    asyncio.run(add())
    return url


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`langgraph dev` (the project venv's) on a free port; its state folder goes to a temporary directory.

    The graphs get no clients from Studio, so they build them from the settings (environment):
    a migrated SQLite database with one user, and scripted rehearsal models.
    """
    tmp_path = tmp_path_factory.mktemp("studio")
    config = json.loads((ROOT / "langgraph.json").read_text())
    # Same graphs, with absolute paths, so the server's working folder can be tmp_path.
    config["dependencies"] = [str(ROOT)]
    config["graphs"] = {k: str(ROOT / v.removeprefix("./")) for k, v in config["graphs"].items()}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    port = free_port()
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
        "DATABASE_URL": _database_with_a_user(tmp_path / "opendeep.db"),
        "OPENAI_API_KEY": "",
        "GOOGLE_API_KEY": "",
        **{
            f"{p}_MODEL": "scripted:rehearsal"
            for p in ("ASSISTANT", "ORCHESTRATOR", "ANALYZER", "LIFECYCLE", "SEARCH")
        },
    }
    log = (tmp_path.parent / f"langgraph-dev-{port}.log").open("w")
    proc = subprocess.Popen(
        [
            # The venv's own `langgraph`, beside the interpreter running the tests: no `uv`
            # (or anything else) is looked up on PATH.
            str(Path(sys.executable).parent / "langgraph"),
            "dev",
            "--no-browser",
            "--no-reload",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--config",
            str(tmp_path / "langgraph.json"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError("langgraph dev exited:\n" + Path(log.name).read_text()[-4000:])
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    "langgraph dev never answered /ok:\n" + Path(log.name).read_text()[-4000:]
                )
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_langgraph_dev_serves_every_graph_and_its_schemas(studio: str) -> None:
    found = httpx.post(f"{studio}/assistants/search", json={"limit": 50}, timeout=30)
    assert found.status_code == 200
    assistants = {a["graph_id"]: a["assistant_id"] for a in found.json()}
    assert set(assistants) == GRAPHS
    for graph_id, assistant_id in assistants.items():
        response = httpx.get(f"{studio}/assistants/{assistant_id}/schemas", timeout=30)
        assert response.status_code == 200, graph_id
        schemas = response.json()
        assert schemas["input_schema"] is not None and schemas["output_schema"] is not None, (
            graph_id
        )
        key = INPUT_KEYS[graph_id]
        if key:
            assert key in schemas["input_schema"]["properties"], graph_id
        context = schemas["context_schema"]["properties"]
        assert {"user_id", "review_threshold"} <= set(context) and "db" not in context, graph_id


@pytest.mark.slow
def test_graphs_run_in_studio_with_clients_from_the_settings(studio: str) -> None:
    """No blocking call on the event loop (Studio refuses them) and interrupts reach the API."""
    plan = {
        "name": "Dentists",
        "objective": "Book a cleaning",
        "targets": [{"name": "A", "phone": "+12125550101"}],
    }
    run = httpx.post(
        f"{studio}/runs/wait",
        json={"assistant_id": "orchestrator", "input": {"plan": plan}, "context": {"user_id": 1}},
        timeout=60,
    ).json()
    assert run["status"] == "awaiting_approval", run
    request = run["__interrupt__"][0]["value"]
    assert request["feedback_id"] == 1 and request["config"]["allow_edit"] is True
    chat = httpx.post(
        f"{studio}/runs/wait",
        json={
            "assistant_id": "ui_assistant",
            "input": {
                "messages": [{"role": "user", "content": "Call Smile Dental +1 212 555 0101"}]
            },
            "context": {"user_id": 1},
        },
        timeout=60,
    ).json()
    assert chat["plan"]["targets"][0]["phone"] == "+12125550101", chat
    nobody = httpx.post(
        f"{studio}/runs/wait",
        json={"assistant_id": "lifecycle_manager", "input": {}, "context": {"user_id": 0}},
        timeout=60,
    ).json()
    assert "__error__" in nobody  # a run without a user is refused
