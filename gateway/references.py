"""Configuration values given by reference, resolved once at start-up.

The same logical names in every environment, resolved at run time (nobody hand-edits
endpoints or passwords): a setting that accepts a reference may be written as

* ``env:NAME`` — an environment variable;
* ``file:/path`` — a file's content (one trailing newline dropped; e.g. a mounted secret);
* ``ssm:/ordergate/{environment}/redis_url`` — an AWS SSM parameter (SecureString decrypted);
* ``secretsmanager:ordergate/{environment}/jwt`` or ``...#key`` — an AWS Secrets Manager secret
  (``#key``: one field of a JSON secret).

``{environment}`` is replaced by the configured environment name. AWS calls use botocore with
the usual credential chain; ``AWS_ENDPOINT_URL`` points them at an emulator, ``AWS_REGION``
(default ``ap-northeast-1``) picks the region. Anything else is a literal value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PREFIXES = ("env:", "file:", "ssm:", "secretsmanager:")


class UnresolvedReference(ValueError):
    """A reference that cannot be resolved (the config loader names the setting)."""


def is_reference(value: str) -> bool:
    return value.startswith(PREFIXES)


def aws_client_kwargs(env: Mapping[str, str]) -> dict[str, Any]:
    """Region, endpoint (an emulator) and static keys for an AWS client, from the environment:
    one place for botocore here and aiobotocore in the S3 archive."""
    kwargs: dict[str, Any] = {
        "region_name": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-northeast-1"
    }
    if env.get("AWS_ENDPOINT_URL"):
        kwargs["endpoint_url"] = env["AWS_ENDPOINT_URL"]
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        kwargs["aws_access_key_id"] = env["AWS_ACCESS_KEY_ID"]
        kwargs["aws_secret_access_key"] = env["AWS_SECRET_ACCESS_KEY"]
    return kwargs


def aws_client(service: str, env: Mapping[str, str]) -> Any:
    """A botocore client (SSM, Secrets Manager, S3) set up by :func:`aws_client_kwargs`."""
    import botocore.session

    return botocore.session.get_session().create_client(service, **aws_client_kwargs(env))


def resolve(value: str, env: Mapping[str, str], environment: str = "development") -> str:
    """The value a reference stands for (a literal is returned unchanged)."""
    if not is_reference(value):
        return value
    kind, _, target = value.partition(":")
    target = target.replace("{environment}", environment)
    if not target:
        raise UnresolvedReference(f"{kind}: reference without a name")
    if kind == "env":
        if target not in env:
            raise UnresolvedReference(f"environment variable {target} is not set")
        return env[target]
    if kind == "file":
        try:
            text = Path(target).read_text(encoding="utf-8")
        except OSError as exc:
            raise UnresolvedReference(f"cannot read {target}: {exc.strerror}") from None
        return text[:-1] if text.endswith("\n") else text
    try:
        if kind == "ssm":
            reply = aws_client("ssm", env).get_parameter(Name=target, WithDecryption=True)
            return str(reply["Parameter"]["Value"])
        name, _, key = target.partition("#")
        secret = str(
            aws_client("secretsmanager", env).get_secret_value(SecretId=name)["SecretString"]
        )
    except Exception as exc:  # botocore raises many types: credentials, network, not found
        raise UnresolvedReference(f"{value}: {exc.__class__.__name__}: {exc}") from None
    if not key:
        return secret
    try:
        return str(json.loads(secret)[key])
    except (ValueError, KeyError, TypeError):
        raise UnresolvedReference(f"{value}: the secret has no JSON field {key!r}") from None
