"""The API's authorizer step: decides, before the handler runs, whether a request may reach its route."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local_stack.routes import Route


class AuthorizerRejection(Exception):
    """A request the authorizer turned away; the client gets ``{"message": message}`` with ``status_code``."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class LocalAuthorizer:
    """Authorizer for the local HTTP API.

    NOTE: no route of the template declares an authorizer yet, so every request is let through
    with no ``requestContext.authorizer`` block. ``route.auth`` and ``route.api_auth`` carry the
    template's Auth properties for a JWT authorizer to read.
    """

    def authorize(self, route: Route, headers: Mapping[str, str]) -> dict[str, Any] | None:
        """Return the event's ``requestContext.authorizer`` block, or raise AuthorizerRejection."""
        return None
