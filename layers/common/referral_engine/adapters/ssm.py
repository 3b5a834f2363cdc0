"""Connection secrets in SSM Parameter Store (SecureString), read through Powertools' caching provider.

Reads name the version (`name:version`): a version's value never changes, so it is cached for long,
and a rotation, which makes a new version, is seen as soon as the connection names it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

logger = logging.getLogger(__name__)

VERSION_CACHE_SECONDS = 3600  # a version's value is immutable
LATEST_CACHE_SECONDS = 60  # only for connections stored before they named a version


def _cause(error: GetParameterError) -> str:
    """What SSM said (ParameterNotFound, ParameterVersionNotFound, AccessDeniedException, throttling…):
    Powertools wraps it, leaving it as the exception's context."""
    cause = error.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(cause).__name__))
    return type(cause).__name__


class SsmSecretStore:
    def __init__(self, client: SSMClient, prefix: str) -> None:
        self._client = client
        self._prefix = prefix.rstrip("/")
        self._provider = SSMProvider(boto3_client=client)

    def _name(self, connection_id: str) -> str:
        return f"{self._prefix}/{connection_id}"

    def get(self, connection_id: str, version: int | None) -> str | None:
        name = self._name(connection_id)
        if version is not None:
            name, max_age = f"{name}:{version}", VERSION_CACHE_SECONDS
        else:
            max_age = LATEST_CACHE_SECONDS
        try:
            secret = self._provider.get(name, decrypt=True, max_age=max_age)
        except GetParameterError as error:
            logger.warning(
                "connection secret unreadable",
                extra={"connection_id": connection_id, "version": version, "cause": _cause(error)},
            )
            return None
        return str(secret)

    def put(self, connection_id: str, secret: str) -> int:
        response = self._client.put_parameter(
            Name=self._name(connection_id), Value=secret, Type="SecureString", Overwrite=True
        )
        return int(response["Version"])

    def delete(self, connection_id: str) -> None:
        with contextlib.suppress(self._client.exceptions.ParameterNotFound):
            self._client.delete_parameter(Name=self._name(connection_id))
