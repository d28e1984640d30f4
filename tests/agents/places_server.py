"""A local HTTP server that speaks the Google Places API (New) Text Search wire format.

`POST /v1/places:searchText` with `X-Goog-Api-Key` and `X-Goog-FieldMask`; the answer holds only
the masked fields, errors use Google's `{"error": {code, message, status}}` shape.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "places-test-key-123456"

PLACES: list[dict[str, Any]] = [
    {
        "displayName": {"text": "Smile Dental", "languageCode": "en"},
        "internationalPhoneNumber": "+1 212-555-0101",
        "formattedAddress": "1 Park Slope Ave, Brooklyn, NY 11215, USA",
        "regularOpeningHours": {
            "openNow": True,
            "weekdayDescriptions": ["Monday: 9:00 AM – 5:00 PM", "Tuesday: 9:00 AM – 5:00 PM"],
            "periods": [
                {
                    "open": {"day": 1, "hour": 9, "minute": 0},
                    "close": {"day": 1, "hour": 17, "minute": 0},
                }
            ],
        },
        "rating": 4.8,
        "id": "ChIJsmile",
    },
    {
        "displayName": {"text": "Brooklyn Teeth", "languageCode": "en"},
        "internationalPhoneNumber": "+1 212-555-0102",
        "formattedAddress": "2 Fifth Ave, Brooklyn, NY 11215, USA",
        "id": "ChIJteeth",
    },
    {
        "displayName": {"text": "Broken Listing", "languageCode": "en"},
        "internationalPhoneNumber": "+1 555-12",
        "formattedAddress": "nowhere",
        "id": "ChIJbroken",
    },
]


@dataclass
class PlacesServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


def _error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def _masked(place: dict[str, Any], mask: list[str]) -> dict[str, Any]:
    if "*" in mask or "places.*" in mask:
        return place
    wanted = {m.removeprefix("places.") for m in mask}
    return {k: v for k, v in place.items() if k in wanted}


@contextmanager
def places_server() -> Iterator[PlacesServer]:
    state = PlacesServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            body = json.loads(raw or b"{}")
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if self.path != "/v1/places:searchText":
                return self._send(404, _error(404, "NOT_FOUND", f"{self.path} not found"))
            if self.headers.get("X-Goog-Api-Key") != API_KEY:
                return self._send(
                    403,
                    _error(
                        403, "PERMISSION_DENIED", "API key not valid. Please pass a valid API key."
                    ),
                )
            mask = [
                m.strip()
                for m in (self.headers.get("X-Goog-FieldMask") or "").split(",")
                if m.strip()
            ]
            if not mask:
                return self._send(
                    400, _error(400, "INVALID_ARGUMENT", "FieldMask is a required parameter.")
                )
            query = str(body.get("textQuery") or "")
            if not query:
                return self._send(400, _error(400, "INVALID_ARGUMENT", "Empty text_query."))
            size = int(body.get("pageSize") or 20)
            found = [p for p in PLACES if "nothing" not in query][:size]
            return self._send(200, {"places": [_masked(p, mask) for p in found]} if found else {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
