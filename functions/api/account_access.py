"""Tenant isolation: every route acts only on the account of the caller's token, unless the token is an admin's.

API Gateway's JWT authorizer verifies the token and the route's scopes before the function runs. It puts
the verified claims and scopes into ``requestContext.authorizer.jwt``, and this module reads the caller
from there, never from the path or the body.

A foreign account gets 403, not 404. The check runs before any table read and returns the same response for
every foreign account, so a 403 reveals nothing about what another account stores. The 403 also points the
client to the real fix (another token), while 404 keeps its one meaning: the flag or route does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from api_errors import AccountForbiddenError, UnauthorizedError

ADMIN_SCOPE = "flags/admin"
DEFAULT_ACCOUNT_CLAIM = "account_id"
ACCOUNT_PATH_ARGUMENT = "account_id"
# GET routes that describe the API and return no account data; template.yaml serves them with no authorizer.
PUBLIC_DOCUMENTATION_PATHS = frozenset({"/openapi.json", "/swagger"})

logger = Logger(child=True)


@dataclass(frozen=True)
class Caller:
    """The verified caller of one request: the account claim (if the token has one) and the token's scopes."""

    account_id: str | None
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes


def account_claim_name() -> str:
    """Name of the token claim that carries the caller's account, from the ACCOUNT_CLAIM variable."""
    return os.environ.get("ACCOUNT_CLAIM") or DEFAULT_ACCOUNT_CLAIM


def caller_from_event(event: dict[str, Any], claim_name: str) -> Caller:
    """Read the caller from the JWT authorizer context of an HTTP API payload 2.0 event.

    Raises UnauthorizedError when the event has no JWT authorizer context (a route deployed without the
    authorizer), or when the token has no account claim and is not an admin token.
    """
    request_context = event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") if isinstance(request_context, dict) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, dict) else None
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    if not isinstance(jwt, dict) or not isinstance(claims, dict):
        raise UnauthorizedError(
            "the request has no verified token; send a bearer token in the Authorization header "
            "(the API's JWT authorizer must be attached to every route)"
        )

    # API Gateway sets scopes to null on a route without AuthorizationScopes, so null means none.
    scopes = jwt.get("scopes") or []
    caller_scopes = frozenset(scope for scope in scopes if isinstance(scope, str))

    account_id = claims.get(claim_name)
    if not isinstance(account_id, str) or not account_id:
        account_id = None
    if account_id is None and ADMIN_SCOPE not in caller_scopes:
        raise UnauthorizedError(
            f"the token has no {claim_name} claim; request a token that carries the caller's account "
            f"in {claim_name}, or one with the {ADMIN_SCOPE} scope"
        )
    return Caller(account_id=account_id, scopes=caller_scopes)


def verify_account_access(app: APIGatewayHttpResolver, path_id: Callable[[str, str], str]) -> None:
    """Raise unless the request's caller may act on the path's account.

    Raises UnauthorizedError for a request with no usable token and AccountForbiddenError for a path
    account other than the caller's (unless admin). A GET of a public documentation path passes.
    ``path_id(raw, field)`` is the routes' own decoder of a path id, so the account is compared exactly
    as the routes will read it.
    """
    event = app.current_event
    if event.http_method == "GET" and event.path in PUBLIC_DOCUMENTATION_PATHS:
        return

    claim_name = account_claim_name()
    caller = caller_from_event(event.raw_event, claim_name)
    logger.append_keys(caller_account_id=caller.account_id, caller_is_admin=caller.is_admin)

    # NOTE: Powertools keeps the matched route's path arguments under the private context key
    # "_route_args" (checked with aws-lambda-powertools 3.37.0); the handler tests cover it.
    route_arguments: dict[str, str] = app.context.get("_route_args") or {}
    raw_account = route_arguments.get(ACCOUNT_PATH_ARGUMENT)
    if raw_account is not None and not caller.is_admin:
        account_id = path_id(raw_account, ACCOUNT_PATH_ARGUMENT)
        if account_id != caller.account_id:
            raise AccountForbiddenError(str(caller.account_id), account_id, claim_name, ADMIN_SCOPE)


def enforce_account_access(
    path_id: Callable[[str, str], str],
) -> Callable[[APIGatewayHttpResolver, NextMiddleware], Response]:
    """Build the middleware that rejects a request whose path account is not the caller's, unless admin.

    The middleware runs for every request, unmatched ones (404, 405) included, so a new route is covered
    without any change here. Powertools validates a route's typed parameters before any middleware, so
    the API's validation error handler calls verify_account_access first as well.
    """

    def check_account_access(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        verify_account_access(app, path_id)
        return next_middleware(app)

    return check_account_access
