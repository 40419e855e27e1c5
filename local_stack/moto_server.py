"""Embedded moto server: the local stack's AWS endpoint, in this process, on a loopback port."""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


class SerializedApplication:
    """WSGI middleware that lets one request at a time into the wrapped application.

    NOTE: moto's DynamoDB backend (5.2.5) checks a ConditionExpression and then writes the item
    with no lock, so two threaded requests could both pass the same condition. Holding one lock
    for the whole request makes each request atomic, as DynamoDB's per-item conditional write is.
    """

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self._application = application
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            # Read the whole response inside the lock: a lazy body could still be touching the backend.
            return list(self._application(environ, start_response))


class _TableBackupCopier:
    """Stand-in for the copy module inside moto's DynamoDB models during one transaction.

    moto 5.2.5 deep-copies a table once per transaction item, stream records included, before it
    writes, so a 100-item transaction on a table of a few hundred flags ran past the function
    timeout. This copies each table once, and shares the stream shard instead of copying it: the
    rollback below restores the shard itself.
    """

    def __init__(self) -> None:
        self._backups: dict[int, Table] = {}

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if not isinstance(value, Table):
            return copy.deepcopy(value, memo)

        if id(value) not in self._backups:
            shared = {id(value.stream_shard): value.stream_shard} if value.stream_shard is not None else {}
            self._backups[id(value)] = copy.deepcopy(value, shared)
        return self._backups[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def keep_streams_through_transaction_rollback() -> None:
    """Patch moto so that a cancelled TransactWriteItems leaves the tables' streams as they were.

    NOTE: moto 5.2.5 writes a transaction's items one by one, appending stream records as it goes,
    and on cancellation puts back deep copies of the tables. The records of the cancelled writes
    stay in the old stream shard, and the copies get new shard objects that open shard iterators
    never read, so the stream poller would see phantom changes and then no change at all. This
    keeps the original shard on the restored table and drops the records the transaction added.
    Requests to moto are serialized (see SerializedApplication), so no other write interleaves.
    """
    original = DynamoDBBackend.transact_write_items
    if getattr(original, "keeps_streams", False):
        return

    @functools.wraps(original)
    def transact_write_items(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        shards = {
            name: (table.stream_shard, len(table.stream_shard.items))
            for name, table in self.tables.items()
            if table.stream_shard is not None
        }
        try:
            dynamodb_models.copy = _TableBackupCopier()  # type: ignore[assignment]
            return original(self, *args, **kwargs)
        except Exception:
            for name, (shard, record_count) in shards.items():
                table = self.tables.get(name)
                if table is not None:
                    del shard.items[record_count:]
                    shard.table = table
                    table.stream_shard = shard
            raise
        finally:
            dynamodb_models.copy = copy  # type: ignore[attr-defined]

    transact_write_items.keeps_streams = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class MotoServer:
    """moto in server mode on ``host:port``, served by a werkzeug thread per request."""

    def __init__(self, host: str, port: int) -> None:
        keep_streams_through_transaction_rollback()
        application = SerializedApplication(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            host, port, application, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
