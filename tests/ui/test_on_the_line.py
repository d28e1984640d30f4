"""The owner on the line, in a real browser, on the app as `make run` starts it (embedded
defaults: the rehearsal voice, the development PBX, SQLite; the demo rehearsal skipped).

Admin's campaign dials the simulated receptionist; on Live calls admin presses *Listen* and the
page's player receives both sides of the call (bytes and delay measured in the page), sends the
agent a note that shows in the transcript as theirs and that the (rehearsal) voice acts on in
its next turn. Bob, signed in beside them, can neither listen to the call nor steer it.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from core.db import Database
from core.domain import FeedbackKind, TranscriptTurn, TurnRole, read_items
from tests.helpers import PROJECT, wait_for_line
from tests.kit import make_campaign, make_task
from tests.kit.devpbx import require_devpbx
from tests.ui.browser import VIEWPORT, open_tab
from tests.ui.conftest import Account, ServedApp, WholeNode
from tests.ui.serve_process import add_user
from tests.ui.test_tenancy import _call, _client

pytestmark = [pytest.mark.browser, pytest.mark.asterisk, pytest.mark.slow]

NOTE = "Ask whether Wednesday morning is free instead"


@dataclass(frozen=True, slots=True)
class Run:
    app: ServedApp
    admin: Account
    bob: Account
    env: dict[str, str]


@pytest.fixture
def made_run(tmp_path: Path) -> Iterator[Run]:
    """`make run` with its data in a folder of the test's own (already rehearsed: straight to
    `opendeep serve`)."""
    require_devpbx()
    node = WholeNode.prepare(tmp_path)  # the journeys' settings: own data, any hour, no keys
    data, database_url, port, env = node.data_dir, node.database_url, node.port, node.env
    data.mkdir()
    (data / ".rehearsed").touch()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    drain: threading.Thread | None = None
    try:
        lines = wait_for_line(proc, "OpenDeep is running", timeout=420)
        # Keep reading what it prints, so a full pipe never holds the node up mid-call.
        assert proc.stdout is not None
        drain = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
        drain.start()
        password = (data / "secrets" / "admin_password").read_text().strip()
        admin = Account("admin", password, "Admin", 1)
        bob_id = add_user(PROJECT, env, "bob", "bob-password-123", "Bob Other")
        bob = Account("bob", "bob-password-123", "Bob Other", bob_id)
        app = ServedApp(f"http://127.0.0.1:{port}", database_url, data, admin, bob, admin)
        yield Run(app, admin, bob, env)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if drain is not None:
            drain.join(10)
        elif proc.stdout is not None:
            lines.extend(proc.stdout)
        out = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        (tmp_path / "make-run.log").write_text(out)
        assert "Traceback" not in out, out


def _signed_in(browser: Any, run: Run, account: Account) -> Page:
    context = browser.new_context(viewport=VIEWPORT, base_url=run.app.base_url)
    page: Page = context.new_page()
    page.goto("/")
    page.get_by_label("username").fill(account.username)
    page.get_by_label("password").fill(account.password)
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#od-header")).to_contain_text(account.display_name, timeout=30_000)
    return page


def _wait_for_records(page: Page, records: int) -> None:
    try:
        page.wait_for_function(f"() => window.odListen.records >= {records}", timeout=20_000)
    except Exception:
        state = page.evaluate("() => JSON.stringify(window.odListen)")
        raise AssertionError(f"the player got fewer than {records} records: {state}") from None


def test_the_owner_listens_in_and_steers_a_call_nobody_else_can(
    browser: Any, made_run: Run, screenshots: Path
) -> None:
    run = made_run
    page = _signed_in(browser, run, run.admin)
    open_tab(page, "Live calls")
    live = page.locator("#live-calls")
    expect(live).to_contain_text("No calls in progress", timeout=15_000)

    async def seed(db: Database) -> int:
        campaign = await make_campaign(
            db, run.admin.user_id, name="On the line", objective="Book a cleaning next week"
        )
        task = await make_task(db, run.admin.user_id, campaign_id=campaign.id)
        return task.id

    task_id = run.app.run(seed)

    # The call is answered: Listen.
    listen = page.locator("[data-listen-call]")
    expect(listen).to_be_visible(timeout=60_000)
    call_id = int(listen.get_attribute("data-listen-call") or 0)
    listen.click()
    expect(listen).to_have_text("Stop listening")
    _wait_for_records(page, 50)

    # While it is up, Bob can neither listen nor steer: refused, not a byte of audio.
    bob = _client(run.app, run.bob)
    with bob.stream("GET", f"/live/{call_id}/listen") as refused:
        refused.read()
        assert (refused.status_code, refused.content) == (404, b'{"detail":"no such call"}')
    event, payload = _call(bob, "send_note", call_id, "Forged: hang up now.")
    assert (event, payload["error"]) == ("error", "The call was not found; refresh the page.")

    # Admin steers it.
    page.locator("#live-note textarea").fill(NOTE)
    page.locator("#live-note-send").click()
    expect(page.locator("#live-note-result")).to_contain_text("Note sent", timeout=15_000)
    expect(live.locator(".od-turn-note")).to_contain_text(NOTE, timeout=15_000)
    expect(live).to_contain_text("Your note")
    _wait_for_records(page, 150)
    page.screenshot(path=screenshots / "on-the-line-listening.png", full_page=True)
    stats = page.evaluate(
        """() => { const l = window.odListen; return { bytes: l.bytes, records: l.records,
        delays: l.delays, leads: l.leads, dropped: l.dropped, first: l.firstAudioMs,
        status: l.status }; }"""
    )
    expect(live).to_contain_text("No calls in progress", timeout=120_000)
    page.wait_for_function("() => window.odListen.status === 'stopped'", timeout=15_000)
    page.context.close()

    delays = [d / 1000 for d in stats["delays"]]
    leads = stats["leads"]
    total = [d + lead for d, lead in zip(delays[-len(leads) :], leads, strict=False)]
    print(
        f"\nlistening in Chromium: {stats['bytes']} bytes in {stats['records']} records, "
        f"first audio {stats['first']:.0f} ms after Listen; network delay (mix → page) median "
        f"{statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms; "
        f"player lead median {statistics.median(leads) * 1000:.0f} ms, max "
        f"{max(leads) * 1000:.0f} ms; mix → ear median {statistics.median(total) * 1000:.0f} ms, "
        f"max {max(total) * 1000:.0f} ms; {stats['dropped']} bytes dropped by the player"
    )
    assert stats["status"] == "listening"
    assert stats["bytes"] >= 150 * 160 / 2  # audio flowed: over 1.5 s of it (records coalesce)
    assert stats["first"] < 3000
    assert statistics.median(delays) < 0.5 and max(leads) <= 0.61
    assert statistics.median(total) < 1.0

    async def read_back(db: Database) -> tuple[list[TranscriptTurn], list[Any], list[Any]]:
        async with db.scope(run.admin.user_id) as s:
            (call,) = await s.calls.list_for_task(task_id)
            notes = [
                f
                for f in await s.feedback.list_for_campaign(
                    (await s.tasks.require(task_id)).campaign_id, FeedbackKind.OWNER_NOTE
                )
            ]
        async with db.scope(run.bob.user_id) as s:
            bobs = list(await s.audit.list())
        return read_items(TranscriptTurn, call.transcript), notes, bobs

    turns, notes, bobs = run.app.run(read_back)
    assert [(n.answer, n.payload.get("applied")) for n in notes] == [({"text": NOTE}, "delivered")]
    assert bobs == []
    roles = [t.role for t in turns]
    at = roles.index(TurnRole.OWNER_NOTE)
    assert turns[at].text == NOTE
    # The rehearsal voice acts on it in its next turn (a scripted voice says it got it).
    after = [t.text for t in turns[at + 1 :] if t.role is TurnRole.AGENT]
    assert any(f"note from Admin: {NOTE}" in text for text in after), [
        (t.role, t.text) for t in turns
    ]
    assert "Forged" not in str([t.text for t in turns])


def test_the_owner_calls_themselves_in_on_the_embedded_default(
    browser: Any, made_run: Run, screenshots: Path
) -> None:
    """*Call me in* on a real call of `make run`'s app: the rehearsal voice tells the callee
    it is connecting them, the owner's (simulated) phone rings and is briefed, the PBX bridges
    the two and the agent leaves; the transcript read back says so, step by step."""
    run = made_run

    async def seed(db: Database) -> int:
        async with db.users() as users:
            await users.set_owner_phone(run.admin.user_id, "+12125550115")
        campaign = await make_campaign(
            db, run.admin.user_id, name="Call me in", objective="Book a cleaning next week"
        )
        return (await make_task(db, run.admin.user_id, campaign_id=campaign.id)).id

    page = _signed_in(browser, run, run.admin)
    open_tab(page, "Live calls")
    live = page.locator("#live-calls")
    expect(live).to_contain_text("No calls in progress", timeout=15_000)
    task_id = run.app.run(seed)
    expect(page.locator("[data-listen-call]")).to_be_visible(timeout=60_000)  # answered
    page.locator("#live-take-over").click()
    expect(page.locator("#live-note-result")).to_contain_text("Calling you in", timeout=15_000)
    expect(live.locator(".od-turn-handover").first).to_be_visible(timeout=30_000)
    page.screenshot(path=screenshots / "on-the-line-call-me-in.png", full_page=True)
    expect(live).to_contain_text("No calls in progress", timeout=120_000)
    page.context.close()

    async def read_back(db: Database) -> list[TranscriptTurn]:
        async with db.scope(run.admin.user_id) as s:
            (call,) = await s.calls.list_for_task(task_id)
        return read_items(TranscriptTurn, call.transcript)

    turns = run.app.run(read_back)
    said = [(t.role, t.text) for t in turns]
    handover = [t.text for t in turns if t.role is TurnRole.HANDOVER]
    assert handover[0].startswith("Ringing the owner to take the call over"), said
    assert any(t.startswith("To the owner: Hi Admin, this is your assistant.") for t in handover)
    assert handover[-1].startswith("The owner took the call over"), said
    agent = [t.text for t in turns if t.role is TurnRole.AGENT]
    assert "One moment, I'm connecting you to Admin. Please stay on the line." in agent, said
