"""End to end: real HTTP to the local stack, the API function in worker processes, moto and the stream poller."""

from __future__ import annotations

import itertools
import json
import random
import re
import socket
import threading
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from status_flags.keys import entity_key
from status_flags.models import VALID_FLAG_NAMES, VALID_FLAG_VALUES

pytestmark = pytest.mark.e2e

FLAGS_TABLE = "local-FlagsTable"
HISTORY_TABLE = "local-HistoryTable"
PUT_ROUTE = "PUT /accounts/{account_id}/entities/{entity_id}/flags/{flag_name}"
# Upper bound for the stream poller to record a write as history. Tests poll until then; none asserts a duration.
FLAG_KEYS = {"id", "account_id", "entity_id", "update_time", "flag_name", "flag_value", "version"}


def new_entity() -> tuple[str, str]:
    """A fresh account and entity, so each test owns its items whatever else runs against the stack."""
    return f"account-{uuid.uuid4()}", f"entity-{uuid.uuid4()}"


def flags_path(account_id: str, entity_id: str, flag_name: str | None = None) -> str:
    path = f"/accounts/{quote(account_id, safe='')}/entities/{quote(entity_id, safe='')}/flags"
    return f"{path}/{quote(flag_name, safe='')}" if flag_name is not None else path


def history_path(account_id: str, entity_id: str) -> str:
    return f"/accounts/{quote(account_id, safe='')}/entities/{quote(entity_id, safe='')}/history"


def stored_items(local_stack: Any, table: str, account_id: str, entity_id: str) -> list[dict[str, Any]]:
    """Read an entity's items straight from moto, bypassing the API."""
    response = local_stack.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": entity_key(account_id, entity_id)}},
        ConsistentRead=True,
    )
    return response["Items"]


def history_items(local_stack: Any, account_id: str, entity_id: str) -> list[dict[str, Any]]:
    reply = local_stack.request("GET", history_path(account_id, entity_id))
    assert reply.status == 200
    return reply.json()["items"]


def assert_flag(body: dict[str, Any], account_id: str, entity_id: str, flag_name: str, value: int) -> None:
    assert set(body) >= FLAG_KEYS
    assert body["account_id"] == account_id
    assert body["entity_id"] == entity_id
    assert body["flag_name"] == flag_name
    assert body["flag_value"] == value
    assert datetime.fromisoformat(body["update_time"]).utcoffset() is not None


def test_put_flag_create_advance_duplicate_stale(local_stack: Any) -> None:
    account, entity = new_entity()
    path = flags_path(account, entity, "Model_Function_Run")

    created = local_stack.request("PUT", path, {"flag_value": 1})
    assert created.status == 201
    assert created.headers["content-type"] == "application/json"
    created_body = created.json()
    assert_flag(created_body, account, entity, "Model_Function_Run", 1)
    assert created_body["version"] == 1
    assert created_body["outcome"] == "created"
    assert created_body["previous_value"] is None

    advanced = local_stack.request("PUT", path, {"flag_value": "In_Progress"})
    assert advanced.status == 200
    advanced_body = advanced.json()
    assert_flag(advanced_body, account, entity, "Model_Function_Run", 2)
    assert advanced_body["id"] == created_body["id"]
    assert advanced_body["version"] == 2
    assert advanced_body["outcome"] == "advanced"
    assert advanced_body["previous_value"] == 1

    history = local_stack.wait_for(lambda: len(history_items(local_stack, account, entity)) == 2)
    assert history

    duplicate = local_stack.request("PUT", path, {"flag_value": 2})
    assert duplicate.status == 200
    duplicate_body = duplicate.json()
    assert duplicate_body["outcome"] == "unchanged"
    assert {key: duplicate_body[key] for key in FLAG_KEYS} == {key: advanced_body[key] for key in FLAG_KEYS}

    stale = local_stack.request("PUT", path, {"flag_value": 0})
    assert stale.status == 409
    stale_body = stale.json()
    assert stale_body["error"] == "stale_flag_value"
    assert "0" in stale_body["message"]
    assert "2" in stale_body["message"]
    assert stale_body["flag"] == {key: advanced_body[key] for key in FLAG_KEYS}

    [item] = stored_items(local_stack, FLAGS_TABLE, account, entity)
    assert item["flag_value"] == {"N": "2"}
    assert item["version"] == {"N": "2"}

    # The unchanged and stale writes add no history; give the poller time to show any it would add.
    latest = local_stack.request("PUT", flags_path(account, entity, "Logo_S3_Storage"), {"flag_value": 3})
    assert latest.status == 201
    assert local_stack.wait_for(lambda: len(history_items(local_stack, account, entity)) == 3)
    history = history_items(local_stack, account, entity)
    model_history = [item for item in history if item["flag_name"] == "Model_Function_Run"]
    assert [(item["version"], item["flag_value"]) for item in model_history] == [(1, 1), (2, 2)]
    assert len(stored_items(local_stack, HISTORY_TABLE, account, entity)) == 3


