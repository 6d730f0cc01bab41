"""Seed an AWS emulator (moto) with what ``deploy/ordergate.toml`` refers to, for
``docker compose up``: the Redis URL in SSM, the JWT secret in Secrets Manager, the audit bucket
in S3. The services then resolve the same logical names they would in a real account.

Run as ``python -m operations.stack.aws_seed`` with ``AWS_ENDPOINT_URL`` set (it refuses to run
without one, so it can never write to a real account). Idempotent: what exists is kept.
Environment: ``OG_ENVIRONMENT`` (default ``dev``), ``OG_SEED_REDIS_URL`` (default
``redis://redis:6379/0``), ``OG_SEED_JWT_SECRET`` (default: a new random secret).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Mapping

from gateway.references import aws_client


def names(environment: str) -> dict[str, str]:
    """The logical names, one per environment (the config file uses the same templates)."""
    return {
        "redis_url": f"/ordergate/{environment}/redis_url",
        "jwt": f"ordergate/{environment}/jwt",
        "bucket": f"ordergate-{environment}-audit",
    }


def seed(env: Mapping[str, str]) -> dict[str, str]:
    if not env.get("AWS_ENDPOINT_URL"):
        raise SystemExit("aws_seed: AWS_ENDPOINT_URL is not set (emulators only)")
    environment = env.get("OG_ENVIRONMENT", "dev")
    n = names(environment)
    ssm = aws_client("ssm", env)
    ssm.put_parameter(
        Name=n["redis_url"],
        Value=env.get("OG_SEED_REDIS_URL", "redis://redis:6379/0"),
        Type="SecureString",
        Overwrite=True,
    )
    sm = aws_client("secretsmanager", env)
    try:
        sm.describe_secret(SecretId=n["jwt"])
    except sm.exceptions.ResourceNotFoundException:
        secret = env.get("OG_SEED_JWT_SECRET") or secrets.token_urlsafe(48)
        sm.create_secret(Name=n["jwt"], SecretString=json.dumps({"secret": secret}))
    s3 = aws_client("s3", env)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-northeast-1"
    try:
        s3.create_bucket(
            Bucket=n["bucket"], CreateBucketConfiguration={"LocationConstraint": region}
        )
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    return n


def main() -> int:
    n = seed(os.environ)
    print(f"aws_seed: ssm {n['redis_url']}, secretsmanager {n['jwt']}, s3 {n['bucket']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
