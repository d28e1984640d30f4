"""The model factory: each spec family, the rehearsal fallback, and keys that never get logged."""

from __future__ import annotations

import io
import logging

import pytest
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agents.models import ModelNotConfigured, load_chat_model, model_spec, split_spec
from agents.scripted import REHEARSAL_LABEL, ScriptedChatModel, is_rehearsal
from core.logging import configure_logging
from core.settings import Settings

OPENAI_KEY = "sk-test-never-logged-0a1b2c3d"
GOOGLE_KEY = "AIza-test-never-logged-9z8y7x"


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("openai:gpt-4.1-mini", ("openai", "gpt-4.1-mini")),
        ("openai/gpt-4.1-mini", ("openai", "gpt-4.1-mini")),
        ("google_genai:gemini-2.5-flash", ("google_genai", "gemini-2.5-flash")),
        (" Scripted:rehearsal ", ("scripted", "rehearsal")),
        ("local:qwen2.5:7b", ("local", "qwen2.5:7b")),
    ],
)
def test_split_spec(spec: str, expected: tuple[str, str]) -> None:
    assert split_spec(spec) == expected


@pytest.mark.parametrize("spec", ["gpt-4.1", "openai:", ":model", ""])
def test_bad_spec_names_itself(spec: str) -> None:
    with pytest.raises(ValueError, match="provider:model"):
        split_spec(spec)


def test_openai_with_key() -> None:
    model = load_chat_model(
        "openai:gpt-4.1-mini", _settings(openai_api_key=SecretStr(OPENAI_KEY)), purpose="analyzer"
    )
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4.1-mini"
    assert model.openai_api_base is None
    assert OPENAI_KEY not in repr(model)


def test_openai_compatible_local_server_needs_no_key() -> None:
    settings = _settings(openai_base_url="http://127.0.0.1:11434/v1")
    model = load_chat_model("openai:llama3.2", settings, purpose="assistant")
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:11434/v1"
    local = load_chat_model("local:qwen2.5", settings, purpose="assistant")
    assert isinstance(local, ChatOpenAI) and local.model_name == "qwen2.5"


def test_local_without_base_url_says_which_setting() -> None:
    with pytest.raises(ModelNotConfigured, match="OPENAI_BASE_URL"):
        load_chat_model("local:qwen2.5", _settings(), purpose="assistant")


def test_google_genai_with_key() -> None:
    model = load_chat_model(
        "google_genai:gemini-2.5-flash",
        _settings(google_api_key=SecretStr(GOOGLE_KEY)),
        purpose="search",
    )
    assert isinstance(model, ChatGoogleGenerativeAI)
    assert GOOGLE_KEY not in repr(model)


@pytest.mark.parametrize("spec", ["openai:gpt-4.1-mini", "google_genai:gemini-2.5-flash"])
def test_without_keys_it_is_a_labelled_rehearsal(spec: str) -> None:
    model = load_chat_model(spec, _settings(), purpose="assistant")
    assert isinstance(model, ScriptedChatModel) and is_rehearsal(model)
    reply = model.invoke("hello")
    assert str(reply.content).startswith(REHEARSAL_LABEL)
    assert reply.response_metadata["rehearsal"] is True


def test_strict_refuses_the_fallback() -> None:
    with pytest.raises(ModelNotConfigured, match="OPENAI_API_KEY"):
        load_chat_model("openai:gpt-4.1-mini", _settings(), purpose="analyzer", strict=True)


def test_scripted_spec_and_unknown_script() -> None:
    assert is_rehearsal(load_chat_model("scripted:rehearsal", _settings(), purpose="analyzer"))
    with pytest.raises(KeyError, match="no script named 'nope'"):
        load_chat_model("scripted:nope", _settings(), purpose="analyzer")


def test_model_spec_per_purpose() -> None:
    settings = _settings(analyzer_model="scripted:rehearsal")
    assert model_spec(settings, "analyzer") == "scripted:rehearsal"
    assert model_spec(settings, "search") == settings.search_model


def test_keys_never_reach_a_log_line() -> None:
    buf = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=buf)  # no redaction help: keys unknown
    try:
        settings = _settings(
            openai_api_key=SecretStr(OPENAI_KEY), google_api_key=SecretStr(GOOGLE_KEY)
        )
        for spec in ("openai:gpt-4.1-mini", "google_genai:gemini-2.5-flash"):
            load_chat_model(spec, settings, purpose="analyzer")
        load_chat_model("openai:x", _settings(), purpose="lifecycle")
    finally:
        logging.getLogger().handlers.clear()
    out = buf.getvalue()
    assert "chat model" in out and "REHEARSAL" in out
    assert OPENAI_KEY not in out and GOOGLE_KEY not in out