def test_get_flag_and_list(local_stack: Any) -> None:
    account, entity = new_entity()
    first = local_stack.request("PUT", flags_path(account, entity, "File_S3_Storage"), {"flag_value": 3}).json()
    second = local_stack.request("PUT", flags_path(account, entity, "Input_EFS_Tensor"), {"flag_value": 4}).json()

    one = local_stack.request("GET", flags_path(account, entity, "File_S3_Storage"))
    assert one.status == 200
    assert one.json() == {key: first[key] for key in FLAG_KEYS}

    listed = local_stack.request("GET", flags_path(account, entity))
    assert listed.status == 200
    items = sorted(listed.json()["items"], key=lambda item: item["flag_name"])
    assert items == [{key: first[key] for key in FLAG_KEYS}, {key: second[key] for key in FLAG_KEYS}]


def test_get_flag_never_set_is_404(local_stack: Any) -> None:
    account, entity = new_entity()

    reply = local_stack.request("GET", flags_path(account, entity, "Output_S3_Storage"))

    assert reply.status == 404
    assert reply.json() == {
        "error": "flag_not_found",
        "message": f"flag Output_S3_Storage is not set for entity {entity!r} of account {account!r}",
    }


def test_list_flags_empty_entity(local_stack: Any) -> None:
    account, entity = new_entity()

    reply = local_stack.request("GET", flags_path(account, entity))

    assert reply.status == 200
    assert reply.json() == {"items": []}


def test_unknown_route_is_404(local_stack: Any) -> None:
    reply = local_stack.request("GET", "/nope")

    assert reply.status == 404
    assert reply.json() == {
        "error": "route_not_found",
        "message": "no route matches GET /nope; flag routes start with /accounts/{account_id}/entities/",
    }


def test_wrong_method_is_405(local_stack: Any) -> None:
    reply = local_stack.request("DELETE", "/accounts/a/entities/e/flags/Model_Function_Run")

    assert reply.status == 405
    assert reply.headers["allow"] == "GET, PUT"
    assert reply.json() == {
        "error": "method_not_allowed",
        "message": "method DELETE is not allowed on /accounts/a/entities/e/flags/Model_Function_Run; "
        "use one of: GET, PUT",
    }


@pytest.mark.parametrize(
    ("account_id", "entity_id"),
    [
        ("account with space", "entity with space"),
        ("a+b=c", "x+y=z"),
        ("hash#account", "hash#entity"),
        ("slash/account", "upload/2026/01/file.bin"),
        ("percent%25", "100%"),
        ("Zürich", "Ærøskøbing-模型-café"),
    ],
)
def test_ids_round_trip_exactly(local_stack: Any, account_id: str, entity_id: str) -> None:
    account_id = f"{account_id}-{uuid.uuid4().hex[:8]}"
    path = flags_path(account_id, entity_id, "Input_S3_Storage")

    created = local_stack.request("PUT", path, {"flag_value": 1})
    assert created.status == 201
    assert created.json()["account_id"] == account_id
    assert created.json()["entity_id"] == entity_id

    got = local_stack.request("GET", path)
    assert got.status == 200
    assert got.json()["account_id"] == account_id
    assert got.json()["entity_id"] == entity_id

    listed = local_stack.request("GET", flags_path(account_id, entity_id))
    assert [(item["account_id"], item["entity_id"]) for item in listed.json()["items"]] == [(account_id, entity_id)]

    [item] = stored_items(local_stack, FLAGS_TABLE, account_id, entity_id)
    assert item["account_id"] == {"S": account_id}
    assert item["entity_id"] == {"S": entity_id}

    history = local_stack.wait_for(lambda: history_items(local_stack, account_id, entity_id))
    assert [(item["account_id"], item["entity_id"]) for item in history] == [(account_id, entity_id)]


