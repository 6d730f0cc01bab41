"""The argparse types every ``ordergate`` subcommand shares (pure)."""

from __future__ import annotations

import argparse

import pytest

from gateway.cli_args import exit_codes_text, log_level, port, redis_url


@pytest.mark.parametrize("text", ["65536", "99999", "-1", "x", "８０", "1" * 400, ""])
def test_port_outside_0_to_65535_is_refused_not_wrapped(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        port(text)


def test_port_in_range_is_taken() -> None:
    assert (port("0"), port("8080"), port("65535")) == (0, 8080, 65535)


@pytest.mark.parametrize("text", ["verbose", "trace", "", "INFO2"])
def test_unknown_log_level_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="debug, info"):
        log_level(text)


def test_log_level_of_any_case_is_lower_case() -> None:
    assert log_level("WARNING") == "warning"


def test_redis_url_of_another_scheme_is_refused_without_its_password() -> None:
    with pytest.raises(argparse.ArgumentTypeError) as ei:
        redis_url("http://user:hunter2@host:6379/0")
    assert "hunter2" not in str(ei.value)
    assert redis_url("rediss://h:6380/1") == "rediss://h:6380/1"


def test_exit_codes_text_lists_each_code() -> None:
    assert exit_codes_text({0: "done", 2: "bad flag"}) == "exit codes:\n  0  done\n  2  bad flag"
