"""Starts the local stack (`python -m local_stack`) as a subprocess once per session, on free loopback ports."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest

from local_stack.jwt_keys import SigningKey, load_or_create_signing_key
from local_stack.template import load_template
from local_stack.token import LocalTokenSettings, local_token_settings, mint_token

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "local stack ready: "
# Upper bounds, not expectations: starting spawns worker processes that import boto3 and Powertools.
START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 60
# Seconds a test waits for the stream poller to show a write in history or events.
STREAM_DEADLINE_SECONDS = 60.0
REGION = "us-east-1"
# Scopes of the token a request carries unless the test gives its own: every route accepts one of them.
DEFAULT_SCOPES = ("flags/read", "flags/write")
TOKEN_TTL_SECONDS = 3600
# The account of a request whose path names none, such as an unknown route.
NO_PATH_ACCOUNT = "e2e-account"
DEFAULT_TOKEN = object()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RunningStack:
    """The stack under test: its API base URL, its moto endpoint and everything it has printed so far."""

    api_url: str
    moto_endpoint: str
    process: subprocess.Popen[str]
    state_dir: Path
    output: list[str] = field(default_factory=list)

    @cached_property
    def signing_key(self) -> SigningKey:
        """The key the stack verifies tokens with; the stack created it in its state directory."""
        return load_or_create_signing_key(self.state_dir)

    def token(self, account_id: str | None, scopes: Sequence[str] = DEFAULT_SCOPES) -> str:
        """Mint a valid access token for ``account_id`` (None: no account claim) with ``scopes``."""
        settings = token_settings()
        claims = {"sub": account_id or "e2e-admin"}
        if account_id is not None:
            claims[settings.account_claim] = account_id
        return mint_token(
            self.signing_key,
            issuer=settings.issuer,
            audience=settings.audience,
            scopes=list(scopes),
            ttl_seconds=TOKEN_TTL_SECONDS,
            claims=claims,
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        token: Any = DEFAULT_TOKEN,
    ) -> Reply:
        """Send one HTTP request to the API; ``path`` is sent exactly as given (already percent-encoded).

        Unless ``headers`` has an Authorization header, the request carries a read and write token for the
        account in the path. ``token`` None sends no token, and a string sends that token.
        """
        headers = dict(headers or {})
        if not any(name.lower() == "authorization" for name in headers):
            if token is DEFAULT_TOKEN:
                token = self.token(path_account(path))
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"

        if body is None:
            payload = None
        elif isinstance(body, bytes):
            payload = body
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = json.dumps(body).encode()

        address = urlsplit(self.api_url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.moto_endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
        )

    def wait_for(self, condition: Callable[[], Any], timeout_seconds: float = STREAM_DEADLINE_SECONDS) -> Any:
        """Call ``condition`` until it returns a truthy value or the deadline passes; return its last value.

        The deadline bounds the wait for the stream poller, which runs about a second behind the writes.
        """
        deadline = time.monotonic() + timeout_seconds
        while True:
            value = condition()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(0.2)

    def output_lines_containing(self, text: str) -> list[str]:
        return [line for line in list(self.output) if text in line]


@cache
def token_settings() -> LocalTokenSettings:
    return local_token_settings(load_template())


def path_account(path: str) -> str:
    """Return the decoded account id of an ``/accounts/{account_id}/...`` path, else a fixed account."""
    parts = path.split("?", 1)[0].split("/")
    if len(parts) > 2 and parts[1] == "accounts":
        return unquote(parts[2])
    return NO_PATH_ACCOUNT


def _read_output(process: subprocess.Popen[str], lines: list[str], ready: threading.Event) -> None:
    """Collect every output line; keeps draining the pipe so the stack never blocks on a full buffer."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith(READY_PREFIX):
            ready.set()
    ready.set()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Run `python -m local_stack` on free ports until the session ends, then stop it with SIGINT."""
    port, moto_port = free_port(), free_port()
    state_dir = tmp_path_factory.mktemp("local-stack-state")
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment["PYTHONUNBUFFERED"] = "1"

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_stack",
            "--port",
            str(port),
            "--moto-port",
            str(moto_port),
            "--state-dir",
            str(state_dir),
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    lines: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_output, args=(process, lines, ready), daemon=True)
    reader.start()

    if not ready.wait(START_TIMEOUT_SECONDS) or process.poll() is not None:
        process.kill()
        process.wait()
        reader.join(timeout=5)
        pytest.fail("local stack did not print its ready line; output:\n" + "\n".join(lines))

    ready_line = next(line for line in lines if line.startswith(READY_PREFIX))
    assert ready_line == f"{READY_PREFIX}API http://127.0.0.1:{port}, moto http://127.0.0.1:{moto_port}"
    stack = RunningStack(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{moto_port}", process, state_dir, lines)
    yield stack

    process.send_signal(signal.SIGINT)
    try:
        return_code = process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("local stack did not stop after SIGINT; output:\n" + "\n".join(lines[-50:]))
    reader.join(timeout=10)
    assert return_code == 0, "\n".join(lines[-50:])
    assert any("local stack stopped" in line for line in lines)
    assert not (state_dir / "stack.json").exists()
