"""Mint an access token that the local stack's JWT authorizer accepts: ``python -m local_stack.token``.

The key under the state directory (created if missing) signs the token. The token carries the issuer and
audience of the template's default JWT authorizer (the JwtIssuer and JwtAudience defaults), and the caller's
account in the claim that the API function reads (the AccountClaim default). The token is the last line of
standard output, and a summary goes to standard error.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from local_stack.jwt_authorizer import ALGORITHM, jwt_authorizer_config, resolve_value
from local_stack.jwt_keys import SigningKey, load_or_create_signing_key
from local_stack.template import PROJECT_ROOT, load_template, resources_of_type

DEFAULT_STATE_DIR = PROJECT_ROOT / ".local-stack"
DEFAULT_SCOPES = "flags/read flags/write"
DEFAULT_TTL_SECONDS = 3600
DEFAULT_ACCOUNT_CLAIM = "account_id"
ADMIN_SCOPE = "flags/admin"
API_FUNCTION = "ApiFunction"


@dataclass(frozen=True)
class LocalTokenSettings:
    """Issuer, audience and account claim name that the local stack expects in a token."""

    issuer: str
    audience: str
    account_claim: str


def local_token_settings(template: Mapping[str, Any]) -> LocalTokenSettings:
    """Read the default JWT authorizer of the template's HttpApi and the API function's ACCOUNT_CLAIM."""
    apis = resources_of_type(dict(template), "AWS::Serverless::HttpApi")
    for api in apis.values():
        auth = api.get("Properties", {}).get("Auth") or {}
        name = auth.get("DefaultAuthorizer")
        if name is None:
            continue
        authorizer = jwt_authorizer_config(name, auth["Authorizers"][name], template)
        break
    else:
        raise ValueError("no HttpApi in the template has a DefaultAuthorizer, so the local stack needs no token")

    variables = template["Resources"][API_FUNCTION]["Properties"].get("Environment", {}).get("Variables", {})
    account_claim = resolve_value(variables.get("ACCOUNT_CLAIM", DEFAULT_ACCOUNT_CLAIM), template)
    return LocalTokenSettings(authorizer.issuer, authorizer.audiences[0], account_claim)


def mint_token(
    key: SigningKey,
    *,
    issuer: str,
    audience: str,
    scopes: Sequence[str],
    ttl_seconds: int,
    claims: Mapping[str, Any] | None = None,
    issued_at: int | None = None,
) -> str:
    """Sign an RS256 access token with ``iss``, ``aud``, ``iat``, ``nbf``, ``exp``, ``jti``, ``scope`` and ``claims``.

    ``scope`` is left out when ``scopes`` is empty.
    """
    issued_at = int(time.time()) if issued_at is None else issued_at
    payload: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if scopes:
        payload["scope"] = " ".join(scopes)
    payload.update(claims or {})
    return jwt.encode(payload, key.private_key, algorithm=ALGORITHM, headers={"kid": key.key_id})


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.token",
        description="Print an access token for the local stack on the last line of standard output.",
    )
    parser.add_argument("--account", default="", help="account id put in the account claim (optional for admins)")
    parser.add_argument(
        "--scopes",
        default=DEFAULT_SCOPES,
        help=f"space-separated OAuth scopes (default: {DEFAULT_SCOPES!r}; {ADMIN_SCOPE} reaches every account)",
    )
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="seconds until the token expires")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="local stack state directory that contains the signing key (default: .local-stack)",
    )
    parser.add_argument("--issuer", help="iss claim (default: the template's JwtIssuer default)")
    parser.add_argument("--audience", help="aud claim (default: the template's JwtAudience default)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    scopes = arguments.scopes.split()
    if arguments.ttl <= 0:
        print(f"error: --ttl must be a positive number of seconds; got {arguments.ttl}", file=sys.stderr)
        return 2
    if not arguments.account and ADMIN_SCOPE not in scopes:
        print(
            f"error: set ACCOUNT=<account id>; only a token with the {ADMIN_SCOPE} scope may omit it", file=sys.stderr
        )
        return 2

    settings = local_token_settings(load_template())
    claims = {"sub": arguments.account or "local-admin"}
    if arguments.account:
        claims[settings.account_claim] = arguments.account

    key = load_or_create_signing_key(arguments.state_dir)
    issued_at = int(time.time())
    token = mint_token(
        key,
        issuer=arguments.issuer or settings.issuer,
        audience=arguments.audience or settings.audience,
        scopes=scopes,
        ttl_seconds=arguments.ttl,
        claims=claims,
        issued_at=issued_at,
    )

    expires = datetime.fromtimestamp(issued_at + arguments.ttl, UTC).isoformat()
    account = arguments.account or "(none)"
    print(f"token for account {account}, scopes {' '.join(scopes) or '(none)'}, expires {expires}", file=sys.stderr)
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
