"""The API's view of the configuration: ``gateway.config.GatewayConfig`` plus the auth settings.

The file and environment rules (``OG_CONFIG``, ``OG_JWT_SECRET``, ...) live in
``gateway.config``; this module only picks what the HTTP layer needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.auth import AuthSettings
from gateway.config import GatewayConfig


@dataclass(frozen=True)
class ApiSettings:
    environment: str = "development"
    auth: AuthSettings = field(default_factory=AuthSettings)
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    gateway_config: GatewayConfig = field(default_factory=GatewayConfig)


def settings_from(config: GatewayConfig) -> ApiSettings:
    j = config.jwt
    return ApiSettings(
        environment=config.environment,
        auth=AuthSettings(
            algorithm=j.algorithm,
            secret=j.secret,
            jwks_url=j.jwks_url,
            issuer=j.issuer,
            audience=j.audience,
            resource_server=j.resource_server,
            refuse_dev_tokens=config.environment == "production",
        ),
        redis_url=config.redis_url,
        redis_cluster=config.redis_cluster,
        gateway_config=config,
    )


def load_settings(path: str | None) -> ApiSettings:
    """Defaults, the file at ``path`` (or ``$OG_CONFIG``), then environment variables.

    Raises ``gateway.config.ConfigError`` (a ``ValueError``) naming the bad setting.
    """
    return settings_from(GatewayConfig.load(path))
