"""Maps domain errors and unmatched requests to JSON HTTP responses: the one place that chooses a 4xx."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError

from status_flags.errors import (
    FlagNotFoundError,
    InvalidInputError,
    StaleBatchError,
    StaleFlagValueError,
    StatusFlagsError,
    TransactionConflictError,
)

logger = Logger(child=True)


class PayloadTooLargeError(StatusFlagsError):
    """The request body is larger than the API accepts."""

    def __init__(self, size: int, limit: int) -> None:
        message = f"request body is {size} bytes; the limit is {limit} bytes, so send a smaller body"
        super().__init__(message)
        self.message = message


class UnauthorizedError(StatusFlagsError):
    """The request carries no verified caller: the event has no JWT authorizer context, or the token no account."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccountForbiddenError(StatusFlagsError):
    """The path names an account other than the token's, and the token lacks the admin scope."""

    def __init__(self, caller_account_id: str, account_id: str, claim_name: str, admin_scope: str) -> None:
        message = (
            f"the token's {claim_name} is {caller_account_id!r}, so it cannot access account {account_id!r}; "
            f"use a token whose {claim_name} claim is {account_id!r}, or one with the {admin_scope} scope"
        )
        super().__init__(message)
        self.caller_account_id = caller_account_id
        self.account_id = account_id
        self.message = message


def error_response(
    status_code: int, error: str, message: str, headers: dict[str, str] | None = None, **extra: object
) -> Response:
    """Build a JSON error response ``{"error": ..., "message": ...}`` with optional extra keys."""
    body = {"error": error, "message": message, **extra}
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


def allowed_methods(app: APIGatewayHttpResolver, path: str) -> list[str]:
    """Return the methods that the app's routes serve on ``path``, sorted; empty for an unknown path.

    NOTE: reads the resolver's compiled routes, which Powertools keeps in private attributes
    (checked with aws-lambda-powertools 3.37.0); a test of the 405 response covers it.
    """
    routes = app._static_routes + app._dynamic_routes
    return sorted({route.method for route in routes if route.rule.fullmatch(path)})


# Parts of a request, as the first element of a validation error's loc.
_REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


def field_path(loc: Sequence[str | int]) -> str:
    """Name the request field of a validation error's loc, e.g. ("body", "updates", 3, "flag_value")
    becomes ``updates[3].flag_value``. A loc that is only the request part (or a JSON error position)
    names the part itself, e.g. ``body``."""
    parts = list(loc)
    if parts and parts[0] in _REQUEST_PARTS:
        if len(parts) == 1 or not isinstance(parts[1], str):
            return str(parts[0])
        parts = parts[1:]

    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = str(part)
    return path


def validation_message(error: Mapping[str, Any]) -> tuple[str, str]:
    """Return the field and a message saying how to fix it, for one pydantic or Powertools validation error.

    The message never echoes more of the input than the field name, so a large invalid body does not
    come back in the response.
    """
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    field = field_path(loc)
    in_query = bool(loc) and loc[0] == "query"

    if kind == "json_invalid":
        return "body", f"body is not valid JSON ({context.get('error', 'decode error')}); send a JSON object."
    if kind == "missing" and field == "body":
        return field, "body is missing; send a JSON object."
    if kind == "missing" and in_query:
        return field, f"query parameter {field} is missing; add {field}=... to the query string."
    if kind == "missing":
        return field, f"{field} is missing; add it to the request body."
    if kind == "extra_forbidden":
        return field, f"unknown field {field!r}; remove it from the request body."
    if kind == "value_error":
        reason = str(error.get("msg", "")).removeprefix("Value error, ")
        leaf = str(loc[-1]) if loc else field
        return field, reason if field == leaf else f"{field}: {reason}"
    if kind in ("too_short", "too_long") and "actual_length" in context:
        bounds = f"at least {context['min_length']}" if kind == "too_short" else f"at most {context['max_length']}"
        return field, f"{field} has {context['actual_length']} items; send {bounds}."
    if kind in ("model_attributes_type", "dict_type"):
        return field, f"{field} must be a JSON object."
    return field, f"{field} is invalid: {error.get('msg', kind)}."


