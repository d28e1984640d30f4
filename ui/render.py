"""HTML for the views: every value from the database is escaped here, nowhere else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from html import escape
from zoneinfo import ZoneInfo

import phonenumbers

from core.services import (
    AuditEntryView,
    CallView,
    CampaignDetail,
    CampaignSummary,
    DncEntryView,
    InboxItem,
    LiveCallView,
    PlanView,
    TaskView,
)
from core.services.calls import Analysis, Fact, Turn

AudioUrl = Callable[[int], str]


def e(value: object) -> str:
    return escape(str(value), quote=True)


def phone(e164: str) -> str:
    """`+12125550101` as `+1 212-555-0101` (unchanged when it cannot be read)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def when(value: dt.datetime | None, zone: dt.tzinfo = dt.UTC) -> str:
    """A moment as the user reads it: in their time zone, with the zone's abbreviation."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"


def empty(title: str, hint: str) -> str:
    return f'<div class="od-empty"><strong>{e(title)}</strong><p>{e(hint)}</p></div>'


def progress_bar(ended: int, total: int) -> str:
    pct = round(100 * ended / total) if total else 0
    return (
        f'<div class="od-progress" role="progressbar" aria-valuenow="{pct}" '
        f'aria-valuemin="0" aria-valuemax="100" title="{ended} of {total} tasks ended">'
        f'<div class="od-progress-fill" style="width:{pct}%"></div></div>'
        f'<span class="od-progress-label">{ended} of {total} tasks ended</span>'
    )


def status_badge(label: str, kind: str | None = None) -> str:
    css = (kind or label).replace(" ", "-")
    return f'<span class="od-badge od-badge-{e(css)}">{e(label)}</span>'


# --- header ------------------------------------------------------------------------------


REHEARSAL_VOICE_BADGE = "Rehearsal voice · scripted, no OpenAI key"


def header(
    name: str, test_mode: bool, redirect: str, waiting: int, rehearsal_voice: bool = False
) -> str:
    mode = (
        status_badge(f"Test mode · calls go to {phone(redirect)}", "test")
        if test_mode
        else status_badge("Live calling", "live")
    )
    if rehearsal_voice:
        mode += " " + status_badge(REHEARSAL_VOICE_BADGE, "rehearsal")
    inbox = (
        f'<span class="od-badge od-badge-urgent">{waiting} waiting in Approvals</span>'
        if waiting
        else ""
    )
    return (
        '<div class="od-header"><div class="od-brand">OpenDeep</div>'
        f'<div class="od-who">Signed in as <strong>{e(name)}</strong> {mode} {inbox}'
        '<a class="od-logout" href="/logout">Sign out</a></div></div>'
    )


# --- campaigns ---------------------------------------------------------------------------


def campaign_cards(campaigns: Sequence[CampaignSummary], zone: dt.tzinfo = dt.UTC) -> str:
    if not campaigns:
        return empty(
            "No campaigns yet",
            "Describe what you need done by phone in the Chat tab. Once you approve the plan "
            "in Approvals, the campaign appears here.",
        )
    cards = []
    for c in campaigns:
        cards.append(
            f'<div class="od-card" data-campaign-id="{c.id}">'
            f'<div class="od-card-head"><span class="od-title">{e(c.name)}</span>'
            f"{status_badge(c.status_label, c.status.value)}</div>"
            f'<div class="od-muted">{e(c.objective)}</div>'
            f"{status_banner(c.status_reason)}"
            f"{progress_bar(c.tasks_ended, c.tasks_total)}"
            f'<div class="od-muted od-small">Created {when(c.created_at, zone)}</div></div>'
        )
    return '<div class="od-cards">' + "".join(cards) + "</div>"


def outcome_chart(outcomes: Sequence[tuple[str, int]]) -> str:
    """A bar per call result, longest first (an HTML chart: no plotting library to load)."""
    if not outcomes:
        return ""
    top = max(n for _, n in outcomes)
    rows = "".join(
        f'<div class="od-bar-row"><span class="od-bar-label">{e(label)}</span>'
        f'<span class="od-bar"><span class="od-bar-fill od-result-{e(label.replace(" ", "-"))}" '
        f'style="width:{max(4, round(100 * n / top))}%"></span></span>'
        f'<span class="od-bar-count">{n}</span></div>'
        for label, n in outcomes
    )
    total = sum(n for _, n in outcomes)
    return (
        f'<div class="od-card od-chart" role="img" aria-label="Call results">'
        f'<div class="od-card-head"><span class="od-title">Call results</span>'
        f'<span class="od-muted">{total} call{"s" if total != 1 else ""}</span></div>'
        f"{rows}</div>"
    )


def status_banner(reason: str) -> str:
    """Why a campaign does not dial, where its owner cannot miss it."""
    return f'<div class="od-banner" role="alert">{e(reason)}</div>' if reason else ""


def campaign_head(detail: CampaignDetail) -> str:
    c = detail.campaign
    summary = f'<p class="od-summary">{e(c.summary)}</p>' if c.summary else ""
    return (
        f'<div class="od-card od-detail-head"><div class="od-card-head">'
        f'<span class="od-title">{e(c.name)}</span>{status_badge(c.status_label, c.status.value)}'
        f"</div><div>{e(c.objective)}</div>{status_banner(c.status_reason)}"
        f"{progress_bar(c.tasks_ended, c.tasks_total)}{summary}</div>"
    )


def voice_badge(call: CallView) -> str:
    return status_badge("rehearsal voice", "rehearsal") if call.rehearsal else ""


def _turns(turns: Sequence[Turn]) -> str:
    if not turns:
        return '<p class="od-muted">No transcript.</p>'
    rows = "".join(
        f'<div class="od-turn od-turn-{"note" if t.note else e(t.speaker.lower())}">'
        f'<span class="od-speaker">{e(t.speaker)}</span><span>{e(t.text)}</span></div>'
        for t in turns
    )
    return f'<div class="od-transcript">{rows}</div>'


def _facts(facts: Sequence[Fact]) -> str:
    if not facts:
        return ""
    items = []
    for f in facts:
        label = f"<strong>{e(f.label)}:</strong> " if f.label else ""
        quote = f"<blockquote>“{e(f.quote)}”</blockquote>" if f.quote else ""
        items.append(f"<li>{label}{e(f.value)}{quote}</li>")
    return '<div class="od-facts"><h4>Facts</h4><ul>' + "".join(items) + "</ul></div>"


def _analysis(a: Analysis | None) -> str:
    if a is None:
        return ""
    parts = []
    if a.outcome:
        parts.append(f"<strong>Outcome:</strong> {e(a.outcome)}")
    if a.confidence is not None:
        parts.append(f"<strong>Confidence:</strong> {round(a.confidence * 100)}%")
    if a.next_step:
        parts.append(f"<strong>Next step:</strong> {e(a.next_step)}")
    summary = f"<p>{e(a.summary)}</p>" if a.summary else ""
    return f'<div class="od-analysis"><h4>Analysis</h4><p>{" · ".join(parts)}</p>{summary}</div>'


def call_block(
    call: CallView, audio_url: AudioUrl | None, *, open_: bool = False, zone: dt.tzinfo = dt.UTC
) -> str:
    if call.has_recording and audio_url is not None:
        audio = f'<audio controls preload="metadata" src="{e(audio_url(call.id))}"></audio>'
    elif call.recording_problem:
        audio = (
            f'<p class="od-recording-missing"><strong>No recording:</strong> '
            f"{e(call.recording_problem)}</p>"
        )
    else:
        audio = ""
    hangup = f" · {e(call.hangup)}" if call.hangup else ""
    voice = f" · {voice_badge(call)}" if call.rehearsal else ""
    summary = (
        f"<summary>Attempt {call.attempt} · {status_badge(call.result)} · "
        f"{duration(call.duration_s)}{hangup} · {when(call.started_at, zone)}{voice}</summary>"
    )
    why = (
        f'<p class="od-end-reason"><strong>Why it ended:</strong> {e(call.end_reason)}</p>'
        if call.end_reason
        else ""
    )
    body = why + audio + _analysis(call.analysis) + _facts(call.facts) + _turns(call.transcript)
    return f'<details class="od-call"{" open" if open_ else ""}>{summary}{body}</details>'


def _task(task: TaskView, audio_url: AudioUrl, zone: dt.tzinfo) -> str:
    calls = (
        "".join(
            call_block(c, audio_url, open_=i == len(task.calls) - 1, zone=zone)
            for i, c in enumerate(task.calls)
        )
        if task.calls
        else '<p class="od-muted">Not called yet.</p>'
    )
    due = f" · due {when(task.due_at, zone)}" if task.status == "pending" else ""
    return (
        f'<div class="od-card od-task"><div class="od-card-head"><span class="od-title">'
        f"{e(task.target_name)}</span>{status_badge(task.status)}</div>"
        f'<div class="od-muted">{e(phone(task.phone_e164))} · attempt {task.attempts} of '
        f"{task.max_attempts}{due}</div>{calls}</div>"
    )


def campaign_tasks(detail: CampaignDetail, audio_url: AudioUrl, zone: dt.tzinfo = dt.UTC) -> str:
    if not detail.tasks:
        return empty("No tasks in this campaign", "The orchestrator adds them after approval.")
    return "".join(_task(t, audio_url, zone) for t in detail.tasks)


# --- live calls ----------------------------------------------------------------------------


def live_calls(
    calls: Sequence[LiveCallView], questions: dict[int, InboxItem], zone: dt.tzinfo = dt.UTC
) -> str:
    if not calls:
        return empty(
            "No calls in progress",
            "Calls appear here with their live transcript while they are up. Active campaigns "
            "dial during the calling window.",
        )
    cards = []
    for live in calls:
        c = live.call
        asked = questions.get(c.id)
        banner = (
            f'<div class="od-ask">The AI is asking you: “{e(asked.question)}” — answer it '
            "in the Approvals tab.</div>"
            if asked
            else ""
        )
        since = (
            f"answered {when(c.answered_at, zone)}"
            if c.answered_at
            else f"dialing since {when(c.started_at, zone)}"
        )
        cards.append(
            f'<div class="od-card od-live" data-call-id="{c.id}"><div class="od-card-head">'
            f'<span class="od-title">{e(live.target_name)}</span>{voice_badge(c)}'
            f"{status_badge(c.state)}{_listen(c)}</div>"
            f'<div class="od-muted">{e(live.campaign_name)} · {e(phone(c.dialed_number))} · '
            f"{since}</div>{banner}{_turns(c.transcript)}</div>"
        )
    return "".join(cards)


def _listen(call: CallView) -> str:
    """The Listen button of an answered call (the page's player, `ui.style.HEAD`, runs it)."""
    if call.state != "answered":
        return ""
    return (
        f'<span class="od-listen-box"><button type="button" class="od-listen" '
        f'data-listen-call="{call.id}" aria-pressed="false">Listen</button>'
        f'<span class="od-listen-status od-muted od-small" data-listen-status="{call.id}" '
        'role="status"></span></span>'
    )


# --- plans and the inbox -------------------------------------------------------------------


def plan_card(plan: PlanView | None) -> str:
    if plan is None:
        return empty(
            "No plan yet",
            "When the assistant has what it needs, the plan appears here for you to confirm.",
        )
    notes = any(t.notes for t in plan.targets)
    rows = "".join(
        f"<tr><td>{e(t.name)}</td>"
        f'<td class="od-nowrap">{e(phone(t.phone)) if t.phone else "—"}</td>'
        + (f"<td>{e(t.notes)}</td>" if notes else "")
        + "</tr>"
        for t in plan.targets
    )
    head = "<th>Who</th><th>Number</th>" + ("<th>Notes</th>" if notes else "")
    targets = (
        f'<table class="od-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        if rows
        else '<p class="od-muted">No targets yet.</p>'
    )
    facts = [
        ("Calling window", plan.calling_window),
        ("Days", plan.days),
        ("Stop rule", plan.stop_rule),
        ("Attempts per target", str(plan.max_attempts) if plan.max_attempts else ""),
        ("Instructions", plan.instructions),
        ("Voicemail", plan.voicemail),
    ]
    lists = [
        ("Limits", plan.limits),
        ("Questions to ask", plan.questions),
        ("Success means", plan.success),
    ]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts if v)
    dl += "".join(
        f"<dt>{e(k)}</dt><dd><ul>{''.join(f'<li>{e(x)}</li>' for x in v)}</ul></dd>"
        for k, v in lists
        if v
    )
    warnings = "".join(f'<div class="od-warning">{e(w)}</div>' for w in plan.warnings)
    return (
        f'<div class="od-card od-plan"><div class="od-card-head"><span class="od-title">'
        f"{e(plan.name)}</span></div><p>{e(plan.objective)}</p>{targets}"
        f'<dl class="od-dl">{dl}</dl>{warnings}</div>'
    )


