"""URLs are printed and logged without their password."""

from gateway.config import redact_url


def test_password_in_a_redis_url_is_replaced() -> None:
    assert (
        redact_url("redis://og:hunter2@cache.internal:6380/1")
        == "redis://og:***@cache.internal:6380/1"
    )


def test_password_only_url_keeps_no_trace_of_it() -> None:
    out = redact_url("rediss://:s3cret@10.0.0.7/0")
    assert "s3cret" not in out and out == "rediss://:***@10.0.0.7/0"


def test_url_without_password_is_unchanged() -> None:
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
