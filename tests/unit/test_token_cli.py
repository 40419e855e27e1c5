"""The token command: its last line of output is a token that the local JWT authorizer accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest

from local_stack.jwt_authorizer import route_authorization, verify_token
from local_stack.jwt_keys import load_or_create_signing_key
from local_stack.template import PROJECT_ROOT


def run_token_command(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_stack.token", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def verified_block(template: dict[str, Any], state_dir: Path, token: str, event_id: str) -> dict[str, Any]:
    api_auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    event = template["Resources"]["ApiFunction"]["Properties"]["Events"][event_id]
    requirement = route_authorization(event["Properties"].get("Auth"), api_auth, template)
    assert requirement is not None
    return verify_token(token, requirement, load_or_create_signing_key(state_dir))


def test_token_command_last_line_valid(tmp_path: Path, template: dict[str, Any]) -> None:
    result = run_token_command("--account", "acme", "--state-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    block = verified_block(template, tmp_path, token, "PutFlag")
    assert block["jwt"]["claims"]["account_id"] == "acme"
    assert block["jwt"]["scopes"] == ["flags/read", "flags/write"]
    assert "token for account acme" in result.stderr


def test_token_command_creates_then_reuses_key(tmp_path: Path) -> None:
    state_dir = tmp_path / "fresh"

    first = run_token_command("--account", "acme", "--state-dir", str(state_dir))
    key_id = load_or_create_signing_key(state_dir).key_id
    second = run_token_command("--account", "acme", "--state-dir", str(state_dir))

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert jwt.get_unverified_header(first.stdout.splitlines()[-1])["kid"] == key_id
    assert jwt.get_unverified_header(second.stdout.splitlines()[-1])["kid"] == key_id


def test_token_command_scopes_and_ttl(tmp_path: Path) -> None:
    result = run_token_command(
        "--account", "acme", "--scopes", "flags/read", "--ttl", "60", "--state-dir", str(tmp_path)
    )

    claims = jwt.decode(result.stdout.splitlines()[-1], options={"verify_signature": False})
    assert claims["scope"] == "flags/read"
    assert claims["exp"] - claims["iat"] == 60


def test_token_command_admin_without_account(tmp_path: Path, template: dict[str, Any]) -> None:
    result = run_token_command("--scopes", "flags/admin", "--state-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    block = verified_block(template, tmp_path, result.stdout.splitlines()[-1], "GetFlag")
    assert "account_id" not in block["jwt"]["claims"]
    assert block["jwt"]["scopes"] == ["flags/admin"]


def test_token_command_account_required(tmp_path: Path) -> None:
    result = run_token_command("--state-dir", str(tmp_path))

    assert result.returncode == 2
    assert result.stdout == ""
    assert "set ACCOUNT=<account id>" in result.stderr


def test_token_command_ttl_positive(tmp_path: Path) -> None:
    result = run_token_command("--account", "acme", "--ttl", "0", "--state-dir", str(tmp_path))

    assert result.returncode == 2
    assert "--ttl must be a positive number of seconds; got 0" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_token_make_target_last_line(tmp_path: Path, template: dict[str, Any]) -> None:
    """``make token`` runs the same command with the current interpreter's virtualenv, installing nothing."""
    venv = Path(sys.prefix)
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            f"{venv}/.installed",
            "token",
            f"VENV={venv}",
            "ACCOUNT=acme",
            "SCOPES=flags/read",
            "TTL=120",
            f"STATE_DIR={tmp_path}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    block = verified_block(template, tmp_path, token, "GetFlag")
    assert block["jwt"]["claims"]["account_id"] == "acme"
    assert block["jwt"]["scopes"] == ["flags/read"]
    assert int(block["jwt"]["claims"]["exp"]) - int(block["jwt"]["claims"]["iat"]) == 120