def register_error_handlers(app: APIGatewayHttpResolver, verify_access: Callable[[], None] | None = None) -> None:
    """Register the domain error handlers and the 404/405 handler on ``app``.

    ``verify_access`` raises UnauthorizedError or AccountForbiddenError for a caller without access to the
    request's account; it runs before a validation error is reported.
    """

    @app.exception_handler(InvalidInputError)
    def handle_invalid_input(error: InvalidInputError) -> Response:
        logger.info("request rejected", field=error.field, reason=error.message)
        return error_response(400, "invalid_request", error.message, field=error.field)

    @app.exception_handler(RequestValidationError)
    def handle_request_validation(error: RequestValidationError) -> Response:
        # Powertools validates typed parameters before any middleware runs, so the access check runs
        # here first: a caller without access gets 401 or 403 whatever the request contains.
        if verify_access is not None:
            try:
                verify_access()
            except UnauthorizedError as denial:
                return handle_unauthorized(denial)
            except AccountForbiddenError as denial:
                return handle_account_forbidden(denial)

        # Powertools reads a form-encoded body as form fields, which would be reported as missing fields.
        first_error = error.errors()[0]
        content_type = app.current_event.headers.get("content-type", "")
        in_body = tuple(first_error.get("loc", ()))[:1] == ("body",)
        if in_body and content_type and not content_type.startswith("application/json"):
            return unsupported_content_type(content_type)

        field, message = validation_message(first_error)
        logger.info("request rejected", field=field, reason=message)
        return error_response(400, "invalid_request", message, field=field)

    @app.exception_handler(RequestUnsupportedContentType)
    def handle_unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
        return unsupported_content_type(app.current_event.headers.get("content-type", ""))

    def unsupported_content_type(content_type: str) -> Response:
        message = (
            f"content type {content_type!r} is not supported; send the body as JSON with "
            "the header Content-Type: application/json."
        )
        logger.info("request rejected", reason=message)
        return error_response(415, "unsupported_media_type", message)

    @app.exception_handler(PayloadTooLargeError)
    def handle_payload_too_large(error: PayloadTooLargeError) -> Response:
        logger.info("request rejected", reason=error.message)
        return error_response(413, "payload_too_large", error.message)

    @app.exception_handler(UnauthorizedError)
    def handle_unauthorized(error: UnauthorizedError) -> Response:
        logger.warning("request rejected", reason=error.message)
        return error_response(401, "unauthorized", error.message, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(AccountForbiddenError)
    def handle_account_forbidden(error: AccountForbiddenError) -> Response:
        logger.info(
            "request rejected",
            reason="account mismatch",
            caller_account_id=error.caller_account_id,
            account_id=error.account_id,
        )
        return error_response(403, "account_forbidden", error.message)

    @app.exception_handler(FlagNotFoundError)
    def handle_flag_not_found(error: FlagNotFoundError) -> Response:
        return error_response(404, "flag_not_found", error.message)

    @app.exception_handler(StaleFlagValueError)
    def handle_stale_flag_value(error: StaleFlagValueError) -> Response:
        return error_response(409, "stale_flag_value", error.message, flag=error.stored.to_response())

    @app.exception_handler(StaleBatchError)
    def handle_stale_batch(error: StaleBatchError) -> Response:
        stale = [
            {
                "index": item.index,
                "entity_id": item.update.entity_id,
                "flag_name": item.update.flag_name.value,
                "requested_value": item.update.flag_value.value,
                "stored_value": item.stored.flag_value.value,
                "flag": item.stored.to_response(),
            }
            for item in error.stale
        ]
        logger.info("atomic batch rejected", stale_indexes=[item.index for item in error.stale])
        return error_response(409, "stale_flag_values", error.message, stale=stale)

    @app.exception_handler(TransactionConflictError)
    def handle_transaction_conflict(error: TransactionConflictError) -> Response:
        logger.warning("atomic batch cancelled", reasons=error.reasons)
        return error_response(409, "transaction_conflict", error.message)

    @app.not_found
    def handle_unmatched(_: Exception) -> Response:
        method = app.current_event.http_method.upper()
        path = app.current_event.path
        methods = allowed_methods(app, path)
        if methods:
            allowed = ", ".join(methods)
            message = f"method {method} is not allowed on {path}; use one of: {allowed}"
            return Response(
                status_code=405,
                content_type=content_types.APPLICATION_JSON,
                body=json.dumps({"error": "method_not_allowed", "message": message}),
                headers={"Allow": allowed},
            )

        message = f"no route matches {method} {path}; flag routes start with /accounts/{{account_id}}/entities/"
        return error_response(404, "route_not_found", message)
