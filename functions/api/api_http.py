"""Path parameter decoding and JSON responses, shared by every route module of the API."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response, content_types

from status_flags.errors import InvalidInputError
from status_flags.keys import validate_id
from status_flags.models import FlagName, parse_flag_name


def path_id(raw: str, field: str) -> str:
    """Decode a percent-encoded account or entity id from the path and validate it."""
    return validate_id(decode_path_segment(raw, field), field)


def decode_path_segment(raw: str, field: str) -> str:
    """Percent-decode one path segment; invalid UTF-8 is a client error, not a 5xx."""
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInputError(
            field, f"{field} is not valid UTF-8 after percent-decoding; percent-encode the id's UTF-8 bytes."
        ) from None


def path_flag_name(raw: str) -> FlagName:
    return parse_flag_name(decode_path_segment(raw, "flag_name"))


def json_response(status_code: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))
