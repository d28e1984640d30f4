"""The UI assistant's tools: their schemas (what the model sees) and what they do."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from agents.ui_assistant.places import PlacesError, describe_places, search_places
from agents.ui_assistant.search import search_internet
from core.settings import Settings


class LookupBusiness(BaseModel):
    """Find businesses with Google Places: name, phone number, address and opening hours."""

    query: str = Field(
        min_length=1,
        description="What to look for, including where, e.g. 'dentists in Park Slope, Brooklyn'.",
    )
    max_results: int = Field(5, ge=1, le=10, description="How many places to return.")


class SearchInternet(BaseModel):
    """Search the internet (Google Search through Gemini) for facts the plan needs."""

    query: str = Field(min_length=1, description="The question to search for.")


TOOLS: tuple[type[BaseModel], ...] = (LookupBusiness, SearchInternet)


async def lookup_business(query: str, settings: Settings, *, max_results: int = 5) -> str:
    """Places as text for the model; a plain sentence when Places is unavailable or fails."""
    try:
        places = await search_places(query, settings, max_results=max_results)
    except PlacesError as exc:
        return str(exc)
    return describe_places(query, places)


async def run_tool(
    name: str,
    args: dict[str, object],
    settings: Settings,
    *,
    search_model: BaseChatModel | None = None,
) -> str:
    """Run one tool call by name; unknown names and bad arguments are reported, not raised."""
    if name == LookupBusiness.__name__:
        call = LookupBusiness.model_validate(args)
        return await lookup_business(call.query, settings, max_results=call.max_results)
    if name == SearchInternet.__name__:
        search = SearchInternet.model_validate(args)
        return await search_internet(search.query, settings, model=search_model)
    return f"There is no tool named {name!r}."
