"""StoreStarter's bookkeeping (pure logic, so a stand-in store): one shared start, a retry
after a failed one, and a close that waits for a start still running."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from bookstore.errors import StoreUnavailable
from bookstore.stores.base import StoreStarter


class SlowStore:
    """Starts when ``release`` is set (failing the first ``failures`` times)."""

    def __init__(self, failures: int = 0) -> None:
        self.release = asyncio.Event()
        self.failures = failures
        self.starts = 0
        self.closes = 0

    async def start(self) -> None:
        self.starts += 1
        await self.release.wait()
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("not yet (test)")

    async def close(self) -> None:
        self.closes += 1


def starter(store: SlowStore) -> StoreStarter:
    return StoreStarter(store)  # type: ignore[arg-type]


async def test_concurrent_callers_share_one_start_and_a_failed_one_is_retried() -> None:
    store = SlowStore(failures=1)
    start = starter(store)
    waiting = [asyncio.ensure_future(start.ready()) for _ in range(3)]
    await asyncio.sleep(0)
    store.release.set()
    outcomes: list[Any] = await asyncio.gather(*waiting, return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [StoreUnavailable] * 3
    assert store.starts == 1
    assert await start.ready() is cast(object, store)
    assert store.starts == 2


async def test_close_waits_for_a_start_in_progress_and_closes_what_it_started() -> None:
    store = SlowStore()
    start = starter(store)
    caller = asyncio.ensure_future(start.ready())
    await asyncio.sleep(0)
    closing = asyncio.ensure_future(start.close())
    await asyncio.sleep(0)
    assert not closing.done()
    store.release.set()
    await closing
    assert store.closes == 1
    assert await caller is cast(object, store)


async def test_close_after_a_cancelled_start_closes_nothing() -> None:
    store = SlowStore()
    start = starter(store)
    caller = asyncio.ensure_future(start.ready())
    await asyncio.sleep(0)
    assert start._started is not None
    start._started.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await start.close()
    assert store.closes == 0
