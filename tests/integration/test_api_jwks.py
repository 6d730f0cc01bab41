"""JWKS key handling against a real local HTTP server: rotation and refresh rate limit."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gateway.auth import AuthError, AuthSettings, JwksKeys, TokenVerifier


class _Jwks(BaseHTTPRequestHandler):
    keys: list[dict[str, str]] = []
    fetches = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).fetches += 1
        body = json.dumps({"keys": type(self).keys}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    jwk: dict[str, str] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig", alg="RS256")
    return jwk


def _token(key: rsa.RSAPrivateKey, kid: str) -> str:
    claims = {"sub": "u", "accounts": ["A1"], "scope": "read", "exp": int(time.time()) + 60}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def jwks_url() -> Iterator[str]:
    _Jwks.keys, _Jwks.fetches = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


def _verifier(url: str, min_refresh: float) -> TokenVerifier:
    jwks = JwksKeys(url, min_refresh_interval=min_refresh)
    return TokenVerifier(AuthSettings(algorithm="RS256", jwks_url=url), jwks=jwks)


async def test_a_key_added_to_the_jwks_is_picked_up_on_its_first_token(jwks_url: str) -> None:
    old, new = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    _Jwks.keys = [_jwk(old, "old")]
    verifier = _verifier(jwks_url, min_refresh=0)
    assert verifier.jwks is not None
    await verifier.jwks.refresh()
    assert (await verifier.verify(_token(old, "old"))).sub == "u"
    _Jwks.keys = [_jwk(old, "old"), _jwk(new, "new")]  # the provider rotates
    assert (await verifier.verify(_token(new, "new"))).sub == "u"


async def test_unknown_kids_do_not_refetch_the_jwks_more_than_the_interval_allows(
    jwks_url: str,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _Jwks.keys = [_jwk(key, "k")]
    verifier = _verifier(jwks_url, min_refresh=3600)
    assert verifier.jwks is not None
    await verifier.jwks.refresh()
    for i in range(5):
        with pytest.raises(AuthError, match="unknown key"):
            await verifier.verify(_token(key, f"invented-{i}"))
    assert _Jwks.fetches == 1
