"""moto's server, made safe for a stack that writes from many threads: `python -m
referrals_local.stack.aws_endpoint -H HOST -p PORT` runs `moto.server` with two corrections.

moto's TransactWriteItems backs up every table it touches with a deep copy (items and stream records)
before the first write, and on a cancelled transaction swaps the copy in for the live table. On the
local stack that means each transaction costs time and memory in proportion to the whole table; a
concurrent request iterating the table while it is copied fails ("dictionary changed size during
iteration"); a write made by another request during the transaction is lost on rollback; and stream
readers lose their shard, which was replaced. So:

- every request runs under one lock (DynamoDB serialises conflicting writes too; moto's tables are
  plain dicts that even a read can grow; and a snapshot of the state, ADR 0013, is then one moment of
  all services). An SQS long poll waits without it: each queue's condition is built on that lock;
- a transaction snapshots only the items it names (and the stream's length), and a cancelled one puts
  back exactly those items and drops the stream records it wrote: the table object, and with it every
  shard iterator, stays the same.
"""

from __future__ import annotations

import argparse
import copy
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.core.responses import BaseResponse
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.sqs.models import Queue

from referrals_local.stack import iam_enforcement, moto_state

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


# Actions that change nothing a restart must keep (a received message is visible again after one).
_KEEPS_STATE = (
    "Get",
    "Describe",
    "List",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "Receive",
    "ChangeMessageVisibility",
)


@dataclass
class Changes:
    """How many requests may have changed the state: a snapshot is due when the count moved."""

    count: int = 0

    def note(self, handler: BaseResponse) -> None:
        try:
            action = handler._get_action()
        except Exception:  # an odd request: assume it changed something
            action = ""
        if not action.startswith(_KEEPS_STATE):
            self.count += 1


CHANGES = Changes()


def _serialised(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def locked(self: Any) -> Any:
        with LOCK:
            CHANGES.note(self)
            return call_action(self)

    return locked


def _queue_waits_without_the_lock(init: Callable[..., None]) -> Callable[..., None]:
    def queue_init(self: Queue, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._messages_lock = threading.Condition(LOCK)  # a long poll's wait releases LOCK

    return queue_init


@contextmanager
def patched() -> Iterator[None]:
    """moto with the corrections above, for as long as the context lasts."""
    replacements: list[tuple[object, str, object]] = [
        (
            DynamoDBBackend,
            "transact_write_items",
            _transact_write_items(DynamoDBBackend.transact_write_items),
        ),
        (BaseResponse, "call_action", iam_enforcement.enforced(_serialised(BaseResponse.call_action))),
        (Queue, "__init__", _queue_waits_without_the_lock(Queue.__init__)),
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


def _exit_with(parent_pid: int) -> None:
    """Stops this endpoint (SIGTERM: a last snapshot, then exit) once the runner that started it is
    gone, e.g. killed with SIGKILL, so no orphan keeps the port and the state."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str] | None = None) -> None:
    """moto's server options, and: `--state-file PATH` (restored before serving, snapshotted every
    `--snapshot-interval` seconds and on exit), `--parent-pid PID` (exit when it is gone) and
    `--iam-roles PATH` (the functions' roles to enforce, ADR 0017)."""
    from moto import server

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--state-file", type=Path)
    parser.add_argument("--snapshot-interval", type=float, default=1.0)
    parser.add_argument("--parent-pid", type=int)
    parser.add_argument("--iam-roles", type=Path)
    ours, moto_argv = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    iam_enforcement.ROLES.path = ours.iam_roles
    with patched():
        snapshots = None
        if ours.state_file is not None:
            moto_state.restore(ours.state_file, LOCK)
            snapshots = moto_state.Snapshots(
                ours.state_file, LOCK, lambda: CHANGES.count, interval=ours.snapshot_interval
            )
            snapshots.start()
        if ours.parent_pid is not None:
            _exit_with(ours.parent_pid)
        try:
            server.main(moto_argv)
        finally:
            if snapshots is not None:
                snapshots.close()


if __name__ == "__main__":
    main()
