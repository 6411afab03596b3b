"""A consumer process that dies at one of the consumer's checkpoints, as a crash would:
`python -m tests.recsys.streaming.crashing_consumer built|stored` (settings from the
environment, as `python -m recsys consume` reads them)."""

from __future__ import annotations

import os
import sys

from recsys.settings import Settings
from recsys.streaming.consumer import EventConsumer


def crash_at(point: str):
    def checkpoint(name: str) -> None:
        if name == point:
            os._exit(3)  # no clean-up, no commit: what a killed process leaves

    return checkpoint


if __name__ == "__main__":
    EventConsumer(Settings(), checkpoint=crash_at(sys.argv[1])).run(idle_exit_seconds=2)
