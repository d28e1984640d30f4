"""A scripted PBX behind `FakeAmi`: Originate creates Local channel pairs that ring, answer or
fail like the development PBX's simulated callees, with the events Asterisk 22 sends."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from tests.telephony.fake_ami import FakeAmi, FakeSession, Fields

HUMAN = "+12125550101"
BUSY = "+12125550102"
NO_ANSWER = "+12125550103"
QUICK_HANGUP = "+12125550107"


@dataclass
class SimCall:
    number: str
    channel_id: str
    other_id: str
    action_id: str
    name: str
    state: str = "0"
    up: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def channel(self) -> str:
        return f"{self.name};1"


class SimPbx:
    """Install on a `FakeAmi`: handles Originate, Hangup, PlayDTMF and CoreShowChannels."""

    def __init__(self, ami: FakeAmi, *, step_s: float = 0.02, talk_s: float = 30.0) -> None:
        self.ami = ami
        self.step_s = step_s
        self.talk_s = talk_s
        self.calls: dict[str, SimCall] = {}  # live, by ;1 uniqueid
        self.history: list[SimCall] = []
        self.max_up = 0
        self.dtmf: list[tuple[str, str]] = []
        self.answer_originates = True
        self.unlisted_once: set[str] = set()  # left out of the next CoreShowChannels only
        self._seq = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        ami.handlers["Originate"] = self._originate
        ami.handlers["Hangup"] = self._hangup
        ami.handlers["PlayDTMF"] = self._play_dtmf
        ami.handlers["CoreShowChannels"] = self._show_channels

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def vanish(self, channel_id: str) -> None:
        """The call ends while nobody is listening (no events)."""
        self.calls.pop(channel_id, None)

    # --- actions -------------------------------------------------------------------------
    def _originate(self, session: FakeSession, action: Fields) -> None:
        channel_id = str(action["ChannelId"])
        if channel_id in self.calls:
            # What Asterisk 22 does with Async: queue it, then fail it without a channel.
            session.respond(action, Message="Originate successfully queued")
            self.ami.broadcast(
                "OriginateResponse",
                ActionID=str(action["ActionID"]),
                Response="Failure",
                Reason="0",
                Uniqueid=channel_id,
                Channel=str(action["Channel"]),
            )
            return
        number = str(action["Channel"]).split("/", 1)[1].split("@", 1)[0]
        call = SimCall(
            number=number,
            channel_id=channel_id,
            other_id=str(action.get("OtherChannelId", channel_id + "-2")),
            action_id=str(action["ActionID"]),
            name=f"Local/{number}@opendeep-outbound-{next(self._seq):08x}",
        )
        self.calls[channel_id] = call
        self.history.append(call)
        self.max_up = max(self.max_up, len(self.calls))
        if self.answer_originates:
            session.respond(action, Message="Originate successfully queued")
        self._spawn(self._run(call))

    def _hangup(self, session: FakeSession, action: Fields) -> None:
        name = str(action["Channel"])
        call = next((c for c in self.calls.values() if c.channel == name), None)
        if call is None:
            session.error(action, "No such channel")
            return
        session.respond(action, Message="Channel Hungup")
        self._end(call, str(action.get("Cause", "16")), "Normal Clearing")

    def _play_dtmf(self, session: FakeSession, action: Fields) -> None:
        self.dtmf.append((str(action["Channel"]), str(action["Digit"])))
        session.respond(action, Message="DTMF successfully queued")

    def _show_channels(self, session: FakeSession, action: Fields) -> None:
        action_id = str(action["ActionID"])
        session.respond(action, EventList="start", Message="Channels will follow")
        hidden, self.unlisted_once = self.unlisted_once, set()
        for call in self.calls.values():
            if call.channel_id in hidden:
                continue
            session.event(
                "CoreShowChannel",
                ActionID=action_id,
                Channel=call.channel,
                Uniqueid=call.channel_id,
                Linkedid=call.channel_id,
                ChannelState=call.state,
            )
        session.event(
            "CoreShowChannelsComplete",
            ActionID=action_id,
            EventList="Complete",
            ListItems=str(len([c for c in self.calls if c not in hidden])),
        )

    # --- scripts -------------------------------------------------------------------------
    async def _run(self, call: SimCall) -> None:
        step = self.step_s
        self._emit(call, "Newchannel", primary=True, ChannelState="0", ChannelStateDesc="Down")
        self._emit(call, "Newchannel", primary=False, ChannelState="4", ChannelStateDesc="Ring")
        await asyncio.sleep(step)
        if call.number == BUSY:
            self._end(call, "17", "User busy", reason="5")
            return
        self._set_state(call, "5", "Ringing")
        await asyncio.sleep(step)
        if call.number == NO_ANSWER:
            await asyncio.sleep(step * 5)
            self._end(call, "19", "User alerting, no answer", reason="3")
            return
        if call.channel_id not in self.calls:
            return
        self._set_state(call, "6", "Up")
        self.ami.broadcast(
            "OriginateResponse",
            ActionID=call.action_id,
            Response="Success",
            Reason="4",
            Uniqueid=call.channel_id,
            Channel=f"Local/{call.number}@opendeep-outbound",
        )
        self.ami.broadcast(
            "UserEvent",
            UserEvent="OpenDeepAMD",
            CallUUID=call.channel_id,
            Status="HUMAN",
            Cause="HUMAN-1-1",
        )
        talk = step * 3 if call.number == QUICK_HANGUP else self.talk_s
        await asyncio.sleep(talk)
        if call.channel_id in self.calls:
            self._end(call, "16", "Normal Clearing")

    def _set_state(self, call: SimCall, state: str, desc: str) -> None:
        if call.channel_id not in self.calls:
            return
        call.state = state
        self._emit(call, "Newstate", primary=True, ChannelState=state, ChannelStateDesc=desc)

    def _end(self, call: SimCall, cause: str, text: str, reason: str | None = None) -> None:
        if self.calls.pop(call.channel_id, None) is None:
            return
        self._emit(call, "Hangup", primary=False, Cause=cause, **{"Cause-txt": text})
        self._emit(call, "Hangup", primary=True, Cause=cause, **{"Cause-txt": text})
        if reason is not None:
            self.ami.broadcast(
                "OriginateResponse",
                ActionID=call.action_id,
                Response="Failure",
                Reason=reason,
                Uniqueid=call.channel_id,
                Channel=f"Local/{call.number}@opendeep-outbound",
            )

    def _emit(self, call: SimCall, name: str, *, primary: bool, **headers: str) -> None:
        self.ami.broadcast(
            name,
            Channel=call.channel if primary else f"{call.name};2",
            Uniqueid=call.channel_id if primary else call.other_id,
            Linkedid=call.channel_id,
            **headers,
        )

    def _spawn(self, coro: object) -> None:
        task = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
