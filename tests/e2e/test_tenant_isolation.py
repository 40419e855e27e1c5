"""End to end: the local stack's JWT authorizer and the handler's account check, over real HTTP.

Every route of the template is sent every kind of bad token; afterwards moto shows that nothing
was written for the target account.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local_stack.jwt_keys import SigningKey
from local_stack.template import load_template
from local_stack.token import mint_token
from status_flags.keys import escape_id

pytestmark = pytest.mark.e2e

FLAGS_TABLE = "local-FlagsTable"
HISTORY_TABLE = "local-HistoryTable"
ISSUER = "urn:status-flags:local-issuer"
AUDIENCE = "status-flags-local"
READ_WRITE = ["flags/read", "flags/write"]
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}
PATH_PARAMETER = re.compile(r"\{(\w+)\+?\}")
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# Path parameter values that the routes accept, for the parameters the API has today.
PARAMETER_VALUES = {"flag_name": "Model_Function_Run"}


def template_routes() -> list[tuple[str, str, str]]:
    """Return (event id, method, path) of every HttpApi route of the API function that requires a token.

    $default and the public documentation routes (Authorizer NONE) are left out.
    """
    routes = []
    for event_id, event in API_EVENTS.items():
        properties = event["Properties"]
        public = properties.get("Auth", {}).get("Authorizer") == "NONE"
        if event["Type"] == "HttpApi" and "Path" in properties and not public:
            routes.append((event_id, properties["Method"].upper(), properties["Path"]))
    return routes


API_EVENTS = load_template()["Resources"]["ApiFunction"]["Properties"]["Events"]
ROUTES = template_routes()
ROUTE_IDS = [event_id for event_id, _, _ in ROUTES]


def route_path(path: str, account_id: str, entity_id: str) -> str:
    """Fill a route path's parameters: the account and entity given, and a valid value for each other one."""
    values = {"account_id": account_id, "entity_id": entity_id}

    def fill(match: re.Match[str]) -> str:
        return quote(values.get(match.group(1), PARAMETER_VALUES.get(match.group(1), "x")), safe="")

    return PATH_PARAMETER.sub(fill, path)


def request_body(method: str) -> dict[str, Any] | None:
    return None if method in READ_METHODS else {"flag_value": 1}


def missing_scope(event_id: str) -> list[str]:
    """Return the service's scopes that the route does not accept (flags/write on a read route, and so on)."""
    accepted = API_EVENTS[event_id]["Properties"]["Auth"]["AuthorizationScopes"]
    return [scope for scope in ("flags/read", "flags/write") if scope not in accepted]


def encode_segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def account_items(local_stack: Any, table: str, account_id: str) -> list[dict[str, Any]]:
    """Scan a table for every item of one account, straight from moto."""
    dynamodb = local_stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(pk, :prefix)",
        "ExpressionAttributeValues": {":prefix": {"S": f"{escape_id(account_id)}#"}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.scan(**arguments)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def foreign_key() -> SigningKey:
    """An RSA key the stack has never seen."""
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "unknown")


def bad_tokens(
    local_stack: Any, foreign_key: SigningKey, target: str, event_id: str
) -> dict[str, tuple[str, int, Any]]:
    """Return each bad credential by case: the Authorization header value, the expected status and body."""
    key = local_stack.signing_key
    own = {"account_id": target, "sub": "user-1"}
    forged_key = SigningKey(foreign_key.private_key, key.key_id)
    now = int(time.time())
    header = encode_segment({"alg": "RS256", "kid": key.key_id, "typ": "JWT"})
    payload = encode_segment({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "scope": "flags/admin"})

    def signed(signing_key: SigningKey = key, **changes: Any) -> str:
        return mint_token(
            signing_key,
            issuer=changes.get("issuer", ISSUER),
            audience=changes.get("audience", AUDIENCE),
            scopes=changes.get("scopes", READ_WRITE),
            ttl_seconds=changes.get("ttl_seconds", 600),
            claims=changes.get("claims", own),
            issued_at=changes.get("issued_at", now),
        )

    other_account = {"account_id": f"other-{uuid.uuid4()}", "sub": "user-2"}
    cases = {
        "garbage": ("Bearer garbage", 401, UNAUTHORIZED),
        "empty-bearer": ("Bearer ", 401, UNAUTHORIZED),
        "unsigned-forgery": (f"Bearer {header}.{payload}.c2lnbmF0dXJl", 401, UNAUTHORIZED),
        "bad-signature": (f"Bearer {signed(forged_key)}", 401, UNAUTHORIZED),
        "unknown-key": (f"Bearer {signed(foreign_key)}", 401, UNAUTHORIZED),
        "hs256": (
            "Bearer "
            + jwt.encode(
                {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "scope": "flags/admin"},
                "a-shared-secret-of-at-least-32-bytes",
                algorithm="HS256",
                headers={"kid": key.key_id},
            ),
            401,
            UNAUTHORIZED,
        ),
        "expired": (f"Bearer {signed(issued_at=now - 7200, ttl_seconds=3600)}", 401, UNAUTHORIZED),
        "wrong-audience": (f"Bearer {signed(audience='another-api')}", 401, UNAUTHORIZED),
        "wrong-issuer": (f"Bearer {signed(issuer='https://issuer.example.com')}", 401, UNAUTHORIZED),
        "missing-scope": (f"Bearer {signed(scopes=missing_scope(event_id))}", 403, FORBIDDEN),
        "no-scope": (f"Bearer {signed(scopes=[])}", 403, FORBIDDEN),
        "other-account": (f"Bearer {signed(claims=other_account)}", 403, "account_forbidden"),
        "no-account-claim": (f"Bearer {signed(claims={'sub': 'user-3'})}", 401, "unauthorized"),
    }
    if "{account_id}" not in API_EVENTS[event_id]["Properties"]["Path"]:
        # A route outside every account has no account to mismatch.
        del cases["other-account"]
    return cases


