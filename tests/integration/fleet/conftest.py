"""Fixtures of the batch, lookup, fleet and OpenAPI route tests: the API handler on moto, and a request log."""

from __future__ import annotations

import importlib
import json
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlencode

import pytest

from local_stack.lambda_runtime import LOCAL_ACCOUNT_ID, LocalLambdaContext
from status_flags.settings import dynamodb_client

Invoke = Callable[..., dict[str, Any]]

# Scopes of the token every event carries.
TOKEN_SCOPES = ("flags/read", "flags/write")

# Modules that read their settings and build clients at import; the route modules before api_handler.
API_MODULES = ("batch_routes", "fleet_routes", "api_handler")


@pytest.fixture
def api_module(table_names: dict[str, str]) -> Iterator[ModuleType]:
    """The API function's module, freshly imported so that it uses this test's moto tables."""
    dynamodb_client.cache_clear()
    module: ModuleType | None = None
    for name in API_MODULES:
        module = importlib.reload(sys.modules[name]) if name in sys.modules else importlib.import_module(name)
    assert module is not None
    yield module
    dynamodb_client.cache_clear()


def token_context(account_id: str, scopes: tuple[str, ...] = TOKEN_SCOPES) -> dict[str, Any]:
    """The ``requestContext.authorizer`` block of a request whose token API Gateway's JWT authorizer accepted."""
    claims = {"sub": account_id, "account_id": account_id, "scope": " ".join(scopes)}
    return {"jwt": {"claims": claims, "scopes": list(scopes)}}


def http_api_event(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
    token_account: str | None = None,
    with_token: bool = True,
) -> dict[str, Any]:
    """Build an API Gateway HTTP API (payload format 2.0) event as the $default route delivers it.

    Unless ``with_token`` is false, the event carries a read and write token for ``token_account``,
    by default the path's account.
    """
    path_account = re.match(r"/accounts/([^/]+)", path)
    if token_account is None:
        token_account = unquote(path_account.group(1)) if path_account else "acct-1"
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {"host": "api.example.test", "content-type": "application/json"},
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "local",
            "domainName": "api.example.test",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if with_token:
        event["requestContext"]["authorizer"] = token_context(token_account)
    if query:
        event["queryStringParameters"] = query
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


@pytest.fixture
def invoke(api_module: ModuleType) -> Invoke:
    """Send one request through the API handler; return (status code, parsed JSON body)."""

    def send(method: str, path: str, body: Any = None, **options: Any) -> tuple[int, Any]:
        event = http_api_event(method, path, body, **options)
        response = api_module.lambda_handler(event, LocalLambdaContext(function_name="ApiFunction"))
        content_type = response["headers"].get("Content-Type", "")
        parsed = json.loads(response["body"]) if content_type.startswith("application/json") else response["body"]
        return response["statusCode"], parsed

    return send


@pytest.fixture
def dynamodb_requests(api_module: ModuleType) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Record every request that the API function's DynamoDB client sends, as (operation, parameters)."""
    requests: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        requests.append((model.name, params))

    events = dynamodb_client().meta.events
    events.register("provide-client-params.dynamodb", record, unique_id="test-request-log")
    yield requests
    events.unregister("provide-client-params.dynamodb", unique_id="test-request-log")