def test_raw_utf8_path_round_trips(local_stack: Any) -> None:
    """A client that sends non-ASCII letters unencoded in the path gets the same ids back."""
    account_id, entity_id = f"é-{uuid.uuid4().hex[:8]}", "naïve"
    address = urlsplit(local_stack.api_url)
    body = b'{"flag_value": 2}'
    request = (
        f"PUT /accounts/{account_id}/entities/{entity_id}/flags/File_EFS_Staging HTTP/1.1\r\n".encode()
        + f"Host: {address.netloc}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n".encode()
        + f"Authorization: Bearer {local_stack.token(account_id)}\r\n\r\n".encode()
        + body
    )

    with socket.create_connection((address.hostname, address.port), timeout=60) as connection:
        connection.sendall(request)
        response = b""
        while chunk := connection.recv(65536):
            response += chunk

    assert response.startswith(b"HTTP/1.1 201 ")
    assert local_stack.request("GET", flags_path(account_id, entity_id, "File_EFS_Staging")).status == 200


def value_error(raw: Any) -> dict[str, Any]:
    return {
        "error": "invalid_request",
        "message": f"flag_value {json.dumps(raw)} is invalid. Give an integer or its exact name: {VALID_FLAG_VALUES}.",
        "field": "flag_value",
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"flag_value": 5}, value_error(5)),
        ({"flag_value": -1}, value_error(-1)),
        ({"flag_value": 2.5}, value_error(2.5)),
        ({"flag_value": 2.0}, value_error(2.0)),
        ({"flag_value": True}, value_error(True)),
        ({"flag_value": "in_progress"}, value_error("in_progress")),
        ({"flag_value": "2"}, value_error("2")),
        ({"flag_value": None}, value_error(None)),
        (
            {},
            {
                "error": "invalid_request",
                "message": 'flag_value is missing; send {"flag_value": 2} or {"flag_value": "In_Progress"}.',
                "field": "flag_value",
            },
        ),
        (
            {"flag_value": 2, "note": "x"},
            {
                "error": "invalid_request",
                "message": "unknown field 'note'; the body accepts only flag_value.",
                "field": "note",
            },
        ),
        (
            [2],
            {
                "error": "invalid_request",
                "message": 'body must be a JSON object such as {"flag_value": 2}.',
                "field": "body",
            },
        ),
        (
            "{not json",
            {
                "error": "invalid_request",
                "message": "body is not valid JSON (Expecting property name enclosed in double quotes); "
                "send a JSON object.",
                "field": "body",
            },
        ),
    ],
    ids=[
        "five",
        "minus-one",
        "fraction",
        "float-two",
        "boolean",
        "lower-case-name",
        "numeric-string",
        "null",
        "missing",
        "extra-field",
        "array",
        "bad-json",
    ],
)
def test_put_flag_bad_body_writes_nothing(local_stack: Any, body: Any, expected: dict[str, Any]) -> None:
    account, entity = new_entity()

    reply = local_stack.request("PUT", flags_path(account, entity, "Model_Function_Run"), body)

    assert reply.status == 400
    assert reply.json() == expected
    assert stored_items(local_stack, FLAGS_TABLE, account, entity) == []


def test_put_flag_bad_flag_name_writes_nothing(local_stack: Any) -> None:
    account, entity = new_entity()

    reply = local_stack.request("PUT", flags_path(account, entity, "model_function_run"), {"flag_value": 1})

    assert reply.status == 400
    assert reply.json() == {
        "error": "invalid_request",
        "message": f"flag_name 'model_function_run' is not a known flag name. Use one of: {VALID_FLAG_NAMES}.",
        "field": "flag_name",
    }
    assert stored_items(local_stack, FLAGS_TABLE, account, entity) == []


def test_put_flag_body_over_handler_limit_is_413(local_stack: Any) -> None:
    account, entity = new_entity()
    body = '{"flag_value": 2, "padding": "' + "x" * 20_000 + '"}'

    reply = local_stack.request("PUT", flags_path(account, entity, "Model_Function_Run"), body)

    assert reply.status == 413
    assert reply.json() == {
        "error": "payload_too_large",
        "message": f"request body is {len(body)} bytes; the limit is 16384 bytes, so send a smaller body",
    }
    assert stored_items(local_stack, FLAGS_TABLE, account, entity) == []


def test_put_flag_body_over_gateway_limit_is_413(local_stack: Any) -> None:
    account, entity = new_entity()
    body = b'{"flag_value": 2, "padding": "' + b"x" * (10 * 1024 * 1024) + b'"}'

    reply = local_stack.request("PUT", flags_path(account, entity, "Model_Function_Run"), body)

    assert reply.status == 413
    assert reply.json() == {"message": "Request Entity Too Large"}
    assert stored_items(local_stack, FLAGS_TABLE, account, entity) == []


