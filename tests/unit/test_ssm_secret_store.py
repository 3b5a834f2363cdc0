"""Connection secrets: versioned reads are cached for long, unversioned ones briefly, failures are None."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from referral_engine.adapters.ssm import LATEST_CACHE_SECONDS, VERSION_CACHE_SECONDS, SsmSecretStore


class Parameters:
    """SSM's get_parameter over a dict of `name` and `name:version` values, counting the reads."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.reads: list[str] = []

    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]:  # noqa: N803 - boto3's names
        assert WithDecryption
        self.reads.append(Name)
        if Name not in self.values:
            raise ClientError({"Error": {"Code": "ParameterNotFound"}}, "GetParameter")
        return {"Parameter": {"Name": Name, "Value": self.values[Name]}}


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(parameters: Parameters, clock: Clock) -> SsmSecretStore:
    return SsmSecretStore(parameters, "/referrals/secrets/", clock=clock)  # type: ignore[arg-type]


def test_a_version_is_read_once_and_a_rotation_is_seen_at_once() -> None:
    parameters = Parameters({"/referrals/secrets/c1:1": "old", "/referrals/secrets/c1:2": "new"})
    clock = Clock()
    secrets = store(parameters, clock)

    assert secrets.get("c1", 1) == "old"
    clock.now += VERSION_CACHE_SECONDS - 1
    assert secrets.get("c1", 1) == "old"
    assert secrets.get("c1", 2) == "new"
    assert parameters.reads == ["/referrals/secrets/c1:1", "/referrals/secrets/c1:2"]


def test_an_unversioned_read_is_refreshed_after_a_minute() -> None:
    parameters = Parameters({"/referrals/secrets/c1": "first"})
    clock = Clock()
    secrets = store(parameters, clock)

    assert secrets.get("c1", None) == "first"
    parameters.values["/referrals/secrets/c1"] = "second"
    assert secrets.get("c1", None) == "first"
    clock.now += LATEST_CACHE_SECONDS
    assert secrets.get("c1", None) == "second"


def test_a_missing_secret_is_none_and_not_cached(caplog: Any) -> None:
    parameters = Parameters({})
    secrets = store(parameters, Clock())

    assert secrets.get("c1", 3) is None
    parameters.values["/referrals/secrets/c1:3"] = "late"
    assert secrets.get("c1", 3) == "late"
    assert any(getattr(r, "cause", None) == "ParameterNotFound" for r in caplog.records)
