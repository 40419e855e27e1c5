"""Each function's role grants exact actions only on the resources that the function is wired to."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

# The services whose actions may name a resource of each type.
SERVICE_OF_RESOURCE_TYPE = {
    "AWS::DynamoDB::Table": "dynamodb",
    "AWS::SQS::Queue": "sqs",
    "AWS::SNS::Topic": "sns",
    "AWS::Events::EventBus": "events",
    "AWS::Logs::LogGroup": "logs",
}
# Sub-resources of a table that a policy may name with a trailing wildcard: indexes and streams.
TABLE_ARN_PATTERN = re.compile(
    r"^arn:\$\{AWS::Partition\}:dynamodb:\$\{AWS::Region\}:\$\{AWS::AccountId\}:table/\$\{(?P<table>\w+)\}"
    r"(?P<rest>/index/(\*|[\w.-]+)|/stream/\*)?$"
)


def wired_resources(template: dict[str, Any], function_id: str) -> set[tuple[str, str]]:
    """Return the (logical id, attribute) pairs a function is wired to.

    ``Ref`` in an environment variable (the function's or the Globals') wires the resource's ARN. A
    DynamoDB or SQS event wires the stream or queue ARN, and an on-failure destination wires its ARN.
    The LoggingConfig log group wires the log group's ARN.
    """
    resources = template["Resources"]
    properties = resources[function_id]["Properties"]
    global_variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    variables = {**global_variables, **properties.get("Environment", {}).get("Variables", {})}

    wired: set[tuple[str, str]] = set()
    for value in variables.values():
        if isinstance(value, dict) and value.get("Ref") in resources:
            wired.add((value["Ref"], "Arn"))

    for event in properties.get("Events", {}).values():
        event_properties = event.get("Properties", {})
        for key in ("Stream", "Queue"):
            source = event_properties.get(key)
            if isinstance(source, dict) and "Fn::GetAtt" in source:
                wired.add(tuple(source["Fn::GetAtt"]))  # type: ignore[arg-type]
        destination = event_properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if isinstance(destination, dict) and "Fn::GetAtt" in destination:
            wired.add(tuple(destination["Fn::GetAtt"]))  # type: ignore[arg-type]

    log_group = properties.get("LoggingConfig", {}).get("LogGroup")
    if isinstance(log_group, dict) and log_group.get("Ref") in resources:
        wired.add((log_group["Ref"], "Arn"))
    return wired


def resource_reference(resource: Any) -> tuple[str, str] | None:
    """Return the (logical id, attribute) a policy Resource names, or None when it is not a known form."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical_id, attribute = resource["Fn::GetAtt"]
        return logical_id, attribute

    if isinstance(resource, dict) and "Fn::Sub" in resource and isinstance(resource["Fn::Sub"], str):
        match = TABLE_ARN_PATTERN.match(resource["Fn::Sub"])
        if match is None:
            return None
        rest = match.group("rest") or ""
        return match.group("table"), "StreamArn" if rest.startswith("/stream/") else "Arn"
    return None


def role_of(template: dict[str, Any], function_id: str) -> tuple[str | None, list[str]]:
    """Return the logical id of the function's explicit role, and the reasons it cannot be checked.

    Without ``Role``, SAM generates one and attaches managed policies (AWSLambdaBasicExecutionRole, and
    AWSLambdaDynamoDBExecutionRole for a stream event) that reach every log group and stream.
    """
    resources = template["Resources"]
    properties = resources[function_id]["Properties"]
    role = properties.get("Role")
    if not (isinstance(role, dict) and "Fn::GetAtt" in role and role["Fn::GetAtt"][1] == "Arn"):
        return None, [f"{function_id}: no explicit Role, so SAM generates one with managed policies"]

    role_id = role["Fn::GetAtt"][0]
    problems = []
    if "Policies" in properties:
        problems.append(f"{function_id}: Policies beside an explicit Role are not applied; put them in {role_id}")
    if resources[role_id]["Properties"].get("ManagedPolicyArns"):
        problems.append(f"{function_id}: {role_id} attaches managed policies, which cannot be checked")
    return role_id, problems


