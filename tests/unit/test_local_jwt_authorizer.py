"""The local JWT authorizer: token checks and the route requirements it reads from template.yaml."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from local_stack.jwt_authorizer import (
    JwtAuthorizerConfig,
    RouteAuthorization,
    TokenRejectedError,
    bearer_token,
    claim_text,
    route_authorization,
    token_scopes,
    verify_token,
)
from local_stack.jwt_keys import SigningKey, load_or_create_signing_key
from local_stack.token import local_token_settings, mint_token

ISSUER = "urn:status-flags:local-issuer"
AUDIENCE = "status-flags-local"
READ_SCOPES = ("flags/read", "flags/admin")
WRITE_SCOPES = ("flags/write", "flags/admin")


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return load_or_create_signing_key(tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "other")


def route_requirement(template: dict[str, Any], event_id: str) -> RouteAuthorization | None:
    api_auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    event = template["Resources"]["ApiFunction"]["Properties"]["Events"][event_id]
    return route_authorization(event["Properties"].get("Auth"), api_auth, template)


@pytest.fixture
def read_route(template: dict[str, Any]) -> RouteAuthorization:
    requirement = route_requirement(template, "GetFlag")
    assert requirement is not None
    return requirement


def token(key: SigningKey, scopes: list[str], **changes: Any) -> str:
    claims = {"account_id": "acme", "sub": "user-1", **changes.pop("claims", {})}
    return mint_token(
        key,
        issuer=changes.pop("issuer", ISSUER),
        audience=changes.pop("audience", AUDIENCE),
        scopes=scopes,
        ttl_seconds=changes.pop("ttl_seconds", 3600),
        claims=claims,
        issued_at=changes.pop("issued_at", None),
    )


def rejection(token_text: str, route: RouteAuthorization, key: SigningKey) -> TokenRejectedError:
    with pytest.raises(TokenRejectedError) as caught:
        verify_token(token_text, route, key)
    return caught.value


def encode_segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_route_authorization_reads_template_scopes(template: dict[str, Any]) -> None:
    authorizer = JwtAuthorizerConfig("JwtAuthorizer", "authorization", ISSUER, (AUDIENCE,))

    assert route_requirement(template, "GetFlag") == RouteAuthorization(authorizer, READ_SCOPES)
    assert route_requirement(template, "ListFlags") == RouteAuthorization(authorizer, READ_SCOPES)
    assert route_requirement(template, "GetHistory") == RouteAuthorization(authorizer, READ_SCOPES)
    assert route_requirement(template, "PutFlag") == RouteAuthorization(authorizer, WRITE_SCOPES)
    assert route_requirement(template, "DefaultRoute") == RouteAuthorization(
        authorizer, ("flags/read", "flags/write", "flags/admin")
    )


def test_route_authorization_none_and_no_default(template: dict[str, Any]) -> None:
    api_auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]

    assert route_authorization({"Authorizer": "NONE"}, api_auth, template) is None
    assert route_authorization(None, None, template) is None


def test_route_authorization_unknown_authorizer(template: dict[str, Any]) -> None:
    api_auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]

    with pytest.raises(ValueError, match="'Missing'"):
        route_authorization({"Authorizer": "Missing"}, api_auth, template)


def test_route_authorization_lambda_authorizer_rejected(template: dict[str, Any]) -> None:
    api_auth = {"DefaultAuthorizer": "Custom", "Authorizers": {"Custom": {"FunctionArn": "arn"}}}

    with pytest.raises(ValueError, match="JWT authorizers only"):
        route_authorization(None, api_auth, template)


def test_local_token_settings_template_defaults(template: dict[str, Any]) -> None:
    settings = local_token_settings(template)

    assert settings.issuer == ISSUER
    assert settings.audience == AUDIENCE
    assert settings.account_claim == "account_id"


def test_verify_token_good_token(key: SigningKey, read_route: RouteAuthorization) -> None:
    issued_at = int(time.time())
    good = token(key, ["flags/read", "flags/write"], issued_at=issued_at)

    block = verify_token(good, read_route, key)

    claims = block["jwt"]["claims"]
    assert block["jwt"]["scopes"] == ["flags/read", "flags/write"]
    assert claims["account_id"] == "acme"
    assert claims["sub"] == "user-1"
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["scope"] == "flags/read flags/write"
    assert claims["iat"] == str(issued_at)
    assert claims["exp"] == str(issued_at + 3600)
    assert all(isinstance(value, str) for value in claims.values())


def test_verify_token_scp_list_claim(key: SigningKey, read_route: RouteAuthorization) -> None:
    scp_token = token(key, [], claims={"scp": ["flags/read"]})

    block = verify_token(scp_token, read_route, key)

    assert block["jwt"]["scopes"] == ["flags/read"]
    assert block["jwt"]["claims"]["scp"] == "[flags/read]"


@pytest.mark.parametrize(
    "garbage",
    ["garbage", "a.b.c", "", "eyJhbGciOiJSUzI1NiJ9", f"{encode_segment({'alg': 'RS256'})}.e30.c2ln"],
    ids=["word", "three-parts", "empty", "header-only", "bad-signature-bytes"],
)
def test_verify_token_garbage(key: SigningKey, read_route: RouteAuthorization, garbage: str) -> None:
    error = rejection(garbage, read_route, key)

    assert error.status_code == 401
    assert error.message == "Unauthorized"


def test_verify_token_bad_signature(key: SigningKey, other_key: SigningKey, read_route: RouteAuthorization) -> None:
    """A token signed by another key, but naming the local key's kid, fails the signature check."""
    forged = token(SigningKey(other_key.private_key, key.key_id), ["flags/read"])

    error = rejection(forged, read_route, key)

    assert error.status_code == 401
    assert error.message == "Unauthorized"
    assert "Signature verification failed" in error.reason


