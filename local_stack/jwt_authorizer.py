"""Local emulation of API Gateway's HTTP API JWT authorizer, configured from template.yaml.

API Gateway takes the token from the identity source, with or without a ``Bearer`` prefix. It checks the
signature, ``kid``, ``iss``, ``aud``, ``exp`` and ``nbf``. Then it requires one of
the route's AuthorizationScopes in the token's ``scope`` or ``scp`` claim. A token that fails any check
but the scope one gets 401 ``{"message":"Unauthorized"}``, and a token without the scope gets 403
``{"message":"Forbidden"}``. Here the only signing key is the local stack's own (see jwt_keys).

Source: the "Controlling access to HTTP APIs with JWT authorizers" page of the API Gateway developer guide.
Beyond it, PyJWT also rejects an ``iat`` in the future, and a token without ``aud`` passes when its
``client_id`` names an audience, as Cognito access tokens need.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from local_stack.jwt_keys import SigningKey

ALGORITHM = "RS256"
UNAUTHORIZED_MESSAGE = "Unauthorized"
FORBIDDEN_MESSAGE = "Forbidden"
NO_AUTHORIZER = "NONE"
HEADER_IDENTITY_PREFIX = "$request.header."


class TokenRejectedError(Exception):
    """A request the JWT authorizer rejects; ``status_code`` and ``message`` are API Gateway's response."""

    def __init__(self, status_code: int, message: str, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.message = message
        self.reason = reason


def unauthorized(reason: str) -> TokenRejectedError:
    return TokenRejectedError(401, UNAUTHORIZED_MESSAGE, reason)


@dataclass(frozen=True)
class JwtAuthorizerConfig:
    """A JWT authorizer of the template, with its parameters resolved."""

    name: str
    header_name: str
    issuer: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class RouteAuthorization:
    """Requirements of a route: a JWT authorizer, and scopes of which a token needs at least one."""

    authorizer: JwtAuthorizerConfig
    scopes: tuple[str, ...]


def resolve_value(value: Any, template: Mapping[str, Any]) -> str:
    """Resolve a template value that is a string or ``!Ref`` to a Parameter with a Default."""
    if isinstance(value, str):
        return value

    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = template.get("Parameters", {}).get(value["Ref"])
        if parameter is not None and "Default" in parameter:
            return str(parameter["Default"])
    raise ValueError(f"cannot resolve {value!r} locally; use a string or !Ref to a Parameter with a Default")


def jwt_authorizer_config(name: str, definition: Mapping[str, Any], template: Mapping[str, Any]) -> JwtAuthorizerConfig:
    """Read one entry of an HttpApi's ``Auth.Authorizers``; raises ValueError for a non-JWT authorizer."""
    configuration = definition.get("JwtConfiguration")
    if not isinstance(configuration, dict):
        raise ValueError(f"authorizer {name} has no JwtConfiguration; the local stack emulates JWT authorizers only")
    # SAM accepts the JwtConfiguration keys in either case.
    configuration = {key.lower(): item for key, item in configuration.items()}

    identity_source = resolve_value(definition.get("IdentitySource", "$request.header.Authorization"), template)
    if not identity_source.startswith(HEADER_IDENTITY_PREFIX):
        raise ValueError(f"authorizer {name}: identity source {identity_source!r} is not a request header")

    audiences = configuration.get("audience") or []
    if not isinstance(audiences, list):
        audiences = [audiences]
    return JwtAuthorizerConfig(
        name=name,
        header_name=identity_source.removeprefix(HEADER_IDENTITY_PREFIX).lower(),
        issuer=resolve_value(configuration.get("issuer"), template),
        audiences=tuple(resolve_value(audience, template) for audience in audiences),
    )


def route_authorization(
    route_auth: Mapping[str, Any] | None, api_auth: Mapping[str, Any] | None, template: Mapping[str, Any]
) -> RouteAuthorization | None:
    """Return what a route requires, as SAM combines the event's Auth with the HttpApi's Auth.

    The event's ``Auth.Authorizer`` overrides the API's DefaultAuthorizer and ``NONE`` turns authorization
    off. The event's AuthorizationScopes override the authorizer's. Returns None for an open route.
    """
    route_auth = route_auth or {}
    api_auth = api_auth or {}
    name = route_auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
    if name is None or name == NO_AUTHORIZER:
        return None

    definitions = api_auth.get("Authorizers") or {}
    if name not in definitions:
        raise ValueError(f"route uses authorizer {name!r}, which the HttpApi's Auth.Authorizers does not define")
    definition = definitions[name]

    authorizer = jwt_authorizer_config(name, definition, template)
    scopes = route_auth.get("AuthorizationScopes", definition.get("AuthorizationScopes")) or []
    return RouteAuthorization(authorizer, tuple(resolve_value(scope, template) for scope in scopes))


def bearer_token(headers: Mapping[str, str], header_name: str) -> str:
    """Take the token from the identity source header: the bare token, or the token after ``Bearer ``."""
    value = next((item for name, item in headers.items() if name.lower() == header_name), None)
    if value is None:
        raise unauthorized(f"no {header_name} header")

    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value:
        raise unauthorized(f"empty {header_name} header")
    return value


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """Return the token's scopes: the space-separated ``scope`` claim (RFC 6749) and the ``scp`` list, in order."""
    scopes: list[str] = []
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str):
            items = value.split()
        elif isinstance(value, list):
            items = value
        else:
            items = []
        scopes.extend(item for item in items if isinstance(item, str) and item not in scopes)
    return scopes


