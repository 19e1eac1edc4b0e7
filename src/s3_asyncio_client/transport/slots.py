"""A first-come, first-served count of connection slots, in front of aiohttp's pool;
and the retry budget, the other count that says whether a request may go.

aiohttp hands a released connection to whichever request asks next, so a task that
loops on requests keeps winning it while others wait without end; and its connect
timeout runs while a request waits for the pool. With a slot taken here first, in
arrival order, aiohttp always has a connection free (its limit is the same), and the
wait for a slot counts toward no timeout.

Rules:
1. A released slot goes straight to the longest waiter; a newcomer never overtakes
   a waiter.
2. A waiter cancelled before it gets a slot takes nothing and gives back nothing;
   one cancelled after being handed a slot, before it ran, passes it on.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["FairSlots", "RetryBudget"]


class FairSlots:
    """``count`` slots, taken with ``acquire()`` in arrival order, given back with
    ``release()``."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        """Slots nobody holds."""
        return self._free

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot, then cancelled before it ran (rule 2)
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot changes hands; the count stays
                return
        self._free += 1


class RetryBudget:
    """Tokens spent on retries and earned back by successes (AWS standard mode)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = self.tokens = capacity

    def spend(self, cost: int) -> bool:
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def refund(self, amount: int) -> None:
        self.tokens = min(self.capacity, self.tokens + amount)
