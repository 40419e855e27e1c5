"""Tenant isolation in the API function: events carry the JWT authorizer context that API Gateway builds."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from local_stack.lambda_runtime import LocalLambdaContext

OWN_ACCOUNT = "acct-own"
FOREIGN_ACCOUNT = "acct-foreign"
READ_WRITE = ["flags/read", "flags/write"]
ADMIN = ["flags/admin"]
UNSET = object()

Invoker = Callable[..., dict[str, Any]]
EventBuilder = Callable[..., dict[str, Any]]


def authorizer_context(claims: dict[str, str], scopes: list[str] | None) -> dict[str, Any]:
    """The requestContext.authorizer block of a request that API Gateway's JWT authorizer accepted."""
    return {"jwt": {"claims": {"iss": "urn:test", "aud": "test", "exp": "4102444800", **claims}, "scopes": scopes}}


@pytest.fixture
def invoke(api_handler: ModuleType, http_event: EventBuilder) -> Invoker:
    """Send one request through the handler as the caller with ``claims`` and ``scopes``.

    ``authorizer`` replaces the whole authorizer block, and UNSET leaves it out of the event.
    """

    def send(
        method: str,
        raw_path: str,
        body: dict[str, Any] | None = None,
        claims: dict[str, str] | None = None,
        scopes: list[str] | None = None,
        authorizer: Any = None,
    ) -> dict[str, Any]:
        if authorizer is None:
            authorizer = authorizer_context(claims if claims is not None else {"account_id": OWN_ACCOUNT}, scopes)
        event = http_event(method, raw_path, body, authorizer=None if authorizer is UNSET else authorizer)
        return api_handler.lambda_handler(event, LocalLambdaContext(function_name="ApiFunction"))

    return send


def flag_path(account: str, entity: str = "model-1", flag: str = "Model_Function_Run") -> str:
    return f"/accounts/{account}/entities/{entity}/flags/{flag}"


def stored_items(dynamodb: Any, table_names: dict[str, str]) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=table_names["FlagsTable"])["Items"]


def test_account_access_own_account_writes_and_reads(invoke: Invoker) -> None:
    created = invoke("PUT", flag_path(OWN_ACCOUNT), {"flag_value": 2}, scopes=READ_WRITE)
    read = invoke("GET", flag_path(OWN_ACCOUNT), scopes=READ_WRITE)

    assert created["statusCode"] == 201
    assert read["statusCode"] == 200
    body = json.loads(read["body"])
    assert body["account_id"] == OWN_ACCOUNT
    assert body["flag_value"] == 2


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", flag_path(FOREIGN_ACCOUNT), {"flag_value": 2}),
        ("GET", flag_path(FOREIGN_ACCOUNT), None),
        ("GET", f"/accounts/{FOREIGN_ACCOUNT}/entities/model-1/flags", None),
        ("GET", f"/accounts/{FOREIGN_ACCOUNT}/entities/model-1/history", None),
    ],
)
def test_account_access_foreign_account_forbidden(
    invoke: Invoker, dynamodb: Any, table_names: dict[str, str], method: str, path: str, body: Any
) -> None:
    response = invoke(method, path, body, scopes=READ_WRITE)

    assert response["statusCode"] == 403
    assert json.loads(response["body"]) == {
        "error": "account_forbidden",
        "message": (
            f"the token's account_id is {OWN_ACCOUNT!r}, so it cannot access account {FOREIGN_ACCOUNT!r}; "
            f"use a token whose account_id claim is {FOREIGN_ACCOUNT!r}, or one with the flags/admin scope"
        ),
    }
    assert stored_items(dynamodb, table_names) == []


def test_account_access_compares_decoded_account(invoke: Invoker, dynamodb: Any, table_names: dict[str, str]) -> None:
    """The path account is compared after percent-decoding, never as the raw segment."""
    literal = invoke("PUT", flag_path("acct%41"), {"flag_value": 1}, claims={"account_id": "acct%41"})
    decoded = invoke("PUT", flag_path("acct%41"), {"flag_value": 1}, claims={"account_id": "acctA"})

    assert literal["statusCode"] == 403
    assert "cannot access account 'acctA'" in json.loads(literal["body"])["message"]
    assert decoded["statusCode"] == 201
    assert [item["pk"]["S"] for item in stored_items(dynamodb, table_names)] == ["acctA#model-1"]


def test_account_access_encoded_own_account_allowed(invoke: Invoker) -> None:
    claims = {"account_id": "team a/b"}

    response = invoke("PUT", flag_path("team%20a%2Fb"), {"flag_value": 1}, claims=claims, scopes=READ_WRITE)

    assert response["statusCode"] == 201
    assert json.loads(response["body"])["account_id"] == "team a/b"


