"""Fixtures shared by every test: fake AWS credentials and moto tables built from template.yaml."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.template import create_tables, load_template

REGION = "us-east-1"
TABLE_PREFIX = "test-"
TEST_CURSOR_SIGNING_KEY = "test-cursor-signing-key-of-at-least-32-bytes"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every AWS client at fake credentials, so no test can reach a real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture(autouse=True)
def cursor_signing_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Give the API function the cursor signing key that template.yaml passes it in production."""
    monkeypatch.setenv("CURSOR_SIGNING_KEY", TEST_CURSOR_SIGNING_KEY)
    return TEST_CURSOR_SIGNING_KEY


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def moto_aws(aws_environment: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(moto_aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def table_names(dynamodb: Any, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Create the template's tables in moto and export their names the way the template does."""
    names = create_tables(dynamodb, template, TABLE_PREFIX)
    monkeypatch.setenv("FLAGS_TABLE_NAME", names["FlagsTable"])
    monkeypatch.setenv("HISTORY_TABLE_NAME", names["HistoryTable"])
    return names


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "StatusFlags")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "status-flags")
