"""What every route shares: the context object, the HTTP-level error, the shared checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.auth import Principal, TokenVerifier, bearer_token

from . import errors, parsing
from .metrics import Metrics


@dataclass
class ApiContext:
    """What the routes share: the gateway, reference data, token checking, metrics."""

    gateway: Any  # gateway.orders.OrderGateway
    refdata: Any  # gateway.refdata.ReferenceData
    verifier: TokenVerifier
    environment: str = "development"
    process: str = "api"
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], Any] | None = None
    ready: bool = False
    started_at: float = field(default_factory=time.time)
    # the symbols listing changes only with the trading day (limits, tick tables in force)
    symbols_cache: tuple[Any, bytes] | None = None


class ApiError(Exception):
    """An HTTP-level refusal (auth, body, media type) with a stable code."""

    def __init__(
        self, code: str, message: str, field: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status


async def principal_for(ctx: ApiContext, authorization: str | None, scope: str) -> Principal:
    """The caller of a request with this Authorization header, holding ``scope``."""
    principal = await ctx.verifier.verify(bearer_token(authorization))
    check_scope(principal, scope)
    return principal


def check_scope(principal: Principal, scope: str) -> None:
    """403 when the token lacks ``scope``."""
    if not principal.has_scope(scope):
        raise ApiError(errors.INSUFFICIENT_SCOPE, f"this call needs the '{scope}' scope")


def check_body_headers(content_length: str | None, content_type: str | None) -> None:
    """413 for a declared length over the limit, 415 for anything but JSON."""
    if (
        content_length is not None
        and content_length.isascii()  # str.isdigit takes "²", which int() refuses
        and content_length.isdigit()
        and (
            len(content_length.lstrip("0")) > len(str(parsing.MAX_BODY_BYTES))
            or int(content_length) > parsing.MAX_BODY_BYTES
        )
    ):
        raise ApiError(errors.BODY_TOO_LARGE, f"body exceeds {parsing.MAX_BODY_BYTES} bytes")
    if not parsing.is_json_content_type(content_type):
        raise ApiError(errors.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")


def too_large() -> ApiError:
    return ApiError(errors.BODY_TOO_LARGE, f"body exceeds {parsing.MAX_BODY_BYTES} bytes")


def check_account(principal: Principal, account: str) -> None:
    """403 when the token does not grant ``account``."""
    if account not in principal.accounts:
        raise ApiError(
            errors.FORBIDDEN_ACCOUNT, f"the token does not grant account {account!r}", "account"
        )
