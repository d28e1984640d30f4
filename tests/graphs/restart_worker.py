"""Run in a separate process by test_restart: start an orchestration, or answer its approval.

    python -m tests.graphs.restart_worker start|answer DATABASE_URL DATA_DIR USER_ID [FEEDBACK_ID]

Prints one JSON line with the result, then exits — so whatever the next step sees came
through the checkpointer and the database, not through this process's memory.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from core.db import Database
from core.settings import Settings
from graphs import GraphRunner
from tests.graphs.conftest import PLAN, clock


async def main(phase: str, url: str, data_dir: str, user_id: int, feedback_id: int | None) -> None:
    settings = Settings(_env_file=None, database_url=url, data_dir=Path(data_dir))  # type: ignore[call-arg]
    db = Database(url)
    try:
        async with GraphRunner.open(db, settings, clock=clock) as runner:
            if phase == "start":
                started = await runner.start_orchestration(user_id, PLAN, plan_id="restart")
                print(
                    json.dumps(
                        {
                            "thread_id": started.thread_id,
                            "feedback_id": started.feedback_id,
                            "status": started.status,
                        }
                    )
                )
            else:
                assert feedback_id is not None
                done = await runner.answer_feedback(user_id, feedback_id, {"type": "accept"})
                print(
                    json.dumps(
                        {"status": done.values["status"], "campaign_id": done.values["campaign_id"]}
                    )
                )
    finally:
        await db.dispose()


if __name__ == "__main__":
    phase, url, data_dir, user = sys.argv[1:5]
    feedback = int(sys.argv[5]) if len(sys.argv) > 5 else None
    asyncio.run(main(phase, url, data_dir, int(user), feedback))