def test_history_rises_with_versions(local_stack: Any) -> None:
    account, entity = new_entity()
    path = flags_path(account, entity, "Output_EFS_Staging")
    for value in (0, 1, 1, 3, 2, 4):
        assert local_stack.request("PUT", path, {"flag_value": value}).status in (200, 201, 409)

    history = local_stack.wait_for(
        lambda: [item for item in history_items(local_stack, account, entity) if item["version"] == 4]
    )
    assert history

    items = history_items(local_stack, account, entity)
    assert [item["version"] for item in items] == [1, 2, 3, 4]
    assert [item["flag_value"] for item in items] == [0, 1, 3, 4]
    assert [item["previous_value"] for item in items] == [None, 0, 1, 3]


def test_racing_writers_keep_values_forward(local_stack: Any) -> None:
    account, entity = new_entity()
    flag_names = ["Input_EFS_Staging", "Input_S3_Storage", "Input_EFS_Transcoding"]
    thread_count = 12
    replies: list[tuple[str, int, int, dict[str, Any]]] = []
    replies_lock = threading.Lock()
    start = threading.Barrier(thread_count)

    def writer(seed: int) -> None:
        writes = [(name, value) for name in flag_names for value in range(5)]
        random.Random(seed).shuffle(writes)
        start.wait()
        for name, value in writes:
            reply = local_stack.request("PUT", flags_path(account, entity, name), {"flag_value": value})
            with replies_lock:
                replies.append((name, value, reply.status, reply.json()))

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(thread_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(replies) == thread_count * len(flag_names) * 5
    accepted: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for name, value, status, body in replies:
        if status == 409:
            assert body["error"] == "stale_flag_value"
            assert body["flag"]["flag_value"] > value
            continue
        assert status in (200, 201), body
        assert body["flag_value"] == value
        if body["outcome"] in ("created", "advanced"):
            assert (status == 201) == (body["outcome"] == "created")
            accepted[name].append((body["version"], value))
        else:
            assert body["outcome"] == "unchanged"

    for name in flag_names:
        flag = local_stack.request("GET", flags_path(account, entity, name)).json()
        assert flag["flag_value"] == 4

        versions = [version for version, _ in accepted[name]]
        values = [value for _, value in accepted[name]]
        assert len(set(values)) == len(values), accepted[name]
        assert len(set(versions)) == len(versions), accepted[name]
        assert sorted(versions) == list(range(1, flag["version"] + 1))
        by_version = [value for _, value in sorted(accepted[name])]
        assert by_version == sorted(by_version)

    def history_complete() -> list[dict[str, Any]] | None:
        items = history_items(local_stack, account, entity)
        versions = {item["flag_name"]: item["version"] for item in items}
        final_versions = {name: max(version for version, _ in accepted[name]) for name in flag_names}
        complete = all(
            sum(1 for item in items if item["flag_name"] == name) == final_versions[name] for name in flag_names
        )
        return items if complete and set(versions) == set(flag_names) else None

    history = local_stack.wait_for(history_complete)
    assert history is not None
    for name in flag_names:
        flag_history = sorted((item for item in history if item["flag_name"] == name), key=lambda i: i["version"])
        assert [item["version"] for item in flag_history] == list(range(1, len(flag_history) + 1))
        values = [item["flag_value"] for item in flag_history]
        assert all(earlier < later for earlier, later in itertools.pairwise(values)), values
        assert sorted(accepted[name]) == [(item["version"], item["flag_value"]) for item in flag_history]


def test_stack_logs_one_line_per_invocation(local_stack: Any) -> None:
    account, entity = new_entity()

    reply = local_stack.request("PUT", flags_path(account, entity, "Logo_EFS_Staging"), {"flag_value": 1})

    assert reply.status == 201
    request_id = reply.headers["apigw-requestid"]
    lines = local_stack.wait_for(
        lambda: local_stack.output_lines_containing(f"request_id={request_id}"), timeout_seconds=10
    )
    assert len(lines) == 1
    assert re.search(rf"invocation route={re.escape(PUT_ROUTE)} status=201 duration_ms=\d+\.\d ", lines[0])

    local_stack.wait_for(lambda: history_items(local_stack, account, entity))
    batch_lines = local_stack.output_lines_containing("stream batch records=")
    assert batch_lines
    assert all(re.search(r"stream batch records=\d+ failures=\d+ duration_ms=\d+\.\d", line) for line in batch_lines)
