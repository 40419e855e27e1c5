"""Unit tests of change events: the PutEvents entry, rejected entries, and the template's bus and policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from status_flags.events import (
    ChangeEventPublisher,
    ChangeEventRejectedError,
    change_event_detail,
    change_event_entry,
)
from status_flags.history import Transition
from status_flags.models import FLAG_GROUPS, FlagName, FlagValue
from status_flags.settings import Settings

BUS = "flag-events"
UPDATE_TIME = datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)


def transition(
    flag_name: FlagName = FlagName.MODEL_FUNCTION_RUN,
    flag_value: FlagValue = FlagValue.FINISHED,
    previous_value: FlagValue | None = FlagValue.IN_PROGRESS,
    version: int = 3,
) -> Transition:
    return Transition(
        id="flag-id-1",
        account_id="acct-1",
        entity_id="model-7",
        flag_name=flag_name,
        flag_value=flag_value,
        previous_value=previous_value,
        version=version,
        update_time=UPDATE_TIME,
    )


def test_change_event_entry_exact() -> None:
    entry = change_event_entry(transition(), BUS)

    assert set(entry) == {"Source", "DetailType", "Detail", "EventBusName"}
    assert entry["Source"] == "status-flags"
    assert entry["DetailType"] == "Status Flag Changed"
    assert entry["EventBusName"] == BUS
    assert json.loads(entry["Detail"]) == {
        "id": "flag-id-1",
        "account_id": "acct-1",
        "entity_id": "model-7",
        "flag_name": "Model_Function_Run",
        "flag_value": 3,
        "previous_value": 2,
        "version": 3,
        "update_time": "2026-01-31T12:00:00.123456+00:00",
        "group": "model",
    }


def test_change_event_detail_created_flag() -> None:
    detail = change_event_detail(transition(flag_value=FlagValue.ENQUEUED, previous_value=None, version=1))

    assert detail["previous_value"] is None
    assert detail["flag_value"] == 1
    assert detail["version"] == 1


def test_change_event_detail_matches_history_item() -> None:
    change = transition()

    detail = change_event_detail(change)

    assert {key: value for key, value in detail.items() if key != "group"} == change.model_dump(mode="json")


@pytest.mark.parametrize(
    ("flag_name", "group"),
    [(flag_name, group.value) for group, names in FLAG_GROUPS.items() for flag_name in names],
)
def test_change_event_detail_group(flag_name: FlagName, group: str) -> None:
    assert change_event_detail(transition(flag_name=flag_name))["group"] == group


def stubbed_publisher() -> tuple[ChangeEventPublisher, Stubber]:
    client = boto3.client("events", region_name="us-east-1")
    return ChangeEventPublisher(client, BUS), Stubber(client)


def test_change_event_publisher_returns_event_id() -> None:
    publisher, stubber = stubbed_publisher()
    change = transition()
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 0, "Entries": [{"EventId": "event-1"}]},
        {"Entries": [change_event_entry(change, BUS)]},
    )

    with stubber:
        event_id = publisher.publish(change)

    assert event_id == "event-1"
    stubber.assert_no_pending_responses()


def test_change_event_publisher_rejected_entry_raises() -> None:
    publisher, stubber = stubbed_publisher()
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error"}],
        },
    )

    with stubber, pytest.raises(ChangeEventRejectedError) as raised:
        publisher.publish(transition())

    assert raised.value.error_code == "InternalFailure"
    assert raised.value.error_message == "Internal service error"
    assert str(raised.value) == (
        "change event of flag flag-id-1 version 3 was rejected: InternalFailure: Internal service error"
    )


def test_settings_event_bus_name_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAGS_TABLE_NAME", "flags")
    monkeypatch.setenv("HISTORY_TABLE_NAME", "history")
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)

    assert Settings.from_environment().require_event_bus_name() == BUS


def test_settings_event_bus_name_missing_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAGS_TABLE_NAME", "flags")
    monkeypatch.setenv("HISTORY_TABLE_NAME", "history")
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    settings = Settings.from_environment()

    assert settings.event_bus_name is None
    with pytest.raises(KeyError, match="EVENT_BUS_NAME"):
        settings.require_event_bus_name()


def test_template_flag_events_bus(template: dict[str, Any]) -> None:
    bus = template["Resources"]["FlagEventsBus"]
    stream_function = template["Resources"]["StreamFunction"]["Properties"]

    assert bus["Type"] == "AWS::Events::EventBus"
    assert stream_function["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": "FlagEventsBus"}
    assert "EVENT_BUS_NAME" not in template["Resources"]["ApiFunction"]["Properties"].get("Environment", {}).get(
        "Variables", {}
    )


def test_template_publish_policy_least_privilege(template: dict[str, Any]) -> None:
    role = template["Resources"]["StreamFunctionRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    publish = [statement for statement in statements if any(a.startswith("events:") for a in statement["Action"])]

    assert publish == [
        {
            "Sid": "PublishChangeEvents",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Resource": {"Fn::GetAtt": ["FlagEventsBus", "Arn"]},
        }
    ]
    assert [statement["Sid"] for statement in statements] == [
        "WriteLogs",
        "WriteHistory",
        "ReadFlagsStream",
        "ListStreams",
        "SendFailedBatches",
        "PublishChangeEvents",
    ]
