"""Unit tests of the mapping from validation errors to 400 fields and messages."""

from __future__ import annotations

from typing import Any

import pytest

from api_errors import field_path, validation_message


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("body", "updates", 3, "flag_value"), "updates[3].flag_value"),
        (("body", "entity_ids", 0), "entity_ids[0]"),
        (("body",), "body"),
        (("body", 17), "body"),
        (("query", "limit"), "limit"),
        (("updates", 1), "updates[1]"),
    ],
)
def test_field_path_names_field(loc: tuple[Any, ...], field: str) -> None:
    assert field_path(loc) == field


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {
                "type": "json_invalid",
                "loc": ("body", 3),
                "msg": "JSON decode error",
                "ctx": {"error": "Expecting value"},
            },
            ("body", "body is not valid JSON (Expecting value); send a JSON object."),
        ),
        (
            {"type": "missing", "loc": ("body",), "msg": "Field required"},
            ("body", "body is missing; send a JSON object."),
        ),
        (
            {"type": "missing", "loc": ("query", "flag_name"), "msg": "Field required"},
            ("flag_name", "query parameter flag_name is missing; add flag_name=... to the query string."),
        ),
        (
            {"type": "extra_forbidden", "loc": ("body", "mode"), "msg": "Extra inputs are not permitted"},
            ("mode", "unknown field 'mode'; remove it from the request body."),
        ),
        (
            {
                "type": "value_error",
                "loc": ("body", "updates", 2, "flag_name"),
                "msg": "Value error, flag_name 'x' is bad.",
            },
            ("updates[2].flag_name", "updates[2].flag_name: flag_name 'x' is bad."),
        ),
        (
            {
                "type": "too_long",
                "loc": ("body", "updates"),
                "msg": "List should have at most 100 items",
                "ctx": {"field_type": "List", "max_length": 100, "actual_length": 150},
            },
            ("updates", "updates has 150 items; send at most 100."),
        ),
        (
            {"type": "int_parsing", "loc": ("query", "limit"), "msg": "Input should be a valid integer"},
            ("limit", "limit is invalid: Input should be a valid integer."),
        ),
    ],
)
def test_validation_message_names_field_and_fix(error: dict[str, Any], expected: tuple[str, str]) -> None:
    assert validation_message(error) == expected
