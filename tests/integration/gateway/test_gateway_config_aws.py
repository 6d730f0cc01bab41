"""Config values by reference from AWS SSM and Secrets Manager, against a real moto server."""

import json

import pytest
from support.moto import moto_server

from gateway.config import ConfigError, from_dict
from gateway.references import aws_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def aws_env():
    with moto_server() as env:
        yield env


def test_redis_url_from_ssm_by_logical_name(aws_env):
    aws_client("ssm", aws_env).put_parameter(
        Name="/ordergate/staging/redis_url", Value="redis://staging:6379/0", Type="SecureString"
    )
    c = from_dict(
        {"environment": "staging", "redis": {"url": "ssm:/ordergate/{environment}/redis_url"}},
        aws_env,
    )
    assert c.redis_url == "redis://staging:6379/0"


def test_jwt_secret_field_from_secrets_manager(aws_env):
    aws_client("secretsmanager", aws_env).create_secret(
        Name="ordergate/production/jwt", SecretString=json.dumps({"secret": "p" * 48})
    )
    c = from_dict(
        {
            "environment": "production",
            "jwt": {"secret": "secretsmanager:ordergate/{environment}/jwt#secret"},
        },
        aws_env,
    )
    assert c.jwt.secret == "p" * 48


def test_missing_parameter_is_a_config_error_naming_the_setting(aws_env):
    with pytest.raises(ConfigError, match=r"redis\.url: ssm:/nope.*ParameterNotFound"):
        from_dict({"redis": {"url": "ssm:/nope"}}, aws_env)