def policy_violations(template: dict[str, Any], function_id: str) -> list[str]:
    """List every way the function's role grants more than exact actions on the resources it is wired to."""
    resources = template["Resources"]
    role_id, violations = role_of(template, function_id)
    if role_id is None:
        return violations
    policies = resources[role_id]["Properties"].get("Policies", [])
    wired = wired_resources(template, function_id)

    for policy in policies:
        document = policy.get("PolicyDocument") if isinstance(policy, dict) else None
        if not isinstance(document, dict) or not isinstance(document.get("Statement"), list):
            violations.append(f"{function_id}: {policy!r} is not an inline statement list, so it cannot be checked")
            continue

        for statement in document["Statement"]:
            sid = statement.get("Sid", "<no Sid>")
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                violations.append(f"{function_id} {sid}: NotAction/NotResource grant everything not listed")

            actions = statement.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            for action in actions:
                if not isinstance(action, str) or "*" in action or "?" in action:
                    violations.append(f"{function_id} {sid}: wildcard action {action!r}")

            statement_resources = statement.get("Resource", [])
            for resource in statement_resources if isinstance(statement_resources, list) else [statement_resources]:
                if resource == "*":
                    violations.append(f"{function_id} {sid}: Resource '*'")
                    continue

                reference = resource_reference(resource)
                if reference is None:
                    violations.append(f"{function_id} {sid}: {resource!r} is not a GetAtt or table ARN of the stack")
                    continue
                if reference not in wired:
                    violations.append(
                        f"{function_id} {sid}: {reference[0]}.{reference[1]} is not wired to the function"
                    )
                    continue

                resource_type = resources.get(reference[0], {}).get("Type")
                service = SERVICE_OF_RESOURCE_TYPE.get(resource_type)
                for action in actions:
                    if isinstance(action, str) and action.split(":", 1)[0] != service:
                        violations.append(f"{function_id} {sid}: {action} does not act on {resource_type}")
    return violations


def functions_of(template: dict[str, Any]) -> list[str]:
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]


