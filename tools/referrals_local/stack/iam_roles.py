"""Each function's execution role as SAM generates it (ADR 0017): the template's own statements, the
AWS managed policies SAM attaches (AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess for active
tracing, AWSLambdaDynamoDBExecutionRole for a stream trigger) and the policies it adds for
destinations, with every intrinsic resolved against the resources created locally.

The supervisor gives each function's workers credentials of their own role, and writes the roles to
`iam-roles.json` in the state directory; the AWS endpoint reads them from there and refuses what a
role does not allow. Any other credentials (the CLI, the supervisor acting as the Lambda service,
the tests) are an administrator's, as AWS's own service principals would be.
"""

from __future__ import annotations

import functools
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from referrals_local.stack import iam_sam
from referrals_local.stack.model import ACCOUNT, FunctionSpec, Resolver
from referrals_local.template import Template, resources_of_type

ROLES_FILE = "iam-roles.json"
# Function credentials look like a role session's (AWS's start ASIA); other keys are an admin's.
FUNCTION_KEY_PREFIX = "ASIA"


@dataclass(frozen=True)
class FunctionRole:
    function: str  # the function's logical id
    role_name: str
    session_name: str  # Lambda names the session after the function
    policies: dict[str, dict[str, Any]]  # policy name → document, intrinsics resolved
    access_key_id: str
    secret_access_key: str
    session_token: str

    @property
    def session_arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.role_name}/{self.session_name}"

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


@functools.cache
def _managed_policies() -> dict[str, Any]:
    # Imported here: the AWS endpoint reads roles files and need not load moto's IAM for that.
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    known: dict[str, Any] = json.loads(aws_managed_policies_data)
    return known


def _managed_policy(arn: str) -> dict[str, Any]:
    name = arn.rsplit("/", 1)[-1]
    known = _managed_policies()
    if name not in known:
        raise ValueError(f"{arn}: not an AWS managed policy the local stack knows (moto's list)")
    document: dict[str, Any] = known[name]["Document"]
    return document


def _role_id(function_logical_id: str, function: dict[str, Any]) -> str:
    role = function["Properties"].get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        return str(role["Fn::GetAtt"][0])
    raise ValueError(
        f"{function_logical_id}: its role ({role!r}) is not one the template defines; "
        "the local stack can only enforce roles whose policies it can read"
    )


def _policies(resources: dict[str, Any], role_id: str, resolver: Resolver) -> dict[str, dict[str, Any]]:
    role = resources[role_id]["Properties"]
    arns = [str(resolver.resolve(arn)) for arn in role.get("ManagedPolicyArns", [])]
    policies = {arn: _managed_policy(arn) for arn in arns}
    for policy in role.get("Policies", []):
        policies[policy["PolicyName"]] = resolver.resolve(policy["PolicyDocument"])
    for logical_id, resource in resources_of_type({"Resources": resources}, "AWS::IAM::Policy").items():
        if {"Ref": role_id} in resource["Properties"].get("Roles", []):
            policies[logical_id] = resolver.resolve(resource["Properties"]["PolicyDocument"])
    return {name: policies[name] for name in sorted(policies)}


def function_roles(template: Template, resolver: Resolver, specs: list[FunctionSpec]) -> list[FunctionRole]:
    """Each function's role, with new credentials. `resolver` knows the local resources."""
    resources = iam_sam.transformed(template)["Resources"]
    roles = []
    for spec in specs:
        role_id = _role_id(spec.logical_id, resources[spec.logical_id])
        roles.append(
            FunctionRole(
                function=spec.logical_id,
                role_name=f"{resolver.stack_name}-{role_id}",
                session_name=spec.name,
                policies=_policies(resources, role_id, resolver),
                access_key_id=FUNCTION_KEY_PREFIX + secrets.token_hex(8).upper(),
                secret_access_key=secrets.token_urlsafe(30),
                session_token=secrets.token_urlsafe(48),
            )
        )
    return roles


def write_roles(state_dir: Path, roles: list[FunctionRole]) -> Path:
    path = state_dir / ROLES_FILE
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps([asdict(role) for role in roles], indent=2), encoding="utf-8")
    partial.chmod(0o600)  # the credentials are the functions' only
    partial.replace(path)  # atomic: the endpoint never reads half a file
    return path


def read_roles(path: Path) -> dict[str, FunctionRole]:
    """Access key id → role; none before the supervisor has written them."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {entry["access_key_id"]: FunctionRole(**entry) for entry in entries}
