"""UI assistant graph: a chat that asks what is missing, may look things up, ends with a plan.

call_model ─┬→ END (a question or answer for the user)
            └→ tools (LookupBusiness, SearchInternet, CampaignPlan) ─┬→ call_model
                                                                      └→ END (plan accepted)

One run is one user turn; the thread's checkpoints keep the conversation. A `CampaignPlan` tool
call is validated like any plan: one with a bad number goes back to the model as a tool error
naming the number, so it fixes it or asks the user.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime
from pydantic import ValidationError
from typing_extensions import TypedDict

from agents.prompts import render_prompt
from agents.schemas import CampaignPlan, parse_plan, validation_problems
from agents.structured import bind_tools_if_supported
from agents.ui_assistant import TOOLS, run_tool
from core.logging import get_logger
from graphs.context import GraphContext, context_of

AGENT = "ui_assistant"
PLAN_TOOL = CampaignPlan.__name__
MAX_TOOL_ROUNDS = 6  # per user turn; LangGraph's own step limit is in the thousands
log = get_logger("opendeep.graphs.ui_assistant")


class AssistantInput(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class AssistantState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    plan: dict[str, Any] | None  # set by the turn that produced a valid plan


def _tool_rounds(messages: list[AnyMessage]) -> int:
    """Model turns with tool calls since the user last spoke."""
    rounds = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage) and message.tool_calls:
            rounds += 1
    return rounds


async def _system_prompt(ctx: GraphContext) -> str:
    settings = ctx.get_settings()
    async with ctx.get_db().users() as users:
        profile = await users.profile(ctx.user_id)
    return render_prompt(
        AGENT,
        "system",
        ctx.prompt_version,
        owner=profile.display_name if profile else "the user",
        today=f"{ctx.now():%A %Y-%m-%d}",
        default_region=settings.default_region,
        window_start=f"{settings.calling_window_start:%H:%M}",
        window_end=f"{settings.calling_window_end:%H:%M}",
    )


async def call_model(state: AssistantState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """One model turn with the tools bound."""
    ctx = await context_of(runtime)
    model = bind_tools_if_supported(await ctx.model("assistant"), [*TOOLS, CampaignPlan])
    messages = [SystemMessage(content=await _system_prompt(ctx)), *state.get("messages", [])]
    response = await model.ainvoke(messages)
    if not isinstance(response, AIMessage):
        response = AIMessage(content=response.text)
    if response.id is None or response.id in {m.id for m in state.get("messages", [])}:
        # A reused id would make add_messages overwrite an earlier turn instead of appending.
        response = response.model_copy(update={"id": str(uuid.uuid4())})
    if response.tool_calls and _tool_rounds(state.get("messages", [])) >= MAX_TOOL_ROUNDS:
        response = AIMessage(
            content="Sorry, I could not finish that in one go. Could you tell me more "
            "precisely what you need?"
        )
    return {"messages": [response], "plan": None}


def route_model_output(state: AssistantState) -> Literal["tools", "__end__"]:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "__end__"


def _plan_summary(plan: CampaignPlan) -> str:
    targets = ", ".join(f"{t.name} ({t.phone})" for t in plan.targets)
    rule = (
        "stop after the first success"
        if plan.stop_rule.value == "first_success"
        else ("call everyone")
    )
    return (
        f"Here is the plan \u201c{plan.name}\u201d: {len(plan.targets)} call(s) — {targets}; "
        f"{rule}, up to {plan.max_attempts} attempt(s) each. Nothing is dialled until you "
        "approve it."
    )


async def tools(state: AssistantState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Answer every tool call of the last message; a valid plan ends the turn."""
    ctx = await context_of(runtime)
    settings = ctx.get_settings()
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    replies: list[AnyMessage] = []
    plan: CampaignPlan | None = None
    search_model = (ctx.models or {}).get("search")
    for call in last.tool_calls:
        call_id = call.get("id") or ""
        if call["name"] == PLAN_TOOL:
            try:
                plan = parse_plan(call["args"], default_region=settings.default_region)
            except ValidationError as exc:
                problems = "; ".join(validation_problems(exc))
                replies.append(
                    ToolMessage(
                        content=f"The plan was not accepted: {problems}. Fix what is named, or "
                        "ask the user for the right details.",
                        tool_call_id=call_id,
                        name=PLAN_TOOL,
                        status="error",
                    )
                )
                continue
            replies.append(
                ToolMessage(content="Plan accepted.", tool_call_id=call_id, name=PLAN_TOOL)
            )
            continue
        try:
            text = await run_tool(
                call["name"], dict(call["args"]), settings, search_model=search_model
            )
        except ValidationError as exc:
            text = f"Bad arguments for {call['name']}: " + "; ".join(validation_problems(exc))
        except Exception as exc:
            log.exception("tool failed", tool=call["name"], user_id=ctx.user_id)
            text = f"{call['name']} failed ({type(exc).__name__}); try again later."
        replies.append(ToolMessage(content=text, tool_call_id=call_id, name=call["name"]))
    if plan is not None and all(r.status != "error" for r in replies if isinstance(r, ToolMessage)):
        replies.append(AIMessage(content=_plan_summary(plan)))
        return {"messages": replies, "plan": plan.model_dump(mode="json")}
    return {"messages": replies}


def route_after_tools(state: AssistantState) -> Literal["call_model", "__end__"]:
    return "__end__" if state.get("plan") else "call_model"


builder = StateGraph(
    AssistantState,
    context_schema=GraphContext,
    input_schema=AssistantInput,
    output_schema=AssistantState,
)
builder.add_node("call_model", call_model)
builder.add_node("tools", tools)
builder.add_edge(START, "call_model")
builder.add_conditional_edges("call_model", route_model_output)
builder.add_conditional_edges("tools", route_after_tools)

graph = builder.compile(name="ui_assistant")
