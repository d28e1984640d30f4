"""`python -m media.realtime_server --port 8765 [--script file.json]`: a local Realtime-protocol
server for rehearsals; point `REALTIME_URL` at the URL it prints."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from media.realtime_server.responses import SimOptions
from media.realtime_server.script import ScriptError, demo_script, load_script
from media.realtime_server.server import RealtimeTestServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m media.realtime_server",
        description="Local OpenAI Realtime (GA protocol) server driven by a script.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port, 0 for any (default 8765)")
    parser.add_argument("--script", help="JSON script file (default: the dentist-booking demo)")
    parser.add_argument(
        "--realtime-factor",
        type=float,
        default=1.0,
        help="audio streaming speed: 1 real time, 2 twice as fast, 0 as fast as possible",
    )
    parser.add_argument("--chunk-ms", type=int, default=100, help="audio per delta event (ms)")
    parser.add_argument(
        "--transcription",
        choices=["on", "withhold", "fail"],
        default="on",
        help="caller transcription: on; withhold (send none, as with transcription off or its "
        "model retired); fail (every turn's transcription fails)",
    )
    return parser


async def _serve(server: RealtimeTestServer) -> None:
    async with server:
        print(f"Realtime server on {server.url} — script {server.script.name!r}", flush=True)
        print(f"set REALTIME_URL={server.url}", flush=True)
        await asyncio.Event().wait()  # until interrupted


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        script = load_script(args.script) if args.script else demo_script()
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.realtime_factor < 0 or args.chunk_ms < 1:
        print("error: --realtime-factor must be >= 0 and --chunk-ms >= 1", file=sys.stderr)
        return 2
    options = SimOptions(
        chunk_ms=args.chunk_ms,
        realtime_factor=args.realtime_factor,
        transcription=args.transcription,
    )
    server = RealtimeTestServer(script, host=args.host, port=args.port, options=options)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
