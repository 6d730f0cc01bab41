"""Token rules of the API (pure: no server; the JWKS-over-HTTP path is in tests/e2e)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gateway.auth import (
    DEV_SECRET,
    AuthError,
    AuthSettings,
    JwksKeys,
    TokenVerifier,
    bearer_token,
    check_production_safety,
    mint_token,
    principal_from_claims,
)

SECRET = "unit-test-secret-at-least-32-bytes-long"


def hs_verifier() -> TokenVerifier:
    return TokenVerifier(AuthSettings(algorithm="HS256", secret=SECRET))


def claims(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sub": "alice",
        "accounts": ["A1", "A2"],
        "scope": "trade read",
        "exp": int(time.time()) + 600,
    }
    base.update(over)
    return base


async def test_valid_hs256_token_gives_subject_accounts_and_scopes() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    p = await hs_verifier().verify(token)
    assert p.sub == "alice"
    assert p.accounts == frozenset({"A1", "A2"})
    assert p.scopes == frozenset({"trade", "read"})


async def test_expired_token_is_refused() -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 60), SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match="expired"):
        await hs_verifier().verify(token)


async def test_cached_token_is_refused_once_it_expires() -> None:
    exp = int(time.time()) + 600
    token = jwt.encode(claims(exp=exp), SECRET, algorithm="HS256")
    v = hs_verifier()
    await v.verify(token)
    with pytest.raises(AuthError, match="expired"):
        await v.verify(token, now=exp + 60)


async def test_token_without_expiry_is_refused() -> None:
    c = claims()
    del c["exp"]
    with pytest.raises(AuthError):
        await hs_verifier().verify(jwt.encode(c, SECRET, algorithm="HS256"))


async def test_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(AuthError):
        await hs_verifier().verify(
            jwt.encode(claims(), "another-secret-at-least-32-bytes-long", algorithm="HS256")
        )


async def test_tampered_payload_is_refused() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    head, payload, sig = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["accounts"] = ["A1", "A2", "VICTIM"]
    payload2 = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(AuthError):
        await hs_verifier().verify(f"{head}.{payload2}.{sig}")


async def test_alg_none_token_is_refused() -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(AuthError, match="algorithm"):
        await hs_verifier().verify(token)


async def test_hs256_token_is_refused_when_rs256_is_configured() -> None:
    """Key confusion: an HS256 token 'signed' with the public key must not pass."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = JwksKeys("http://unused.invalid/jwks.json")
    jwks.keys = {"k1": key.public_key()}
    v = TokenVerifier(AuthSettings(algorithm="RS256", jwks_url=jwks.url), jwks=jwks)
    token = jwt.encode(
        claims(), "anything-at-least-32-bytes-long-xx", algorithm="HS256", headers={"kid": "k1"}
    )
    with pytest.raises(AuthError, match="algorithm"):
        await v.verify(token)


async def test_rs256_token_verified_with_jwks_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    jwks = JwksKeys("http://unused.invalid/jwks.json")
    jwks.keys = JwksKeys.parse({"keys": [jwk]})
    v = TokenVerifier(AuthSettings(algorithm="RS256", jwks_url=jwks.url), jwks=jwks)
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    assert (await v.verify(token)).sub == "alice"


def test_missing_authorization_header_is_refused() -> None:
    with pytest.raises(AuthError, match="missing"):
        bearer_token(None)


def test_non_bearer_authorization_header_is_refused() -> None:
    with pytest.raises(AuthError):
        bearer_token("Basic YWxpY2U6c2VjcmV0")


def test_cognito_style_scopes_keep_their_last_segment() -> None:
    p = principal_from_claims(
        {"sub": "x", "accounts": ["A1"], "scope": "ordergate/trade ordergate/read"}
    )
    assert p.scopes == frozenset({"trade", "read"})


def test_accounts_claim_must_be_a_list_of_strings() -> None:
    with pytest.raises(AuthError, match="accounts"):
        principal_from_claims({"sub": "x", "accounts": [1, 2], "scope": "read"})


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(RuntimeError, match="development secret"):
        check_production_safety("production", AuthSettings(algorithm="HS256", secret=DEV_SECRET))


def test_development_accepts_the_development_secret() -> None:
    check_production_safety("development", AuthSettings(algorithm="HS256", secret=DEV_SECRET))


async def test_minted_development_token_verifies_with_default_settings() -> None:
    token = mint_token("dev", ["A1"])
    p = await TokenVerifier(AuthSettings()).verify(token)
    assert p.accounts == frozenset({"A1"}) and p.scopes == frozenset({"trade", "read"})
