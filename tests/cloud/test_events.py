"""The in-process event bus: fan-out, thread-safe publish, slow subscribers never block."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cloud.events import EventBus


def _ev(i: int) -> dict:
    return {"type": "alert.new", "feature": {"id": str(i)}, "segment_id": None, "merged_into": None}


def test_fan_out_to_every_subscriber_and_from_threads() -> None:
    async def main() -> tuple[list, list]:
        bus = EventBus()
        a, b = bus.subscribe(), bus.subscribe()
        bus.publish(_ev(1))
        t = threading.Thread(target=bus.publish, args=(_ev(2),))
        t.start()
        t.join()
        got_a = [await asyncio.wait_for(a.get(), 2) for _ in range(2)]
        got_b = [await asyncio.wait_for(b.get(), 2) for _ in range(2)]
        a.close()
        bus.publish(_ev(3))
        assert bus.subscriber_count == 1
        return got_a, got_b

    got_a, got_b = asyncio.run(main())
    assert [e["feature"]["id"] for e in got_a] == ["1", "2"]
    assert [e["feature"]["id"] for e in got_b] == ["1", "2"]


def test_slow_subscriber_drops_oldest_without_blocking() -> None:
    async def main() -> tuple[int, int, str]:
        bus = EventBus()
        slow = bus.subscribe(maxsize=3)
        for i in range(10):
            bus.publish(_ev(i))
        return slow.dropped, slow.qsize(), slow.get_nowait()["feature"]["id"]

    dropped, size, first = asyncio.run(main())
    assert (dropped, size, first) == (7, 3, "7")


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"alert\.bogus"):
        EventBus().publish({"type": "alert.bogus"})
