"""A second user sees nothing of the first user's data in any tab, and cannot act on it by
forging requests to the app's API with their own session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from core.db import Database
from core.db.models import CampaignStatus, FeedbackStatus
from core.domain import FeedbackKind
from core.services import add_number, list_numbers
from tests.core.services.seed import Seeded, seed_campaign, seed_plan_approval, seed_question
from tests.ui.browser import open_tab, pick, signed_in
from tests.ui.conftest import Account, ServedApp
from tests.ui.test_campaigns_tab import write_wav

pytestmark = pytest.mark.browser
TABS = ("Chat", "Campaigns", "Live calls", "Approvals", "Do-Not-Call", "Settings", "Activity")


def _seed_alice(app: ServedApp) -> tuple[Seeded, int, int]:
    write_wav(app.recordings_dir / "tenancy.wav")

    async def seed(db: Database) -> tuple[Seeded, int, int]:
        uid = app.alice.user_id
        seeded = await seed_campaign(
            db, uid, "Alice private campaign", live=True, recording_path="tenancy.wav"
        )
        question = await seed_question(db, uid, seeded, "Alice private question?")
        plan = await seed_plan_approval(db, uid, seeded)
        await add_number(db, uid, "2125550177", reason="alice private", region="US")
        return seeded, question, plan

    return app.run(seed)


def test_the_second_user_sees_nothing_of_the_first(
    browser: Any, served_app: ServedApp, screenshots: Path
) -> None:
    app = served_app
    _seed_alice(app)
    page = signed_in(browser, app, app.bob)
    header = page.locator("#od-header")
    expect(header).to_contain_text("Signed in as Bob Other")
    expect(header).not_to_contain_text("waiting")
    expected = {
        "Campaigns": ("#campaign-list", "No campaigns yet"),
        "Live calls": ("#live-calls", "No calls in progress"),
        "Approvals": ("#inbox", "Nothing waiting for you"),
        "Do-Not-Call": ("#dnc-table", "Your Do-Not-Call list is empty"),
        "Activity": ("#activity-table", "No decisions recorded yet"),
    }
    for tab in TABS:
        open_tab(page, tab)
        if tab in expected:
            where, text = expected[tab]
            expect(page.locator(where)).to_contain_text(text, timeout=15_000)
        page.wait_for_timeout(500)
        html = page.content()
        for secret in ("Alice", "alice private", "Alice private", "555-0177", "Park Slope"):
            assert secret not in html, f"{tab} shows {secret!r} to Bob"
        page.screenshot(path=screenshots / f"empty-{tab.lower().replace(' ', '-')}.png")
    open_tab(page, "Campaigns")
    expect(page.locator("#campaign-picker")).to_be_hidden()  # nothing to pick from
    page.context.close()


def _client(app: ServedApp, account: Account) -> httpx.Client:
    client = httpx.Client(base_url=app.base_url, timeout=30)
    response = client.post(
        "/login", data={"username": account.username, "password": account.password}
    )
    assert response.status_code == 200, response.text
    return client


def _call(client: httpx.Client, api_name: str, *data: Any) -> tuple[str, Any]:
    """Call a named endpoint of the Gradio API: (final event, its data)."""
    start = client.post(f"/gradio_api/call/{api_name}", json={"data": list(data)})
    assert start.status_code == 200, start.text
    event_id = start.json()["event_id"]
    stream = client.get(f"/gradio_api/call/{api_name}/{event_id}").text
    event, payload = "", None
    for line in stream.splitlines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            payload = json.loads(line.removeprefix("data: "))
    return event, payload


def test_forged_requests_with_another_users_ids_fail(browser: Any, served_app: ServedApp) -> None:
    app = served_app
    seeded, question, plan = _seed_alice(app)
    campaign = seeded.campaign_id
    bob = _client(app, app.bob)

    for api in ("pause_campaign", "cancel_campaign", "resume_campaign"):
        event, payload = _call(bob, api, campaign)
        assert event == "error", (api, payload)
        assert payload["error"] == "The campaign was not found; refresh the page."
    event, payload = _call(bob, "answer_item", question, "forged answer", "")
    assert (event, payload["error"]) == (
        "error",
        "The feedback request was not found; refresh the page.",
    )
    for api in ("approve_plan", "reject_plan"):
        event, payload = _call(bob, api, plan, "", "forged")
        assert event == "error" and "was not found" in payload["error"]
    event, payload = _call(bob, "dnc_remove", "+1 212 555 0177")
    assert event == "error" and "not on your Do-Not-Call list" in payload["error"]
    # Alice's call in progress: Bob can neither steer it nor listen in.
    live_call = seeded.call_ids[-1]
    event, payload = _call(bob, "send_note", live_call, "Forged: hang up now.")
    assert (event, payload["error"]) == ("error", "The call was not found; refresh the page.")

    async def phones(db: Database) -> None:
        for user in (app.alice, app.bob):
            async with db.users() as users:
                await users.set_owner_phone(user.user_id, "+12125550115")

    app.run(phones)  # Bob has a phone of his own: still, Alice's call is not his to take
    event, payload = _call(bob, "take_over", live_call)
    assert (event, payload["error"]) == ("error", "The call was not found; refresh the page.")
    listen = bob.get(f"/live/{live_call}/listen")
    assert (listen.status_code, listen.json()) == (404, {"detail": "no such call"})

    async def alices_rows(db: Database) -> tuple[Any, ...]:
        async with db.scope(app.alice.user_id) as s:
            return (
                (await s.campaigns.require(campaign)).status,
                (await s.feedback.require(question)).status,
                (await s.feedback.require(plan)).status,
                {e.phone_e164 for e in await list_numbers(db, app.alice.user_id)},
                await s.feedback.undelivered_notes(seeded.call_ids[-1]),
            )

    status, q_status, p_status, numbers, notes = app.run(alices_rows)
    assert (status, q_status, p_status) == (
        CampaignStatus.ACTIVE,
        FeedbackStatus.PENDING,
        FeedbackStatus.PENDING,
    )
    assert "+12125550177" in numbers
    assert notes == []  # nothing for Alice's call to deliver

    # The same requests with Alice's own session do work: the refusal above was the scoping.
    alice = _client(app, app.alice)
    event, _ = _call(alice, "pause_campaign", campaign)
    assert event == "complete"
    assert app.run(alices_rows)[0] is CampaignStatus.PAUSED
    event, payload = _call(alice, "send_note", live_call, "Offer Wednesday instead.")
    assert event == "complete" and payload[0].startswith("Note sent")
    [note] = app.run(alices_rows)[-1]
    assert note.answer == {"text": "Offer Wednesday instead."}

    async def take_overs(db: Database) -> list[Any]:
        async with db.system() as system:
            rows = await system.undelivered_notes([(app.alice.user_id, live_call)])
        return [r for r in rows if r.kind is FeedbackKind.TAKE_OVER]

    assert app.run(take_overs) == []  # Bob's try left nothing for Alice's call
    event, payload = _call(alice, "take_over", live_call)
    assert event == "complete" and payload[0].startswith("Calling you in"), payload
    [request] = app.run(take_overs)
    assert request.user_id == app.alice.user_id
    # The call is carried by another node (this one serves the UI alone): Alice is told where.
    listen = alice.get(f"/live/{live_call}/listen")
    assert listen.status_code == 409
    assert listen.json()["detail"].startswith("this call is carried by the node test")

    # A recording link is signed for its user and call, and only plays in that user's session.
    page = signed_in(browser, app, app.alice)
    open_tab(page, "Campaigns")
    pick(page, "campaign-picker", "Alice private campaign")
    src = page.locator("#campaign-tasks audio").first.get_attribute("src")
    assert src is not None
    assert alice.get(src).status_code == 200
    assert bob.get(src).status_code == 403
    assert httpx.get(app.base_url + src, timeout=30).status_code == 401
    for forged in (
        src.replace(f"u={app.alice.user_id}&", f"u={app.bob.user_id}&"),
        src.replace(f"/recordings/{seeded.call_ids[0]}?", f"/recordings/{seeded.call_ids[1]}?"),
    ):
        assert bob.get(forged).status_code == 403
        assert alice.get(forged).status_code == 403
    page.context.close()
