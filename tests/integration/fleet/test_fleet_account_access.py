"""Tenant isolation of the batch, lookup and fleet routes, and the public documentation routes."""

from __future__ import annotations

from typing import Any

import pytest

FORBIDDEN = {
    "error": "account_forbidden",
    "message": "the token's account_id is 'acct-2', so it cannot access account 'acct-1'; use a token whose "
    "account_id claim is 'acct-1', or one with the flags/admin scope",
}
FLEET_QUERY = {"flag_name": "Model_Function_Run", "flag_value": "2"}


@pytest.mark.parametrize(
    ("method", "path", "body", "query"),
    [
        (
            "POST",
            "/accounts/acct-1/flags/batch",
            {"updates": [{"entity_id": "e1", "flag_name": "Model_Function_Run", "flag_value": 1}]},
            None,
        ),
        (
            "POST",
            "/accounts/acct-1/flags/batch",
            {"atomic": True, "updates": [{"entity_id": "e1", "flag_name": "Model_Function_Run", "flag_value": 1}]},
            None,
        ),
        ("POST", "/accounts/acct-1/flags/lookup", {"entity_ids": ["e1"]}, None),
        ("GET", "/accounts/acct-1/flags", None, FLEET_QUERY),
    ],
)
def test_fleet_routes_foreign_account_forbidden(
    invoke: Any,
    dynamodb: Any,
    table_names: dict[str, str],
    dynamodb_requests: list[tuple[str, Any]],
    method: str,
    path: str,
    body: Any,
    query: dict[str, str] | None,
) -> None:
    status, response = invoke(method, path, body, query=query, token_account="acct-2")

    assert status == 403
    assert response == FORBIDDEN
    assert dynamodb_requests == []
    assert dynamodb.scan(TableName=table_names["FlagsTable"])["Items"] == []


def test_fleet_routes_without_token_unauthorized(invoke: Any, dynamodb_requests: list[tuple[str, Any]]) -> None:
    status, response = invoke("GET", "/accounts/acct-1/flags", query=FLEET_QUERY, with_token=False)

    assert status == 401
    assert response["error"] == "unauthorized"
    assert dynamodb_requests == []


@pytest.mark.parametrize("path", ["/openapi.json", "/swagger"])
def test_documentation_routes_need_no_token(invoke: Any, path: str) -> None:
    status, _ = invoke("GET", path, with_token=False)

    assert status == 200


def test_documentation_routes_other_methods_need_token(invoke: Any) -> None:
    status, response = invoke("POST", "/openapi.json", {}, with_token=False)

    assert status == 401
    assert response["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("method", "path", "body", "query"),
    [
        ("POST", "/accounts/acct-1/flags/batch", {"updates": []}, None),
        ("POST", "/accounts/acct-1/flags/lookup", {"entity_ids": "e1"}, None),
        ("GET", "/accounts/acct-1/flags", None, {"flag_name": "Nope"}),
    ],
)
def test_fleet_routes_access_checked_before_validation(
    invoke: Any, method: str, path: str, body: Any, query: dict[str, str] | None
) -> None:
    foreign_status, foreign_response = invoke(method, path, body, query=query, token_account="acct-2")
    anonymous_status, anonymous_response = invoke(method, path, body, query=query, with_token=False)

    assert foreign_status == 403
    assert foreign_response == FORBIDDEN
    assert anonymous_status == 401
    assert anonymous_response["error"] == "unauthorized"
