"""An RQ worker for the `vision` queue, with OpenCV and the job module imported up front.

Importing before the work loop means every forked work-horse inherits OpenCV already loaded,
instead of paying the import on each job. `python -m vision_feed.worker --url URL [--burst]`.
"""

from __future__ import annotations

import argparse
import os

import cv2
from redis import Redis
from rq import Queue, Worker

import vision_feed.jobs  # noqa: F401  (preload for the forked horses)
from vision_feed.jobs import QUEUE_NAME


def run_worker(
    redis_url: str,
    *,
    queues: tuple[str, ...] = (QUEUE_NAME,),
    burst: bool = False,
    name: str | None = None,
) -> bool:
    """Work the queues until stopped (or until empty with `burst`); True if any job ran."""
    cv2.setNumThreads(1)  # one process per core scales better than OpenCV threads fighting
    connection = Redis.from_url(redis_url)
    worker = Worker(
        [Queue(q, connection=connection) for q in queues], connection=connection, name=name
    )
    return worker.work(burst=burst, logging_level="WARNING")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--name")
    parser.add_argument("queues", nargs="*", default=[QUEUE_NAME])
    args = parser.parse_args(argv)
    run_worker(args.url, queues=tuple(args.queues), burst=args.burst, name=args.name)


if __name__ == "__main__":
    main()
