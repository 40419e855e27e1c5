"""Local API Gateway: route matching from the template, and the payload 2.0 event a request becomes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local_stack.api_event import HttpRequest, build_http_event, encode_raw_path, lambda_response, split_target
from local_stack.authorizer import AuthorizerRejection, LocalAuthorizer
from local_stack.routes import Route, compile_path, http_api_routes, match_route
from local_stack.token import mint_token

FLAG_ROUTE = "PUT /accounts/{account_id}/entities/{entity_id}/flags/{flag_name}"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def routes(template: dict[str, Any]) -> list[Route]:
    return http_api_routes(template, "ApiFunction")


def wire(text: str) -> str:
    """A request target as http.server hands it over: the wire bytes decoded as latin-1."""
    return text.encode("utf-8").decode("latin-1")


def request(method: str, target: str, headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> HttpRequest:
    return HttpRequest(method=method, target=target, headers=headers or [], body=body, source_ip="127.0.0.1")


def event_for(routes: list[Route], http_request: HttpRequest) -> dict[str, Any]:
    raw_path, _ = split_target(http_request.target)
    match = match_route(routes, http_request.method, raw_path)
    assert match is not None
    return build_http_event(http_request, match, "127.0.0.1:3000", request_id="request-1", now=NOW)


def test_http_api_routes_read_template(routes: list[Route], template: dict[str, Any]) -> None:
    assert [route.route_key for route in routes] == [
        FLAG_ROUTE,
        "GET /accounts/{account_id}/entities/{entity_id}/flags/{flag_name}",
        "GET /accounts/{account_id}/entities/{entity_id}/flags",
        "GET /accounts/{account_id}/entities/{entity_id}/history",
        "POST /accounts/{account_id}/flags/batch",
        "POST /accounts/{account_id}/flags/lookup",
        "GET /accounts/{account_id}/flags",
        "GET /openapi.json",
        "GET /swagger",
        "$default",
    ]
    api_auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    assert all(route.api_auth == api_auth for route in routes)
    assert [route.auth for route in routes] == [
        {"AuthorizationScopes": ["flags/write", "flags/admin"]},
        {"AuthorizationScopes": ["flags/read", "flags/admin"]},
        {"AuthorizationScopes": ["flags/read", "flags/admin"]},
        {"AuthorizationScopes": ["flags/read", "flags/admin"]},
        {"AuthorizationScopes": ["flags/write", "flags/admin"]},
        {"AuthorizationScopes": ["flags/read", "flags/admin"]},
        {"AuthorizationScopes": ["flags/read", "flags/admin"]},
        {"Authorizer": "NONE"},
        {"Authorizer": "NONE"},
        {"AuthorizationScopes": ["flags/read", "flags/write", "flags/admin"]},
    ]


def test_http_api_routes_keep_auth_properties(template: dict[str, Any]) -> None:
    api_auth = {"DefaultAuthorizer": "Jwt", "Authorizers": {"Jwt": {"IdentitySource": "$request.header.Authorization"}}}
    event_auth = {"Authorizer": "NONE"}
    resources = dict(template["Resources"])
    resources["HttpApi"] = {
        **resources["HttpApi"],
        "Properties": {**resources["HttpApi"]["Properties"], "Auth": api_auth},
    }
    function = resources["ApiFunction"]
    events = dict(function["Properties"]["Events"])
    events["GetFlag"] = {**events["GetFlag"], "Properties": {**events["GetFlag"]["Properties"], "Auth": event_auth}}
    resources["ApiFunction"] = {**function, "Properties": {**function["Properties"], "Events": events}}

    routes = {route.event_id: route for route in http_api_routes({**template, "Resources": resources}, "ApiFunction")}

    assert routes["GetFlag"].auth == event_auth
    assert routes["GetFlag"].api_auth == api_auth
    assert routes["PutFlag"].auth == {"AuthorizationScopes": ["flags/write", "flags/admin"]}
    assert routes["PutFlag"].api_auth == api_auth


def test_authorizer_every_route_but_docs(routes: list[Route], template: dict[str, Any], tmp_path: Path) -> None:
    authorizer = LocalAuthorizer(template, routes, tmp_path)
    token = mint_token(
        authorizer.signing_key,
        issuer="urn:status-flags:local-issuer",
        audience="status-flags-local",
        scopes=["flags/admin"],
        ttl_seconds=60,
    )

    for route in routes:
        if route.route_key in ("GET /openapi.json", "GET /swagger"):
            assert authorizer.authorize(route, {}) is None
            continue

        with pytest.raises(AuthorizerRejection) as caught:
            authorizer.authorize(route, {})
        assert caught.value.status_code == 401
        assert caught.value.message == "Unauthorized"

        context = authorizer.authorize(route, {"authorization": f"Bearer {token}"})
        assert context is not None
        assert context["jwt"]["scopes"] == ["flags/admin"]


def test_local_authorizer_none_route_open(template: dict[str, Any], tmp_path: Path) -> None:
    api_auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    route = Route("Open", "GET", "/open", {"Authorizer": "NONE"}, api_auth, compile_path("/open"))

    assert LocalAuthorizer(template, [route], tmp_path).authorize(route, {}) is None


def test_match_route_declared_route(routes: list[Route]) -> None:
    match = match_route(routes, "PUT", "/accounts/a1/entities/e%2F1/flags/Model_Function_Run")

    assert match is not None
    assert match.route.route_key == FLAG_ROUTE
    assert match.path_parameters == {"account_id": "a1", "entity_id": "e/1", "flag_name": "Model_Function_Run"}


def test_match_route_wrong_method_is_default(routes: list[Route]) -> None:
    match = match_route(routes, "POST", "/accounts/a1/entities/e1/flags")

    assert match is not None
    assert match.route.route_key == "$default"
    assert match.path_parameters == {}


def test_match_route_unknown_path_is_default(routes: list[Route]) -> None:
    for path in ("/", "/nope", "/accounts/a1/entities/e1/flags/", "/accounts/a1/entities/e1/flags/X/extra"):
        match = match_route(routes, "GET", path)
        assert match is not None
        assert match.route.route_key == "$default"


def test_match_route_without_default_is_none(routes: list[Route]) -> None:
    declared = [route for route in routes if not route.is_default]

    assert match_route(declared, "GET", "/nope") is None


def test_match_route_prefers_literal_segments() -> None:
    routes = [
        Route("ByName", "GET", "/items/{name}", pattern=compile_path("/items/{name}")),
        Route("Latest", "GET", "/items/latest", pattern=compile_path("/items/latest")),
        Route("Any", "ANY", "/items/{proxy+}", pattern=compile_path("/items/{proxy+}")),
    ]

    assert match_route(routes, "GET", "/items/latest").route.event_id == "Latest"  # type: ignore[union-attr]
    assert match_route(routes, "GET", "/items/x").route.event_id == "ByName"  # type: ignore[union-attr]
    assert match_route(routes, "DELETE", "/items/x/y").route.event_id == "Any"  # type: ignore[union-attr]


def test_encode_raw_path_keeps_percent_encoding() -> None:
    assert encode_raw_path("/accounts/a%20b/entities/x%2By%3D%23%2F") == "/accounts/a%20b/entities/x%2By%3D%23%2F"
    assert encode_raw_path("/a+b=c") == "/a+b=c"


def test_encode_raw_path_encodes_raw_utf8() -> None:
    assert encode_raw_path(wire("/entities/héllo")) == "/entities/h%C3%A9llo"


def test_build_http_event_put_flag(routes: list[Route]) -> None:
    target = "/accounts/a%20b/entities/%C3%A9/flags/Model_Function_Run?dry=1&tag=a&tag=b%20c"
    headers = [
        ("Host", "127.0.0.1:3000"),
        ("Content-Type", "application/json"),
        ("X-Trace", "one"),
        ("x-trace", "two"),
        ("User-Agent", "curl/8"),
        ("Cookie", "session=abc; theme=dark"),
    ]

    event = event_for(routes, request("PUT", target, headers, b'{"flag_value": 2}'))

    assert event == {
        "version": "2.0",
        "routeKey": FLAG_ROUTE,
        "rawPath": "/accounts/a%20b/entities/%C3%A9/flags/Model_Function_Run",
        "rawQueryString": "dry=1&tag=a&tag=b%20c",
        "cookies": ["session=abc", "theme=dark"],
        "headers": {
            "host": "127.0.0.1:3000",
            "content-type": "application/json",
            "x-trace": "one,two",
            "user-agent": "curl/8",
            "x-forwarded-for": "127.0.0.1",
            "x-forwarded-proto": "http",
            "x-forwarded-port": "3000",
        },
        "queryStringParameters": {"dry": "1", "tag": "a,b c"},
        "pathParameters": {"account_id": "a b", "entity_id": "é", "flag_name": "Model_Function_Run"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1:3000",
            "domainPrefix": "127",
            "http": {
                "method": "PUT",
                "path": "/accounts/a%20b/entities/%C3%A9/flags/Model_Function_Run",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "curl/8",
            },
            "requestId": "request-1",
            "routeKey": FLAG_ROUTE,
            "stage": "$default",
            "time": "02/Jan/2026:03:04:05 +0000",
            "timeEpoch": 1767323045000,
        },
        "body": '{"flag_value": 2}',
        "isBase64Encoded": False,
    }


def test_build_http_event_default_route_without_query(routes: list[Route]) -> None:
    event = event_for(routes, request("GET", "/nope"))

    assert event["routeKey"] == "$default"
    assert event["requestContext"]["routeKey"] == "$default"
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event
    assert "pathParameters" not in event
    assert "body" not in event
    assert "cookies" not in event


def test_build_http_event_binary_body_is_base64(routes: list[Route]) -> None:
    body = b"\xff\xfe\x00binary"

    event = event_for(routes, request("PUT", "/accounts/a/entities/e/flags/Model_Function_Run", body=body))

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_build_http_event_raw_utf8_path(routes: list[Route]) -> None:
    event = event_for(routes, request("GET", wire("/accounts/ä/entities/é/flags")))

    assert event["rawPath"] == "/accounts/%C3%A4/entities/%C3%A9/flags"
    assert event["pathParameters"] == {"account_id": "ä", "entity_id": "é"}


def test_lambda_response_decodes_base64_body() -> None:
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/octet-stream"},
        "cookies": ["a=1"],
        "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True,
    }

    response = lambda_response(result)

    assert response.status_code == 201
    assert response.headers == {"Content-Type": "application/octet-stream"}
    assert response.cookies == ["a=1"]
    assert response.body == b"\x00\x01"


def test_lambda_response_plain_value_is_json_200() -> None:
    response = lambda_response({"hello": "world"})

    assert response.status_code == 200
    assert response.headers == {"content-type": "application/json"}
    assert response.body == b'{"hello": "world"}'
