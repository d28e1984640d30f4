"""Which caller ID a call carries: its campaign's, else its owner's (Settings tab), else the
node's CALLER_ID — and a user or a campaign may only pick one of the numbers the node's
operator lists in CALLER_ID_CHOICES (the ones the trunk lets them send), so nobody can make
calls show a number that is not theirs."""

from __future__ import annotations

from collections.abc import Sequence

from core.phone import InvalidPhoneNumber, normalize


class CallerIdRefused(ValueError):
    """A caller ID a user or a campaign asked for cannot be used; the message says why."""


def allowed_caller_id(value: str, choices: Sequence[str], *, region: str = "US") -> str:
    """`value` as E.164 when it is one of `choices`; "" for none (the default applies).

    Raises `CallerIdRefused` naming the number and the choices."""
    text = value.strip()
    if not text:
        return ""
    try:
        number = normalize(text, region)
    except InvalidPhoneNumber as exc:
        raise CallerIdRefused(str(exc)) from None
    if number not in choices:
        offered = ", ".join(choices) if choices else "none (every call shows this server's own)"
        raise CallerIdRefused(
            f"{number} is not a caller ID this server may send; its choices: {offered}"
        )
    return number


def caller_id_for_call(
    *, campaign: str | None, owner: str | None, node: str, choices: Sequence[str]
) -> str:
    """The caller ID of one call: the campaign's, else the owner's, else the node's. A choice
    the node no longer allows (CALLER_ID_CHOICES changed) is passed over."""
    for chosen in (campaign, owner):
        if chosen and chosen in choices:
            return chosen
    return node
