"""Unit tests of the flag model, the name and value enums, and the canonical time format."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Any

import pytest

from status_flags.errors import InvalidInputError
from status_flags.models import (
    FLAG_GROUPS,
    VALID_FLAG_VALUES,
    FlagGroup,
    FlagName,
    FlagValue,
    StatusFlag,
    format_time,
    group_of,
    parse_flag_name,
    parse_flag_value,
    parse_time,
)

CANONICAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")


def make_flag(**changes: Any) -> StatusFlag:
    fields: dict[str, Any] = {
        "account_id": "acct-1",
        "entity_id": "model-7",
        "update_time": datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC),
        "flag_name": FlagName.MODEL_FUNCTION_RUN,
        "flag_value": FlagValue.IN_PROGRESS,
    }
    fields.update(changes)
    return StatusFlag(**fields)


def test_flag_value_is_int_enum() -> None:
    assert issubclass(FlagValue, IntEnum)
    assert FlagValue.IN_PROGRESS == 2
    assert isinstance(FlagValue.IN_PROGRESS, int)


def test_flag_name_is_str_enum() -> None:
    assert issubclass(FlagName, StrEnum)
    assert FlagName.MODEL_FUNCTION_RUN == "Model_Function_Run"
    assert isinstance(FlagName.MODEL_FUNCTION_RUN, str)


def test_flag_value_integers_and_order() -> None:
    assert [int(value) for value in FlagValue] == [0, 1, 2, 3, 4]
    assert FlagValue.NOT_STARTED < FlagValue.ENQUEUED < FlagValue.IN_PROGRESS < FlagValue.FINISHED < FlagValue.ERROR
    assert sorted(FlagValue, reverse=True)[0] is FlagValue.ERROR
    assert max(FlagValue.FINISHED, FlagValue.ENQUEUED) is FlagValue.FINISHED


def test_flag_value_labels() -> None:
    assert {value: value.label for value in FlagValue} == {
        FlagValue.NOT_STARTED: "Not_Started",
        FlagValue.ENQUEUED: "Enqueued",
        FlagValue.IN_PROGRESS: "In_Progress",
        FlagValue.FINISHED: "Finished",
        FlagValue.ERROR: "Error",
    }
    for value in FlagValue:
        assert FlagValue.from_label(value.label) is value
    assert FlagValue.from_label("in_progress") is None


def test_flag_name_values() -> None:
    assert [name.value for name in FlagName] == [
        "Logo_EFS_Staging",
        "Logo_S3_Storage",
        "File_EFS_Staging",
        "File_S3_Storage",
        "File_Image_Build",
        "Input_EFS_Staging",
        "Input_S3_Storage",
        "Input_EFS_Transcoding",
        "Input_EFS_Tensor",
        "Model_Function_Run",
        "Output_EFS_Staging",
        "Output_S3_Storage",
    ]


def test_flag_groups_cover_every_name_once() -> None:
    grouped = [name for names in FLAG_GROUPS.values() for name in names]

    assert sorted(grouped) == sorted(FlagName)
    assert len(grouped) == len(set(grouped))
    assert set(FLAG_GROUPS) == set(FlagGroup)


def test_flag_groups_contents() -> None:
    assert FLAG_GROUPS[FlagGroup.LOGO] == (FlagName.LOGO_EFS_STAGING, FlagName.LOGO_S3_STORAGE)
    assert FLAG_GROUPS[FlagGroup.FILE] == (
        FlagName.FILE_EFS_STAGING,
        FlagName.FILE_S3_STORAGE,
        FlagName.FILE_IMAGE_BUILD,
    )
    assert FLAG_GROUPS[FlagGroup.INPUT] == (
        FlagName.INPUT_EFS_STAGING,
        FlagName.INPUT_S3_STORAGE,
        FlagName.INPUT_EFS_TRANSCODING,
        FlagName.INPUT_EFS_TENSOR,
    )
    assert FLAG_GROUPS[FlagGroup.MODEL] == (FlagName.MODEL_FUNCTION_RUN,)
    assert FLAG_GROUPS[FlagGroup.OUTPUT] == (FlagName.OUTPUT_EFS_STAGING, FlagName.OUTPUT_S3_STORAGE)


def test_group_of_every_name() -> None:
    for group, names in FLAG_GROUPS.items():
        for name in names:
            assert group_of(name) is group
    assert group_of(FlagName.INPUT_EFS_TENSOR) is FlagGroup.INPUT


@pytest.mark.parametrize(("raw", "expected"), [(value.value, value) for value in FlagValue])
def test_parse_flag_value_integers(raw: int, expected: FlagValue) -> None:
    assert parse_flag_value(raw) is expected


@pytest.mark.parametrize(("raw", "expected"), [(value.label, value) for value in FlagValue])
def test_parse_flag_value_labels(raw: str, expected: FlagValue) -> None:
    assert parse_flag_value(raw) is expected


@pytest.mark.parametrize("raw", [5, -1, 2.5, 2.0, True, False, None, "2", "in_progress", "IN_PROGRESS", "", [2], {}])
def test_parse_flag_value_rejects(raw: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_flag_value(raw)

    assert caught.value.field == "flag_value"
    assert caught.value.message.startswith(f"flag_value {raw!r} is invalid.")
    assert VALID_FLAG_VALUES == "0 (Not_Started), 1 (Enqueued), 2 (In_Progress), 3 (Finished), 4 (Error)"
    assert VALID_FLAG_VALUES in caught.value.message


def test_parse_flag_value_names_given_field() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_flag_value(7, field="target")

    assert caught.value.field == "target"
    assert caught.value.message.startswith("target 7 is invalid.")


def test_parse_flag_name_exact() -> None:
    assert parse_flag_name("Input_EFS_Tensor") is FlagName.INPUT_EFS_TENSOR


@pytest.mark.parametrize("raw", ["input_efs_tensor", "INPUT_EFS_TENSOR", "Input_EFS_Tensor ", "", "Unknown"])
def test_parse_flag_name_rejects(raw: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_flag_name(raw)

    assert caught.value.field == "flag_name"
    assert caught.value.message.startswith(f"flag_name {raw!r} is not a known flag name.")
    for name in FlagName:
        assert name.value in caught.value.message


def test_status_flag_json_keys_and_types() -> None:
    flag = make_flag(id="f-1", version=3)

    body = json.loads(flag.model_dump_json())

    assert body == {
        "id": "f-1",
        "account_id": "acct-1",
        "entity_id": "model-7",
        "update_time": "2026-01-31T12:00:00.000000+00:00",
        "flag_name": "Model_Function_Run",
        "flag_value": 2,
        "version": 3,
    }
    assert type(body["flag_value"]) is int
    assert flag.to_response() == body
    assert type(flag.to_response()["flag_value"]) is int
    assert list(flag.to_response()) == [
        "id",
        "account_id",
        "entity_id",
        "update_time",
        "flag_name",
        "flag_value",
        "version",
    ]


def test_status_flag_default_id_and_version() -> None:
    flag = make_flag()

    assert flag.id == "0"
    assert flag.version == 0
    assert flag.to_response()["id"] == "0"


def test_status_flag_update_time_canonical() -> None:
    offset = timezone(timedelta(hours=2))
    flag = make_flag(update_time=datetime(2026, 3, 1, 1, 30, 5, 42, tzinfo=offset))

    update_time = flag.to_response()["update_time"]

    assert update_time == "2026-02-28T23:30:05.000042+00:00"
    assert CANONICAL_TIME.match(update_time)


def test_status_flag_is_frozen() -> None:
    flag = make_flag()

    with pytest.raises(ValueError, match="frozen"):
        flag.flag_value = FlagValue.ERROR  # type: ignore[misc]


def test_format_time_canonical() -> None:
    assert format_time(datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)) == "2026-01-31T12:00:00.000000+00:00"
    assert format_time(datetime(2026, 1, 31, 12, 0, 0, 7, tzinfo=UTC)) == "2026-01-31T12:00:00.000007+00:00"


def test_format_time_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 1, 31, 12, 0, 0))  # noqa: DTZ001


def test_format_time_sorts_in_time_order() -> None:
    earlier = datetime(2026, 1, 31, 9, 59, 59, 999999, tzinfo=UTC)
    later = datetime(2026, 1, 31, 10, 0, 0, tzinfo=UTC)

    assert format_time(earlier) < format_time(later)


def test_parse_time_round_trip() -> None:
    moment = datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)

    assert parse_time(format_time(moment)) == moment
    assert parse_time(format_time(moment)).tzinfo is UTC


def test_parse_time_rejects_missing_offset() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_time("2026-01-31T12:00:00.000000")
