"""The chaos checks can fail: the sequence check refuses a step back, a reset to 1 and a final
number that does not cover the orders (pure: series given, no processes)."""

from __future__ import annotations

from typing import Any

import pytest
from harness import SeqSampler

pytestmark = [pytest.mark.chaos]


def sampler(**series: list[int]) -> SeqSampler:
    s = SeqSampler(stack=None)  # type: ignore[arg-type]  # never started: only the check runs
    s.series = {
        "redis_out": [2, 50, 120],
        "redis_in": [1, 60, 200],
        "venue_in": [2, 50, 120],
        "venue_out": [2, 60, 200],
        **series,
    }
    return s


def test_growing_sequence_numbers_pass() -> None:
    sampler().assert_never_back_nor_reset(min_out=100)


@pytest.mark.parametrize(
    "series",
    [
        {"redis_out": [2, 50, 49, 120]},  # went back
        {"venue_in": [2, 50, 1, 120]},  # reset to 1 (and grew again)
        {"venue_out": [5, 60, 1]},  # the venue reset its own numbers
        {"redis_in": [5]},  # not sampled during the run
        {"redis_out": [2, 50, 90], "venue_in": [2, 50, 90]},  # final number below the orders
    ],
)
def test_step_back_reset_or_missing_samples_fail(series: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        sampler(**series).assert_never_back_nor_reset(min_out=100)