def claim_text(value: Any) -> str:
    """Render a claim value the way API Gateway passes claims to the function: every value a string.

    Arrays become ``[a b]``, numbers and booleans their JSON text, and objects their JSON text.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(claim_text(item) for item in value) + "]"
    return json.dumps(value, separators=(",", ":"))


def verify_token(token: str, authorization: RouteAuthorization, key: SigningKey) -> dict[str, Any]:
    """Verify ``token`` for a route and return the event's ``requestContext.authorizer`` block.

    Raises TokenRejectedError: 401 for an invalid token, 403 for a valid one without any of the route's scopes.
    """
    authorizer = authorization.authorizer
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise unauthorized(f"malformed token: {error}") from None

    if header.get("alg") != ALGORITHM:
        raise unauthorized(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
    if header.get("kid") != key.key_id:
        raise unauthorized(f"no signing key has the token's kid {header.get('kid')!r}")

    # PyJWT checks the signature, iss, and exp (required), nbf and iat against the current time.
    try:
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[ALGORITHM],
            issuer=authorizer.issuer,
            options={"require": ["exp"], "verify_aud": False},
            leeway=0,
        )
    except jwt.InvalidTokenError as error:
        raise unauthorized(f"invalid token: {error}") from None

    _check_audience(claims, authorizer.audiences)

    scopes = token_scopes(claims)
    if authorization.scopes and not set(scopes) & set(authorization.scopes):
        raise TokenRejectedError(403, FORBIDDEN_MESSAGE, f"token has none of the scopes {list(authorization.scopes)}")

    # NOTE: a route without AuthorizationScopes gets "scopes": null, as events from API Gateway show.
    return {
        "jwt": {
            "claims": {name: claim_text(value) for name, value in claims.items() if value is not None},
            "scopes": scopes if authorization.scopes else None,
        }
    }


def _check_audience(claims: Mapping[str, Any], audiences: tuple[str, ...]) -> None:
    """Require ``aud`` to name one of the audiences; a token without ``aud`` may name one in ``client_id``."""
    audience = claims.get("aud", claims.get("client_id"))
    token_audiences = audience if isinstance(audience, list) else [audience]
    if not {item for item in token_audiences if isinstance(item, str)} & set(audiences):
        raise unauthorized(f"audience {audience!r} is not one of {list(audiences)}")
