"""AWS access shared by the S3 lake and its SQS notification queue, and errors that say what to fix.

boto3 reads ``AWS_ENDPOINT_URL`` and the credential variables by itself; passing them as ``EnvVar``
as well makes the Dagster UI show which variable configured a resource, never its value.

boto3 is imported when a client is made, not with this module: every Dagster step process loads
the code location, and most steps never touch AWS.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from binance_assets.errors import ConfigurationError
from binance_assets.settings import Settings

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

REJECTED_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}
DENIED = {"AccessDenied", "AccessDeniedException"}


class AwsAccess(dg.ConfigurableResource):
    """How boto3 reaches AWS (or LocalStack, MinIO, moto); unset fields are boto3's own defaults
    (the AWS_* variables, a profile, an instance role)."""

    region_name: str | None = Field(default=None, description="AWS region (AWS_REGION).")
    endpoint_url: str | None = Field(default=None, description="Another S3/SQS endpoint (AWS_ENDPOINT_URL).")
    aws_access_key_id: str | None = Field(default=None, description="Access key (AWS_ACCESS_KEY_ID).")
    aws_secret_access_key: str | None = Field(default=None, description="Its secret (AWS_SECRET_ACCESS_KEY).")
    aws_session_token: str | None = Field(default=None, description="Temporary credentials (AWS_SESSION_TOKEN).")
    profile_name: str | None = Field(default=None, description="A profile of the shared credentials file.")
    max_attempts: int = Field(default=5, description="Attempts per request (botocore's standard retry mode).")

    def boto3_client(self, service: str, max_connections: int = 10) -> Any:
        """A boto3 client for ``service``; ``max_connections`` bounds the requests it runs at once."""
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(profile_name=self.profile_name)
        return session.client(
            service,
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            config=Config(
                retries={"max_attempts": self.max_attempts, "mode": "standard"}, max_pool_connections=max_connections
            ),
        )


def aws_settings(settings: Settings) -> dict:
    """Keyword arguments of ``AwsAccess`` (the lake's S3 access, the SQS queue) from the settings."""
    return {
        "endpoint_url": settings.first_set("AWS_ENDPOINT_URL"),
        "region_name": settings.first_set("AWS_REGION", "AWS_DEFAULT_REGION"),
        "aws_access_key_id": settings.first_set("AWS_ACCESS_KEY_ID"),
        "aws_secret_access_key": settings.first_set("AWS_SECRET_ACCESS_KEY"),
        "aws_session_token": settings.first_set("AWS_SESSION_TOKEN"),
    }


def error_code(error: "ClientError") -> str:
    return error.response.get("Error", {}).get("Code", "")


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turn boto3's configuration failures into a ``ConfigurationError`` naming the variable to fix."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise ConfigurationError(
            f"{what}: no AWS credentials found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE / an instance role)."
        ) from error
    except NoRegionError as error:
        raise ConfigurationError(f"{what}: no AWS region. Set AWS_REGION (for example eu-west-1).") from error
    except EndpointConnectionError as error:
        raise ConfigurationError(
            f"{what}: cannot reach {error.kwargs.get('endpoint_url', 'AWS')}. Check AWS_ENDPOINT_URL "
            "(LocalStack, MinIO, moto) or the network."
        ) from error
    except ClientError as error:
        code = error_code(error)
        if code in REJECTED_CREDENTIALS:
            raise ConfigurationError(
                f"{what}: AWS rejected the credentials ({code}). Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
            ) from error
        if code in DENIED:
            raise ConfigurationError(
                f"{what}: access denied ({code}). Grant this identity the S3/SQS permissions listed in the README."
            ) from error
        raise
