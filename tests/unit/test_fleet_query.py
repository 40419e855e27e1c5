"""Unit tests of fleet query parameters and the FleetIndex definition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from local_stack.template import load_template
from status_flags.errors import InvalidInputError
from status_flags.fleet import FLEET_INDEX_NAME, FleetQuery, parse_query_flag_value, parse_query_time
from status_flags.keys import fleet_key
from status_flags.models import FlagName, FlagValue
from status_flags.repository import _ADVANCE_UPDATE

HINT = "an ISO 8601 time with a UTC offset, e.g. 2026-01-31T12:00:00Z or 2026-01-31T14:00:00+02:00"


def test_parse_query_time_accepts_offsets() -> None:
    assert parse_query_time("2026-01-31T12:00:00Z", "t") == datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert parse_query_time("2026-01-31T14:00:00+02:00", "t") == datetime(2026, 1, 31, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2026-01-31T12:00:00", f"updated_after '2026-01-31T12:00:00' has no UTC offset; give {HINT}."),
        ("2026-01-31", f"updated_after '2026-01-31' has no UTC offset; give {HINT}."),
        ("noon", f"updated_after 'noon' is not a valid time; give {HINT}."),
    ],
)
def test_parse_query_time_rejects(raw: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        parse_query_time(raw, "updated_after")

    assert raised.value.field == "updated_after"
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("raw", "value"), [("0", FlagValue.NOT_STARTED), ("2", FlagValue.IN_PROGRESS), ("Error", FlagValue.ERROR)]
)
def test_parse_query_flag_value_accepts(raw: str, value: FlagValue) -> None:
    assert parse_query_flag_value(raw) is value


@pytest.mark.parametrize("raw", ["5", "-1", "2.0", "in_progress", "", "٢"])
def test_parse_query_flag_value_rejects(raw: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        parse_query_flag_value(raw)

    assert raised.value.field == "flag_value"


def test_fleet_query_scope_is_canonical() -> None:
    plus_two = timezone(timedelta(hours=2))
    query = FleetQuery(
        "acct-1",
        FlagName.MODEL_FUNCTION_RUN,
        FlagValue.IN_PROGRESS,
        updated_after=datetime(2026, 1, 31, 14, tzinfo=plus_two),
    )

    assert query.scope() == {
        "account_id": "acct-1",
        "flag_name": "Model_Function_Run",
        "flag_value": 2,
        "updated_after": "2026-01-31T12:00:00.000000+00:00",
        "updated_before": None,
    }


def test_fleet_query_rejects_empty_range() -> None:
    moment = datetime(2026, 1, 31, 12, tzinfo=UTC)

    with pytest.raises(InvalidInputError) as raised:
        FleetQuery("a", FlagName.MODEL_FUNCTION_RUN, FlagValue.IN_PROGRESS, moment, moment)

    assert raised.value.field == "updated_after"


def test_fleet_key_escapes_account() -> None:
    assert fleet_key("a#b%c", FlagName.MODEL_FUNCTION_RUN, FlagValue.FINISHED) == "a%23b%25c#Model_Function_Run#3"


def test_fleet_index_in_template() -> None:
    properties = load_template()["Resources"]["FlagsTable"]["Properties"]
    indexes = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}

    assert indexes[FLEET_INDEX_NAME]["KeySchema"] == [
        {"AttributeName": "fleet_pk", "KeyType": "HASH"},
        {"AttributeName": "update_time", "KeyType": "RANGE"},
    ]
    assert indexes[FLEET_INDEX_NAME]["Projection"] == {"ProjectionType": "ALL"}
    assert "#fleet_pk = :fleet_pk" in _ADVANCE_UPDATE
