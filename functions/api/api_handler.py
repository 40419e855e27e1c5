"""HTTP API handler: reads and forward-only writes of status flags."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import batch_routes
import fleet_routes
from account_access import enforce_account_access, verify_account_access
from api_errors import PayloadTooLargeError, register_error_handlers
from api_http import json_response, path_flag_name, path_id
from api_models import (
    PUT_FLAG_REQUEST_BODY,
    ErrorResponse,
    FlagListResponse,
    FlagWriteResponse,
    HistoryResponse,
    StaleFlagResponse,
    json_content,
)
from status_flags.errors import FlagNotFoundError, InvalidInputError, StaleFlagValueError
from status_flags.history import HistoryRepository
from status_flags.models import StatusFlag, parse_flag_value
from status_flags.repository import AdvanceOutcome, FlagRepository
from status_flags.settings import Settings, dynamodb_client
from swagger_page import swagger_page

MAX_BODY_BYTES = 16 * 1024

OPENAPI_INFO: dict[str, Any] = {
    "title": "Status flags API",
    "version": "1.0.0",
    "description": (
        "Records how far each workflow step of an ML platform entity has got. Flag values only move "
        "forward: 0 Not_Started, 1 Enqueued, 2 In_Progress, 3 Finished, 4 Error."
    ),
    # Every documented route takes a JWT access token; Swagger UI's Authorize button sends one.
    "security_schemes": {"accessToken": HTTPBearer(bearerFormat="JWT")},
    "security": [{"accessToken": []}],
}

logger = Logger()
metrics = Metrics()
# enable_validation: routes with typed parameters and pydantic bodies are validated, and the
# OpenAPI document is generated from them. api_errors turns validation errors into 400s.
app = APIGatewayHttpResolver(enable_validation=True)

settings = Settings.from_environment()
flags = FlagRepository(dynamodb_client(), settings.flags_table_name)
history = HistoryRepository(dynamodb_client(), settings.history_table_name, settings.history_retention)

_WRITE_METRICS = {
    AdvanceOutcome.CREATED: "FlagWritesAccepted",
    AdvanceOutcome.ADVANCED: "FlagWritesAccepted",
    AdvanceOutcome.UNCHANGED: "FlagWritesUnchanged",
    AdvanceOutcome.STALE: "FlagWritesStale",
}


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


# Routes that build their own Response have no return annotation: with enable_validation,
# Powertools reads a return annotation as the response model, and a bare Response is not one.
@app.put(
    "/accounts/<account_id>/entities/<entity_id>/flags/<flag_name>",
    summary="Advance one flag",
    description="Sets the flag's value if that moves it forward; a lower value is a 409 and changes nothing.",
    tags=["flags"],
    openapi_extensions=PUT_FLAG_REQUEST_BODY,
    responses={
        200: json_content(FlagWriteResponse, "The flag advanced, or already had the value (outcome unchanged)."),
        201: json_content(FlagWriteResponse, "The flag was created."),
        400: json_content(ErrorResponse, "Invalid path or body; field names the part to fix."),
        409: json_content(StaleFlagResponse, "The stored value is higher; nothing was written."),
    },
)
def put_flag(account_id: str, entity_id: str, flag_name: str):
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


@app.get(
    "/accounts/<account_id>/entities/<entity_id>/flags/<flag_name>",
    summary="Read one flag",
    tags=["flags"],
    responses={
        200: json_content(StatusFlag, "The flag."),
        400: json_content(ErrorResponse, "Invalid path; field names the part to fix."),
        404: json_content(ErrorResponse, "The flag has never been set."),
    },
)
def get_flag(account_id: str, entity_id: str, flag_name: str):
    account = path_id(account_id, "account_id")
    entity = path_id(entity_id, "entity_id")
    name = path_flag_name(flag_name)

    flag = flags.get(account, entity, name)
    if flag is None:
        raise FlagNotFoundError(account, entity, name)
    return json_response(200, flag.to_response())


@app.get(
    "/accounts/<account_id>/entities/<entity_id>/flags",
    summary="Read an entity's flags",
    tags=["flags"],
    responses={
        200: json_content(FlagListResponse, "The entity's flags; empty when none is set."),
        400: json_content(ErrorResponse, "Invalid path; field names the part to fix."),
    },
)
def list_flags(account_id: str, entity_id: str):
    account = path_id(account_id, "account_id")
    entity = path_id(entity_id, "entity_id")

    items = [flag.to_response() for flag in flags.list_for_entity(account, entity)]
    return json_response(200, {"items": items})


@app.get(
    "/accounts/<account_id>/entities/<entity_id>/history",
    summary="Read an entity's transitions",
    tags=["history"],
    responses={
        200: json_content(HistoryResponse, "The entity's accepted transitions, oldest first."),
        400: json_content(ErrorResponse, "Invalid path; field names the part to fix."),
    },
)
def get_history(account_id: str, entity_id: str):
    account = path_id(account_id, "account_id")
    entity = path_id(entity_id, "entity_id")

    items = [transition.model_dump(mode="json") for transition in history.list_for_entity(account, entity)]
    return json_response(200, {"items": items})


@app.get("/openapi.json", include_in_schema=False)
def get_openapi_document():
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@app.get("/swagger", include_in_schema=False)
def get_swagger_page():
    query = app.current_event.query_string_parameters or {}
    if query.get("format") == "json":
        return get_openapi_document()
    return Response(status_code=200, content_type="text/html", body=swagger_page(openapi_document()))


def openapi_document() -> str:
    """Return the API's OpenAPI document as JSON, generated from the routes and their models.

    Powertools documents a 422 response on every validated route, but api_errors returns a 400 for every
    validation error, so the 422 responses and their schemas are removed.
    """
    document = json.loads(app.get_openapi_json_schema(**OPENAPI_INFO))
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return json.dumps(document, indent=2, ensure_ascii=False)


app.include_router(batch_routes.router)
app.include_router(fleet_routes.router)
register_error_handlers(app, verify_access=lambda: verify_account_access(app, path_id))
# A resolver-wide middleware runs for every route, present and future, and for unmatched requests.
app.use(middlewares=[enforce_account_access(path_id)])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
