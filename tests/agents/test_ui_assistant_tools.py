"""The assistant's tools: Places (New) over HTTP against a local server, grounded search."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from agents.ui_assistant import run_tool
from agents.ui_assistant.places import FIELD_MASK, PlacesError, search_places
from agents.ui_assistant.search import GOOGLE_SEARCH_TOOL, search_internet
from core.settings import Settings
from tests.agents.places_server import API_KEY, PlacesServer, places_server


@pytest.fixture
def places() -> Iterator[PlacesServer]:
    with places_server() as server:
        yield server


def _settings(url: str = "http://127.0.0.1:9/v1", key: str = API_KEY, **kw: Any) -> Settings:
    return Settings(_env_file=None, google_places_url=url, google_api_key=SecretStr(key), **kw)


async def test_text_search_speaks_the_places_new_wire_format(places: PlacesServer) -> None:
    found = await search_places("dentists in Park Slope", _settings(places.url), max_results=5)
    [request] = places.requests
    assert request["path"] == "/v1/places:searchText"
    assert request["headers"]["X-Goog-Api-Key"] == API_KEY
    assert request["headers"]["X-Goog-FieldMask"] == FIELD_MASK
    assert set(FIELD_MASK.split(",")) == {
        "places.displayName",
        "places.internationalPhoneNumber",
        "places.formattedAddress",
        "places.regularOpeningHours",
    }
    assert request["body"] == {
        "textQuery": "dentists in Park Slope",
        "pageSize": 5,
        "regionCode": "US",
    }
    smile, teeth, broken = found
    assert (smile.name, smile.phone, smile.open_now) == ("Smile Dental", "+12125550101", True)
    assert smile.opening_hours[0] == "Monday: 9:00 AM – 5:00 PM"
    assert teeth.opening_hours == [] and teeth.phone == "+12125550102"
    assert broken.phone is None and broken.phone_as_listed == "+1 555-12"


async def test_the_tool_text_lists_what_was_found(places: PlacesServer) -> None:
    text = await run_tool(
        "LookupBusiness", {"query": "dentists", "max_results": 2}, _settings(places.url)
    )
    assert "Google Places found 2 result(s) for 'dentists'" in text
    assert "1. Smile Dental — phone +12125550101; address 1 Park Slope Ave" in text
    assert "hours: Monday: 9:00 AM – 5:00 PM; Tuesday" in text
    nothing = await run_tool("LookupBusiness", {"query": "nothing here"}, _settings(places.url))
    assert nothing == "Google Places found nothing for 'nothing here'."


async def test_places_errors_are_plain_sentences(places: PlacesServer) -> None:
    text = await run_tool(
        "LookupBusiness", {"query": "dentists"}, _settings(places.url, key="wrong-key")
    )
    assert text == "Google Places answered 403: API key not valid. Please pass a valid API key."
    with pytest.raises(PlacesError, match="could not be reached"):
        await search_places("x", _settings("http://127.0.0.1:9/v1"))


async def test_without_a_key_the_tools_say_they_are_not_configured() -> None:
    settings = Settings(_env_file=None)
    assert "not configured: set GOOGLE_API_KEY" in await run_tool(
        "LookupBusiness", {"query": "x"}, settings
    )
    assert await run_tool("SearchInternet", {"query": "x"}, settings) == (
        "Internet search is unavailable: GOOGLE_API_KEY is not set."
    )
    other = Settings(
        _env_file=None, search_model="openai:gpt-4.1-mini", google_api_key=SecretStr("k")
    )
    assert "not a Gemini model" in await search_internet("x", other)


async def test_search_returns_the_answer_with_its_sources() -> None:
    class Grounded(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kw: Any) -> Any:  # records the tool it was given
            assert list(tools) == [GOOGLE_SEARCH_TOOL]
            return self

    answer = AIMessage(
        content="Smile Dental is open until 5 pm.",
        response_metadata={
            "grounding_metadata": {
                "grounding_chunks": [
                    {"web": {"uri": "https://smile.example/hours", "title": "Smile Dental"}}
                ]
            }
        },
    )
    text = await search_internet(
        "hours of smile dental", _settings(), model=Grounded(messages=iter([answer]))
    )
    assert (
        text
        == "Smile Dental is open until 5 pm.\n\nSources:\n- Smile Dental: https://smile.example/hours"
    )


def test_gemini_is_bound_to_google_search_grounding() -> None:
    from agents.models import load_chat_model

    model = load_chat_model("google_genai:gemini-2.5-flash", _settings(), purpose="search")
    bound = model.bind_tools([GOOGLE_SEARCH_TOOL])
    tools = bound.kwargs["tools"]  # type: ignore[attr-defined]
    assert [t["google_search"] is not None for t in tools] == [True]
    assert all(t.get("function_declarations") is None for t in tools)


async def test_rehearsal_search_says_it_is_a_rehearsal() -> None:
    text = await search_internet("x", Settings(_env_file=None, search_model="scripted:rehearsal"))
    assert text.startswith("[rehearsal] Internet search is not available in a rehearsal")


async def test_unknown_tools_and_bad_arguments() -> None:
    assert await run_tool("Nope", {}, Settings(_env_file=None)) == "There is no tool named 'Nope'."
