"""End to end over HTTP: batch writes, multi-entity lookups, fleet queries and the OpenAPI document."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

pytestmark = pytest.mark.e2e

COMMITTED_OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
# Upper bound for the stream poller to record a write as history. Tests poll until then; none asserts a duration.


def new_account() -> str:
    """A fresh account, so each test owns its items whatever else runs against the stack."""
    return f"account-{uuid.uuid4()}"


def account_path(account_id: str, suffix: str) -> str:
    return f"/accounts/{quote(account_id, safe='')}/{suffix}"


def update(entity_id: str, flag_value: Any, flag_name: str = "Model_Function_Run") -> dict[str, Any]:
    return {"entity_id": entity_id, "flag_name": flag_name, "flag_value": flag_value}


def test_batch_then_lookup_and_history(local_stack: Any) -> None:
    account = new_account()
    batch_path = account_path(account, "flags/batch")

    first = local_stack.request("POST", batch_path, {"updates": [update("m1", 1), update("m2", "In_Progress")]})
    second = local_stack.request("POST", batch_path, {"updates": [update("m1", 3), update("m2", 1)]})
    lookup = local_stack.request("POST", account_path(account, "flags/lookup"), {"entity_ids": ["m1", "m2", "m3"]})

    assert first.status == 200
    assert [result["outcome"] for result in first.json()["results"]] == ["created", "created"]
    assert second.status == 200
    assert [result["outcome"] for result in second.json()["results"]] == ["advanced", "stale"]
    assert lookup.status == 200
    flags = lookup.json()["flags"]
    assert list(flags) == ["m1", "m2", "m3"]
    assert [(flag["flag_value"], flag["version"]) for flag in flags["m1"]] == [(3, 2)]
    assert [(flag["flag_value"], flag["version"]) for flag in flags["m2"]] == [(2, 1)]
    assert flags["m3"] == []
    assert flags["m1"][0] == second.json()["results"][0]["flag"]

    def m1_history() -> list[Any]:
        reply = local_stack.request("GET", account_path(account, "entities/m1/history"))
        return reply.json()["items"] if len(reply.json()["items"]) == 2 else []

    history = local_stack.wait_for(m1_history)
    assert [(item["previous_value"], item["flag_value"]) for item in history] == [(None, 1), (1, 3)]


def test_batch_atomic_all_or_none(local_stack: Any) -> None:
    account = new_account()
    batch_path = account_path(account, "flags/batch")
    local_stack.request("POST", batch_path, {"updates": [update("done", 3)]})

    rejected = local_stack.request(
        "POST", batch_path, {"atomic": True, "updates": [update("new", 1), update("done", 2)]}
    )
    accepted = local_stack.request(
        "POST", batch_path, {"atomic": True, "updates": [update("new", 1), update("done", 3)]}
    )
    lookup = local_stack.request("POST", account_path(account, "flags/lookup"), {"entity_ids": ["new", "done"]})

    assert rejected.status == 409
    body = rejected.json()
    assert body["error"] == "stale_flag_values"
    assert [
        (item["index"], item["entity_id"], item["requested_value"], item["stored_value"]) for item in body["stale"]
    ] == [(1, "done", 2, 3)]
    assert accepted.status == 200
    assert [result["outcome"] for result in accepted.json()["results"]] == ["accepted", "unchanged"]
    flags = lookup.json()["flags"]
    assert [(flag["flag_value"], flag["version"]) for flag in flags["new"]] == [(1, 1)]
    assert [(flag["flag_value"], flag["version"]) for flag in flags["done"]] == [(3, 1)]

    # The cancelled transaction leaves no history, and the stream keeps flowing after it.
    def new_history() -> list[Any]:
        return local_stack.request("GET", account_path(account, "entities/new/history")).json()["items"]

    history = local_stack.wait_for(new_history)
    assert [(item["version"], item["flag_value"]) for item in history] == [(1, 1)]


def test_batch_form_encoded_body_is_415(local_stack: Any) -> None:
    reply = local_stack.request(
        "POST",
        account_path(new_account(), "flags/batch"),
        '{"updates": []}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert reply.status == 415
    assert reply.json() == {
        "error": "unsupported_media_type",
        "message": "content type 'application/x-www-form-urlencoded' is not supported; send the body as JSON "
        "with the header Content-Type: application/json.",
    }


def test_batch_invalid_update_is_400(local_stack: Any) -> None:
    account = new_account()

    reply = local_stack.request(
        "POST", account_path(account, "flags/batch"), {"updates": [update("a", 1), update("b", 9)]}
    )

    assert reply.status == 400
    assert reply.json() == {
        "error": "invalid_request",
        "message": "updates[1].flag_value: flag_value 9 is invalid. Give an integer or its exact name: "
        "0 (Not_Started), 1 (Enqueued), 2 (In_Progress), 3 (Finished), 4 (Error).",
        "field": "updates[1].flag_value",
    }


def test_fleet_query_pages_oldest_first(local_stack: Any) -> None:
    account = new_account()
    batch_path = account_path(account, "flags/batch")
    for number in range(5):
        assert local_stack.request("POST", batch_path, {"updates": [update(f"run-{number}", 2)]}).status == 200
    local_stack.request("POST", batch_path, {"updates": [update("done", 3)]})

    entity_ids: list[str] = []
    query = {"flag_name": "Model_Function_Run", "flag_value": "In_Progress", "limit": "2"}
    pages = 0
    while True:
        reply = local_stack.request("GET", f"{account_path(account, 'flags')}?{urlencode(query)}")
        assert reply.status == 200
        pages += 1
        entity_ids += [item["entity_id"] for item in reply.json()["items"]]
        if reply.json()["next_cursor"] is None:
            break
        cursor = reply.json()["next_cursor"]
        query = {**query, "cursor": cursor}

    assert entity_ids == [f"run-{number}" for number in range(5)]
    assert pages == 3

    other_account = local_stack.request("GET", f"{account_path(new_account(), 'flags')}?{urlencode(query)}")
    assert other_account.status == 400
    assert other_account.json()["field"] == "cursor"
    naive = local_stack.request(
        "GET",
        f"{account_path(account, 'flags')}?"
        + urlencode({"flag_name": "Model_Function_Run", "flag_value": "2", "updated_after": "2026-01-01T00:00:00"}),
    )
    assert naive.status == 400
    assert naive.json()["field"] == "updated_after"


def test_batch_foreign_account_forbidden(local_stack: Any) -> None:
    account = new_account()

    reply = local_stack.request(
        "POST",
        account_path(account, "flags/batch"),
        {"updates": [update("m1", 1)]},
        token=local_stack.token(new_account()),
    )
    lookup = local_stack.request("POST", account_path(account, "flags/lookup"), {"entity_ids": ["m1"]})

    assert reply.status == 403
    assert reply.json()["error"] == "account_forbidden"
    assert lookup.json() == {"flags": {"m1": []}}


def test_openapi_document_served(local_stack: Any) -> None:
    reply = local_stack.request("GET", "/openapi.json", token=None)

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.body.decode() + "\n" == COMMITTED_OPENAPI.read_text(encoding="utf-8")


def test_swagger_page_served(local_stack: Any) -> None:
    reply = local_stack.request("GET", "/swagger", token=None)

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert b"<title>Swagger UI</title>" in reply.body
