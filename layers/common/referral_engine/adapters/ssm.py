"""Connection secrets in SSM Parameter Store (SecureString), read through Powertools' caching provider."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

CACHE_SECONDS = 300


class SsmSecretStore:
    def __init__(self, client: SSMClient, prefix: str) -> None:
        self._client = client
        self._prefix = prefix.rstrip("/")
        self._provider = SSMProvider(boto3_client=client)

    def _name(self, connection_id: str) -> str:
        return f"{self._prefix}/{connection_id}"

    def get(self, connection_id: str, *, fresh: bool = False) -> str | None:
        try:
            secret = self._provider.get(
                self._name(connection_id), decrypt=True, max_age=CACHE_SECONDS, force_fetch=fresh
            )
        except GetParameterError:
            return None
        return str(secret)

    def put(self, connection_id: str, secret: str) -> None:
        self._client.put_parameter(
            Name=self._name(connection_id), Value=secret, Type="SecureString", Overwrite=True
        )

    def delete(self, connection_id: str) -> None:
        with contextlib.suppress(self._client.exceptions.ParameterNotFound):
            self._client.delete_parameter(Name=self._name(connection_id))
