"""The decode threads serve finals before partials, and say when work is waiting."""

from __future__ import annotations

import threading
import time

import pytest

from telephony.speech.scheduler import PriorityExecutor, Urgency


def test_most_urgent_work_runs_first_and_equal_work_in_arrival_order() -> None:
    pool = PriorityExecutor(1)
    gate, started, order = threading.Event(), threading.Event(), []
    blocker = pool.submit(lambda: (started.set(), gate.wait(5)))
    assert started.wait(5)
    jobs = [
        pool.submit(order.append, "later partial", urgency=Urgency.PARTIAL),
        pool.submit(order.append, "first partial", urgency=Urgency.FIRST_PARTIAL),
        pool.submit(order.append, "final A", urgency=Urgency.FINAL),
        pool.submit(order.append, "final B", urgency=Urgency.FINAL),
    ]
    assert pool.waiting() == 4
    assert pool.waiting(Urgency.FINAL) == 2
    assert pool.waiting(Urgency.FIRST_PARTIAL) == 3
    gate.set()
    for job in [blocker, *jobs]:
        job.result(5)
    assert order == ["final A", "final B", "first partial", "later partial"]
    assert pool.waiting() == 0
    pool.shutdown()


def test_a_failing_decode_reaches_its_caller_and_the_thread_goes_on() -> None:
    pool = PriorityExecutor(1)
    failed = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result(5)
    assert pool.submit(lambda: "still serving").result(5) == "still serving"
    pool.shutdown()


def test_shutdown_cancels_queued_work_and_refuses_new() -> None:
    pool = PriorityExecutor(1)
    gate, started = threading.Event(), threading.Event()
    running = pool.submit(lambda: (started.set(), gate.wait(5))[1])
    assert started.wait(5)
    queued = pool.submit(lambda: "never")
    stopper = threading.Thread(target=pool.shutdown, kwargs={"cancel_futures": True})
    stopper.start()
    gate.set()
    stopper.join(5)
    assert running.result(5) is True
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(lambda: None)



def test_busy_share_counts_running_and_recent_work() -> None:
    pool = PriorityExecutor(1)
    assert pool.busy(1.0) == 0.0
    gate, started = threading.Event(), threading.Event()
    running = pool.submit(lambda: (started.set(), gate.wait(5)))
    assert started.wait(5)
    time.sleep(0.4)
    assert 0.3 <= pool.busy(1.0) <= 1.0  # a job still running counts up to now
    gate.set()
    running.result(5)
    time.sleep(0.7)
    assert pool.busy(0.5) == 0.0  # the job ended before this window began
    assert 0.2 <= pool.busy(1.5) <= 1.0
    pool.shutdown()


def test_words_on_screen_are_refreshed_less_often_when_asked() -> None:
    from telephony.speech.live import LiveWhisper, UtteranceState
    from telephony.speech.vad import Utterance

    live = LiveWhisper(None, "ur", partial_every_s=1.0)  # type: ignore[arg-type]  # no decode
    first = Utterance(0.0, 1.2, bytes(2 * 8000 * 12 // 10), 8000)
    assert live.due(first, keeping_up=False, refresh_every_s=3.0)  # nothing on screen yet
    live.open = UtteranceState(0.0, decoded_until_s=1.2, shown=True)
    later = Utterance(0.0, 2.4, bytes(2 * 8000 * 24 // 10), 8000)
    assert live.due(later)
    assert not live.due(later, refresh_every_s=3.0)
    assert not live.due(later, keeping_up=False)
    much_later = Utterance(0.0, 4.4, bytes(2 * 8000 * 44 // 10), 8000)
    assert live.due(much_later, refresh_every_s=3.0)