def with_statement(template: dict[str, Any], function_id: str, statement: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    role_id = changed["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    changed["Resources"][role_id]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(statement)
    return changed


def test_least_privilege_template_functions(template: dict[str, Any]) -> None:
    function_ids = functions_of(template)

    assert function_ids
    for function_id in function_ids:
        assert policy_violations(template, function_id) == []


def test_least_privilege_api_function_wiring(template: dict[str, Any]) -> None:
    assert wired_resources(template, "ApiFunction") == {
        ("FlagsTable", "Arn"),
        ("HistoryTable", "Arn"),
        ("ApiFunctionLogGroup", "Arn"),
    }


def test_least_privilege_stream_function_wiring(template: dict[str, Any]) -> None:
    assert wired_resources(template, "StreamFunction") == {
        ("FlagsTable", "Arn"),
        ("HistoryTable", "Arn"),
        ("FlagsTable", "StreamArn"),
        ("StreamFailureQueue", "Arn"),
        ("FlagEventsBus", "Arn"),
        ("StreamFunctionLogGroup", "Arn"),
    }


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            {
                "Sid": "All",
                "Effect": "Allow",
                "Action": "dynamodb:*",
                "Resource": {"Fn::GetAtt": ["FlagsTable", "Arn"]},
            },
            "ApiFunction All: wildcard action 'dynamodb:*'",
        ),
        (
            {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": {"Fn::GetAtt": ["FlagsTable", "Arn"]}},
            "ApiFunction All: wildcard action '*'",
        ),
        (
            {
                "Sid": "Gets",
                "Effect": "Allow",
                "Action": ["dynamodb:Get*"],
                "Resource": {"Fn::GetAtt": ["FlagsTable", "Arn"]},
            },
            "ApiFunction Gets: wildcard action 'dynamodb:Get*'",
        ),
        (
            {"Sid": "Any", "Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"},
            "ApiFunction Any: Resource '*'",
        ),
        (
            {
                "Sid": "Queue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]},
            },
            "ApiFunction Queue: StreamFailureQueue.Arn is not wired to the function",
        ),
        (
            {
                "Sid": "Stream",
                "Effect": "Allow",
                "Action": ["dynamodb:GetRecords"],
                "Resource": {"Fn::GetAtt": ["FlagsTable", "StreamArn"]},
            },
            "ApiFunction Stream: FlagsTable.StreamArn is not wired to the function",
        ),
        (
            {
                "Sid": "Other",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem"],
                "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/other",
            },
            "ApiFunction Other: 'arn:aws:dynamodb:us-east-1:123456789012:table/other' is not a GetAtt or table "
            "ARN of the stack",
        ),
        (
            {
                "Sid": "Mixed",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": {"Fn::GetAtt": ["FlagsTable", "Arn"]},
            },
            "ApiFunction Mixed: sqs:SendMessage does not act on AWS::DynamoDB::Table",
        ),
        (
            {
                "Sid": "Not",
                "Effect": "Allow",
                "NotAction": ["iam:*"],
                "Resource": {"Fn::GetAtt": ["FlagsTable", "Arn"]},
            },
            "ApiFunction Not: NotAction/NotResource grant everything not listed",
        ),
    ],
    ids=[
        "service-wildcard",
        "star-action",
        "prefix-wildcard",
        "star-resource",
        "unwired-queue",
        "unwired-stream",
        "foreign-arn",
        "wrong-service",
        "not-action",
    ],
)
def test_least_privilege_flags_violation(template: dict[str, Any], statement: dict[str, Any], expected: str) -> None:
    changed = with_statement(template, "ApiFunction", statement)

    assert expected in policy_violations(changed, "ApiFunction")


def test_least_privilege_flags_unwired_table(template: dict[str, Any]) -> None:
    """A table that exists in the stack but that the function has no variable for is not the function's."""
    changed = copy.deepcopy(template)
    changed["Resources"]["AuditTable"] = {"Type": "AWS::DynamoDB::Table", "Properties": {}}
    changed = with_statement(
        changed,
        "ApiFunction",
        {
            "Sid": "Audit",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem"],
            "Resource": {"Fn::GetAtt": ["AuditTable", "Arn"]},
        },
    )

    assert policy_violations(changed, "ApiFunction") == [
        "ApiFunction Audit: AuditTable.Arn is not wired to the function"
    ]


def test_least_privilege_flags_managed_policy(template: dict[str, Any]) -> None:
    changed = copy.deepcopy(template)
    changed["Resources"]["ApiFunctionRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
    ]

    assert policy_violations(changed, "ApiFunction") == [
        "ApiFunction: ApiFunctionRole attaches managed policies, which cannot be checked"
    ]


def test_least_privilege_flags_generated_role(template: dict[str, Any]) -> None:
    changed = copy.deepcopy(template)
    del changed["Resources"]["ApiFunction"]["Properties"]["Role"]

    assert policy_violations(changed, "ApiFunction") == [
        "ApiFunction: no explicit Role, so SAM generates one with managed policies"
    ]


def test_least_privilege_flags_function_policies(template: dict[str, Any]) -> None:
    changed = copy.deepcopy(template)
    changed["Resources"]["ApiFunction"]["Properties"]["Policies"] = ["AmazonDynamoDBFullAccess"]

    assert policy_violations(changed, "ApiFunction") == [
        "ApiFunction: Policies beside an explicit Role are not applied; put them in ApiFunctionRole"
    ]


def test_least_privilege_table_index_arn(template: dict[str, Any]) -> None:
    changed = with_statement(
        template,
        "ApiFunction",
        {
            "Sid": "QueryIndex",
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${FlagsTable}/index/*"
            },
        },
    )

    assert policy_violations(changed, "ApiFunction") == []
