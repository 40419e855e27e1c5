"""The template's API authorization: a JWT authorizer on every route, and the scopes each route accepts."""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

from local_stack.template import PROJECT_ROOT

READ_SCOPES = ["flags/read", "flags/admin"]
# Routes that describe the API, contain no account data and are served with no authorizer.
PUBLIC_DOCUMENTATION_EVENTS = {"ApiFunction.GetOpenApiDocument", "ApiFunction.GetSwaggerPage"}
WRITE_SCOPES = ["flags/write", "flags/admin"]


def http_api_events(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    events: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event_id, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] == "HttpApi":
                events[f"{logical_id}.{event_id}"] = event["Properties"]
    return events


def test_template_auth_jwt_authorizer(template: dict[str, Any]) -> None:
    auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]

    assert auth["DefaultAuthorizer"] == "JwtAuthorizer"
    assert auth["Authorizers"]["JwtAuthorizer"] == {
        "IdentitySource": "$request.header.Authorization",
        "JwtConfiguration": {"issuer": {"Ref": "JwtIssuer"}, "audience": [{"Ref": "JwtAudience"}]},
    }


def test_template_auth_every_route_scoped(template: dict[str, Any]) -> None:
    """Only the documentation routes turn the authorizer off; GET routes take the read scopes, others the
    read or write ones."""
    events = http_api_events(template)

    assert events
    for event_id, properties in events.items():
        auth = properties.get("Auth", {})
        if event_id in PUBLIC_DOCUMENTATION_EVENTS:
            assert auth == {"Authorizer": "NONE"}, event_id
            assert properties["Method"] == "GET", event_id
            continue
        assert auth.get("Authorizer", "JwtAuthorizer") == "JwtAuthorizer", event_id
        scopes = auth.get("AuthorizationScopes")
        assert scopes, f"{event_id} has no AuthorizationScopes"
        assert "flags/admin" in scopes, event_id
        method = properties.get("Method")
        if method == "GET":
            assert scopes == READ_SCOPES, event_id
        elif method is not None:
            # A read sent as POST (a lookup with a body) may take the read scopes.
            assert scopes in (READ_SCOPES, WRITE_SCOPES), event_id


def test_template_auth_default_route_any_scope(template: dict[str, Any]) -> None:
    default_route = template["Resources"]["ApiFunction"]["Properties"]["Events"]["DefaultRoute"]["Properties"]

    assert "Path" not in default_route
    assert default_route["Auth"]["AuthorizationScopes"] == ["flags/read", "flags/write", "flags/admin"]


def test_template_auth_account_claim_variable(template: dict[str, Any]) -> None:
    variables = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]

    assert variables["ACCOUNT_CLAIM"] == {"Ref": "AccountClaim"}
    assert template["Parameters"]["AccountClaim"]["Default"] == "account_id"


def test_template_auth_samconfig_sets_issuer_per_environment() -> None:
    config = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text(encoding="utf-8"))

    for environment in ("default", "prod"):
        overrides = shlex.split(config[environment]["deploy"]["parameters"]["parameter_overrides"])
        parameters = dict(override.split("=", 1) for override in overrides)
        assert parameters["JwtIssuer"].startswith("https://"), environment
        assert parameters["JwtAudience"], environment
