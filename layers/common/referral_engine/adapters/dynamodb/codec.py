"""Translating between plain Python values and DynamoDB attribute values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer

from referral_engine.adapters.dynamodb.keys import iso
from referral_engine.domain.records import Record, dump

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]


class _Serializer:
    """Python value → DynamoDB attribute value, by boto3's TypeSerializer rules for the types we store
    (boto3.dynamodb is not imported: the boto3 package costs every cold start 20-30 ms)."""

    def serialize(self, value: Any) -> Any:
        if value is None:
            return {"NULL": True}
        if isinstance(value, bool):
            return {"BOOL": value}
        if isinstance(value, int | Decimal):
            return {"N": str(value)}
        if isinstance(value, str):
            return {"S": value}
        if isinstance(value, bytes | bytearray):
            return {"B": bytes(value)}
        if isinstance(value, set | frozenset):
            if value and all(isinstance(inner, str) for inner in value):
                return {"SS": list(value)}
            if value and all(isinstance(inner, bytes | bytearray) for inner in value):
                return {"BS": [bytes(inner) for inner in value]}
            if value and all(
                isinstance(inner, int | Decimal) and not isinstance(inner, bool) for inner in value
            ):
                return {"NS": [str(inner) for inner in value]}
            raise TypeError("a set must be non-empty and hold only strings, numbers or bytes")
        if isinstance(value, Mapping):
            return {"M": {key: self.serialize(inner) for key, inner in value.items()}}
        if isinstance(value, list | tuple):
            return {"L": [self.serialize(inner) for inner in value]}
        raise TypeError(f"unsupported type for DynamoDB: {type(value).__name__}")


_serializer = _Serializer()
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


def model_item(record: Record, entity: str, **extra: Any) -> Item:
    return to_item({**dump(record), "entity": entity, **extra})


def _number(value: Any) -> Any:
    """A whole number written without a fraction (`5`, not `5.00`) as an int, so that `parse` takes it
    for an int field; every other number stays the Decimal DynamoDB returns."""
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent == 0 else value
    if isinstance(value, dict):
        return {key: _number(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_number(inner) for inner in value]
    return value


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (or a stream image) in DynamoDB's attribute-value format as plain Python values."""
    return {key: _number(_deserializer.deserialize(value)) for key, value in item.items()}


def value(python_value: Any) -> AttributeValueTypeDef:
    serialized: AttributeValueTypeDef = _serializer.serialize(_plain(python_value))
    return serialized
