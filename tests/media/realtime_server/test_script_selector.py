"""A rehearsal serving several simulated callees picks each call's script from its instructions."""

from __future__ import annotations

from media.realtime_client import RealtimeClient
from media.realtime_events import AgentTranscript, response_create, session_update
from media.realtime_server import RealtimeTestServer, Say, Script, ScriptedResponse


def script(text: str) -> Script:
    return Script(responses=[ScriptedResponse(outputs=[Say(text=text)])])


async def agent_says(url: str, instructions: str) -> str:
    async with RealtimeClient(base_url=url, model="gpt-realtime") as rt:
        await rt.send(session_update(instructions=instructions, voice="marin"))
        await rt.send(response_create())
        async for event in rt.events():
            if isinstance(event, AgentTranscript):
                return event.transcript
    raise AssertionError("no agent transcript")


async def test_each_connection_gets_the_script_its_instructions_select() -> None:
    by_name = {"Ollie": script("Hello Ollie."), "Betty": script("Hello Betty.")}

    def select(instructions: str) -> Script | None:
        return next((s for name, s in by_name.items() if name in instructions), None)

    async with RealtimeTestServer(script("Default."), select_script=select) as sim:
        assert await agent_says(sim.url, "You are calling Betty's Bakery.") == "Hello Betty."
        assert await agent_says(sim.url, "You are calling Ollie.") == "Hello Ollie."
        assert await agent_says(sim.url, "You are calling someone else.") == "Default."
