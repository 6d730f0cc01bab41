"""The private uvicorn and redis-py APIs the hot path uses, each behind one adapter module
(``stateless_api/uvicorn_compat.py``, ``gateway/redis_compat.py``). These tests fail, naming
what is missing, as soon as an upgrade changes what the adapters rely on."""

from __future__ import annotations

import argparse

import pytest
from redis import exceptions as rexc

from gateway import redis_compat
from stateless_api import cli, uvicorn_compat
from stateless_api.fastpath import FastHttpToolsProtocol


def test_installed_uvicorn_has_everything_the_fast_path_uses() -> None:
    assert uvicorn_compat.problems() == []


def test_installed_redis_py_maps_error_replies_as_resp_pipe_expects() -> None:
    assert redis_compat.problems() == []


def test_an_unsupported_uvicorn_version_is_named() -> None:
    found = uvicorn_compat.problems(uvicorn_version="0.55.0")
    assert found == ["uvicorn 0.55.0 is not a version the fast path was tested with (0.54.x)"]


def test_a_protocol_without_a_private_method_the_fast_path_calls_is_named() -> None:
    class Renamed(uvicorn_compat.HttpToolsProtocol):
        _start_asgi_task = None  # type: ignore[assignment]

    assert "HttpToolsProtocol._start_asgi_task is gone" in uvicorn_compat.problems(Renamed)


def test_a_protocol_without_the_state_the_fast_path_reads_is_named() -> None:
    class Stateless(uvicorn_compat.HttpToolsProtocol):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            del self.pipeline

    assert "HttpToolsProtocol has no 'pipeline'" in uvicorn_compat.problems(Stateless)


def test_the_fast_path_protocol_is_built_on_the_adapters_classes() -> None:
    assert issubclass(FastHttpToolsProtocol, uvicorn_compat.HttpToolsProtocol)


def test_an_unsupported_redis_py_version_is_named() -> None:
    assert redis_compat.problems("6.0.0")[0].startswith("redis-py 6.0.0 is not a version")


def test_error_replies_become_redis_py_exceptions() -> None:
    assert isinstance(redis_compat.reply_error("NOSCRIPT No matching script"), rexc.NoScriptError)
    assert type(redis_compat.reply_error("ERR boom")) is rexc.ResponseError


def api_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_api_refuses_the_fast_path_on_an_incompatible_uvicorn_and_names_the_way_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the one fake here stands for "an upgraded uvicorn": the check's own result
    monkeypatch.setattr(uvicorn_compat, "problems", lambda: ["HttpToolsProtocol.x is gone"])
    assert cli.run(api_args()) == 2
    err = capsys.readouterr().err
    assert "HttpToolsProtocol.x is gone" in err and "--http standard" in err
    assert cli.compatibility_problems("standard") == []  # the way out does not need it
