"""Integration tests of POST /accounts/{account_id}/flags/batch through the API handler, on moto."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from status_flags.keys import flag_key
from status_flags.models import FlagName, FlagValue, format_time
from status_flags.repository import FlagRepository, flag_from_item

T0 = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 31, 12, 5, 0, tzinfo=UTC)
BATCH_PATH = "/accounts/acct-1/flags/batch"
RUN = FlagName.MODEL_FUNCTION_RUN


@pytest.fixture
def flags(dynamodb: Any, table_names: dict[str, str]) -> FlagRepository:
    return FlagRepository(dynamodb, table_names["FlagsTable"])


@pytest.fixture
def batch_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write made by a batch request happens at T1."""
    monkeypatch.setattr("status_flags.batch.utc_now", lambda: T1)
    monkeypatch.setattr("status_flags.repository.utc_now", lambda: T1)


def stored(dynamodb: Any, table_names: dict[str, str], entity_id: str, flag_name: FlagName = RUN) -> Any:
    item = dynamodb.get_item(TableName=table_names["FlagsTable"], Key=flag_key("acct-1", entity_id, flag_name)).get(
        "Item"
    )
    return flag_from_item(item).to_response() if item else None


def update(entity_id: str, flag_value: Any, flag_name: str = "Model_Function_Run") -> dict[str, Any]:
    return {"entity_id": entity_id, "flag_name": flag_name, "flag_value": flag_value}


def invalid(field: str, message: str) -> dict[str, str]:
    return {"error": "invalid_request", "message": message, "field": field}


def test_batch_independent_reports_each_outcome(
    invoke: Any, flags: FlagRepository, dynamodb: Any, table_names: dict[str, str], batch_clock: None
) -> None:
    flags.advance("acct-1", "same", RUN, FlagValue.IN_PROGRESS, now=T0)
    flags.advance("acct-1", "behind", RUN, FlagValue.ENQUEUED, now=T0)
    flags.advance("acct-1", "ahead", RUN, FlagValue.FINISHED, now=T0)
    before = {entity: stored(dynamodb, table_names, entity) for entity in ("same", "behind", "ahead")}

    status, body = invoke(
        "POST",
        BATCH_PATH,
        {"updates": [update("same", 2), update("behind", "Finished"), update("ahead", 1), update("new", "Enqueued")]},
    )

    assert status == 200
    after = {entity: stored(dynamodb, table_names, entity) for entity in ("same", "behind", "ahead", "new")}
    assert after["same"] == before["same"]
    assert after["ahead"] == before["ahead"]
    assert after["behind"] == {**before["behind"], "flag_value": 3, "update_time": format_time(T1), "version": 2}
    assert after["new"]["flag_value"] == 1
    assert after["new"]["version"] == 1
    t0, t1 = format_time(T0), format_time(T1)
    assert body == {
        "atomic": False,
        "results": [
            {
                "index": 0,
                "entity_id": "same",
                "flag_name": "Model_Function_Run",
                "requested_value": 2,
                "outcome": "unchanged",
                "previous_value": 2,
                "update_time": t0,
                "flag": after["same"],
            },
            {
                "index": 1,
                "entity_id": "behind",
                "flag_name": "Model_Function_Run",
                "requested_value": 3,
                "outcome": "advanced",
                "previous_value": 1,
                "update_time": t1,
                "flag": after["behind"],
            },
            {
                "index": 2,
                "entity_id": "ahead",
                "flag_name": "Model_Function_Run",
                "requested_value": 1,
                "outcome": "stale",
                "previous_value": 3,
                "update_time": t0,
                "flag": after["ahead"],
            },
            {
                "index": 3,
                "entity_id": "new",
                "flag_name": "Model_Function_Run",
                "requested_value": 1,
                "outcome": "created",
                "previous_value": None,
                "update_time": t1,
                "flag": after["new"],
            },
        ],
    }


