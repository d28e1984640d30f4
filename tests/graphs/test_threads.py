"""Thread ids name their owner and their database: a database made again, or a second one
beside it, resumes no thread of another.

A database hands out the same user and call ids as any other (user 1, call 1), and checkpoints
can outlive their database (a checkpoint file left in the folder, checkpoint tables left in a
PostgreSQL database whose app tables were made again). The analysis of the new database's call
must run afresh, never resume the other database's thread — seen once as one owner's review
answer completing another owner's task.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from core.db import Database
from core.db.migrate import downgrade, upgrade
from core.db.models import FeedbackKind
from core.settings import Settings
from graphs import GraphRunner, ThreadAccessDenied
from graphs.hitl import ensure_feedback
from graphs.runner import Analysis
from graphs.threads import (
    ThreadRef,
    check_thread_owner,
    parse_thread_id,
    thread_config,
    thread_id_for,
)
from tests.graphs.conftest import clock, fake, seed_call, tool_call
from tests.kit import make_user

INST = uuid.UUID("5f0c3e0a-7a52-4f7e-9d3b-0c1f1b2a3c4d")
OTHER = uuid.UUID("0e9d8c7b-6a59-4483-b2a1-f0e9d8c7b6a5")
CALL_3 = f"inst:{INST}:user:7:call:3"


def test_thread_ids_round_trip() -> None:
    tid = thread_id_for(INST, 7, "plan", "a:b")
    assert tid == f"inst:{INST}:user:7:plan:a:b"
    assert parse_thread_id(tid) == ThreadRef(7, "plan", "a:b", INST)
    # the short form (the UI's name for a chat) parses, naming no installation
    assert parse_thread_id("user:7:chat:x") == ThreadRef(7, "chat", "x", None)
    with pytest.raises(ValueError, match="bad thread id parts"):
        thread_id_for(INST, 0, "plan", "x")


@pytest.mark.parametrize(
    "bad",
    [
        "7:plan:x",
        "user:x:plan:y",
        "user:7:other:y",
        "user:7:plan:",
        "a-uuid",
        "inst:",
        f"inst:{INST}",
        "inst:not-a-uuid:user:7:plan:x",
        f"inst:{INST.hex}:user:7:plan:x",  # one spelling per installation
        f"inst:{str(INST).upper()}:user:7:plan:x",
        f"inst:{INST}:7:plan:x",
        f"inst:{INST}:inst:{INST}:user:7:plan:x",
    ],
)
def test_what_is_not_one_of_our_thread_ids(bad: str) -> None:
    assert parse_thread_id(bad) is None


@pytest.mark.parametrize(
    ("thread", "user", "installation", "refused"),
    [
        (CALL_3, 7, INST, None),
        (CALL_3, 8, INST, "does not belong to user 8"),
        (CALL_3, 7, OTHER, "belongs to another database"),
        (CALL_3, 7, None, "belongs to another database"),
        ("user:7:call:3", 7, INST, "names no installation"),
        ("0b6f-studio-uuid", 7, INST, "not an OpenDeep thread id"),
    ],
)
def test_owner_check(
    thread: str, user: int, installation: uuid.UUID | None, refused: str | None
) -> None:
    if refused is None:
        check_thread_owner(thread, user, installation_id=installation)
        return
    with pytest.raises(ThreadAccessDenied, match=refused):
        check_thread_owner(thread, user, installation_id=installation)


def test_studio_threads_pass_but_not_another_databases() -> None:
    check_thread_owner("0b6f-studio-uuid", 7, installation_id=INST, allow_foreign=True)
    with pytest.raises(ThreadAccessDenied, match="another database"):
        check_thread_owner(CALL_3, 7, installation_id=OTHER, allow_foreign=True)
    with pytest.raises(ThreadAccessDenied):
        thread_config(8, f"inst:{INST}:user:7:chat:x", installation_id=INST)


TALK = [("agent", "Hello, calling for Alice."), ("callee", "We are closed, goodbye.")]


def refused(confidence: float) -> AIMessage:
    """The analyzer's verdict: refused, with this confidence (below 0.6 goes to the owner)."""
    return tool_call(
        "AnalyzerOutput",
        {
            "outcome": "refused",
            "goal_achieved": False,
            "summary": "They refused.",
            "facts": [],
            "proposed_next_step": "done",
            "confidence": confidence,
        },
    )


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        data_dir=data_dir,
        analyzer_model="scripted:rehearsal",
    )


