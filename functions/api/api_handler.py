"""HTTP API handler: reads and forward-only writes of status flags."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from account_access import enforce_account_access
from api_errors import PayloadTooLargeError, register_error_handlers
from status_flags.errors import FlagNotFoundError, InvalidInputError, StaleFlagValueError
from status_flags.history import HistoryRepository
from status_flags.keys import validate_id
from status_flags.models import FlagName, parse_flag_name, parse_flag_value
from status_flags.repository import AdvanceOutcome, FlagRepository
from status_flags.settings import Settings, dynamodb_client

MAX_BODY_BYTES = 16 * 1024

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()

settings = Settings.from_environment()
flags = FlagRepository(dynamodb_client(), settings.flags_table_name)
history = HistoryRepository(dynamodb_client(), settings.history_table_name, settings.history_retention)

_WRITE_METRICS = {
    AdvanceOutcome.CREATED: "FlagWritesAccepted",
    AdvanceOutcome.ADVANCED: "FlagWritesAccepted",
    AdvanceOutcome.UNCHANGED: "FlagWritesUnchanged",
    AdvanceOutcome.STALE: "FlagWritesStale",
}


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


def body_bytes() -> bytes:
    """Return the request body as bytes, undoing API Gateway's base64 encoding of non-text bodies."""
    event = app.current_event
    raw = event.body or ""
    if not event.is_base64_encoded:
        return raw.encode()

    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error:
        raise InvalidInputError("body", "body is marked base64-encoded but is not valid base64.") from None


def json_body() -> dict[str, Any]:
    """Return the request body as a JSON object, enforcing the size limit."""
    data = body_bytes()
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(len(data), MAX_BODY_BYTES)

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("body", "body is not valid UTF-8; send a UTF-8 encoded JSON object.") from None

    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputError("body", f"body is not valid JSON ({error.msg}); send a JSON object.") from None
    except (ValueError, RecursionError):
        # json raises ValueError for integers longer than sys.get_int_max_str_digits() (4300 by default),
        # and RecursionError for arrays or objects nested deeper than the interpreter's stack allows.
        raise InvalidInputError(
            "body", 'body is nested too deeply or has a number with too many digits; send {"flag_value": 2}.'
        ) from None

    if not isinstance(body, dict):
        raise InvalidInputError("body", 'body must be a JSON object such as {"flag_value": 2}.')
    return body


def json_response(status_code: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


@app.put("/accounts/<account_id>/entities/<entity_id>/flags/<flag_name>")
def put_flag(account_id: str, entity_id: str, flag_name: str) -> Response:
    account = path_id(account_id, "account_id")
    entity = path_id(entity_id, "entity_id")
    name = path_flag_name(flag_name)
    logger.append_keys(account_id=account, entity_id=entity, flag_name=name.value)

    body = json_body()
    unknown = sorted(set(body) - {"flag_value"})
    if unknown:
        raise InvalidInputError(unknown[0], f"unknown field {unknown[0]!r}; the body accepts only flag_value.")
    if "flag_value" not in body:
        raise InvalidInputError(
            "flag_value", 'flag_value is missing; send {"flag_value": 2} or {"flag_value": "In_Progress"}.'
        )
    value = parse_flag_value(body["flag_value"])

    result = flags.advance(account, entity, name, value)
    metrics.add_metric(name=_WRITE_METRICS[result.outcome], unit=MetricUnit.Count, value=1)
    logger.append_keys(flag_id=result.flag.id)
    logger.info(
        "flag write",
        outcome=result.outcome.value,
        requested_value=value.value,
        stored_value=result.flag.flag_value.value,
        version=result.flag.version,
    )

    if result.outcome is AdvanceOutcome.STALE:
        raise StaleFlagValueError(result.flag, value)

    previous = result.previous_value.value if result.previous_value is not None else None
    body = {**result.flag.to_response(), "outcome": result.outcome.value, "previous_value": previous}
    return json_response(201 if result.outcome is AdvanceOutcome.CREATED else 200, body)


@app.get("/accounts/<account_id>/entities/<entity_id>/flags/<flag_name>")
def get_flag(account_id: str, entity_id: str, flag_name: str) -> Response:
    account = path_id(account_id, "account_id")
    entity = path_id(entity_id, "entity_id")
    name = path_flag_name(flag_name)

    flag = flags.get(account, entity, name)
    if flag is None:
        raise FlagNotFoundError(account, entity, name)
    return json_response(200, flag.to_response())


@app.get("/accounts/<account_id>/entities/<entity_id>/flags")
def list_flags(account_id: str, entity_id: str) -> Response:
    account = path_id(account_id, "account_id")
    entity = path_id(entity_id, "entity_id")

    items = [flag.to_response() for flag in flags.list_for_entity(account, entity)]
    return json_response(200, {"items": items})


@app.get("/accounts/<account_id>/entities/<entity_id>/history")
def get_history(account_id: str, entity_id: str) -> Response:
    account = path_id(account_id, "account_id")
    entity = path_id(entity_id, "entity_id")

    items = [transition.model_dump(mode="json") for transition in history.list_for_entity(account, entity)]
    return json_response(200, {"items": items})


register_error_handlers(app)
# A resolver-wide middleware runs for every route, present and future, and for unmatched requests.
app.use(middlewares=[enforce_account_access(path_id)])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
