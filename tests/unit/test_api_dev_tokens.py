"""A production API refuses development tokens (``mint_token``'s ``og_dev`` claim), whatever
key signed them; other environments take them."""

from __future__ import annotations

import time

import jwt
import pytest

from gateway.auth import AuthError, AuthSettings, TokenVerifier, mint_token
from gateway.config import from_dict
from stateless_api.settings import settings_from

SECRET = "a-production-secret-of-at-least-32-bytes"


async def test_production_refuses_a_minted_token_signed_with_its_own_secret() -> None:
    verifier = TokenVerifier(AuthSettings(secret=SECRET, refuse_dev_tokens=True))
    with pytest.raises(AuthError, match="development token refused"):
        await verifier.verify(mint_token("dev", ["A1"], secret=SECRET))
    issued = jwt.encode(
        {"sub": "app", "accounts": ["A1"], "scope": "read", "exp": time.time() + 60},
        SECRET,
        algorithm="HS256",
    )
    assert (await verifier.verify(issued)).sub == "app"


async def test_other_environments_take_minted_tokens() -> None:
    verifier = TokenVerifier(AuthSettings(secret=SECRET))
    assert (await verifier.verify(mint_token("dev", ["A1"], secret=SECRET))).sub == "dev"


def test_only_the_production_environment_refuses_development_tokens() -> None:
    jwt_cfg = {"secret": SECRET}
    for environment, refused in (("production", True), ("staging", False), ("dev", False)):
        settings = settings_from(from_dict({"environment": environment, "jwt": jwt_cfg}))
        assert settings.auth.refuse_dev_tokens is refused, environment
