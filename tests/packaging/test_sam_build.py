"""Packaging tests: sam validate, sam build, and importing each built handler the way Lambda lays it out."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local_stack.template import PROJECT_ROOT, resources_of_type

pytestmark = pytest.mark.packaging

# Runs in a fresh interpreter started with -S -I, so neither site-packages nor PYTHONPATH is on sys.path.
# sys.path gets the function dir and the layer's python/ dir in front of the standard library,
# as Lambda puts /var/task and /opt/python there.
IMPORT_SCRIPT = """
import importlib, json, sys
task_dir, layer_dir, module_name, handler_name, event_json = sys.argv[1:6]
sys.path[:0] = [task_dir, layer_dir]

class Context:
    function_name = "packaging-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:packaging-test"
    aws_request_id = "packaging-test-request"
    def get_remaining_time_in_millis(self):
        return 10000

module = importlib.import_module(module_name)
handler = getattr(module, handler_name)
import boto3, pydantic_core, aws_lambda_powertools, status_flags
print(json.dumps({
    "callable": callable(handler),
    "module_file": module.__file__,
    "dependency_files": [boto3.__file__, pydantic_core.__file__, aws_lambda_powertools.__file__, status_flags.__file__],
    "site_paths": [entry for entry in sys.path if "site-packages" in entry],
    "response": handler(json.loads(event_json), Context()),
}))
"""

# Lambda architecture names by platform.machine() value.
LAMBDA_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/flags/stream/2026-01-01T00:00:00.000"

# Events that each handler handles without calling AWS: an unmatched route, and a keys-only stream image.
SMOKE_EVENTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "ApiFunction": (
        {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/packaging",
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "http": {"method": "GET", "path": "/packaging", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                "requestId": "packaging-test",
                "routeKey": "$default",
                "stage": "$default",
                "authorizer": {"jwt": {"claims": {"account_id": "packaging"}, "scopes": ["flags/read"]}},
            },
            "isBase64Encoded": False,
        },
        {
            "statusCode": 404,
            "body": json.dumps(
                {
                    "error": "route_not_found",
                    "message": (
                        "no route matches GET /packaging; flag routes start with /accounts/{account_id}/entities/"
                    ),
                }
            ),
            "isBase64Encoded": False,
            "headers": {"Content-Type": "application/json"},
            "cookies": [],
        },
    ),
    "StreamFunction": (
        {
            "Records": [
                {
                    "eventID": "packaging-1",
                    "eventName": "INSERT",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "dynamodb": {
                        "Keys": {"pk": {"S": "a#e"}, "sk": {"S": "Model_Function_Run"}},
                        "NewImage": {"pk": {"S": "a#e"}, "sk": {"S": "Model_Function_Run"}},
                        "SequenceNumber": "1",
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    },
                    "eventSourceARN": STREAM_ARN,
                }
            ]
        },
        {"batchItemFailures": []},
    ),
}


def sam_command() -> str:
    sam = shutil.which("sam")
    if sam is None:
        pytest.fail(
            "the AWS SAM CLI (sam) is not on PATH; run `make test`, which installs it into .venv-sam, "
            "or put a venv with aws-sam-cli on PATH"
        )
    return sam


def run_sam(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(
        [sam_command(), *arguments],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the template once per session for this machine's architecture, so the tests can import the build."""
    directory = tmp_path_factory.mktemp("sam-build") / "build"
    architecture = LAMBDA_ARCHITECTURES.get(platform.machine().lower())
    if architecture is None:
        pytest.fail(f"Lambda has no architecture for machine {platform.machine()!r}; expected x86_64 or arm64")
    result = run_sam(
        "build",
        "--template",
        "template.yaml",
        "--parameter-overrides",
        f"Architecture={architecture}",
        "--build-dir",
        str(directory),
        # samconfig.toml turns on the build cache in .aws-sam/ of the project, which concurrent test
        # runs would share, so this build starts clean.
        "--no-cached",
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout}\n{result.stderr}"
    return directory


def layer_logical_id(template: dict[str, Any]) -> str:
    (layer,) = template["Globals"]["Function"]["Layers"]
    return layer["Ref"]


def test_sam_validate_lint() -> None:
    result = run_sam("validate", "--lint", "--template", "template.yaml")

    assert result.returncode == 0, f"sam validate --lint failed:\n{result.stdout}\n{result.stderr}"
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_sam_build_layout(build_dir: Path, template: dict[str, Any]) -> None:
    layer_python = build_dir / layer_logical_id(template) / "python"

    assert (build_dir / "template.yaml").is_file()
    assert (layer_python / "status_flags" / "models.py").is_file()
    assert (layer_python / "aws_lambda_powertools-3.37.0.dist-info").is_dir()
    assert (layer_python / "pydantic-2.14.4.dist-info").is_dir()
    assert (layer_python / "boto3-1.44.8.dist-info").is_dir()
    assert (build_dir / "ApiFunction" / "api_handler.py").is_file()
    assert (build_dir / "ApiFunction" / "api_errors.py").is_file()
    assert (build_dir / "ApiFunction" / "account_access.py").is_file()
    assert (build_dir / "StreamFunction" / "stream_handler.py").is_file()
    # The layer carries the shared package, so the functions must not bundle a copy of it.
    assert not (build_dir / "ApiFunction" / "status_flags").exists()
    assert not (build_dir / "StreamFunction" / "status_flags").exists()


@pytest.mark.parametrize("logical_id", sorted(SMOKE_EVENTS))
def test_built_handler_imports_alone(build_dir: Path, template: dict[str, Any], logical_id: str) -> None:
    function = resources_of_type(template, "AWS::Serverless::Function")[logical_id]
    module_name, handler_name = function["Properties"]["Handler"].rsplit(".", 1)
    task_dir = build_dir / logical_id
    layer_dir = build_dir / layer_logical_id(template) / "python"
    event, expected_response = SMOKE_EVENTS[logical_id]
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "FLAGS_TABLE_NAME": "packaging-flags",
        "HISTORY_TABLE_NAME": "packaging-history",
        # The API function requires its cursor signing key at start, as template.yaml passes it.
        "CURSOR_SIGNING_KEY": "packaging-cursor-signing-key-of-32-bytes",
        "EVENT_BUS_NAME": "packaging-flag-events",
        "POWERTOOLS_SERVICE_NAME": "status-flags",
        "POWERTOOLS_METRICS_NAMESPACE": "StatusFlags",
    }

    result = subprocess.run(
        [
            sys.executable,
            "-S",
            "-I",
            "-c",
            IMPORT_SCRIPT,
            str(task_dir),
            str(layer_dir),
            module_name,
            handler_name,
            json.dumps(event),
        ],
        cwd=task_dir,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, f"importing {module_name} failed:\n{result.stderr}"
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["callable"] is True
    assert report["module_file"] == str(task_dir / f"{module_name}.py")
    for path in report["dependency_files"]:
        assert path.startswith(str(layer_dir)), f"{path} was imported from outside the built layer"
    assert report["site_paths"] == []
    assert report["response"] == expected_response
