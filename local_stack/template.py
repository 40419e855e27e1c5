"""Reads template.yaml: CloudFormation tags, resources, and the AWS API calls that create them locally."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"

_TAGS = (
    "Ref",
    "GetAtt",
    "Sub",
    "Join",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
    "FindInMap",
    "ImportValue",
    "GetAZs",
    "Base64",
    "Cidr",
    "Condition",
)


class _TemplateLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short-form tags into their long form, e.g. !Ref X to {"Ref": "X"}."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {key: value}


for _tag in _TAGS:
    _TemplateLoader.add_constructor(f"!{_tag}", lambda loader, node, tag=_tag: _construct_tag(loader, tag, node))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a SAM template into plain dicts, with intrinsic functions in their long form."""
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Return the template's resources of one type, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


@dataclass(frozen=True)
class TableDefinition:
    """A DynamoDB table of the template, as CreateTable and UpdateTimeToLive arguments."""

    logical_id: str
    create_table: dict[str, Any]
    time_to_live: dict[str, Any] | None


def table_definitions(template: dict[str, Any], name_prefix: str) -> list[TableDefinition]:
    """Translate each AWS::DynamoDB::Table of the template into the calls that create it.

    The table is named ``<name_prefix><logical id>``. Properties with no local meaning
    (point-in-time recovery, encryption) are left out.
    """
    definitions = []
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        properties = resource["Properties"]
        create_table: dict[str, Any] = {
            "TableName": f"{name_prefix}{logical_id}",
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        }
        if create_table["BillingMode"] == "PROVISIONED":
            create_table["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
        if "GlobalSecondaryIndexes" in properties:
            create_table["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        if "LocalSecondaryIndexes" in properties:
            create_table["LocalSecondaryIndexes"] = properties["LocalSecondaryIndexes"]
        if "StreamSpecification" in properties:
            create_table["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}

        time_to_live = None
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            time_to_live = {
                "TableName": create_table["TableName"],
                "TimeToLiveSpecification": {"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
            }
        definitions.append(TableDefinition(logical_id, create_table, time_to_live))
    return definitions


def create_tables(client: Any, template: dict[str, Any], name_prefix: str) -> dict[str, str]:
    """Create the template's tables with a DynamoDB client; return table names by logical id."""
    names = {}
    for definition in table_definitions(template, name_prefix):
        client.create_table(**definition.create_table)
        if definition.time_to_live:
            client.update_time_to_live(**definition.time_to_live)
        names[definition.logical_id] = definition.create_table["TableName"]
    return names


def create_event_buses(client: Any, template: dict[str, Any], name_prefix: str) -> dict[str, str]:
    """Create each AWS::Events::EventBus of the template as ``<name_prefix><logical id>``.

    Return the bus names by logical id. The template's own Name (built from the stack name) is not
    used locally, so that the name is known without resolving !Sub.
    """
    names = {}
    for logical_id in resources_of_type(template, "AWS::Events::EventBus"):
        name = f"{name_prefix}{logical_id}"
        client.create_event_bus(Name=name)
        names[logical_id] = name
    return names
