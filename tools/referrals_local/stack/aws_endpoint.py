"""moto's server, made safe for a stack that writes from many threads: `python -m
referrals_local.stack.aws_endpoint -H HOST -p PORT` runs `moto.server` with two corrections.

moto's TransactWriteItems backs up every table it touches with a deep copy (items and stream records)
before the first write, and on a cancelled transaction swaps the copy in for the live table. On the
local stack that means each transaction costs time and memory in proportion to the whole table; a
concurrent request iterating the table while it is copied fails ("dictionary changed size during
iteration"); a write made by another request during the transaction is lost on rollback; and stream
readers lose their shard, which was replaced. So:

- every DynamoDB and DynamoDB Streams request runs under one lock (DynamoDB serialises conflicting
  writes too; moto's tables are plain dicts that even a read can grow);
- a transaction snapshots only the items it names (and the stream's length), and a cancelled one puts
  back exactly those items and drops the stream records it wrote: the table object, and with it every
  shard iterator, stays the same.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

LOCK = threading.RLock()

ItemKey = tuple[str, DynamoType, DynamoType | None]  # table name, hash key, range key


@dataclass
class TransactionUndo:
    """What a transaction's writes changed, as it was before: enough to cancel the transaction."""

    items: dict[ItemKey, Item | None] = field(default_factory=dict)
    stream_lengths: dict[str, int] = field(default_factory=dict)

    @classmethod
    def capture(cls, backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> TransactionUndo:
        undo = cls()
        for entry in transact_items:
            if len(entry) != 1:
                continue  # moto refuses the transaction before writing anything
            [op] = entry.values()
            table = backend.tables.get(op.get("TableName", ""))
            if table is None:
                continue
            key = _item_key(table, op.get("Key") or op.get("Item") or {})
            if key is None:
                continue
            _, hash_key, range_key = key
            undo.items.setdefault(key, copy.deepcopy(table.get_item(hash_key, range_key)))
            if table.stream_shard is not None:
                undo.stream_lengths.setdefault(table.name, len(table.stream_shard.items))
        return undo

    def apply(self, backend: DynamoDBBackend) -> None:
        for (table_name, hash_key, range_key), before in self.items.items():
            table = backend.tables[table_name]
            _put_back(table, hash_key, range_key, before)
        for table_name, length in self.stream_lengths.items():
            shard = backend.tables[table_name].stream_shard
            if shard is not None:
                del shard.items[length:]


def _item_key(table: Table, attributes: dict[str, Any]) -> ItemKey | None:
    if table.hash_key_attr not in attributes:
        return None
    range_key = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in attributes:
            return None
        range_key = DynamoType(attributes[table.range_key_attr])
    return table.name, DynamoType(attributes[table.hash_key_attr]), range_key


def _put_back(table: Table, hash_key: DynamoType, range_key: DynamoType | None, before: Item | None) -> None:
    """The item as it was (or its absence), without a stream record: the change never happened."""
    items: dict[DynamoType, Any] = table.items  # hash → item, or hash → range → item
    if range_key is None:
        if before is None:
            items.pop(hash_key, None)
        else:
            items[hash_key] = before
        return
    ranges = items.get(hash_key)
    if before is not None:
        items[hash_key][range_key] = before
    elif ranges is not None:
        ranges.pop(range_key, None)
        if not ranges:
            del items[hash_key]


class _NoTableCopies:
    """Stands in for the `copy` module inside moto's DynamoDB models: a Table is not deep-copied (the
    live table is its own "backup", and TransactionUndo restores what changed); anything else is."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)  # copy.copy and the rest, should moto come to use them


def _transact_write_items(
    original: Callable[[DynamoDBBackend, list[dict[str, Any]]], None],
) -> Callable[[DynamoDBBackend, list[dict[str, Any]]], None]:
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with LOCK:
            undo = TransactionUndo.capture(self, transact_items)
            try:
                original(self, transact_items)
            except Exception:
                undo.apply(self)
                raise

    return transact_write_items


def _serialised(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def locked(self: Any) -> Any:
        with LOCK:
            return call_action(self)

    return locked


@contextmanager
def patched() -> Iterator[None]:
    """moto with the corrections above, for as long as the context lasts."""
    replacements: list[tuple[object, str, object]] = [
        (
            DynamoDBBackend,
            "transact_write_items",
            _transact_write_items(DynamoDBBackend.transact_write_items),
        ),
        (DynamoHandler, "call_action", _serialised(DynamoHandler.call_action)),
        (DynamoDBStreamsHandler, "call_action", _serialised(DynamoDBStreamsHandler.call_action)),
        (dynamodb_models, "copy", _NoTableCopies()),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    for owner, name, replacement in replacements:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def main(argv: list[str] | None = None) -> None:
    from moto import server

    with patched():
        server.main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