def test_verify_token_tampered_payload(key: SigningKey, read_route: RouteAuthorization) -> None:
    header, _, signature = token(key, ["flags/read"]).split(".")
    payload = encode_segment({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, "scope": "flags/admin"})

    error = rejection(f"{header}.{payload}.{signature}", read_route, key)

    assert error.status_code == 401


def test_verify_token_unknown_kid(key: SigningKey, other_key: SigningKey, read_route: RouteAuthorization) -> None:
    error = rejection(token(other_key, ["flags/read"]), read_route, key)

    assert error.status_code == 401
    assert "kid" in error.reason


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_verify_token_other_algorithm(key: SigningKey, read_route: RouteAuthorization, algorithm: str) -> None:
    payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, "scope": "flags/read"}
    secret = "a-shared-secret-of-at-least-32-bytes" if algorithm == "HS256" else None
    forged = jwt.encode(payload, secret, algorithm=algorithm, headers={"kid": key.key_id})

    error = rejection(forged, read_route, key)

    assert error.status_code == 401
    assert "algorithm" in error.reason


def test_verify_token_ec_key_rejected(key: SigningKey, read_route: RouteAuthorization) -> None:
    payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, "scope": "flags/read"}
    forged = jwt.encode(
        payload, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": key.key_id}
    )

    assert rejection(forged, read_route, key).status_code == 401


def test_verify_token_expired(key: SigningKey, read_route: RouteAuthorization) -> None:
    expired = token(key, ["flags/read"], issued_at=int(time.time()) - 7200, ttl_seconds=3600)

    error = rejection(expired, read_route, key)

    assert error.status_code == 401
    assert error.message == "Unauthorized"
    assert "expired" in error.reason


def test_verify_token_missing_exp(key: SigningKey, read_route: RouteAuthorization) -> None:
    payload = {"iss": ISSUER, "aud": AUDIENCE, "scope": "flags/read"}
    no_expiry = jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.key_id})

    error = rejection(no_expiry, read_route, key)

    assert error.status_code == 401
    assert "exp" in error.reason


def test_verify_token_not_yet_valid(key: SigningKey, read_route: RouteAuthorization) -> None:
    future = token(key, ["flags/read"], claims={"nbf": int(time.time()) + 3600})

    error = rejection(future, read_route, key)

    assert error.status_code == 401
    assert "not yet valid" in error.reason


def test_verify_token_wrong_audience(key: SigningKey, read_route: RouteAuthorization) -> None:
    error = rejection(token(key, ["flags/read"], audience="another-api"), read_route, key)

    assert error.status_code == 401
    assert error.message == "Unauthorized"
    assert "audience" in error.reason