def test_batch_independent_sends_one_update_item_per_update(
    invoke: Any, dynamodb_requests: list[tuple[str, dict[str, Any]]]
) -> None:
    updates = [update(f"entity-{number}", number % 5) for number in range(25)]

    status, body = invoke("POST", BATCH_PATH, {"updates": updates})

    assert status == 200
    assert [result["outcome"] for result in body["results"]] == ["created"] * 25
    assert [operation for operation, _ in dynamodb_requests] == ["UpdateItem"] * 25
    sent_keys = sorted(params["Key"]["pk"]["S"] for _, params in dynamodb_requests)
    assert sent_keys == sorted(f"acct-1#entity-{number}" for number in range(25))


def test_batch_atomic_one_transaction(
    invoke: Any, dynamodb: Any, table_names: dict[str, str], dynamodb_requests: list[tuple[str, dict[str, Any]]]
) -> None:
    invoke("PUT", "/accounts/acct-1/entities/e1/flags/Model_Function_Run", {"flag_value": 1})
    single_write = dynamodb_requests.pop()[1]
    assert dynamodb_requests == []

    status, body = invoke("POST", BATCH_PATH, {"atomic": True, "updates": [update("e1", 3), update("e2", 2)]})

    assert status == 200
    assert len(dynamodb_requests) == 1
    operation, params = dynamodb_requests[0]
    assert operation == "TransactWriteItems"
    entries = [item["Update"] for item in params["TransactItems"]]
    assert len(entries) == 2
    for entry in entries:
        assert entry["UpdateExpression"] == single_write["UpdateExpression"]
        assert entry["ConditionExpression"] == single_write["ConditionExpression"]
        assert entry["ExpressionAttributeNames"] == single_write["ExpressionAttributeNames"]
        assert entry["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"

    e1, e2 = stored(dynamodb, table_names, "e1"), stored(dynamodb, table_names, "e2")
    assert (e1["flag_value"], e1["version"]) == (3, 2)
    assert (e2["flag_value"], e2["version"]) == (2, 1)
    assert body == {
        "atomic": True,
        "results": [
            {
                "index": 0,
                "entity_id": "e1",
                "flag_name": "Model_Function_Run",
                "requested_value": 3,
                "outcome": "accepted",
                "previous_value": None,
                "update_time": e1["update_time"],
                "flag": None,
            },
            {
                "index": 1,
                "entity_id": "e2",
                "flag_name": "Model_Function_Run",
                "requested_value": 2,
                "outcome": "accepted",
                "previous_value": None,
                "update_time": e2["update_time"],
                "flag": None,
            },
        ],
    }


def test_batch_atomic_stale_writes_nothing(
    invoke: Any,
    flags: FlagRepository,
    dynamodb: Any,
    table_names: dict[str, str],
    dynamodb_requests: list[tuple[str, dict[str, Any]]],
) -> None:
    flags.advance("acct-1", "done", RUN, FlagValue.FINISHED, now=T0)
    flags.advance("acct-1", "failed", FlagName.OUTPUT_S3_STORAGE, FlagValue.ERROR, now=T0)
    flags.advance("acct-1", "behind", RUN, FlagValue.ENQUEUED, now=T0)
    done = stored(dynamodb, table_names, "done")
    failed = stored(dynamodb, table_names, "failed", FlagName.OUTPUT_S3_STORAGE)
    behind = stored(dynamodb, table_names, "behind")

    status, body = invoke(
        "POST",
        BATCH_PATH,
        {
            "atomic": True,
            "updates": [
                update("new", 1),
                update("done", 2),
                update("behind", 3),
                update("failed", "Finished", "Output_S3_Storage"),
            ],
        },
    )

    assert status == 409
    assert body == {
        "error": "stale_flag_values",
        "message": "2 of 4 updates would lower a stored flag value, so no update was written; flag values only "
        "move forward. Remove or raise the updates listed in stale and send the batch again.",
        "stale": [
            {
                "index": 1,
                "entity_id": "done",
                "flag_name": "Model_Function_Run",
                "requested_value": 2,
                "stored_value": 3,
                "flag": done,
            },
            {
                "index": 3,
                "entity_id": "failed",
                "flag_name": "Output_S3_Storage",
                "requested_value": 3,
                "stored_value": 4,
                "flag": failed,
            },
        ],
    }
    assert [operation for operation, _ in dynamodb_requests] == ["TransactWriteItems"]
    assert stored(dynamodb, table_names, "new") is None
    assert stored(dynamodb, table_names, "behind") == behind
    assert stored(dynamodb, table_names, "done") == done


def test_batch_atomic_unchanged_reported(
    invoke: Any,
    flags: FlagRepository,
    dynamodb: Any,
    table_names: dict[str, str],
    dynamodb_requests: list[tuple[str, dict[str, Any]]],
) -> None:
    flags.advance("acct-1", "same", RUN, FlagValue.IN_PROGRESS, now=T0)
    same = stored(dynamodb, table_names, "same")

    status, body = invoke("POST", BATCH_PATH, {"atomic": True, "updates": [update("same", 2), update("new", 1)]})

    assert status == 200
    new = stored(dynamodb, table_names, "new")
    assert body["results"] == [
        {
            "index": 0,
            "entity_id": "same",
            "flag_name": "Model_Function_Run",
            "requested_value": 2,
            "outcome": "unchanged",
            "previous_value": 2,
            "update_time": same["update_time"],
            "flag": same,
        },
        {
            "index": 1,
            "entity_id": "new",
            "flag_name": "Model_Function_Run",
            "requested_value": 1,
            "outcome": "accepted",
            "previous_value": None,
            "update_time": new["update_time"],
            "flag": None,
        },
    ]
    assert stored(dynamodb, table_names, "same") == same
    # The first transaction is cancelled by the unchanged update; the second writes the rest.
    assert [len(params["TransactItems"]) for _, params in dynamodb_requests] == [2, 1]


def test_batch_atomic_retry_changes_nothing(
    invoke: Any, dynamodb: Any, table_names: dict[str, str], dynamodb_requests: list[tuple[str, dict[str, Any]]]
) -> None:
    batch = {"atomic": True, "updates": [update("e1", 2), update("e2", 3)]}
    invoke("POST", BATCH_PATH, batch)
    first = {entity: stored(dynamodb, table_names, entity) for entity in ("e1", "e2")}
    dynamodb_requests.clear()

    status, body = invoke("POST", BATCH_PATH, batch)

    assert status == 200
    assert [result["outcome"] for result in body["results"]] == ["unchanged", "unchanged"]
    assert [result["flag"] for result in body["results"]] == [first["e1"], first["e2"]]
    assert {entity: stored(dynamodb, table_names, entity) for entity in ("e1", "e2")} == first
    assert [operation for operation, _ in dynamodb_requests] == ["TransactWriteItems"]


ENTITY_RULE = (
    "1 to 128 characters; any Unicode letters, digits, spaces and punctuation "
    "(including + = # / and %) are allowed, but not control characters"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"updates": [update("a", 1), update("b", 1), update("a", 2)]},
            invalid(
                "updates[2]",
                "updates[2] repeats entity_id 'a' and flag_name Model_Function_Run of updates[0]; "
                "send each flag at most once per batch.",
            ),
        ),
        ({"updates": []}, invalid("updates", "updates has 0 items; send at least 1.")),
        (
            {"updates": [update(f"e{number}", 1) for number in range(101)]},
            invalid("updates", "updates has 101 items; send at most 100."),
        ),
        ({}, invalid("updates", "updates is missing; add it to the request body.")),
        (
            {"updates": [update("a", 1)], "mode": "x"},
            invalid("mode", "unknown field 'mode'; remove it from the request body."),
        ),
        (
            {"updates": [update("a", 1), {**update("b", 1), "extra": 1}]},
            invalid("updates[1].extra", "unknown field 'updates[1].extra'; remove it from the request body."),
        ),
        (
            {"updates": [update("a", 1), update("bad\u0007id", 1)]},
            invalid(
                "updates[1].entity_id",
                "updates[1].entity_id: entity_id contains the control character U+0007; "
                f"entity_id must be {ENTITY_RULE}.",
            ),
        ),
        (
            {"updates": [update("", 1)]},
            invalid(
                "updates[0].entity_id", f"updates[0].entity_id: entity_id must be {ENTITY_RULE}; got 0 characters."
            ),
        ),
        (
            {"updates": [update("a", 1, "Model_Run")]},
            invalid(
                "updates[0].flag_name",
                "updates[0].flag_name: flag_name 'Model_Run' is not a known flag name. Use one of: Logo_EFS_Staging, "
                "Logo_S3_Storage, File_EFS_Staging, File_S3_Storage, File_Image_Build, Input_EFS_Staging, "
                "Input_S3_Storage, Input_EFS_Transcoding, Input_EFS_Tensor, Model_Function_Run, Output_EFS_Staging, "
                "Output_S3_Storage.",
            ),
        ),
        (
            {"updates": [update("a", 1), update("b", 1), update("c", 1), update("d", "in_progress")]},
            invalid(
                "updates[3].flag_value",
                'updates[3].flag_value: flag_value "in_progress" is invalid. Give an integer or its exact name: '
                "0 (Not_Started), 1 (Enqueued), 2 (In_Progress), 3 (Finished), 4 (Error).",
            ),
        ),
        (
            {"updates": [{"entity_id": "a", "flag_name": "Model_Function_Run"}]},
            invalid("updates[0].flag_value", "updates[0].flag_value is missing; add it to the request body."),
        ),
        (
            {"updates": [update("a", 1)], "atomic": "yes"},
            invalid("atomic", "atomic is invalid: Input should be a valid boolean."),
        ),
        ({"updates": "a"}, invalid("updates", "updates is invalid: Input should be a valid list.")),
    ],
)
def test_batch_invalid_request_writes_nothing(
    invoke: Any,
    dynamodb: Any,
    table_names: dict[str, str],
    dynamodb_requests: list[tuple[str, dict[str, Any]]],
    body: dict[str, Any],
    expected: dict[str, str],
) -> None:
    status, response = invoke("POST", BATCH_PATH, body)

    assert status == 400
    assert response == expected
    assert dynamodb_requests == []
    assert dynamodb.scan(TableName=table_names["FlagsTable"])["Items"] == []


def test_batch_body_not_json_is_400(invoke: Any) -> None:
    status, body = invoke("POST", BATCH_PATH, raw_body="{not json")

    assert status == 400
    assert body == invalid(
        "body", "body is not valid JSON (Expecting property name enclosed in double quotes); send a JSON object."
    )


def test_batch_body_array_is_400(invoke: Any) -> None:
    status, body = invoke("POST", BATCH_PATH, [update("a", 1)])

    # Powertools looks the model's fields up in the body, so an array reads as an object without them.
    assert status == 400
    assert body == invalid("updates", "updates is missing; add it to the request body.")


def test_batch_invalid_account_is_400(invoke: Any) -> None:
    status, body = invoke("POST", "/accounts/%FF/flags/batch", {"updates": [update("a", 1)]})

    assert status == 400
    assert body == invalid(
        "account_id", "account_id is not valid UTF-8 after percent-decoding; percent-encode the id's UTF-8 bytes."
    )


def test_batch_get_is_405(invoke: Any) -> None:
    status, body = invoke("GET", BATCH_PATH)

    assert status == 405
    assert body == {
        "error": "method_not_allowed",
        "message": "method GET is not allowed on /accounts/acct-1/flags/batch; use one of: POST",
    }
