"""A term's tasks all end when the term does, even one that lost its cancellation (Python
3.11's ``asyncio.wait_for`` drops a cancel that arrives as its inner call completes)."""

from __future__ import annotations

import asyncio

from connector.term import cancel_all


def test_a_task_that_swallowed_one_cancellation_is_cancelled_again() -> None:
    async def main() -> tuple[int, bool]:
        swallowed = 0

        async def stubborn() -> None:
            nonlocal swallowed
            while True:
                try:
                    await asyncio.sleep(0.01)
                except asyncio.CancelledError:
                    if swallowed:
                        raise
                    swallowed += 1  # lost, as in the wait_for race: the loop runs on

        async def plain() -> None:
            await asyncio.Event().wait()

        tasks = [asyncio.create_task(stubborn()), asyncio.create_task(plain())]
        await asyncio.sleep(0.02)
        await asyncio.wait_for(cancel_all(tasks, again_after=0.05), 5)
        return swallowed, all(t.done() for t in tasks)

    swallowed, all_done = asyncio.run(main())
    assert swallowed == 1
    assert all_done


def test_a_task_that_failed_is_awaited_without_raising() -> None:
    async def main() -> bool:
        async def fails() -> None:
            raise RuntimeError("boom")

        t = asyncio.create_task(fails())
        await asyncio.sleep(0)
        await cancel_all([t])
        return t.done() and not t.cancelled()

    assert asyncio.run(main())
