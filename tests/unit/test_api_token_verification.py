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


def rs_verifier() -> tuple[rsa.RSAPrivateKey, TokenVerifier]:
    """A new RSA key and a verifier holding its public half as the JWKS key ``k1``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = JwksKeys("http://unused.invalid/jwks.json")
    jwks.keys = {"k1": key.public_key()}
    return key, TokenVerifier(AuthSettings(algorithm="RS256", jwks_url=jwks.url), jwks=jwks)


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
    _, v = rs_verifier()
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


def test_cognito_style_scopes_of_this_resource_server_count() -> None:
    p = principal_from_claims(
        {"sub": "x", "accounts": ["A1"], "scope": "ordergate/trade ordergate/read"}
    )
    assert p.scopes == frozenset({"trade", "read"})


@pytest.mark.parametrize(
    "scope", ["evil/ops", "x/ordergate/ops", "ordergate/ops/x", "opsx", "xops", "OPS", "/ops"]
)
def test_scope_must_match_exactly_not_by_prefix_or_suffix(scope: str) -> None:
    p = principal_from_claims({"sub": "x", "accounts": [], "scope": [scope, "read"]})
    assert p.scopes == frozenset({"read"})


def test_resource_server_of_scopes_is_the_configured_one() -> None:
    c = {"sub": "x", "accounts": [], "scope": "broker/ops ordergate/trade"}
    assert principal_from_claims(c, resource_server="broker").scopes == frozenset({"ops"})


async def test_token_with_a_foreign_resource_servers_ops_scope_gets_no_ops() -> None:
    token = jwt.encode(claims(scope="evil/ops trade"), SECRET, algorithm="HS256")
    assert (await hs_verifier().verify(token)).scopes == frozenset({"trade"})


# --- time claims: type and range (a 400-digit exp was a 500 on every route) ----------------


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(10**400, id="400-digits"),
        -1,
        True,
        "1999999999",
        [1],
        {"a": 1},
        253_402_300_800,
        1e300,
    ],
)
async def test_time_claim_of_wrong_type_or_range_is_an_invalid_token(
    name: str, value: object
) -> None:
    token = jwt.encode(claims(**{name: value}), SECRET, algorithm="HS256")
    with pytest.raises(AuthError) as ei:
        await hs_verifier().verify(token)
    assert ei.value.code == "invalid_token"


async def test_huge_exp_in_an_rs256_token_is_an_invalid_token() -> None:
    key, v = rs_verifier()
    token = jwt.encode(
        claims(exp=int("1" + "0" * 400)), key, algorithm="RS256", headers={"kid": "k1"}
    )
    with pytest.raises(AuthError, match="exp"):
        await v.verify(token)


async def test_fractional_time_claims_within_range_are_accepted() -> None:
    now = time.time()
    token = jwt.encode(claims(exp=now + 600.5, iat=now - 0.5, nbf=now - 1.5), SECRET, "HS256")
    assert (await hs_verifier().verify(token)).sub == "alice"


def test_missing_token_and_invalid_token_have_their_own_codes() -> None:
    with pytest.raises(AuthError) as missing:
        bearer_token(None)
    assert missing.value.code == "unauthorized"


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
