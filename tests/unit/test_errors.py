"""Unit tests of the domain errors' fields and messages."""

from __future__ import annotations

from datetime import UTC, datetime

from status_flags.errors import FlagNotFoundError, InvalidInputError, StaleFlagValueError, StatusFlagsError
from status_flags.models import FlagName, FlagValue, StatusFlag


def test_invalid_input_error_fields() -> None:
    error = InvalidInputError("flag_value", "flag_value is missing")

    assert isinstance(error, StatusFlagsError)
    assert error.field == "flag_value"
    assert error.message == "flag_value is missing"
    assert str(error) == "flag_value is missing"


def test_flag_not_found_error_message() -> None:
    error = FlagNotFoundError("acct-1", "model 7", FlagName.FILE_S3_STORAGE)

    assert isinstance(error, StatusFlagsError)
    assert error.message == "flag File_S3_Storage is not set for entity 'model 7' of account 'acct-1'"
    assert str(error) == error.message


def test_stale_flag_value_error_names_both_values() -> None:
    stored = StatusFlag(
        id="f-1",
        account_id="acct-1",
        entity_id="model-7",
        update_time=datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC),
        flag_name=FlagName.MODEL_FUNCTION_RUN,
        flag_value=FlagValue.FINISHED,
        version=3,
    )

    error = StaleFlagValueError(stored, 1)

    assert isinstance(error, StatusFlagsError)
    assert error.stored is stored
    assert error.requested is FlagValue.ENQUEUED
    assert error.message == (
        "flag_value 1 (Enqueued) is lower than the stored 3 (Finished) of Model_Function_Run; "
        "flag values only move forward"
    )
    assert str(error) == error.message