async def analyse_first_call(url: str, data_dir: Path, verdict: AIMessage) -> Analysis:
    """On a fresh database: its first user, its first call, analysed by a runner of its own."""
    db = Database(url)
    try:
        alice = await make_user(db, "alice")
        seeded = await seed_call(db, alice, TALK)
        assert (alice, seeded.call_id) == (1, 1)  # the ids every fresh database hands out
        settings = settings_for(url, data_dir)
        models: dict[str, Any] = {"analyzer": fake(verdict)}
        async with GraphRunner.open(db, settings, clock=clock, models=models) as runner:
            return await runner.analyze_call(alice, seeded.call_id)
    finally:
        await db.dispose()


async def make_again(url: str, sqlite_file: Path) -> None:
    """The database made again where it was; its checkpoints are left where they are."""
    if url.startswith("sqlite"):
        for leftover in sqlite_file.parent.glob(sqlite_file.name + "*"):
            if not leftover.name.endswith(".checkpoints.db"):
                leftover.unlink()
        assert not sqlite_file.exists()
    else:
        # the app's tables go; LangGraph's checkpoint tables stay
        await asyncio.to_thread(downgrade, url, "base")
    await asyncio.to_thread(upgrade, url)


async def test_a_database_made_again_resumes_none_of_the_old_ones_threads(
    database_url: str, tmp_path: Path
) -> None:
    old = await analyse_first_call(database_url, tmp_path, refused(confidence=0.3))
    assert old.status == "awaiting_review" and old.feedback_id is not None
    if database_url.startswith("sqlite"):
        assert (tmp_path / "opendeep.db.checkpoints.db").is_file()

    await make_again(database_url, tmp_path / "opendeep.db")
    if database_url.startswith("sqlite"):
        assert (tmp_path / "opendeep.db.checkpoints.db").is_file()  # the old threads are there

    new = await analyse_first_call(database_url, tmp_path, refused(confidence=0.9))
    assert new.thread_id != old.thread_id
    assert new.status == "done" and new.feedback_id is None  # analysed afresh, not resumed
    assert new.analysis is not None and new.analysis.confidence == 0.9
    assert new.next_step is not None and new.next_step.action == "done"


async def test_two_databases_in_one_folder_keep_their_threads_apart(tmp_path: Path) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    for path in (first, second):
        await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    waiting = await analyse_first_call(
        f"sqlite+aiosqlite:///{first}", tmp_path, refused(confidence=0.3)
    )
    assert waiting.status == "awaiting_review"
    done = await analyse_first_call(
        f"sqlite+aiosqlite:///{second}", tmp_path, refused(confidence=0.9)
    )
    assert done.status == "done" and done.feedback_id is None
    assert done.analysis is not None and done.analysis.confidence == 0.9
    # each database has its own checkpoint file, named after it; none is shared
    assert sorted(p.name for p in tmp_path.glob("*.checkpoints.db")) == [
        "first.db.checkpoints.db",
        "second.db.checkpoints.db",
    ]
    assert not (tmp_path / "checkpoints.db").exists()


async def test_an_item_naming_another_databases_thread_is_not_resumed(
    db: Database, settings: Settings, two_users: tuple[int, int]
) -> None:
    """An inbox item whose thread id carries another installation (a row copied from another
    database, say) is refused before any checkpoint is read."""
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    elsewhere = thread_id_for(uuid.uuid4(), alice, "call", seeded.call_id)
    async with db.scope(alice) as s:
        item = await ensure_feedback(
            s,
            kind=FeedbackKind.ANALYSIS_REVIEW,
            thread_id=elsewhere,
            key="review",
            question="Is this right?",
            payload={},
            call_id=seeded.call_id,
        )
    async with GraphRunner.open(db, settings, clock=clock) as runner:
        with pytest.raises(ThreadAccessDenied, match="another database"):
            await runner.answer_feedback(alice, item, {"type": "response", "args": "retry"})
        with pytest.raises(ThreadAccessDenied, match="another database"):
            await runner.thread_state(alice, elsewhere)
        here = runner.thread_id(alice, "call", seeded.call_id)
        assert here.startswith(f"inst:{runner.installation_id}:") and here != elsewhere


def test_checkpoints_of_an_in_memory_database_stay_in_memory(tmp_path: Path) -> None:
    from graphs.checkpoint import sqlite_checkpoint_path

    assert sqlite_checkpoint_path(settings_for("sqlite+aiosqlite://", tmp_path)) is None
    assert sqlite_checkpoint_path(settings_for("sqlite+aiosqlite:///:memory:", tmp_path)) is None
    on_disk = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'x' / 'a.sqlite'}", tmp_path)
    assert sqlite_checkpoint_path(on_disk) == tmp_path / "x" / "a.sqlite.checkpoints.db"
