"""Integration tests of GET /accounts/{account_id}/flags (fleet queries) through the API handler, on moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from status_flags.fleet import FLEET_INDEX_NAME
from status_flags.models import FlagName, FlagValue, StatusFlag
from status_flags.repository import FlagRepository

T0 = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
FLEET_PATH = "/accounts/acct-1/flags"
RUN = FlagName.MODEL_FUNCTION_RUN
STUCK = {"flag_name": "Model_Function_Run", "flag_value": "In_Progress"}
INVALID_CURSOR = (
    "cursor is invalid, or was issued for another account or another query; send the cursor unchanged "
    "with the same query parameters as the request that returned it, or omit cursor to start from the first page."
)


@pytest.fixture
def flags(dynamodb: Any, table_names: dict[str, str]) -> FlagRepository:
    return FlagRepository(dynamodb, table_names["FlagsTable"])


@pytest.fixture
def stuck(flags: FlagRepository) -> list[StatusFlag]:
    """Five entities of acct-1 at In_Progress on Model_Function_Run, written a minute apart in reverse order,
    beside flags that the query must leave out. Returned oldest first."""
    written = [
        flags.advance("acct-1", f"run-{number}", RUN, FlagValue.IN_PROGRESS, now=T0 + timedelta(minutes=5 - number))
        for number in range(5)
    ]
    flags.advance("acct-1", "finished", RUN, FlagValue.FINISHED, now=T0)
    flags.advance("acct-1", "staging", FlagName.FILE_EFS_STAGING, FlagValue.IN_PROGRESS, now=T0)
    flags.advance("acct-2", "other-account", RUN, FlagValue.IN_PROGRESS, now=T0)
    return sorted((result.flag for result in written), key=lambda flag: flag.update_time)


def invalid(field: str, message: str) -> dict[str, str]:
    return {"error": "invalid_request", "message": message, "field": field}


def test_fleet_returns_stuck_flags_oldest_first(
    invoke: Any, stuck: list[StatusFlag], dynamodb_requests: list[tuple[str, dict[str, Any]]]
) -> None:
    status, body = invoke("GET", FLEET_PATH, query=STUCK)

    assert status == 200
    assert body == {"items": [flag.to_response() for flag in stuck], "next_cursor": None}
    assert [operation for operation, _ in dynamodb_requests] == ["Query"]
    assert dynamodb_requests[0][1]["IndexName"] == FLEET_INDEX_NAME


def test_fleet_pages_follow_cursor(
    invoke: Any, stuck: list[StatusFlag], dynamodb_requests: list[tuple[str, dict[str, Any]]]
) -> None:
    pages = []
    query = {**STUCK, "flag_value": "2", "limit": "2"}
    while True:
        status, body = invoke("GET", FLEET_PATH, query=query)
        assert status == 200
        pages.append([item["entity_id"] for item in body["items"]])
        if body["next_cursor"] is None:
            break
        query = {**query, "cursor": body["next_cursor"]}

    assert pages == [["run-4", "run-3"], ["run-2", "run-1"], ["run-0"]]
    assert [operation for operation, _ in dynamodb_requests] == ["Query"] * 3
    assert {params["IndexName"] for _, params in dynamodb_requests} == {FLEET_INDEX_NAME}


def test_fleet_last_full_page_has_no_cursor(invoke: Any, stuck: list[StatusFlag]) -> None:
    status, body = invoke("GET", FLEET_PATH, query={**STUCK, "limit": "5"})

    assert status == 200
    assert len(body["items"]) == 5
    assert body["next_cursor"] is None


def test_fleet_limit_may_change_between_pages(invoke: Any, stuck: list[StatusFlag]) -> None:
    _, first = invoke("GET", FLEET_PATH, query={**STUCK, "limit": "1"})

    status, second = invoke("GET", FLEET_PATH, query={**STUCK, "limit": "10", "cursor": first["next_cursor"]})

    assert status == 200
    assert [item["entity_id"] for item in second["items"]] == ["run-3", "run-2", "run-1", "run-0"]


def test_fleet_time_bounds_are_exclusive(invoke: Any, stuck: list[StatusFlag]) -> None:
    query = {**STUCK, "updated_after": "2026-01-31T12:01:00Z", "updated_before": "2026-01-31T14:04:00+02:00"}

    status, body = invoke("GET", FLEET_PATH, query=query)

    assert status == 200
    assert [item["entity_id"] for item in body["items"]] == ["run-3", "run-2"]


def test_fleet_single_time_bound(invoke: Any, stuck: list[StatusFlag]) -> None:
    _, after = invoke("GET", FLEET_PATH, query={**STUCK, "updated_after": "2026-01-31T12:03:00+00:00"})
    _, before = invoke("GET", FLEET_PATH, query={**STUCK, "updated_before": "2026-01-31T12:02:00+00:00"})

    assert [item["entity_id"] for item in after["items"]] == ["run-1", "run-0"]
    assert [item["entity_id"] for item in before["items"]] == ["run-4"]


def test_fleet_follows_an_advanced_flag(invoke: Any, flags: FlagRepository, stuck: list[StatusFlag]) -> None:
    flags.advance("acct-1", "run-4", RUN, FlagValue.FINISHED, now=T0 + timedelta(hours=1))

    _, in_progress = invoke("GET", FLEET_PATH, query=STUCK)
    _, finished = invoke("GET", FLEET_PATH, query={**STUCK, "flag_value": "3"})

    assert [item["entity_id"] for item in in_progress["items"]] == ["run-3", "run-2", "run-1", "run-0"]
    assert [item["entity_id"] for item in finished["items"]] == ["finished", "run-4"]


def test_fleet_never_scans(invoke: Any, stuck: list[StatusFlag], dynamodb_requests: list[tuple[str, Any]]) -> None:
    invoke("GET", FLEET_PATH, query={**STUCK, "limit": "1"})
    invoke("GET", FLEET_PATH, query={**STUCK, "updated_after": "2026-01-31T12:00:00Z"})

    assert [operation for operation, _ in dynamodb_requests] == ["Query", "Query"]


@pytest.mark.parametrize(
    "changed",
    [
        {"flag_value": "3"},
        {"flag_name": "File_EFS_Staging"},
        {"updated_after": "2026-01-31T11:00:00Z"},
        {"updated_before": "2026-02-01T00:00:00Z"},
    ],
)
def test_fleet_cursor_of_another_query_is_400(
    invoke: Any, stuck: list[StatusFlag], dynamodb_requests: list[tuple[str, Any]], changed: dict[str, str]
) -> None:
    _, first = invoke("GET", FLEET_PATH, query={**STUCK, "limit": "1"})
    dynamodb_requests.clear()

    status, body = invoke("GET", FLEET_PATH, query={**STUCK, **changed, "limit": "1", "cursor": first["next_cursor"]})

    assert status == 400
    assert body == invalid("cursor", INVALID_CURSOR)
    assert dynamodb_requests == []


def test_fleet_cursor_of_another_account_is_400(invoke: Any, stuck: list[StatusFlag]) -> None:
    _, first = invoke("GET", FLEET_PATH, query={**STUCK, "limit": "1"})

    status, body = invoke(
        "GET", "/accounts/acct-2/flags", query={**STUCK, "limit": "1", "cursor": first["next_cursor"]}
    )

    assert status == 400
    assert body == invalid("cursor", INVALID_CURSOR)


def test_fleet_modified_cursor_is_400(invoke: Any, stuck: list[StatusFlag]) -> None:
    _, first = invoke("GET", FLEET_PATH, query={**STUCK, "limit": "1"})
    cursor = first["next_cursor"]
    modified = ("A" if cursor[5] != "A" else "B").join((cursor[:5], cursor[6:]))

    for bad in (modified, cursor + "x", "not-a-cursor", cursor.replace(".", ". "), ""):
        status, body = invoke("GET", FLEET_PATH, query={**STUCK, "limit": "1", "cursor": bad})
        assert status == 400, bad
        assert body == invalid("cursor", INVALID_CURSOR), bad


TIME_HINT = "an ISO 8601 time with a UTC offset, e.g. 2026-01-31T12:00:00Z or 2026-01-31T14:00:00+02:00"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"flag_name": "Model_Function_Run"},
            invalid("flag_value", "query parameter flag_value is missing; add flag_value=... to the query string."),
        ),
        (
            {"flag_value": "2"},
            invalid("flag_name", "query parameter flag_name is missing; add flag_name=... to the query string."),
        ),
        (
            {**STUCK, "flag_value": "5"},
            invalid(
                "flag_value",
                "flag_value 5 is invalid. Give an integer or its exact name: 0 (Not_Started), 1 (Enqueued), "
                "2 (In_Progress), 3 (Finished), 4 (Error).",
            ),
        ),
        (
            {**STUCK, "updated_after": "2026-01-31T12:00:00"},
            invalid("updated_after", f"updated_after '2026-01-31T12:00:00' has no UTC offset; give {TIME_HINT}."),
        ),
        (
            {**STUCK, "updated_before": "yesterday"},
            invalid("updated_before", f"updated_before 'yesterday' is not a valid time; give {TIME_HINT}."),
        ),
        (
            {**STUCK, "updated_after": "2026-01-31T12:00:00Z", "updated_before": "2026-01-31T12:00:00Z"},
            invalid(
                "updated_after",
                "updated_after must be earlier than updated_before; swap the two times or drop one of them.",
            ),
        ),
        (
            {**STUCK, "updated_after": "2026-01-31T14:00:00 02:00"},
            invalid(
                "updated_after",
                f"updated_after '2026-01-31T14:00:00 02:00' is not a valid time; give {TIME_HINT}. "
                "In a URL, write the + of an offset as %2B.",
            ),
        ),
        (
            {**STUCK, "updated_afer": "2026-01-31T12:00:00Z"},
            invalid(
                "updated_afer",
                "unknown query parameter 'updated_afer'; the fleet query accepts only: "
                "cursor, flag_name, flag_value, limit, updated_after, updated_before.",
            ),
        ),
        ({**STUCK, "limit": "0"}, invalid("limit", "limit is invalid: Input should be greater than or equal to 1.")),
        ({**STUCK, "limit": "101"}, invalid("limit", "limit is invalid: Input should be less than or equal to 100.")),
        (
            {**STUCK, "limit": "ten"},
            invalid(
                "limit", "limit is invalid: Input should be a valid integer, unable to parse string as an integer."
            ),
        ),
    ],
)
def test_fleet_invalid_query_is_400(
    invoke: Any, dynamodb_requests: list[tuple[str, Any]], query: dict[str, str], expected: dict[str, str]
) -> None:
    status, body = invoke("GET", FLEET_PATH, query=query)

    assert status == 400
    assert body == expected
    assert dynamodb_requests == []


def test_fleet_adjacent_time_bounds_return_empty_page(invoke: Any, dynamodb_requests: list[tuple[str, Any]]) -> None:
    query = {**STUCK, "updated_after": "2026-01-31T12:00:00.000000Z", "updated_before": "2026-01-31T12:00:00.000001Z"}

    status, body = invoke("GET", FLEET_PATH, query=query)

    assert status == 200
    assert body == {"items": [], "next_cursor": None}
    assert dynamodb_requests == []