def test_account_access_invalid_account_encoding_400(invoke: Invoker) -> None:
    response = invoke("GET", flag_path("%FF"), scopes=READ_WRITE)

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["field"] == "account_id"


@pytest.mark.parametrize("claims", [{"account_id": OWN_ACCOUNT}, {}])
def test_account_access_admin_any_account(invoke: Invoker, claims: dict[str, str]) -> None:
    written = invoke("PUT", flag_path(FOREIGN_ACCOUNT), {"flag_value": 3}, claims=claims, scopes=ADMIN)
    read = invoke("GET", flag_path(FOREIGN_ACCOUNT), claims=claims, scopes=ADMIN)
    listed = invoke("GET", f"/accounts/{FOREIGN_ACCOUNT}/entities/model-1/flags", claims=claims, scopes=ADMIN)
    history = invoke("GET", f"/accounts/{FOREIGN_ACCOUNT}/entities/model-1/history", claims=claims, scopes=ADMIN)

    assert written["statusCode"] == 201
    assert json.loads(written["body"])["account_id"] == FOREIGN_ACCOUNT
    assert read["statusCode"] == 200
    assert json.loads(read["body"])["flag_value"] == 3
    assert listed["statusCode"] == 200
    assert [item["account_id"] for item in json.loads(listed["body"])["items"]] == [FOREIGN_ACCOUNT]
    assert history["statusCode"] == 200


@pytest.mark.parametrize(
    "authorizer",
    [UNSET, {}, {"jwt": None}, {"jwt": {"scopes": ["flags/admin"]}}, {"lambda": {"account_id": OWN_ACCOUNT}}],
    ids=["no-authorizer", "empty", "jwt-null", "no-claims", "lambda-authorizer"],
)
def test_account_access_missing_authorizer_401(
    invoke: Invoker, dynamodb: Any, table_names: dict[str, str], authorizer: Any
) -> None:
    response = invoke("PUT", flag_path(OWN_ACCOUNT), {"flag_value": 1}, authorizer=authorizer)

    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == "Bearer"
    assert json.loads(response["body"]) == {
        "error": "unauthorized",
        "message": (
            "the request has no verified token; send a bearer token in the Authorization header "
            "(the API's JWT authorizer must be attached to every route)"
        ),
    }
    assert stored_items(dynamodb, table_names) == []


@pytest.mark.parametrize("claims", [{}, {"account_id": ""}, {"sub": OWN_ACCOUNT}])
def test_account_access_missing_claim_401(
    invoke: Invoker, dynamodb: Any, table_names: dict[str, str], claims: dict[str, str]
) -> None:
    response = invoke("PUT", flag_path(OWN_ACCOUNT), {"flag_value": 1}, claims=claims, scopes=READ_WRITE)

    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == {
        "error": "unauthorized",
        "message": (
            "the token has no account_id claim; request a token that carries the caller's account "
            "in account_id, or one with the flags/admin scope"
        ),
    }
    assert stored_items(dynamodb, table_names) == []


def test_account_access_unmatched_route_requires_authorizer(invoke: Invoker) -> None:
    response = invoke("GET", "/nowhere", authorizer=UNSET)

    assert response["statusCode"] == 401


def test_account_access_unknown_route_404(invoke: Invoker) -> None:
    response = invoke("GET", "/nowhere", scopes=READ_WRITE)

    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"] == "route_not_found"


def test_account_access_wrong_method_405(invoke: Invoker) -> None:
    response = invoke("DELETE", flag_path(FOREIGN_ACCOUNT), scopes=READ_WRITE)

    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, PUT"
    assert json.loads(response["body"])["error"] == "method_not_allowed"


def test_account_access_claim_name_from_environment(invoke: Invoker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_CLAIM", "custom:tenant")
    claims = {"custom:tenant": OWN_ACCOUNT, "account_id": FOREIGN_ACCOUNT}

    own = invoke("PUT", flag_path(OWN_ACCOUNT), {"flag_value": 1}, claims=claims, scopes=READ_WRITE)
    foreign = invoke("PUT", flag_path(FOREIGN_ACCOUNT), {"flag_value": 1}, claims=claims, scopes=READ_WRITE)

    assert own["statusCode"] == 201
    assert foreign["statusCode"] == 403
    assert "custom:tenant claim" in json.loads(foreign["body"])["message"]


def test_account_access_null_scopes_not_admin(invoke: Invoker) -> None:
    """API Gateway sends scopes null on a route without AuthorizationScopes; that grants no admin rights."""
    response = invoke("GET", flag_path(FOREIGN_ACCOUNT), scopes=None)

    assert response["statusCode"] == 403
