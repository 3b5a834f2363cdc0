"""Connection secrets in SSM Parameter Store (SecureString), read through a small time-bound cache
(Powertools' SSMProvider would import boto3 into every function that reads a secret).

Reads name the version (`name:version`): a version's value never changes, so it is cached for long,
and a rotation, which makes a new version, is seen as soon as the connection names it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

logger = logging.getLogger(__name__)

VERSION_CACHE_SECONDS = 3600  # a version's value is immutable
LATEST_CACHE_SECONDS = 60  # only for connections stored before they named a version


def _cause(error: BotoCoreError | ClientError) -> str:
    """What SSM said (ParameterNotFound, ParameterVersionNotFound, AccessDeniedException, throttling…)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", type(error).__name__))
    return type(error).__name__


class SsmSecretStore:
    def __init__(
        self, client: SSMClient, prefix: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._prefix = prefix.rstrip("/")
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}  # parameter name → (expires at, value)

    def _name(self, connection_id: str) -> str:
        return f"{self._prefix}/{connection_id}"

    def get(self, connection_id: str, version: int | None) -> str | None:
        name = self._name(connection_id)
        if version is not None:
            name, max_age = f"{name}:{version}", VERSION_CACHE_SECONDS
        else:
            max_age = LATEST_CACHE_SECONDS
        now = self._clock()
        cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = self._client.get_parameter(Name=name, WithDecryption=True)
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "connection secret unreadable",
                extra={"connection_id": connection_id, "version": version, "cause": _cause(error)},
            )
            return None
        secret = str(response["Parameter"].get("Value", ""))
        self._cache[name] = (now + max_age, secret)
        return secret

    def put(self, connection_id: str, secret: str) -> int:
        response = self._client.put_parameter(
            Name=self._name(connection_id), Value=secret, Type="SecureString", Overwrite=True
        )
        return int(response["Version"])

    def delete(self, connection_id: str) -> None:
        with contextlib.suppress(self._client.exceptions.ParameterNotFound):
            self._client.delete_parameter(Name=self._name(connection_id))
