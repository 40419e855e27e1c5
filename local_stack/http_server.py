"""Local API Gateway: an HTTP server that turns each request into a payload 2.0 event for the API function."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from local_stack.api_event import (
    HttpRequest,
    HttpResponse,
    build_http_event,
    elapsed_ms,
    json_message,
    lambda_response,
    split_target,
)
from local_stack.authorizer import AuthorizerRejection, LocalAuthorizer
from local_stack.functions import FunctionError
from local_stack.routes import Route, match_route

log = logging.getLogger("local_stack.api")

# API Gateway HTTP APIs reject request bodies larger than 10 MiB.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
_DRAIN_CHUNK_BYTES = 64 * 1024


class Invoker(Protocol):
    def invoke(self, event: dict[str, Any]) -> Any: ...


class PayloadTooLarge(Exception):
    pass


class LocalApiGateway:
    """Routes, authorizes and invokes: everything between the socket and the handler."""

    def __init__(self, routes: list[Route], function: Invoker, authorizer: LocalAuthorizer) -> None:
        self.routes = routes
        self.function = function
        self.authorizer = authorizer

    def handle(self, request: HttpRequest, domain_name: str) -> HttpResponse:
        """Route, authorize and invoke one request; logs one line per handler invocation."""
        raw_path, _ = split_target(request.target)
        match = match_route(self.routes, request.method, raw_path)
        if match is None:
            return json_message(404, "Not Found")

        headers = {name.lower(): value for name, value in request.headers}
        try:
            authorizer_context = self.authorizer.authorize(match.route, headers)
        except AuthorizerRejection as rejection:
            log.info("request rejected by authorizer route=%s status=%d", match.route.route_key, rejection.status_code)
            return json_message(rejection.status_code, rejection.message)

        request_id = str(uuid.uuid4())
        event = build_http_event(request, match, domain_name, authorizer_context, request_id)
        started = time.perf_counter()
        try:
            response = lambda_response(self.function.invoke(event))
        except FunctionError as error:
            log.error(
                "invocation failed route=%s status=500 duration_ms=%.1f request_id=%s error=%s\n%s",
                match.route.route_key,
                elapsed_ms(started),
                request_id,
                error,
                error.traceback_text,
            )
            failure = json_message(500, "Internal Server Error")
            failure.headers["apigw-requestid"] = request_id
            return failure
        except (ValueError, TypeError) as error:
            log.error(
                "invalid handler response route=%s request_id=%s error=%s", match.route.route_key, request_id, error
            )
            return json_message(500, "Internal Server Error")

        response.headers.setdefault("apigw-requestid", request_id)
        log.info(
            "invocation route=%s status=%d duration_ms=%.1f request_id=%s",
            match.route.route_key,
            response.status_code,
            elapsed_ms(started),
            request_id,
        )
        return response


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalHttpServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except PayloadTooLarge:
            self._send(json_message(413, "Request Entity Too Large"))
            return
        except ValueError as error:
            self.close_connection = True
            self._send(json_message(400, f"Bad Request: {error}"))
            return

        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        self._send(self.server.gateway.handle(request, host))

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked); raises PayloadTooLarge past the limit.

        A body over the limit is still read and discarded, so the client gets the 413 rather
        than a reset connection.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()

        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_REQUEST_BODY_BYTES:
            self._discard(length)
            raise PayloadTooLarge
        return self.rfile.read(length)

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, _DRAIN_CHUNK_BYTES))
            if not chunk:
                return
            length -= len(chunk)

    def _read_chunked(self) -> bytes:
        body = bytearray()
        too_large = False
        while True:
            size_line = self.rfile.readline(1024)
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                break
            if len(body) + size > MAX_REQUEST_BODY_BYTES:
                too_large = True
                self._discard(size)
            else:
                body += self.rfile.read(size)
            self.rfile.readline(1024)
        if too_large:
            raise PayloadTooLarge
        return bytes(body)

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for cookie in response.cookies:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # Each invocation is logged once by LocalApiGateway; the per-request access log would repeat it.
        return None


class LocalHttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer serving a LocalApiGateway, one thread per connection."""

    daemon_threads = True

    def __init__(self, host: str, port: int, gateway: LocalApiGateway) -> None:
        super().__init__((host, port), _RequestHandler)
        self.gateway = gateway
        self._thread = threading.Thread(target=self.serve_forever, name="api-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()
