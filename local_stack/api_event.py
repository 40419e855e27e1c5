"""API Gateway HTTP API (payload format 2.0): the event a request becomes, and the response a handler returns."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from local_stack.lambda_runtime import LOCAL_ACCOUNT_ID
from local_stack.routes import RouteMatch

API_ID = "local"


@dataclass(frozen=True)
class HttpRequest:
    """A request as the client sent it. ``target`` is the request target, decoded from the wire as latin-1."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


@dataclass
class HttpResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    body: bytes = b""


def encode_raw_path(target: str) -> str:
    """Percent-encode the bytes of a request path that are not printable ASCII, keeping every other byte.

    The wire bytes arrive decoded as latin-1, so re-encoding gives them back exactly. A raw UTF-8
    letter becomes its percent-encoded UTF-8 bytes, as API Gateway sends it.
    """
    encoded = []
    for byte in target.encode("latin-1", errors="replace"):
        if 0x21 <= byte <= 0x7E:
            encoded.append(chr(byte))
        else:
            encoded.append(f"%{byte:02X}")
    return "".join(encoded)


def split_target(target: str) -> tuple[str, str]:
    """Split a request target into its raw path and raw query string (no ``?``)."""
    raw = encode_raw_path(target)
    path, _, query = raw.partition("?")
    return path or "/", query


def join_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-case header names and join repeated values with commas, as payload 2.0 does."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def query_parameters(raw_query: str) -> dict[str, str]:
    """Decode a query string into parameters, joining repeated values with commas."""
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def build_http_event(
    request: HttpRequest,
    match: RouteMatch,
    domain_name: str,
    authorizer: dict[str, Any] | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Build the payload 2.0 event API Gateway sends to the Lambda integration of ``match.route``."""
    now = now or datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    raw_path, raw_query = split_target(request.target)

    headers = join_headers(request.headers)
    cookie_header = headers.pop("cookie", None)
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    if ":" in domain_name:
        headers.setdefault("x-forwarded-port", domain_name.rsplit(":", 1)[1])

    request_context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": match.route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if cookie_header:
        event["cookies"] = [cookie.strip() for cookie in cookie_header.replace(",", ";").split(";") if cookie.strip()]
    if raw_query:
        event["queryStringParameters"] = query_parameters(raw_query)
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)

    if request.body:
        try:
            event["body"] = request.body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def lambda_response(result: Any) -> HttpResponse:
    """Turn a handler's return value into the HTTP response, the way API Gateway reads payload 2.0 results.

    A dict with ``statusCode`` is taken as it is; anything else is sent as a 200 JSON body.
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, {"content-type": "application/json"}, [], body.encode())

    headers = {str(name): str(value) for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ",".join(str(value) for value in values)

    body = result.get("body") or ""
    raw_body = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return HttpResponse(int(result["statusCode"]), headers, list(result.get("cookies") or []), raw_body)


def json_message(status_code: int, message: str) -> HttpResponse:
    """Build an API Gateway style error response, ``{"message": ...}``."""
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status_code, {"content-type": "application/json"}, [], body)


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
