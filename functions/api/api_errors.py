"""Maps domain errors and unmatched requests to JSON HTTP responses: the one place that chooses a 4xx."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from status_flags.errors import FlagNotFoundError, InvalidInputError, StaleFlagValueError, StatusFlagsError

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


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Register the domain error handlers and the 404/405 handler on ``app``."""

    @app.exception_handler(InvalidInputError)
    def handle_invalid_input(error: InvalidInputError) -> Response:
        logger.info("request rejected", field=error.field, reason=error.message)
        return error_response(400, "invalid_request", error.message, field=error.field)

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
