"""Translating between plain Python values and DynamoDB attribute values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import BaseModel

from referral_engine.adapters.dynamodb.keys import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {key: _plain(inner) for key, inner in value.items() if inner is not None}
    if isinstance(value, list | tuple):
        return [_plain(inner) for inner in value]
    return value


def to_item(values: Mapping[str, Any]) -> Item:
    return {key: _serializer.serialize(_plain(value)) for key, value in values.items() if value is not None}


def model_item(model: BaseModel, entity: str, **extra: Any) -> Item:
    return to_item({**model.model_dump(), "entity": entity, **extra})


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def value(python_value: Any) -> AttributeValueTypeDef:
    return _serializer.serialize(_plain(python_value))
