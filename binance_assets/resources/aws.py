"""AWS access shared by the S3 lake (dagster-aws's ``S3Resource``) and its SQS notification queue
(on dagster-aws's boto3 configuration), and errors that say what to fix.

boto3 reads ``AWS_ENDPOINT_URL`` and the credential variables by itself; passing them as ``EnvVar``
as well makes the Dagster UI show which variable configured a resource, never its value.

boto3 is imported when a client is made, not with this module (dagster-aws's resource modules
import it themselves, though: see README, Benchmarks).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from binance_assets.errors import ConfigurationError, Transient
from binance_assets.settings import Settings

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from dagster_aws.utils import ResourceWithBoto3Configuration

REJECTED_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}
DENIED = {"AccessDenied", "AccessDeniedException"}
# Still refused after botocore's own retries: AWS is throttling us or briefly unavailable.
THROTTLED = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "RequestTimeout",
    "503",
}


class AwsBusyError(Transient):
    """S3 or SQS throttled or unavailable after botocore's retries: the step retries later."""


def boto3_client(config: "ResourceWithBoto3Configuration", service: str, max_connections: int = 10) -> Any:
    """A boto3 client for ``service`` configured by a dagster-aws resource (``S3Resource`` for the
    lake, ``NotificationQueue`` for SQS): its region, endpoint, credentials, profile, SSL and
    ``max_attempts`` (botocore's standard retry mode). ``max_connections`` bounds the requests the
    client runs at once (botocore's default, 10, is below the lake's 16 concurrent reads)."""
    import boto3
    from botocore.config import Config
    from dagster_aws.utils import construct_boto_client_retry_config

    session = boto3.session.Session(profile_name=config.profile_name)
    client = session.client(
        service,
        region_name=config.region_name,
        endpoint_url=config.endpoint_url,
        use_ssl=config.use_ssl,
        verify=config.verify,
        aws_access_key_id=config.aws_access_key_id,
        aws_secret_access_key=config.aws_secret_access_key,
        aws_session_token=config.aws_session_token,
        config=construct_boto_client_retry_config(config.max_attempts).merge(
            Config(max_pool_connections=max_connections)
        ),
    )
    if getattr(config, "use_unsigned_session", False):
        from botocore.handlers import disable_signing

        client.meta.events.register(f"choose-signer.{service}.*", disable_signing)
    return client


def aws_settings(settings: Settings) -> dict:
    """Keyword arguments shared by dagster-aws's ``S3Resource`` (the lake) and our SQS resource."""
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
        if code in THROTTLED:
            raise AwsBusyError(
                f"{what}: AWS is throttling or unavailable ({code}) even after botocore's retries: "
                "the step is retried with backoff."
            ) from error
        raise
