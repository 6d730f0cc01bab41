"""``ordergate status --resend FROM-TO``: the range parsed precisely, bad input refused."""

from __future__ import annotations

import pytest

from connector.status_cli import parse_range


def test_resend_range_is_two_sequence_numbers():
    assert parse_range("5-9") == (5, 9)
    assert parse_range(" 7-7 ") == (7, 7)


@pytest.mark.parametrize("text", ["", "5", "5-", "-9", "a-9", "5-9-11", "5..9", "0-3", "9-5"])
def test_malformed_or_empty_resend_range_is_refused(text):
    with pytest.raises(ValueError):
        parse_range(text)
