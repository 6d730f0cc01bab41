"""Bearer-token authentication: who is calling, which accounts and scopes the token grants.

Two ways to trust a token, chosen by configuration:

* HS256 with a shared secret (development; ``ordergate token`` mints such tokens). With no
  configured secret the API and ``ordergate token`` share :data:`DEV_SECRET`, which a
  production environment refuses (see :func:`check_production_safety`).
* RS256 with the keys of a JWKS document (production; as Amazon Cognito publishes them).

Verification is pure apart from fetching the JWKS, which :class:`JwksKeys` does off the event
loop. The claims the API relies on: ``sub``, ``accounts`` (list of account ids) and ``scope``
(``trade``, ``read``, ``ops``, and the console's ``ops:read``, ``ops:halt``, ``sim:control``; a space-separated string as Cognito writes it, or a list).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from gateway.config import DEV_JWT_SECRET

#: Built-in development secret: shared by ``ordergate api`` and ``ordergate token`` when no
#: secret is configured (defined by ``gateway.config``). Never valid in production.
DEV_SECRET = DEV_JWT_SECRET

#: ``ops:read`` / ``ops:halt`` / ``sim:control`` are the console's: each grants one thing and
#: none implies another (``ops`` stays the API's scope for /metrics and halt).
CONSOLE_SCOPES = ("ops:read", "ops:halt", "sim:control")
SCOPES = ("trade", "read", "ops", *CONSOLE_SCOPES)
DEFAULT_TOKEN_SCOPES = ("trade", "read")


class AuthError(Exception):
    """The request carries no acceptable token (401)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    sub: str
    accounts: frozenset[str]
    scopes: frozenset[str]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class AuthSettings:
    """How tokens are checked. ``algorithm`` is ``HS256`` or ``RS256``."""

    algorithm: str = "HS256"
    secret: str = DEV_SECRET
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = 5.0

    @property
    def uses_dev_secret(self) -> bool:
        return self.algorithm == "HS256" and self.secret == DEV_SECRET


def check_production_safety(environment: str, settings: AuthSettings) -> None:
    """Refuse to run a production API that would accept tokens signed with the public dev secret."""
    if environment == "production" and settings.uses_dev_secret:
        raise RuntimeError(
            "refusing to start: environment is 'production' but the API would accept tokens "
            "signed with the built-in development secret; configure a JWT secret or a JWKS URL"
        )
    if settings.algorithm not in ("HS256", "RS256"):
        raise RuntimeError(f"unsupported JWT algorithm {settings.algorithm!r} (HS256 or RS256)")
    if settings.algorithm == "RS256" and not settings.jwks_url:
        raise RuntimeError("RS256 needs a JWKS URL (jwt.jwks_url)")
    if settings.algorithm == "HS256" and not settings.secret:
        raise RuntimeError("HS256 needs a non-empty secret")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise AuthError("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("authorization header is not 'Bearer <token>'")
    return token


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Check the claims the API relies on and build the caller."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise AuthError("token has no subject")
    accounts = claims.get("accounts", [])
    if isinstance(accounts, str):
        accounts = [accounts]
    if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
        raise AuthError("token 'accounts' claim is not a list of account ids")
    raw_scope = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw_scope, str):
        scopes: Iterable[str] = raw_scope.split()
    elif isinstance(raw_scope, list) and all(isinstance(s, str) for s in raw_scope):
        scopes = raw_scope
    else:
        raise AuthError("token 'scope' claim is neither a string nor a list")
    # Cognito resource-server scopes look like "ordergate/trade": keep the last segment.
    return Principal(
        sub=sub,
        accounts=frozenset(accounts),
        scopes=frozenset(s.rsplit("/", 1)[-1] for s in scopes),
    )


