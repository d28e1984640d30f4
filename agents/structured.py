"""Structured output and tool binding that also work with models lacking tool support.

Real providers go through `with_structured_output` / `bind_tools`. Models that implement neither
(LangChain's fake chat models, some local servers) are called plainly, and their answer is read
as a tool call named after the schema or as a JSON object in the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)

_JSON_BLOCK = re.compile(r"\{.*\}", re.S)


class StructuredOutputError(ValueError):
    """The model's answer could not be read as the schema; the message says why."""


def bind_tools_if_supported(
    model: BaseChatModel, tools: Sequence[type[BaseModel]]
) -> Runnable[LanguageModelInput, BaseMessage]:
    """`model.bind_tools(tools)`, or the model itself when it cannot bind tools."""
    try:
        return model.bind_tools(list(tools))
    except NotImplementedError:
        return model


def schema_name(schema: type[BaseModel]) -> str:
    """The tool name a schema is bound under (its class name, as LangChain names it)."""
    return schema.__name__


def read_structured(message: BaseMessage, schema: type[T]) -> T:
    """A schema instance from a tool call named after it, or from JSON in the text."""
    name = schema_name(schema)
    if isinstance(message, AIMessage):
        for call in message.tool_calls:
            if call["name"] == name:
                return schema.model_validate(call["args"])
    text = message.text if isinstance(message.content, list) else str(message.content)
    match = _JSON_BLOCK.search(text)
    if match is None:
        raise StructuredOutputError(f"the model gave no {name}: {text[:200]!r}")
    try:
        data: Any = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise StructuredOutputError(f"the model's {name} is not valid JSON: {exc}") from None
    return schema.model_validate(data)


async def ainvoke_structured(
    model: BaseChatModel, schema: type[T], messages: Sequence[BaseMessage]
) -> T:
    """Ask the model for one `schema` instance."""
    try:
        runnable = model.with_structured_output(schema)
    except NotImplementedError:
        return read_structured(await model.ainvoke(list(messages)), schema)
    result = await runnable.ainvoke(list(messages))
    if isinstance(result, schema):
        return result
    return schema.model_validate(result)
