"""Decode threads that serve the most urgent work first.

All calls share a few decode threads. With a plain FIFO pool, a call whose caller has just
stopped speaking waits behind every other call's partial re-decode, so under load the final
(what the record keeps and triage reads) comes late although each partial only refreshes words
already on screen. Here work carries a priority: finals first, then first partials (the
call-taker has nothing on screen yet), then later partials; equal priorities run in arrival
order. `waiting()` (work queued) and `busy()` (share of recent time spent decoding) tell
the callers how loaded the threads are, so they can shed or cheapen optional work.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from enum import IntEnum
from typing import Any


class Urgency(IntEnum):
    FINAL = 0
    FIRST_PARTIAL = 1
    PARTIAL = 2


_STOP = object()


class PriorityExecutor:
    """A fixed pool of threads taking jobs by (urgency, arrival)."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "asr") -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._shutdown = False
        self._spans: deque[tuple[float, float]] = deque(maxlen=256)  # finished jobs
        self._running: dict[int, float] = {}  # thread id -> start of its current job
        self._threads = [
            threading.Thread(target=self._work, name=f"{thread_name_prefix}_{i}", daemon=True)
            for i in range(max_workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               urgency: Urgency = Urgency.FINAL, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queue.put((int(urgency), next(self._order), (future, fn, args, kwargs)))
        return future

    def waiting(self, at_most: Urgency = Urgency.PARTIAL) -> int:
        """Jobs queued (not yet running) of this urgency or a more urgent one."""
        with self._queue.mutex:
            return sum(1 for urgency, _, _ in self._queue.queue if urgency <= at_most)

    def _work(self) -> None:
        while True:
            _urgency, _order, job = self._queue.get()
            if job is _STOP:
                return
            future, fn, args, kwargs = job
            if not future.set_running_or_notify_cancel():
                continue
            me, started = threading.get_ident(), time.monotonic()
            with self._lock:
                self._running[me] = started
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting caller, as a pool does
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                with self._lock:
                    del self._running[me]
                    self._spans.append((started, time.monotonic()))

    def busy(self, window_s: float = 3.0) -> float:
        """Share of the last `window_s` the threads spent decoding (0..1)."""
        now = time.monotonic()
        since = now - window_s
        with self._lock:
            spans = [*self._spans, *((start, now) for start in self._running.values())]
        used = sum(max(0.0, end - max(start, since)) for start, end in spans if end > since)
        return min(1.0, used / (window_s * len(self._threads)))

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        if cancel_futures:
            while True:
                try:
                    _u, _o, job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not _STOP:
                    job[0].cancel()
        for _ in self._threads:  # after every job already queued: a stop sorts last
            self._queue.put((len(Urgency) + 1, next(self._order), _STOP))
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()
