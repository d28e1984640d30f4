"""Can a call's voice start: the settings, a real session opened at the server, the cache."""

from __future__ import annotations

from media.realtime_client import RealtimeClientFactory
from media.realtime_server import RealtimeTestServer
from media.voice_check import VoiceCheck
from tests.helpers import free_port


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def test_openai_without_a_key_names_the_setting() -> None:
    check = VoiceCheck(RealtimeClientFactory(base_url="wss://api.openai.com/v1", model="m"))
    problem = await check.problem()
    assert problem is not None and problem.startswith("OPENAI_API_KEY is empty")


async def test_a_url_that_is_not_a_websocket_url_names_the_setting() -> None:
    check = VoiceCheck(RealtimeClientFactory(base_url="http://127.0.0.1:1/v1", model="m"))
    assert (
        await check.problem() == "REALTIME_URL 'http://127.0.0.1:1/v1' is not a ws:// or wss:// URL"
    )


async def test_a_server_that_is_not_there_cannot_be_reached() -> None:
    url = f"ws://127.0.0.1:{free_port()}/v1"
    problem = await VoiceCheck(RealtimeClientFactory(base_url=url, model="m")).problem()
    assert problem is not None and problem.startswith(f"REALTIME_URL {url} cannot be reached (")


async def test_a_server_that_takes_sessions_is_fine_and_sees_one_opened_and_closed() -> None:
    async with RealtimeTestServer() as sim:
        check = VoiceCheck(RealtimeClientFactory(base_url=sim.url, model="gpt-realtime-x"))
        assert await check.problem() is None
        record = await sim.wait_for_connection(0)
        assert record.model == "gpt-realtime-x"


async def test_the_answer_is_kept_for_a_while_then_asked_again() -> None:
    clock = Clock()
    async with RealtimeTestServer() as sim:
        clients = RealtimeClientFactory(base_url=sim.url, model="m")
        check = VoiceCheck(clients, ttl_s=10, clock=clock)
        assert await check.problem() is None
        assert await check.problem() is None
        assert len(sim.connections) == 1  # the second answer came from the cache
        clock.t += 11
        assert await check.problem() is None
        await sim.wait_for_connection(1)
        # A changed URL is never answered from the cache.
        clients.base_url = f"ws://127.0.0.1:{free_port()}/v1"
        assert await check.problem() is not None


async def test_the_rehearsal_voice_is_the_nodes_own_and_is_not_probed() -> None:
    async with RealtimeTestServer() as sim:
        clients = RealtimeClientFactory(base_url=sim.url, model="m")
        clients.voice = "rehearsal"
        assert await VoiceCheck(clients).problem() is None
        assert sim.connections == []
