"""template.yaml as data: a loader for CloudFormation YAML and boto3 kwargs derived from it.

The local stack and the tests build their AWS resources from the template's own definitions, so the
table that moto serves has exactly the keys, indexes and stream the deployed one has.

Short-form intrinsics load as their long form: ``!Ref X`` -> ``{"Ref": "X"}``, ``!GetAtt A.B`` ->
``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}`` and so on.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

Template = dict[str, Any]

# Keys of the CloudFormation index specifications that boto3's create_table also takes.
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that also understands CloudFormation's short-form tags (``!Ref``, ``!Sub``, ...)."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | Path | None = None) -> Template:
    """Parse a CloudFormation/SAM YAML template (default: the repository's ``template.yaml``)."""
    text = Path(path or TEMPLATE_PATH).read_text(encoding="utf-8")
    loaded = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(loaded, dict) or not isinstance(loaded.get("Resources"), dict):
        raise ValueError(f"{path or TEMPLATE_PATH} is not a CloudFormation template (no Resources)")
    return loaded


def resources_of_type(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one type, by logical id, in template order."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == resource_type
    }


def _table_properties(template: Template, logical_id: str) -> dict[str, Any]:
    try:
        resource = template["Resources"][logical_id]
    except KeyError:
        raise KeyError(f"the template has no resource {logical_id!r}") from None
    if resource.get("Type") != "AWS::DynamoDB::Table":
        raise ValueError(f"{logical_id} is a {resource.get('Type')}, not an AWS::DynamoDB::Table")
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


def _literal(value: Any, where: str) -> Any:
    """A deep copy of ``value``, refusing intrinsic functions (there is no stack to resolve them)."""
    if isinstance(value, dict):
        for key in value:
            if key == "Ref" or key.startswith("Fn::"):
                raise ValueError(f"{where} uses {key}; only literal values can be translated")
        return {key: _literal(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return copy.deepcopy(value)


def table_create_kwargs(
    template: Template,
    logical_id: str = "ReferralsTable",
    table_name: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for boto3 ``DynamoDB.Client.create_table`` from the template's table.

    Translates AttributeDefinitions, KeySchema, Global/LocalSecondaryIndexes, BillingMode (and
    ProvisionedThroughput) and StreamSpecification (a CloudFormation StreamViewType becomes
    ``StreamEnabled=True`` plus the view type). The table is named ``table_name`` (default: the
    logical id). Time to live is a separate call: see :func:`time_to_live_kwargs`.
    """
    properties = _table_properties(template, logical_id)
    kwargs: dict[str, Any] = {
        "TableName": table_name or logical_id,
        "AttributeDefinitions": _literal(properties["AttributeDefinitions"], "AttributeDefinitions"),
        "KeySchema": _literal(properties["KeySchema"], "KeySchema"),
    }
    billing_mode = properties.get("BillingMode", "PROVISIONED")
    kwargs["BillingMode"] = _literal(billing_mode, "BillingMode")
    if "ProvisionedThroughput" in properties:
        kwargs["ProvisionedThroughput"] = _literal(
            properties["ProvisionedThroughput"], "ProvisionedThroughput"
        )
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = properties.get(index_kind)
        if indexes:
            kwargs[index_kind] = [
                {key: _literal(index[key], f"{index_kind}.{key}") for key in _INDEX_KEYS if key in index}
                for index in indexes
            ]
    stream = properties.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": _literal(stream["StreamViewType"], "StreamSpecification.StreamViewType"),
        }
    return kwargs


def time_to_live_kwargs(
    template: Template,
    logical_id: str = "ReferralsTable",
    table_name: str | None = None,
) -> dict[str, Any] | None:
    """Keyword arguments for boto3 ``update_time_to_live``, or None when the table declares no TTL."""
    ttl = _table_properties(template, logical_id).get("TimeToLiveSpecification")
    if not ttl or not ttl.get("Enabled"):
        return None
    return {
        "TableName": table_name or logical_id,
        "TimeToLiveSpecification": {
            "Enabled": True,
            "AttributeName": _literal(ttl["AttributeName"], "TimeToLiveSpecification.AttributeName"),
        },
    }