def _countdown(expires_at: dt.datetime, now: dt.datetime) -> str:
    left = max(0, int((expires_at - now).total_seconds()))
    return (
        f'<span class="od-countdown" data-expires-at="{e(expires_at.isoformat())}">'
        f"{left // 60}:{left % 60:02d} left to answer</span>"
    )


def inbox_cards(items: Sequence[InboxItem], now: dt.datetime, zone: dt.tzinfo = dt.UTC) -> str:
    if not items:
        return empty(
            "Nothing waiting for you",
            "Plan approvals, questions from calls in progress, analysis reviews and check-ins "
            "appear here. This list refreshes by itself.",
        )
    cards = []
    for item in items:
        where = " · ".join(x for x in (item.campaign_name, item.target_name) if x)
        countdown = _countdown(item.expires_at, now) if item.urgent and item.expires_at else ""
        details = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in item.details)
        body = plan_card(item.plan) if item.plan else ""
        body += _callee_now(item, now) + _analysis(item.analysis) + _facts(item.facts)
        body += f'<dl class="od-dl">{details}</dl>' if details else ""
        cards.append(
            f'<div class="od-card{" od-urgent" if item.urgent else ""}" data-item-id="{item.id}">'
            f'<div class="od-card-head">{status_badge(item.kind_label, item.kind.value)}'
            f"{countdown}</div>"
            f'<div class="od-muted od-small">#{item.id}{" · " + e(where) if where else ""} · '
            f"asked {when(item.created_at, zone)}</div>"
            f'<div class="od-question">{e(item.question)}</div>{body}</div>'
        )
    return "".join(cards)


