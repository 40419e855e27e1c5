"""Fixtures of the integration tests: handler modules bound to moto tables and buses, and API Gateway events."""

from __future__ import annotations

import base64
import importlib
import json
import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import boto3
import pytest

from local_stack.lambda_runtime import LOCAL_ACCOUNT_ID, LocalLambdaContext
from local_stack.template import create_event_buses
from status_flags.history import HistoryRepository
from status_flags.repository import FlagRepository
from status_flags.settings import DEFAULT_HISTORY_RETENTION_DAYS, dynamodb_client, events_client

REGION = "us-east-1"
BUS_PREFIX = "test-"

# Scopes of the token an event carries unless the test gives its own authorizer block.
DEFAULT_SCOPES = ("flags/read", "flags/write")
# The account of a request whose path names none, such as an unknown route.
NO_PATH_ACCOUNT = "acct-1"
DEFAULT_AUTHORIZER = object()

EventBuilder = Callable[..., dict[str, Any]]
ApiInvoker = Callable[..., dict[str, Any]]


def load_handler_module(name: str) -> ModuleType:
    """Import a handler module afresh, so its module-level clients and table names come from this test.

    The handlers read their settings and build their AWS clients at import time, as Lambda
    runs them once per execution environment.
    """
    dynamodb_client.cache_clear()
    events_client.cache_clear()
    module = importlib.reload(sys.modules[name]) if name in sys.modules else importlib.import_module(name)

    # Powertools binds its log handler to the sys.stdout of the first Logger of the service, and
    # pytest replaces sys.stdout per test, so point the handler at this test's stdout.
    for handler in logging.getLogger(module.logger.service).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stdout)
    return module


@pytest.fixture
def flag_repository(dynamodb: Any, table_names: dict[str, str]) -> FlagRepository:
    return FlagRepository(dynamodb, table_names["FlagsTable"])


@pytest.fixture
def history_repository(dynamodb: Any, table_names: dict[str, str]) -> HistoryRepository:
    return HistoryRepository(dynamodb, table_names["HistoryTable"], timedelta(days=DEFAULT_HISTORY_RETENTION_DAYS))


@pytest.fixture
def event_bus_names(moto_aws: None, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Create the template's event buses in moto and export the change event bus name the way the template does."""
    names = create_event_buses(boto3.client("events", region_name=REGION), template, BUS_PREFIX)
    monkeypatch.setenv("EVENT_BUS_NAME", names["FlagEventsBus"])
    return names


@pytest.fixture
def api_handler(table_names: dict[str, str]) -> Iterator[ModuleType]:
    """The API function's module, reading and writing this test's moto tables."""
    yield load_handler_module("api_handler")
    dynamodb_client.cache_clear()


@pytest.fixture
def stream_handler(table_names: dict[str, str], event_bus_names: dict[str, str]) -> Iterator[ModuleType]:
    """The stream function's module, writing this test's moto history table and publishing to its bus."""
    yield load_handler_module("stream_handler")
    dynamodb_client.cache_clear()
    events_client.cache_clear()


def route_key_for(template: dict[str, Any], method: str, raw_path: str) -> tuple[str, dict[str, str]]:
    """Return the route key and path parameters that API Gateway picks for a request.

    API Gateway matches each path parameter to one percent-encoded segment and passes its decoded value.
    A request that matches no route of the API function goes to the template's ``$default`` route.
    """
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"]
    for event in events.values():
        properties = event["Properties"]
        if event["Type"] != "HttpApi" or properties.get("Method") != method or "Path" not in properties:
            continue

        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", properties["Path"])
        match = re.fullmatch(pattern, raw_path)
        if match:
            parameters = {name: unquote(value) for name, value in match.groupdict().items()}
            return f"{method} {properties['Path']}", parameters
    return "$default", {}


def jwt_authorizer_context(account_id: str, scopes: Sequence[str]) -> dict[str, Any]:
    """The ``requestContext.authorizer`` block of a request that API Gateway's JWT authorizer accepted."""
    claims = {
        "iss": "urn:status-flags:local-issuer",
        "aud": "status-flags-local",
        "sub": account_id,
        "account_id": account_id,
        "exp": "4102444800",
        "scope": " ".join(scopes),
    }
    return {"jwt": {"claims": claims, "scopes": list(scopes)}}


@pytest.fixture
def http_event(template: dict[str, Any]) -> EventBuilder:
    """Build an API Gateway HTTP API (payload format 2.0) event.

    ``raw_path`` stays percent-encoded, as API Gateway sends it. A ``dict`` body is sent as JSON,
    ``bytes`` base64-encoded, and a ``str`` as it is. Unless ``authorizer`` is given (None leaves the
    block out), the event carries the JWT authorizer context of a read and write token for the path's account.
    """

    def build(
        method: str,
        raw_path: str,
        body: dict[str, Any] | str | bytes | None = None,
        headers: dict[str, str] | None = None,
        authorizer: Any = DEFAULT_AUTHORIZER,
    ) -> dict[str, Any]:
        route_key, path_parameters = route_key_for(template, method, raw_path)
        if authorizer is DEFAULT_AUTHORIZER:
            authorizer = jwt_authorizer_context(path_parameters.get("account_id", NO_PATH_ACCOUNT), DEFAULT_SCOPES)
        now = datetime.now(UTC)
        request_headers = {"host": "api.example.test", "user-agent": "pytest", **(headers or {})}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": "",
            "headers": request_headers,
            "requestContext": {
                "accountId": LOCAL_ACCOUNT_ID,
                "apiId": "local",
                "domainName": "api.example.test",
                "domainPrefix": "api",
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "pytest",
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        if path_parameters:
            event["pathParameters"] = path_parameters

        if isinstance(body, dict):
            event["body"] = json.dumps(body)
            request_headers.setdefault("content-type", "application/json")
        elif isinstance(body, bytes):
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        elif body is not None:
            event["body"] = body
        return event

    return build


@pytest.fixture
def invoke_api(api_handler: ModuleType, http_event: EventBuilder) -> ApiInvoker:
    """Send one request through the API function's handler and return the proxy response."""

    def invoke(method: str, raw_path: str, body: dict[str, Any] | str | bytes | None = None) -> dict[str, Any]:
        event = http_event(method, raw_path, body)
        return api_handler.lambda_handler(event, LocalLambdaContext(function_name="ApiFunction"))

    return invoke


def _emf_documents(stdout: str) -> list[dict[str, Any]]:
    """Return the CloudWatch embedded metric format documents printed to stdout."""
    documents = []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        if "_aws" in document:
            documents.append(document)
    return documents


def _metric_values(stdout: str) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for document in _emf_documents(stdout):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return values


@pytest.fixture
def read_metrics(capsys: pytest.CaptureFixture[str]) -> Callable[[], dict[str, list[float]]]:
    """Read the metrics that the handlers printed to stdout since the last read, as values by metric name.

    Powertools Metrics prints one CloudWatch embedded metric format document per invocation.
    """

    def read() -> dict[str, list[float]]:
        return _metric_values(capsys.readouterr().out)

    return read
