"""The API's authorizer step: decides, before the handler runs, whether a request may reach its route."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local_stack.jwt_authorizer import (
    RouteAuthorization,
    TokenRejectedError,
    bearer_token,
    route_authorization,
    verify_token,
)
from local_stack.jwt_keys import key_path, load_or_create_signing_key
from local_stack.routes import Route

log = logging.getLogger("local_stack.authorizer")


class AuthorizerRejection(Exception):
    """A request the authorizer turned away; the client gets ``{"message": message}`` with ``status_code``."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class LocalAuthorizer:
    """The template's HTTP API authorizers, emulated for the local stack.

    Each route's requirement (JWT authorizer, issuer, audiences, scopes) is read from the template when
    the stack starts, so an authorizer the local stack cannot emulate stops the start with ValueError.
    Tokens are verified with the key pair under ``state_dir``, which is created on the first start and
    kept across restarts.
    """

    def __init__(self, template: Mapping[str, Any], routes: list[Route], state_dir: Path) -> None:
        self.signing_key = load_or_create_signing_key(state_dir)
        self.requirements: dict[str, RouteAuthorization | None] = {
            route.event_id: route_authorization(route.auth, route.api_auth, template) for route in routes
        }
        log.info("jwt signing key loaded path=%s kid=%s", key_path(state_dir), self.signing_key.key_id)

    def authorize(self, route: Route, headers: Mapping[str, str]) -> dict[str, Any] | None:
        """Return the event's ``requestContext.authorizer`` block, or raise AuthorizerRejection.

        A route without an authorizer gets no block, as in API Gateway.
        """
        requirement = self.requirements[route.event_id]
        if requirement is None:
            return None

        try:
            token = bearer_token(headers, requirement.authorizer.header_name)
            return verify_token(token, requirement, self.signing_key)
        except TokenRejectedError as rejection:
            log.info(
                "token rejected route=%s status=%d reason=%s",
                route.route_key,
                rejection.status_code,
                rejection.reason,
            )
            raise AuthorizerRejection(rejection.status_code, rejection.message) from None
