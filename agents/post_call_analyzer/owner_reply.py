"""Read the owner's answer to an analysis review as a next step for the task.

Pure rules, no model. A review is answered with a button (retry at…, call back at…, done,
cancel this target) or with free text such as "call back Thursday after 3", "call them again
tomorrow at 10 in the morning", "try again now", "give up", "done", "the number is wrong, use
+1 212 555 0199". Times are read in the callee's zone (`resolve_callback`) and moved into the
calling window; nothing lands in the past. What these rules cannot read is never guessed at:
the result is an `Unread` that says why, and the owner is asked again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from agents.calling_window import first_opening
from agents.post_call_analyzer.callback_time import resolve_callback
from core.phone import InvalidPhoneNumber, normalize
from core.rules.calling_window import Window

OwnerAction = Literal["accept", "retry_at", "call_back_at", "done", "cancel"]
BUTTONS: tuple[OwnerAction, ...] = ("retry_at", "call_back_at", "done", "cancel")

EXAMPLES = (
    '"call back Thursday after 3", "call them again tomorrow at 10", "try again now", '
    '"done", "give up", "the number is wrong, use +1 212 555 0199"'
)


@dataclass(frozen=True, slots=True)
class OwnerStep:
    """What the owner decided: keep the analysis (accept), or this next step for the task.

    `phone` is a new number for the task (E.164), `at` is aware and inside the window.
    """

    action: OwnerAction
    reason: str
    at: dt.datetime | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Unread:
    """The answer could not be read as a decision; `problem` tells the owner why."""

    problem: str


@dataclass(frozen=True, slots=True)
class Callee:
    """Where the callee is: their zones (the first one reads times), the window, the clock."""

    zones: Sequence[str]
    window: Window | None
    now: dt.datetime
    region: str = "US"

    @property
    def zone(self) -> str:
        return self.zones[0] if self.zones else "UTC"

    def local(self, at: dt.datetime) -> str:
        return f"{at.astimezone(ZoneInfo(self.zone)):%a %d %b %H:%M %Z}"


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w:'+]+", " ", text.casefold().replace("\u2019", "'")).split())


_WHO = r"(?:them |her |him |it |this number |the number |this one )?"
_ACCEPT = re.compile(
    r"(?:(?:yes|ok|okay|sure) )?(?:accept(?:ed)?|agreed?|approved?|yes|ok|okay|correct|right|"
    r"sounds good|looks (?:good|right|correct)|go ahead|keep it|as proposed)(?: please| thanks?)?"
)
_CANCEL = re.compile(
    r"\b(?:give up|giving up|cancel|stop (?:calling|trying)|do ?n[o']?t call " + _WHO + r"again|"
    r"do ?n[o']?t call " + _WHO + r"any ?more|never call|no more calls|forget (?:it|them|about)|"
    r"drop (?:it|them|this))\b"
)
_CALL_BACK = re.compile(r"\b(?:call|ring|phone) " + _WHO + r"back\b")
_RETRY = re.compile(
    r"\b(?:(?:call|ring|phone|try|dial) " + _WHO + r"again|retry|redial|re dial|"
    r"another (?:call|try|attempt)|give (?:it|them) another (?:go|try))\b"
)
_NOW = re.compile(
    r"\b(?:now|right away|immediately|asap|as soon as possible|straight away|at once)\b"
)
_TIME_WORDS = re.compile(
    r"\d|\b(?:today|tonight|tomorrow|week|noon|midday|morning|afternoon|evening|later|"
    r"mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day)?\b"
)
_DONE = re.compile(
    r"\b(?:done|finished|mark (?:it |this )?(?:as )?(?:done|complete[d]?)|"
    r"(?:it'?s|that'?s|all) (?:done|fine|good|ok|okay|sorted|handled|settled)|leave it|"
    r"close (?:it|this|the task)|nothing (?:more|else) to do|no need)\b"
)
_PHONE = re.compile(r"\+?\d[\d ().\-]{6,}\d")


@dataclass(frozen=True, slots=True)
class _Time:
    at: dt.datetime  # inside the calling window
    moved: bool  # the time asked for was outside it


def _when(text: str, callee: Callee, *, verb: bool, said: str) -> _Time | Unread | None:
    """The moment named in `text` (None: it names none), moved into the calling window;
    `said` is what the owner wrote, for the message when it cannot be read."""
    asked = callee.now if _NOW.search(text) else resolve_callback(text, callee.now, callee.zone)
    if asked is None:
        if _TIME_WORDS.search(text):
            return Unread(
                f"I could not read a time still to come in \u201c{said.strip()}\u201d (for the "
                f"callee it is now {callee.local(callee.now)}). Say e.g. \u201ctomorrow at "
                "10\u201d, \u201cThursday after 3 pm\u201d or \u201cin 2 hours\u201d."
            )
        if not verb:
            return None
        asked = callee.now  # "call them again", with no time: as soon as the window allows
    asked = max(asked, callee.now)
    opening = first_opening(callee.zones or ["UTC"], callee.window, asked)
    if opening is None:
        return Unread(
            "there is no calling window for this callee within two weeks after "
            f"{callee.local(asked)}; change the campaign's hours, or choose done or cancel"
        )
    return _Time(opening, moved=opening > asked)


def _step(action: OwnerAction, when: _Time, callee: Callee, why: str) -> OwnerStep:
    verb = "call back" if action == "call_back_at" else "call again"
    moved = " (moved into the calling window)" if when.moved else ""
    return OwnerStep(action, f"{why}: {verb} {callee.local(when.at)}{moved}", at=when.at)


def read_button(action: OwnerAction, when: str, callee: Callee) -> OwnerStep | Unread:
    """A review button: accept, done, cancel, or retry / call back at `when` (empty: as soon
    as the calling window allows)."""
    if action == "accept":
        return OwnerStep("accept", "the owner accepted the analysis")
    if action == "done":
        return OwnerStep("done", "the owner marked the task done")
    if action == "cancel":
        return OwnerStep("cancel", "the owner cancelled calls to this target")
    at = _when(_words(when), callee, verb=True, said=when)
    if at is None or isinstance(at, Unread):
        return at or Unread("say when")
    return _step(action, at, callee, "the owner asked to")


def read_instruction(text: str, callee: Callee, *, can_accept: bool) -> OwnerStep | Unread:
    """The owner's free-text answer to a review, read by rules (see the module's docstring)."""
    words = _words(text)
    if not words:
        return Unread("the answer is empty")
    if can_accept and _ACCEPT.fullmatch(words):
        return OwnerStep("accept", "the owner accepted the analysis")
    phone = _PHONE.search(text)
    if phone is not None:
        try:
            number = normalize(phone.group(0), callee.region)
        except InvalidPhoneNumber as exc:
            return Unread(f"{phone.group(0).strip()!r} is not a number I can dial: {exc}")
        rest = _words(text[: phone.start()] + " " + text[phone.end() :])
        at = _when(rest, callee, verb=True, said=text)
        if at is None or isinstance(at, Unread):
            return at or Unread("say when")
        step = _step("retry_at", at, callee, f"the owner gave a new number, {number}")
        return OwnerStep("retry_at", step.reason, at=step.at, phone=number)
    if re.search(r"\bnumber\b", words) and re.search(r"\d", words):
        return Unread(f"I found no whole phone number in \u201c{text.strip()}\u201d")
    if _CANCEL.search(words):
        return OwnerStep("cancel", f"the owner said: \u201c{text.strip()}\u201d")
    callback = _CALL_BACK.search(words) is not None
    verb = callback or _RETRY.search(words) is not None
    at = _when(words, callee, verb=verb, said=text)
    if isinstance(at, Unread):
        return at
    if at is not None:
        action: OwnerAction = "call_back_at" if callback or not verb else "retry_at"
        return _step(action, at, callee, "the owner asked to")
    if _DONE.search(words):
        return OwnerStep("done", f"the owner said: \u201c{text.strip()}\u201d")
    accept = "\u201cyes\u201d to keep the proposed next step, " if can_accept else ""
    return Unread(
        f"I could not read \u201c{text.strip()}\u201d as a decision, so nothing was changed. "
        f"Answer with {accept}a button, or words such as {EXAMPLES}."
    )


def read_answer(
    answer: Mapping[str, Any], callee: Callee, *, can_accept: bool
) -> OwnerStep | Unread | None:
    """The owner's decision from a review answer in agent-inbox form (`{type, args}`) or as
    the Approvals tab stores it (`{text}`); None for an edit of the analysis' fields."""
    kind = answer.get("type")
    args = answer.get("args") if kind is not None else answer.get("text")
    if kind == "accept":
        if not can_accept:
            return Unread("there is no proposed next step to accept; say what happens next")
        return OwnerStep("accept", "the owner accepted the analysis")
    if kind == "ignore":
        return OwnerStep("done", "the owner closed this task")
    if isinstance(args, str):  # a response, or an edit written in words
        return read_instruction(args, callee, can_accept=can_accept)
    if isinstance(args, Mapping) and "decision" in args:  # a button of the review card
        decision = args["decision"]
        action = next((b for b in BUTTONS if b == decision), None)
        if action is None:
            return Unread(f"{decision!r} is not a decision here (one of: {', '.join(BUTTONS)})")
        return read_button(action, str(args.get("when") or ""), callee)
    if kind == "edit" and isinstance(args, Mapping):
        return None
    return Unread("the answer is empty")
