"""The local AWS endpoint's data on disk, so `make run` keeps it across a restart (ADR 0013).

A snapshot is moto's own backends for DynamoDB, SQS and Secrets Manager (the generated fingerprint
key, ADR 0018: a new one would unlink every kept fingerprint), pickled whole, and SSM's parameters (its
backend also holds AWS's public parameters and a lambda pickle refuses). EventBridge is not kept: the
stack creates its bus and rules from the template on every start. The file is one JSON header line
(format, moto's version, when it was captured) and the pickle; it is written to a temporary file and
renamed over the last one, so a reader, or a restart after `kill -9`, sees a whole snapshot or the
one before.
"""

from __future__ import annotations

import copyreg
import io
import json
import os
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import moto
from moto.dynamodb.models import dynamodb_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.sqs.models import Queue, sqs_backends
from moto.ssm.models import ssm_backends

FORMAT = 1
_AWS_PUBLIC_PARAMETERS = "/aws/"


class IncompatibleState(RuntimeError):
    """A snapshot this endpoint cannot load; the message says how to start clean."""


@dataclass(frozen=True)
class Header:
    format: int
    moto: str
    captured_at: float  # epoch seconds, taken while every request was held

    @classmethod
    def read(cls, path: Path) -> Header | None:
        """The snapshot's header, or None when there is no snapshot."""
        try:
            with path.open("rb") as file:
                line = file.readline()
        except FileNotFoundError:
            return None
        try:
            return cls(**json.loads(line))
        except (ValueError, TypeError) as error:
            raise IncompatibleState(f"{path} is not a local stack snapshot ({error}){_HINT}") from None


_HINT = "; `make run RESET=1` (or `referrals run --reset`) starts clean, discarding it"


def check(path: Path) -> None:
    """Raises IncompatibleState when a snapshot exists that this moto cannot load."""
    header = Header.read(path)
    if header is None:
        return
    if header.format != FORMAT or header.moto != moto.__version__:
        raise IncompatibleState(
            f"{path} was written by moto {header.moto} (format {header.format}); this is moto "
            f"{moto.__version__} (format {FORMAT}), which cannot read it{_HINT}"
        )


def _fresh_condition(condition: threading.Condition) -> tuple[Any, ...]:
    return threading.Condition, ()  # a lock is not data; restore() gives SQS queues theirs


def capture() -> bytes:
    """The persisted backends as a snapshot. The caller holds the endpoint's lock."""
    state = {
        "dynamodb": list(dynamodb_backends.iter_backends()),
        "sqs": list(sqs_backends.iter_backends()),
        "secretsmanager": list(secretsmanager_backends.iter_backends()),
        "ssm": [
            (account, region, _ssm_parameters(backend))
            for account, region, backend in ssm_backends.iter_backends()
        ],
    }
    header = Header(format=FORMAT, moto=moto.__version__, captured_at=time.time())
    buffer = io.BytesIO()
    buffer.write(json.dumps(header.__dict__).encode() + b"\n")
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, threading.Condition: _fresh_condition}
    pickler.dump(state)
    return buffer.getvalue()


def _ssm_parameters(backend: Any) -> dict[str, Any]:
    return {
        "parameters": {
            name: versions
            for name, versions in backend._parameters.items()
            if not name.startswith(_AWS_PUBLIC_PARAMETERS)
        },
        "tags": {
            kind: {name: dict(tags) for name, tags in named.items()}
            for kind, named in backend._resource_tags.items()
        },
    }


def restore(path: Path, lock: threading.RLock) -> Header | None:
    """Loads the snapshot at `path` into moto's backends, before the endpoint serves. Messages a
    consumer had received but not deleted are visible again at once: that consumer is gone."""
    check(path)
    data = path.read_bytes() if path.exists() else b""
    if not data:
        return None
    header_line, _, body = data.partition(b"\n")
    state = pickle.loads(body)  # noqa: S301 - our own snapshot, written by this endpoint (mode 0600)
    for account, region, backend in state["dynamodb"]:
        dynamodb_backends[account][region] = backend
    for account, region, backend in state["sqs"]:
        for queue in backend.queues.values():
            _release_messages(queue, lock)
        sqs_backends[account][region] = backend
    for account, region, backend in state.get("secretsmanager", []):  # snapshots before ADR 0018 have none
        secretsmanager_backends[account][region] = backend
    for account, region, saved in state["ssm"]:
        backend = ssm_backends[account][region]
        backend._parameters.update(saved["parameters"])
        for kind, named in saved["tags"].items():
            for name, tags in named.items():
                backend._resource_tags[kind][name].update(tags)
    return Header(**json.loads(header_line))


def _release_messages(queue: Queue, lock: threading.RLock) -> None:
    queue._messages_lock = threading.Condition(lock)
    for message in queue._messages:
        message.visible_at = 0.0
    queue._pending_messages.clear()


def write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)


class Snapshots:
    """Writes a snapshot every `interval` seconds when something changed, and once more on `close()`.

    `changes()` counts the endpoint's writing requests; both run under `lock`, the lock every request
    to the endpoint holds, so a snapshot is one moment of all services together.
    """

    def __init__(
        self, path: Path, lock: threading.RLock, changes: Callable[[], int], *, interval: float = 1.0
    ) -> None:
        self.path = path
        self._lock = lock
        self._changes = changes
        self._interval = interval
        self._saved = changes()
        self._writing = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="snapshots")

    def start(self) -> None:
        self._thread.start()

    def save(self) -> bool:
        """Writes a snapshot if anything changed since the last; whether it wrote one."""
        with self._writing:
            with self._lock:
                changes = self._changes()
                if changes == self._saved:
                    return False
                data = capture()
            write_atomically(self.path, data)
            self._saved = changes
            return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.save()
            except Exception as error:  # keep serving; the next interval tries again
                print(f"snapshot of the local state failed: {error!r}", flush=True)

    def close(self) -> None:
        self._stop.set()
        self.save()
