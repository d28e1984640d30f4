"""Google Places API (New) Text Search over HTTP.

`POST {GOOGLE_PLACES_URL}/places:searchText` with the key in `X-Goog-Api-Key` and the fields we
read in `X-Goog-FieldMask` (the API returns nothing without a mask). The base URL is a setting,
so tests and rehearsals point it at a local server that speaks the same wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from core.phone import InvalidPhoneNumber, normalize
from core.settings import Settings

FIELD_MASK = ",".join(
    f"places.{name}"
    for name in (
        "displayName",
        "internationalPhoneNumber",
        "formattedAddress",
        "regularOpeningHours",
    )
)
TIMEOUT_S = 10.0


class PlacesError(RuntimeError):
    """Places could not be asked or answered with an error; the message is fit for a user."""


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    phone: str | None  # E.164 when the number parses, else None
    phone_as_listed: str | None
    address: str | None
    opening_hours: list[str] = field(default_factory=list)
    open_now: bool | None = None


def _place(raw: dict[str, Any], region: str) -> Place:
    listed = raw.get("internationalPhoneNumber")
    phone = None
    if isinstance(listed, str) and listed:
        try:
            phone = normalize(listed, region)
        except InvalidPhoneNumber:
            phone = None
    hours = raw.get("regularOpeningHours") or {}
    name = (raw.get("displayName") or {}).get("text") or "(no name)"
    return Place(
        name=str(name),
        phone=phone,
        phone_as_listed=listed if isinstance(listed, str) else None,
        address=raw.get("formattedAddress"),
        opening_hours=[str(d) for d in hours.get("weekdayDescriptions") or []],
        open_now=hours.get("openNow"),
    )


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("status") or "")
    return response.text[:200]


async def search_places(
    query: str,
    settings: Settings,
    *,
    max_results: int = 5,
    timeout_s: float = TIMEOUT_S,
) -> list[Place]:
    """Places matching `query`; raises `PlacesError` (not configured, HTTP error, timeout)."""
    if not settings.has_google:
        raise PlacesError(
            "Business lookup is not configured: set GOOGLE_API_KEY to look businesses up "
            "with Google Places."
        )
    url = settings.google_places_url.rstrip("/") + "/places:searchText"
    headers = {
        "X-Goog-Api-Key": settings.google_api_key.get_secret_value(),
        "X-Goog-FieldMask": FIELD_MASK,
    }
    body = {
        "textQuery": query,
        "pageSize": max_results,
        "regionCode": settings.default_region,
    }
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.post(url, json=body, headers=headers)
    except httpx.TimeoutException:
        raise PlacesError(f"Google Places did not answer within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise PlacesError(f"Google Places could not be reached: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise PlacesError(
            f"Google Places answered {response.status_code}: {_error_message(response)}"
        )
    try:
        places = response.json().get("places") or []
    except (ValueError, AttributeError):
        raise PlacesError("Google Places sent an answer that is not JSON") from None
    return [_place(p, settings.default_region) for p in places[:max_results]]


def describe_places(query: str, places: list[Place]) -> str:
    """A short text listing for the model and the user."""
    if not places:
        return f"Google Places found nothing for {query!r}."
    lines = [f"Google Places found {len(places)} result(s) for {query!r}:"]
    for i, place in enumerate(places, 1):
        phone = place.phone or (
            f"{place.phone_as_listed} (not a valid number)" if place.phone_as_listed else "none"
        )
        lines.append(f"{i}. {place.name} — phone {phone}; address {place.address or 'unknown'}")
        if place.opening_hours:
            lines.append("   hours: " + "; ".join(place.opening_hours))
    return "\n".join(lines)
