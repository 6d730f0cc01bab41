"""Every auth rule against a real API process: 401 / 403 / 404, scopes, RS256 via a real JWKS."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from support.api import ROOT, ApiProcess, bearer, order_body
from support.procs import RedisServer

from gateway.auth import DEV_SECRET, mint_token

pytestmark = pytest.mark.e2e


def _claims(**over: object) -> dict[str, object]:
    c: dict[str, object] = {
        "sub": "t",
        "accounts": ["A1"],
        "scope": "trade read",
        "exp": int(time.time()) + 600,
    }
    c.update(over)
    return c


# --- 401 -------------------------------------------------------------------------------------


async def test_missing_token_answers_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/symbols", headers={"Authorization": ""})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_expired_token_answers_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/symbols", headers=bearer(now=time.time() - 7200, ttl_seconds=60))
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


async def test_tampered_token_answers_401(client: httpx.AsyncClient) -> None:
    token = mint_token("t", ["A1"])
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["accounts"] = ["A1", "B1"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = await client.get("/v1/symbols", headers={"Authorization": f"Bearer {head}.{forged}.{sig}"})
    assert r.status_code == 401


async def test_alg_none_token_answers_401(client: httpx.AsyncClient) -> None:
    token = jwt.encode(_claims(), None, algorithm="none")
    r = await client.get("/v1/symbols", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def _dev_signed(**over: object) -> dict[str, str]:
    token = jwt.encode(_claims(**over), DEV_SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "method,path",
    [("GET", "/v1/symbols"), ("GET", "/v1/orders?account=A1"), ("POST", "/v1/orders")],
)
async def test_signed_token_with_a_huge_exp_answers_401_invalid_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    """A 400-digit ``exp`` (signed with the dev secret) overflowed float(): 500 on every route."""
    headers = _dev_signed(exp=int("1" + "0" * 400))
    r = await client.request(method, path, json=order_body(), headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_scope_of_another_resource_server_does_not_grant_ops(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/v1/admin/halt", json={"scope": "all"}, headers=_dev_signed(scope="evil/ops read")
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    r = await client.get("/metrics", headers=_dev_signed(scope="evil/ops"))
    assert r.status_code == 403


async def test_token_signed_with_another_secret_answers_401(client: httpx.AsyncClient) -> None:
    token = jwt.encode(_claims(), "some-other-secret-of-at-least-32-bytes", algorithm="HS256")
    r = await client.get("/v1/symbols", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


# --- 403: scopes ------------------------------------------------------------------------------


async def test_read_only_token_cannot_submit(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/orders", json=order_body(), headers=bearer(scopes=("read",)))
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


async def test_trade_only_token_cannot_read(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/symbols", headers=bearer(scopes=("trade",)))
    assert r.status_code == 403


async def test_halt_needs_the_ops_scope(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/admin/halt", json={"scope": "all"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


# --- kill switch ------------------------------------------------------------------------------


async def test_halted_account_is_refused_with_a_stable_code_until_resumed(
    client: httpx.AsyncClient,
) -> None:
    ops = bearer(scopes=("ops",))
    r = await client.post("/v1/admin/halt", json={"scope": "account", "target": "A1"}, headers=ops)
    assert r.status_code == 200 and r.json()["state"] == "halted"
    refused = await client.post("/v1/orders", json=order_body())
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "halted"
    r = await client.post(
        "/v1/admin/resume", json={"scope": "account", "target": "A1"}, headers=ops
    )
    assert r.status_code == 200 and r.json()["state"] == "resumed"
    assert (await client.post("/v1/orders", json=order_body())).status_code == 202


async def test_halt_all_with_cancel_open_cancels_open_orders(client: httpx.AsyncClient) -> None:
    order_id = (await client.post("/v1/orders", json=order_body())).json()["order_id"]
    ops = bearer(scopes=("ops",))
    r = await client.post("/v1/admin/halt", json={"scope": "all", "cancel_open": True}, headers=ops)
    assert r.status_code == 200 and r.json()["canceled"] == 1
    assert (await client.get(f"/v1/orders/{order_id}")).json()["status"] == "pending_cancel"
    await client.post("/v1/admin/resume", json={"scope": "all"}, headers=ops)


# --- metrics (ops scope) ---------------------------------------------------------------------


async def test_metrics_without_a_token_answers_401(api: ApiProcess) -> None:
    async with httpx.AsyncClient(base_url=api.url) as c:
        r = await c.get("/metrics")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert "ordergate_api" not in r.text


async def test_metrics_with_a_trade_and_read_token_answers_403(client: httpx.AsyncClient) -> None:
    r = await client.get("/metrics")  # the client's token: trade + read
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


def test_ops_token_minted_without_an_account_scrapes_metrics(api: ApiProcess) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "token", "--scope", "ops"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    token = out.stdout.strip().splitlines()[-1]
    r = httpx.get(f"{api.url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "ordergate_api_requests_total" in r.text


def test_token_without_an_account_is_refused_unless_ops_only() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "token", "--scope", "trade"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 2 and "--account is required" in out.stderr


# --- the dev token command -------------------------------------------------------------------


async def test_token_printed_by_ordergate_token_is_accepted(client: httpx.AsyncClient) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "token", "--account", "A1"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    token = out.stdout.strip().splitlines()[-1]
    r = await client.post(
        "/v1/orders", json=order_body(), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 202


# --- configured environments ----------------------------------------------------------------


def test_production_refuses_to_start_with_the_development_secret(redis_server: RedisServer) -> None:
    proc = ApiProcess(redis_server.url, env={"OG_ENVIRONMENT": "production"}).start(
        wait_ready=False
    )
    assert proc.proc is not None
    rc = proc.proc.wait(20)
    assert rc != 0
    assert "development secret" in proc.log()


def test_healthz_reports_the_configured_environment(redis_server: RedisServer) -> None:
    env = {"OG_ENVIRONMENT": "staging", "OG_JWT_SECRET": "staging-secret-of-at-least-32-bytes!"}
    proc = ApiProcess(redis_server.url, env=env).start()
    try:
        assert httpx.get(f"{proc.url}/healthz").json()["environment"] == "staging"
        # and the dev secret is no longer accepted there
        r = httpx.get(f"{proc.url}/v1/symbols", headers=bearer())
        assert r.status_code == 401
    finally:
        proc.stop()


# --- RS256 with a JWKS served by a real HTTP server ------------------------------------------


class _Jwks(BaseHTTPRequestHandler):
    document = b"{}"

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.document)))
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def rs256_api(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ApiProcess, rsa.RSAPrivateKey]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="test-key", use="sig", alg="RS256")
    _Jwks.document = json.dumps({"keys": [jwk]}).encode()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{http.server_address[1]}/.well-known/jwks.json"
    config = Path(tmp_path_factory.mktemp("rs256")) / "api.toml"
    config.write_text(
        f'environment = "production"\n[jwt]\nalgorithm = "RS256"\njwks_url = "{url}"\n'
        'issuer = "https://idp.example"\n'
    )
    proc = ApiProcess(redis_server.url, config=str(config)).start()
    yield proc, key
    proc.stop()
    http.shutdown()


def _rs_token(key: rsa.RSAPrivateKey, kid: str = "test-key", **over: object) -> dict[str, str]:
    claims = _claims(iss="https://idp.example", scope="ordergate/read ordergate/trade", **over)
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
    return {"Authorization": f"Bearer {token}"}


def test_rs256_token_signed_by_a_jwks_key_is_accepted(
    rs256_api: tuple[ApiProcess, rsa.RSAPrivateKey],
) -> None:
    proc, key = rs256_api
    r = httpx.get(f"{proc.url}/v1/symbols/7203", headers=_rs_token(key))
    assert r.status_code == 200, r.text
    assert httpx.get(f"{proc.url}/healthz").json()["environment"] == "production"


def test_rs256_token_signed_by_an_unknown_key_answers_401(
    rs256_api: tuple[ApiProcess, rsa.RSAPrivateKey],
) -> None:
    proc, _ = rs256_api
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert httpx.get(f"{proc.url}/v1/symbols", headers=_rs_token(stranger)).status_code == 401
    assert (
        httpx.get(f"{proc.url}/v1/symbols", headers=_rs_token(stranger, kid="other")).status_code
        == 401
    )


def test_rs256_token_from_another_issuer_answers_401(
    rs256_api: tuple[ApiProcess, rsa.RSAPrivateKey],
) -> None:
    proc, key = rs256_api
    claims = _claims(iss="https://evil.example")
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})
    r = httpx.get(f"{proc.url}/v1/symbols", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_development_token_is_refused_by_an_rs256_api(
    rs256_api: tuple[ApiProcess, rsa.RSAPrivateKey],
) -> None:
    proc, _ = rs256_api
    assert httpx.get(f"{proc.url}/v1/symbols", headers=bearer()).status_code == 401
