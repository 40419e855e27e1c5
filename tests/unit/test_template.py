"""Unit tests of template.yaml: the settings that the service's guarantees depend on."""

from __future__ import annotations

from typing import Any

import pytest

ARCHITECTURE = {"Ref": "Architecture"}


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]


def test_template_architecture_parameter(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["Architecture"]

    assert parameter["Default"] == "arm64"
    assert parameter["AllowedValues"] == ["arm64", "x86_64"]


def test_template_flags_table(template: dict[str, Any]) -> None:
    properties = resource(template, "FlagsTable")["Properties"]

    assert resource(template, "FlagsTable")["Type"] == "AWS::DynamoDB::Table"
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]


def test_template_history_table(template: dict[str, Any]) -> None:
    properties = resource(template, "HistoryTable")["Properties"]

    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    # A history write must not trigger the flags stream consumer again.
    assert "StreamSpecification" not in properties


def test_template_stream_event_source(template: dict[str, Any]) -> None:
    event = resource(template, "StreamFunction")["Properties"]["Events"]["FlagsStream"]
    properties = event["Properties"]

    assert event["Type"] == "DynamoDB"
    assert properties["Stream"] == {"Fn::GetAtt": ["FlagsTable", "StreamArn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert isinstance(properties["MaximumRetryAttempts"], int)
    assert 0 <= properties["MaximumRetryAttempts"] <= 10
    assert properties["BisectBatchOnFunctionError"] is True
    assert properties["DestinationConfig"] == {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}}
    }
    assert resource(template, "StreamFailureQueue")["Type"] == "AWS::SQS::Queue"


def test_template_layer_build(template: dict[str, Any]) -> None:
    layer = resource(template, "SharedLayer")

    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert layer["Metadata"]["BuildArchitecture"] == ARCHITECTURE
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == [ARCHITECTURE]


def test_template_function_globals(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]

    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == [ARCHITECTURE]
    assert function_globals["Layers"] == [{"Ref": "SharedLayer"}]


@pytest.mark.parametrize(
    ("logical_id", "code_uri", "handler"),
    [
        ("ApiFunction", "functions/api/", "api_handler.lambda_handler"),
        ("StreamFunction", "functions/stream/", "stream_handler.lambda_handler"),
    ],
)
def test_template_functions(template: dict[str, Any], logical_id: str, code_uri: str, handler: str) -> None:
    function = resource(template, logical_id)
    properties = function["Properties"]

    assert function["Type"] == "AWS::Serverless::Function"
    assert properties["CodeUri"] == code_uri
    assert properties["Handler"] == handler
    # Runtime and Architectures come from Globals, and a per-function value would override them.
    assert properties.get("Runtime", "python3.13") == "python3.13"
    assert properties.get("Architectures", [ARCHITECTURE]) == [ARCHITECTURE]


def test_template_api_routes(template: dict[str, Any]) -> None:
    events = resource(template, "ApiFunction")["Properties"]["Events"]

    routes = {
        (event["Properties"].get("Method"), event["Properties"].get("Path"))
        for event in events.values()
        if event["Type"] == "HttpApi"
    }

    assert routes == {
        ("PUT", "/accounts/{account_id}/entities/{entity_id}/flags/{flag_name}"),
        ("GET", "/accounts/{account_id}/entities/{entity_id}/flags/{flag_name}"),
        ("GET", "/accounts/{account_id}/entities/{entity_id}/flags"),
        ("GET", "/accounts/{account_id}/entities/{entity_id}/history"),
        ("POST", "/accounts/{account_id}/flags/batch"),
        ("POST", "/accounts/{account_id}/flags/lookup"),
        ("GET", "/accounts/{account_id}/flags"),
        ("GET", "/openapi.json"),
        ("GET", "/swagger"),
        (None, None),
    }