@pytest.mark.parametrize(("event_id", "method", "path"), ROUTES, ids=ROUTE_IDS)
def test_tenant_isolation_rejects_bad_tokens(
    local_stack: Any, foreign_key: SigningKey, event_id: str, method: str, path: str
) -> None:
    target = f"target-{uuid.uuid4()}"
    url = route_path(path, target, f"entity-{uuid.uuid4()}")
    body = request_body(method)

    no_token = local_stack.request(method, url, body, token=None)
    assert no_token.status == 401
    assert no_token.json() == UNAUTHORIZED

    for case, (authorization, status, expected) in bad_tokens(local_stack, foreign_key, target, event_id).items():
        reply = local_stack.request(method, url, body, headers={"Authorization": authorization})
        assert reply.status == status, f"{event_id} {case}: {reply.body!r}"
        if isinstance(expected, dict):
            assert reply.json() == expected, f"{event_id} {case}"
        else:
            assert reply.json()["error"] == expected, f"{event_id} {case}"

    assert account_items(local_stack, FLAGS_TABLE, target) == []
    assert account_items(local_stack, HISTORY_TABLE, target) == []


@pytest.mark.parametrize(("event_id", "method", "path"), ROUTES, ids=ROUTE_IDS)
def test_tenant_isolation_other_account_message(local_stack: Any, event_id: str, method: str, path: str) -> None:
    if "{account_id}" not in path:
        pytest.skip(f"{path} names no account")
    target, caller = f"target-{uuid.uuid4()}", f"caller-{uuid.uuid4()}"
    token = local_stack.token(caller, READ_WRITE)

    reply = local_stack.request(
        method, route_path(path, target, "entity-1"), request_body(method), headers={"Authorization": f"Bearer {token}"}
    )

    assert reply.status == 403
    assert reply.json() == {
        "error": "account_forbidden",
        "message": (
            f"the token's account_id is {caller!r}, so it cannot access account {target!r}; "
            f"use a token whose account_id claim is {target!r}, or one with the flags/admin scope"
        ),
    }
    assert account_items(local_stack, FLAGS_TABLE, target) == []


@pytest.mark.parametrize(("event_id", "method", "path"), ROUTES, ids=ROUTE_IDS)
def test_tenant_isolation_own_and_admin_tokens_pass(local_stack: Any, event_id: str, method: str, path: str) -> None:
    """The owner's token and an admin token without any account claim both get past authorization."""
    target = f"target-{uuid.uuid4()}"
    url = route_path(path, target, f"entity-{uuid.uuid4()}")
    own = local_stack.token(target, READ_WRITE)
    admin = local_stack.token(None, ["flags/admin"])

    for token in (own, admin):
        reply = local_stack.request(method, url, request_body(method), headers={"Authorization": f"Bearer {token}"})
        assert reply.status not in (401, 403), f"{event_id}: {reply.status} {reply.body!r}"


def test_tenant_isolation_flag_routes_end_to_end(local_stack: Any) -> None:
    """The owner writes and reads its flag; an admin reads and advances it; a foreign reader sees 403."""
    account, entity = f"acct-{uuid.uuid4()}", f"entity-{uuid.uuid4()}"
    flag = f"/accounts/{account}/entities/{entity}/flags/Model_Function_Run"
    owner = {"Authorization": f"Bearer {local_stack.token(account, READ_WRITE)}"}
    admin = {"Authorization": f"Bearer {local_stack.token(None, ['flags/admin'])}"}
    reader = {"Authorization": f"Bearer {local_stack.token(account, ['flags/read'])}"}
    foreign = {"Authorization": f"Bearer {local_stack.token(f'other-{uuid.uuid4()}', READ_WRITE)}"}

    created = local_stack.request("PUT", flag, {"flag_value": 1}, headers=owner)
    read_only_write = local_stack.request("PUT", flag, {"flag_value": 2}, headers=reader)
    read_back = local_stack.request("GET", flag, headers=reader)
    advanced = local_stack.request("PUT", flag, {"flag_value": 3}, headers=admin)
    foreign_read = local_stack.request("GET", flag, headers=foreign)
    listed = local_stack.request("GET", f"/accounts/{account}/entities/{entity}/flags", headers=admin)

    assert created.status == 201
    assert read_only_write.status == 403
    assert read_only_write.json() == FORBIDDEN
    assert read_back.status == 200
    assert read_back.json()["flag_value"] == 1
    assert advanced.status == 200
    assert advanced.json()["flag_value"] == 3
    assert foreign_read.status == 403
    assert foreign_read.json()["error"] == "account_forbidden"
    assert listed.status == 200
    assert [item["flag_value"] for item in listed.json()["items"]] == [3]

    items = account_items(local_stack, FLAGS_TABLE, account)
    assert len(items) == 1
    assert items[0]["flag_value"] == {"N": "3"}


def test_tenant_isolation_default_route_needs_token(local_stack: Any) -> None:
    """The $default catch-all requires a token too; with one, unknown paths still get the JSON 404."""
    anonymous = local_stack.request("GET", "/nowhere", token=None)
    reader = local_stack.request(
        "GET", "/nowhere", headers={"Authorization": f"Bearer {local_stack.token('a', ['flags/read'])}"}
    )

    assert anonymous.status == 401
    assert anonymous.json() == UNAUTHORIZED
    assert reader.status == 404
    assert reader.json()["error"] == "route_not_found"