def _callee_now(item: InboxItem, now: dt.datetime) -> str:
    """The callee's clock, for an owner who answers a review with a time ("at 3")."""
    if item.callee_zone is None:
        return ""
    try:
        zone = ZoneInfo(item.callee_zone)
    except (KeyError, ValueError):
        return ""
    local = now.astimezone(zone)
    return (
        f'<div class="od-muted od-small od-callee-now" data-zone="{e(item.callee_zone)}">'
        f"For the callee it is now {local:%a %H:%M %Z} ({e(item.callee_zone)}).</div>"
    )


def item_choice(item: InboxItem) -> str:
    where = item.target_name or item.campaign_name
    return f"#{item.id} · {item.kind_label}" + (f" · {where}" if where else "")


SOURCES = {"manual": "you", "csv": "CSV import"}


def dnc_table(entries: Sequence[DncEntryView], zone: dt.tzinfo = dt.UTC) -> str:
    if not entries:
        return empty("Your Do-Not-Call list is empty", "Add a number above or import a CSV file.")
    rows = "".join(
        f'<tr><td class="od-nowrap">{e(phone(x.phone_e164))}</td><td>{e(x.reason)}</td>'
        f"<td>{e(SOURCES.get(x.source, x.source.replace('_', ' ')))}</td>"
        f'<td class="od-nowrap">{when(x.added_at, zone)}</td></tr>'
        for x in entries
    )
    return (
        f'<div class="od-card"><div class="od-card-head"><span class="od-title">'
        f"{len(entries)} number{'s' if len(entries) != 1 else ''}</span></div>"
        '<table class="od-table"><thead><tr><th>Number</th><th>Reason</th><th>Added by</th>'
        f"<th>Added</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def audit_table(entries: Sequence[AuditEntryView], zone: dt.tzinfo = dt.UTC) -> str:
    """The user's decisions, newest first: when, who, what, on what, and its particulars."""
    if not entries:
        return empty(
            "No decisions recorded yet",
            "Approvals, answers, campaign changes, Do-Not-Call changes and settings show here.",
        )
    rows = "".join(
        f'<tr><td class="od-nowrap">{when(x.at, zone)}</td><td>{e(x.actor)}</td>'
        f"<td>{e(x.action_label)}</td><td>{e(_subject(x.subject))}</td>"
        f"<td>{'<br>'.join(f'{e(k)}: {e(v)}' for k, v in x.detail)}</td></tr>"
        for x in entries
    )
    return (
        f'<div class="od-card"><div class="od-card-head"><span class="od-title">'
        f"{len(entries)} decision{'s' if len(entries) != 1 else ''}</span></div>"
        '<table class="od-table"><thead><tr><th>When</th><th>Who</th><th>What</th><th>On</th>'
        f"<th>Details</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _subject(subject: str) -> str:
    return phone(subject) if subject.startswith("+") else subject
