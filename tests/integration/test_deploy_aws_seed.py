"""The compose settings path without Docker: ``operations.stack.aws_seed`` fills a real moto server,
then ``deploy/ordergate.toml`` resolves from it and a real ``ordergate api`` starts with it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from support.api import ORDERGATE, ApiProcess
from support.moto import moto_server
from support.procs import RedisServer

from gateway.config import GatewayConfig
from gateway.references import aws_client

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "deploy" / "ordergate.toml")


@pytest.fixture(scope="module")
def aws_env() -> Iterator[dict[str, str]]:
    with moto_server() as env:
        yield {**env, "OG_ENVIRONMENT": "dev"}


class ConfigOnlyApi(ApiProcess):
    """``ordergate api`` with no --redis: everything from OG_CONFIG, as in docker-compose."""

    def command(self) -> list[str]:
        return [*ORDERGATE, "api", "--host", "127.0.0.1", "--port", str(self.port)]


def seed(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "operations.stack.aws_seed"],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_seeded_emulator_resolves_the_compose_config_and_the_api_starts_with_it(
    aws_env: dict[str, str], tmp_path: Path
) -> None:
    redis = RedisServer().start()
    try:
        env = {**aws_env, "OG_SEED_REDIS_URL": redis.url}
        out = seed(env)
        assert out.returncode == 0, out.stderr
        cfg = GatewayConfig.load(CONFIG, env)
        assert cfg.redis_url == redis.url and cfg.environment == "dev"
        assert len(cfg.jwt.secret) >= 32 and not cfg.jwt.is_development_secret
        buckets = aws_client("s3", env).list_buckets()["Buckets"]
        assert "ordergate-dev-audit" in [b["Name"] for b in buckets]

        # the API with nothing but the config and the environment compose gives it
        api = ConfigOnlyApi(redis_url="", env={**env, "OG_CONFIG": CONFIG})
        api.start()
        try:
            token = (
                subprocess.run(
                    [sys.executable, "-m", "gateway.cli", "token", "--account", "DEMO-BUY"],
                    env={**os.environ, **env, "OG_CONFIG": CONFIG},
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            assert jwt.decode(token, cfg.jwt.secret, algorithms=["HS256"])["accounts"] == [
                "DEMO-BUY"
            ]
            r = httpx.get(
                f"{api.url}/v1/orders",
                params={"account": "DEMO-BUY"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert r.status_code == 200, r.text
        finally:
            api.stop()
    finally:
        redis.stop()


def test_seeding_twice_keeps_the_secret(aws_env: dict[str, str]) -> None:
    assert seed(aws_env).returncode == 0
    first = GatewayConfig.load(CONFIG, aws_env).jwt.secret
    assert seed(aws_env).returncode == 0
    assert GatewayConfig.load(CONFIG, aws_env).jwt.secret == first


def test_seeding_refuses_to_run_without_an_emulator_endpoint() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    out = subprocess.run(
        [sys.executable, "-m", "operations.stack.aws_seed"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "AWS_ENDPOINT_URL is not set" in out.stderr
