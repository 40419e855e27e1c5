"""Embedded moto server: the local stack's AWS endpoint, in this process, on a loopback port."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

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


class MotoServer:
    """moto in server mode on ``host:port``, served by a werkzeug thread per request."""

    def __init__(self, host: str, port: int) -> None:
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
