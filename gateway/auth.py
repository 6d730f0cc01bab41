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

#: Claim every token of :func:`mint_token` carries (``ordergate token``, the load test's):
#: a production API refuses such tokens whatever key signed them.
DEV_TOKEN_CLAIM = "og_dev"

#: ``ops:read`` / ``ops:halt`` / ``sim:control`` are the console's: each grants one thing and
#: none implies another (``ops`` stays the API's scope for /metrics and halt).
CONSOLE_SCOPES = ("ops:read", "ops:halt", "sim:control")
SCOPES = ("trade", "read", "ops", *CONSOLE_SCOPES)
DEFAULT_TOKEN_SCOPES = ("trade", "read")
#: Cognito's resource-server form of a scope, ``<resource server>/<scope>``, is accepted for
#: this resource server only (``jwt.resource_server``): ``ordergate/ops`` is ``ops``, ``evil/ops``
#: is nothing
DEFAULT_RESOURCE_SERVER = "ordergate"
#: the time claims (``exp``, ``nbf``, ``iat``) must be JSON numbers from 0 up to the end of the
#: year 9999 (RFC 7519 NumericDate); anything else is a malformed token, not a 500
MAX_NUMERIC_DATE = 253_402_300_799
TIME_CLAIMS = ("exp", "nbf", "iat")

#: 401 codes: no token at all, or a token that is not acceptable (RFC 6750's invalid_token)
MISSING_TOKEN = "unauthorized"
INVALID_TOKEN = "invalid_token"


class AuthError(Exception):
    """The request carries no acceptable token (401); ``code`` tells missing from invalid."""

    def __init__(self, message: str, code: str = INVALID_TOKEN) -> None:
        super().__init__(message)
        self.code = code


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
    resource_server: str = DEFAULT_RESOURCE_SERVER
    refuse_dev_tokens: bool = False  # production: tokens carrying DEV_TOKEN_CLAIM are refused

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
        raise AuthError("missing bearer token", MISSING_TOKEN)
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("authorization header is not 'Bearer <token>'", MISSING_TOKEN)
    return token


def check_time_claims(claims: Mapping[str, Any]) -> float:
    """The token's ``exp`` as a float, after checking that every time claim present is a JSON
    number (not a bool, not a string) between 0 and :data:`MAX_NUMERIC_DATE`. PyJWT accepts
    ``"exp": "123"`` or ``true`` (it calls ``int()``) and a 400-digit ``exp`` (which then
    overflowed ``float()``: a 500 on every route)."""
    for name in TIME_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AuthError(f"token claim {name!r} is not a number")
        if not 0 <= value <= MAX_NUMERIC_DATE:  # NaN fails this too
            raise AuthError(f"token claim {name!r} is out of range")
    if "exp" not in claims:
        raise AuthError("token has no expiry")
    return float(claims["exp"])


def scopes_of(raw: Iterable[str], resource_server: str = DEFAULT_RESOURCE_SERVER) -> frozenset[str]:
    """The API's scopes among a token's: each must be exactly a scope (``ops``) or exactly this
    resource server's form of one (``ordergate/ops``); nothing matches by prefix or suffix."""
    qualified = f"{resource_server}/" if resource_server else None
    out = set()
    for s in raw:
        if qualified is not None and s.startswith(qualified):
            s = s[len(qualified) :]
        if s in SCOPES:
            out.add(s)
    return frozenset(out)


def principal_from_claims(
    claims: Mapping[str, Any], resource_server: str = DEFAULT_RESOURCE_SERVER
) -> Principal:
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
    return Principal(
        sub=sub, accounts=frozenset(accounts), scopes=scopes_of(scopes, resource_server)
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
        if self.settings.refuse_dev_tokens and claims.get(DEV_TOKEN_CLAIM):
            raise AuthError("development token refused: this API runs in production")
        principal = principal_from_claims(claims, self.settings.resource_server)
        if len(self._cache) >= self._cache_max:
            self._cache.clear()
        self._cache[token] = (principal, check_time_claims(claims))
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
        if check_time_claims(claims) + s.leeway_seconds <= now:
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
        DEV_TOKEN_CLAIM: True,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
