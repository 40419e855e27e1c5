"""Integration tests of POST /accounts/{account_id}/flags/lookup through the API handler, on moto."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from status_flags.models import FlagName, FlagValue
from status_flags.repository import FlagRepository

T0 = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
LOOKUP_PATH = "/accounts/acct-1/flags/lookup"


@pytest.fixture
def flags(dynamodb: Any, table_names: dict[str, str]) -> FlagRepository:
    return FlagRepository(dynamodb, table_names["FlagsTable"])


def invalid(field: str, message: str) -> dict[str, str]:
    return {"error": "invalid_request", "message": message, "field": field}


def test_lookup_returns_flags_by_entity(
    invoke: Any, flags: FlagRepository, dynamodb_requests: list[tuple[str, dict[str, Any]]]
) -> None:
    run = flags.advance("acct-1", "m1", FlagName.MODEL_FUNCTION_RUN, FlagValue.IN_PROGRESS, now=T0).flag
    staging = flags.advance("acct-1", "m1", FlagName.FILE_EFS_STAGING, FlagValue.FINISHED, now=T0).flag
    other = flags.advance("acct-1", "m2", FlagName.OUTPUT_S3_STORAGE, FlagValue.ERROR, now=T0).flag
    flags.advance("acct-2", "m3", FlagName.OUTPUT_S3_STORAGE, FlagValue.ERROR, now=T0)

    status, body = invoke("POST", LOOKUP_PATH, {"entity_ids": ["m2", "m1", "m3"]})

    assert status == 200
    assert body == {
        "flags": {
            "m2": [other.to_response()],
            "m1": [staging.to_response(), run.to_response()],
            "m3": [],
        }
    }
    assert list(body["flags"]) == ["m2", "m1", "m3"]
    assert [operation for operation, _ in dynamodb_requests] == ["Query"] * 3


def test_lookup_filters_flag_names(invoke: Any, flags: FlagRepository) -> None:
    run = flags.advance("acct-1", "m1", FlagName.MODEL_FUNCTION_RUN, FlagValue.IN_PROGRESS, now=T0).flag
    flags.advance("acct-1", "m1", FlagName.FILE_EFS_STAGING, FlagValue.FINISHED, now=T0)
    flags.advance("acct-1", "m2", FlagName.FILE_EFS_STAGING, FlagValue.FINISHED, now=T0)

    status, body = invoke(
        "POST", LOOKUP_PATH, {"entity_ids": ["m1", "m2"], "flag_names": ["Model_Function_Run", "Output_S3_Storage"]}
    )

    assert status == 200
    assert body == {"flags": {"m1": [run.to_response()], "m2": []}}


@pytest.mark.parametrize("entity_count", [1, 37, 100])
def test_lookup_costs_one_query_per_entity(
    invoke: Any, dynamodb_requests: list[tuple[str, dict[str, Any]]], entity_count: int
) -> None:
    entity_ids = [f"entity-{number}" for number in range(entity_count)]

    status, body = invoke("POST", LOOKUP_PATH, {"entity_ids": entity_ids, "flag_names": ["Model_Function_Run"]})

    assert status == 200
    assert body == {"flags": {entity_id: [] for entity_id in entity_ids}}
    assert [operation for operation, _ in dynamodb_requests] == ["Query"] * entity_count
    assert all(params["ConsistentRead"] for _, params in dynamodb_requests)
    queried = sorted(params["ExpressionAttributeValues"][":pk"]["S"] for _, params in dynamodb_requests)
    assert queried == sorted(f"acct-1#{entity_id}" for entity_id in entity_ids)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"entity_ids": ["a", "b", "a"]},
            invalid("entity_ids[2]", "entity_ids[2] repeats 'a' of entity_ids[0]; send each entity id once."),
        ),
        ({"entity_ids": []}, invalid("entity_ids", "entity_ids has 0 items; send at least 1.")),
        (
            {"entity_ids": [f"e{number}" for number in range(101)]},
            invalid("entity_ids", "entity_ids has 101 items; send at most 100."),
        ),
        ({}, invalid("entity_ids", "entity_ids is missing; add it to the request body.")),
        ({"entity_ids": ["a"], "flag_names": []}, invalid("flag_names", "flag_names has 0 items; send at least 1.")),
        (
            {"entity_ids": ["a", 7]},
            invalid(
                "entity_ids[1]",
                "entity_ids[1]: entity_id must be a string of 1 to 128 characters; any Unicode letters, digits, "
                "spaces and punctuation (including + = # / and %) are allowed, but not control characters.",
            ),
        ),
        (
            {"entity_ids": ["a"], "flag_names": ["Model_Function_Run", 3]},
            invalid(
                "flag_names[1]",
                "flag_names[1]: flag_name must be a string; use one of: Logo_EFS_Staging, Logo_S3_Storage, "
                "File_EFS_Staging, File_S3_Storage, File_Image_Build, Input_EFS_Staging, Input_S3_Storage, "
                "Input_EFS_Transcoding, Input_EFS_Tensor, Model_Function_Run, Output_EFS_Staging, Output_S3_Storage.",
            ),
        ),
    ],
)
def test_lookup_invalid_request_is_400(
    invoke: Any, dynamodb_requests: list[tuple[str, dict[str, Any]]], body: dict[str, Any], expected: dict[str, str]
) -> None:
    status, response = invoke("POST", LOOKUP_PATH, body)

    assert status == 400
    assert response == expected
    assert dynamodb_requests == []