@dataclass
class JwksKeys:
    """RS256 public keys by ``kid``, fetched from a JWKS URL and refreshed on an unknown ``kid``.

    Refreshes are rate-limited so a flood of tokens with invented ``kid`` values cannot turn
    the API into a JWKS load generator.
    """

    url: str
    min_refresh_interval: float = 30.0
    timeout: float = 5.0
    keys: dict[str, Any] = field(default_factory=dict)
    _last_fetch: float = -1e9

    @staticmethod
    def parse(document: Mapping[str, Any]) -> dict[str, Any]:
        """Public keys of a JWKS document (RSA signing keys only)."""
        out: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
                continue
            out[str(jwk.get("kid", ""))] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        return out

    def _fetch(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url, timeout=self.timeout) as resp:  # noqa: S310
            return self.parse(json.loads(resp.read()))

    async def refresh(self) -> None:
        self._last_fetch = time.monotonic()
        self.keys = await asyncio.to_thread(self._fetch)

    async def key_for(self, kid: str) -> Any | None:
        key = self.keys.get(kid)
        if key is None and time.monotonic() - self._last_fetch >= self.min_refresh_interval:
            try:
                await self.refresh()
            except OSError:
                return None
            key = self.keys.get(kid)
        return key


class TokenVerifier:
    """Turn a bearer token into a :class:`Principal`, or raise :class:`AuthError`.

    Verified tokens are cached until they expire (keyed by the exact token string), so the
    signature is checked once per token rather than once per request.
    """

    def __init__(self, settings: AuthSettings, jwks: JwksKeys | None = None) -> None:
        self.settings = settings
        self.jwks = jwks
        if settings.algorithm == "RS256" and jwks is None:
            if not settings.jwks_url:
                raise ValueError("RS256 needs a JWKS URL")
            self.jwks = JwksKeys(settings.jwks_url)
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._cache_max = 10_000

    async def verify(self, token: str, now: float | None = None) -> Principal:
        now = time.time() if now is None else now
        principal = self.verify_now(token, now)
        if principal is not None:
            return principal
        assert self.jwks is not None  # verify_now waits only for a JWKS key
        key = await self.jwks.key_for(self._kid(token))
        if key is None:
            raise AuthError("token signed with an unknown key")
        return self._accept(token, key, now)

    def verify_now(self, token: str, now: float | None = None) -> Principal | None:
        """``verify`` without waiting: the caller, or None when the token's key must first be
        fetched from the JWKS URL (then ``await verify``). Raises ``AuthError`` as it does."""
        now = time.time() if now is None else now
        cached = self._cache.get(token)
        if cached is not None:
            principal, exp = cached
            if now < exp + self.settings.leeway_seconds:
                return principal
            del self._cache[token]
        kid = self._kid(token)
        if self.settings.algorithm == "HS256":
            return self._accept(token, self.settings.secret, now)
        assert self.jwks is not None
        key = self.jwks.keys.get(kid)
        return None if key is None else self._accept(token, key, now)

    def _kid(self, token: str) -> str:
        """The token's key id, after checking its header names the configured algorithm."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(f"malformed token: {exc}") from None
        alg = header.get("alg")
        if alg != self.settings.algorithm:
            raise AuthError(f"token algorithm {alg!r} is not accepted")
        return str(header.get("kid", ""))

    def _accept(self, token: str, key: Any, now: float) -> Principal:
        claims = self.decode(token, key, now)
        principal = principal_from_claims(claims)
        if len(self._cache) >= self._cache_max:
            self._cache.clear()
        self._cache[token] = (principal, float(claims["exp"]))
        return principal

    def decode(self, token: str, key: Any, now: float) -> dict[str, Any]:
        s = self.settings
        options: Any = {"require": ["exp", "sub"], "verify_aud": s.audience is not None}
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[s.algorithm],
                options=options,
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway_seconds,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        # jwt.decode checks exp against the wall clock; honour an injected ``now`` as well.
        if float(claims["exp"]) + s.leeway_seconds <= now:
            raise AuthError("token expired")
        return claims


def mint_token(
    sub: str,
    accounts: Iterable[str],
    scopes: Iterable[str] = DEFAULT_TOKEN_SCOPES,
    *,
    secret: str = DEV_SECRET,
    ttl_seconds: int = 86_400,
    now: float | None = None,
) -> str:
    """An HS256 development token (what ``ordergate token`` prints)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": sub,
        "accounts": list(accounts),
        "scope": " ".join(scopes),
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