def test_verify_token_missing_audience(key: SigningKey, read_route: RouteAuthorization) -> None:
    payload = {"iss": ISSUER, "exp": int(time.time()) + 60, "scope": "flags/read"}
    no_audience = jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.key_id})

    assert rejection(no_audience, read_route, key).status_code == 401


def test_verify_token_client_id_audience(key: SigningKey, read_route: RouteAuthorization) -> None:
    """A token without aud passes when client_id names an audience, as Cognito access tokens do."""
    payload = {"iss": ISSUER, "client_id": AUDIENCE, "exp": int(time.time()) + 60, "scope": "flags/read"}
    access_token = jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.key_id})

    block = verify_token(access_token, read_route, key)

    assert block["jwt"]["claims"]["client_id"] == AUDIENCE


def test_verify_token_audience_list(key: SigningKey, read_route: RouteAuthorization) -> None:
    payload = {"iss": ISSUER, "aud": ["other", AUDIENCE], "exp": int(time.time()) + 60, "scope": "flags/read"}
    listed = jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": key.key_id})

    block = verify_token(listed, read_route, key)

    assert block["jwt"]["claims"]["aud"] == f"[other {AUDIENCE}]"


def test_verify_token_wrong_issuer(key: SigningKey, read_route: RouteAuthorization) -> None:
    error = rejection(token(key, ["flags/read"], issuer="https://issuer.example.com"), read_route, key)

    assert error.status_code == 401
    assert error.message == "Unauthorized"
    assert "issuer" in error.reason.lower()


def test_verify_token_missing_scope(key: SigningKey, template: dict[str, Any]) -> None:
    write_route = route_requirement(template, "PutFlag")
    assert write_route is not None

    error = rejection(token(key, ["flags/read"]), write_route, key)

    assert error.status_code == 403
    assert error.message == "Forbidden"


def test_verify_token_no_scopes_forbidden(key: SigningKey, read_route: RouteAuthorization) -> None:
    error = rejection(token(key, []), read_route, key)

    assert error.status_code == 403
    assert error.message == "Forbidden"


def test_verify_token_admin_scope(key: SigningKey, template: dict[str, Any]) -> None:
    admin = token(key, ["flags/admin"], claims={"account_id": None})

    for event_id in ("GetFlag", "PutFlag", "ListFlags", "GetHistory", "DefaultRoute"):
        route = route_requirement(template, event_id)
        assert route is not None
        block = verify_token(admin, route, key)
        assert block["jwt"]["scopes"] == ["flags/admin"]
        assert "account_id" not in block["jwt"]["claims"]


def test_verify_token_unscoped_route_scopes_null(key: SigningKey, read_route: RouteAuthorization) -> None:
    unscoped = RouteAuthorization(read_route.authorizer, ())

    block = verify_token(token(key, []), unscoped, key)

    assert block["jwt"]["scopes"] is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer abc"}, "abc"),
        ({"Authorization": "bearer  abc "}, "abc"),
        ({"authorization": "abc"}, "abc"),
    ],
)
def test_bearer_token_prefix_optional(headers: dict[str, str], expected: str) -> None:
    assert bearer_token(headers, "authorization") == expected


@pytest.mark.parametrize("headers", [{}, {"authorization": ""}, {"authorization": "Bearer "}, {"x-token": "abc"}])
def test_bearer_token_missing_401(headers: dict[str, str]) -> None:
    with pytest.raises(TokenRejectedError) as caught:
        bearer_token(headers, "authorization")

    assert caught.value.status_code == 401
    assert caught.value.message == "Unauthorized"


def test_token_scopes_scope_and_scp() -> None:
    assert token_scopes({"scope": "a b", "scp": ["b", "c"]}) == ["a", "b", "c"]
    assert token_scopes({"scope": 5, "scp": "d e"}) == ["d", "e"]
    assert token_scopes({}) == []


def test_claim_text_renders_strings() -> None:
    assert claim_text("x") == "x"
    assert claim_text(12) == "12"
    assert claim_text(True) == "true"
    assert claim_text(["a", "b"]) == "[a b]"
    assert claim_text({"k": 1}) == '{"k":1}'
