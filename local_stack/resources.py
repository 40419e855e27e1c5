"""Creates the template's tables, queues and event buses in moto, and resolves each function's environment to them."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from local_stack.lambda_runtime import LOCAL_ACCOUNT_ID
from local_stack.template import create_event_buses, create_tables, resources_of_type

REGION = "us-east-1"
NAME_PREFIX = "local-"

# SQS queue properties that map one to one onto CreateQueue attributes. Encryption settings
# have no local meaning and are left out.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)

# A dynamic reference to the value of a secret of the template, e.g.
# !Sub "{{resolve:secretsmanager:${CursorSigningSecret}:SecretString}}".
_SECRET_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:\$\{(\w+)\}:SecretString\}\}")


@dataclass
class LocalResources:
    """Names, URLs and ARNs of the resources created in moto, by logical id."""

    table_names: dict[str, str] = field(default_factory=dict)
    table_arns: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    queue_names: dict[str, str] = field(default_factory=dict)
    generated_secrets: dict[str, str] = field(default_factory=dict)
    event_bus_names: dict[str, str] = field(default_factory=dict)
    event_bus_arns: dict[str, str] = field(default_factory=dict)


def create_resources(dynamodb: Any, sqs: Any, events: Any, template: dict[str, Any]) -> LocalResources:
    """Create every table, queue and event bus of the template, named ``local-<logical id>``."""
    resources = LocalResources()

    resources.table_names = create_tables(dynamodb, template, NAME_PREFIX)
    for logical_id, table_name in resources.table_names.items():
        description = dynamodb.describe_table(TableName=table_name)["Table"]
        resources.table_arns[logical_id] = description["TableArn"]
        if "LatestStreamArn" in description:
            resources.stream_arns[logical_id] = description["LatestStreamArn"]

    for logical_id, resource in resources_of_type(template, "AWS::SQS::Queue").items():
        properties = resource.get("Properties", {})
        attributes = {name: _attribute_text(properties[name]) for name in _QUEUE_ATTRIBUTES if name in properties}
        queue_name = f"{NAME_PREFIX}{logical_id}"
        if properties.get("FifoQueue"):
            queue_name += ".fifo"

        queue_url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resources.queue_names[logical_id] = queue_name
        resources.queue_urls[logical_id] = queue_url
        resources.queue_arns[logical_id] = queue_arn

    resources.event_bus_names = create_event_buses(events, template, NAME_PREFIX)
    for logical_id, bus_name in resources.event_bus_names.items():
        resources.event_bus_arns[logical_id] = events.describe_event_bus(Name=bus_name)["Arn"]
    return resources


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def function_environment(template: dict[str, Any], function_id: str, resources: LocalResources) -> dict[str, str]:
    """Return a function's environment variables: Globals.Function.Environment, then the function's own.

    Raises ValueError naming the variable whose value uses an intrinsic function the local stack
    cannot resolve.
    """
    global_variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    function = template["Resources"][function_id]
    own_variables = function.get("Properties", {}).get("Environment", {}).get("Variables", {})

    environment = {}
    for name, value in {**global_variables, **own_variables}.items():
        environment[name] = resolve_value(template, value, resources, name)
    return environment


def resolve_value(template: dict[str, Any], value: Any, resources: LocalResources, variable: str) -> str:
    """Resolve a template value (plain, !Ref or !GetAtt) to its local text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)

    if isinstance(value, dict) and set(value) == {"Ref"}:
        return _resolve_ref(template, value["Ref"], resources, variable)
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        return _resolve_get_att(logical_id, attribute, resources, variable)

    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        reference = _SECRET_REFERENCE.fullmatch(value["Fn::Sub"])
        if reference:
            return _generated_secret(template, reference.group(1), resources, variable)

    raise ValueError(
        f"environment variable {variable}: cannot resolve {value!r} locally; use a value, !Ref, !GetAtt "
        "or a secretsmanager dynamic reference to a generated secret"
    )


def _generated_secret(template: dict[str, Any], logical_id: str, resources: LocalResources, variable: str) -> str:
    """Return the value of a secret that Secrets Manager would generate: random, once per local stack start."""
    secret = template.get("Resources", {}).get(logical_id, {})
    generate = secret.get("Properties", {}).get("GenerateSecretString")
    if secret.get("Type") != "AWS::SecretsManager::Secret" or generate is None:
        raise ValueError(f"environment variable {variable}: {logical_id} is not a secret with GenerateSecretString")

    if logical_id not in resources.generated_secrets:
        length = int(generate.get("PasswordLength", 32))
        resources.generated_secrets[logical_id] = secrets.token_hex(length)[:length]
    return resources.generated_secrets[logical_id]


def _resolve_ref(template: dict[str, Any], target: str, resources: LocalResources, variable: str) -> str:
    pseudo_parameters = {
        "AWS::Region": REGION,
        "AWS::AccountId": LOCAL_ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "local",
    }
    if target in pseudo_parameters:
        return pseudo_parameters[target]
    if target in resources.table_names:
        return resources.table_names[target]
    if target in resources.queue_urls:
        return resources.queue_urls[target]
    if target in resources.event_bus_names:
        return resources.event_bus_names[target]

    parameter = template.get("Parameters", {}).get(target)
    if parameter is not None and "Default" in parameter:
        return _attribute_text(parameter["Default"])

    raise ValueError(
        f"environment variable {variable}: !Ref {target} is not a table, queue, event bus or parameter with a Default"
    )


def _resolve_get_att(logical_id: str, attribute: str, resources: LocalResources, variable: str) -> str:
    attributes = {
        (logical_id, "Arn"): resources.table_arns.get(logical_id)
        or resources.queue_arns.get(logical_id)
        or resources.event_bus_arns.get(logical_id),
        (logical_id, "Name"): resources.event_bus_names.get(logical_id),
        (logical_id, "StreamArn"): resources.stream_arns.get(logical_id),
        (logical_id, "QueueName"): resources.queue_names.get(logical_id),
        (logical_id, "QueueUrl"): resources.queue_urls.get(logical_id),
    }
    resolved = attributes.get((logical_id, attribute))
    if resolved is None:
        raise ValueError(f"environment variable {variable}: !GetAtt {logical_id}.{attribute} has no local value")
    return resolved


def aws_client_environment(endpoint_url: str) -> dict[str, str]:
    """Variables that point every AWS SDK client of a function at moto with fake credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
