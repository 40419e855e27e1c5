"""End to end: a write through HTTP reaches the local event bus as a change event, read through a rule and a queue."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.e2e

EVENT_BUS = "local-FlagEventsBus"
# Upper bound for the stream poller to publish a write as an event. Tests poll until then; none asserts a duration.
EVENT_DEADLINE_SECONDS = 60.0


@dataclass
class CapturedEvents:
    """An SQS queue that receives, through an EventBridge rule, the change events of one account."""

    account_id: str
    sqs: Any
    queue_url: str

    def wait_for_events(self, count: int) -> list[dict[str, Any]]:
        """Receive events until ``count`` have arrived or the deadline passes; return them oldest first."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + EVENT_DEADLINE_SECONDS
        while len(events) < count and time.monotonic() < deadline:
            response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in response.get("Messages", []):
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events


@pytest.fixture
def captured_events(local_stack: Any) -> Iterator[CapturedEvents]:
    """Route the change events of a fresh account to a fresh queue, and remove the rule and queue afterwards.

    The rule matches only this account, so tests running against the same stack do not see each other's events.
    """
    account_id = f"account-{uuid.uuid4()}"
    suffix = uuid.uuid4().hex[:12]
    events = local_stack.client("events")
    sqs = local_stack.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"change-events-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"change-events-{suffix}"
    events.put_rule(
        Name=rule,
        EventBusName=EVENT_BUS,
        EventPattern=json.dumps(
            {"source": ["status-flags"], "detail-type": ["Status Flag Changed"], "detail": {"account_id": [account_id]}}
        ),
    )
    events.put_targets(Rule=rule, EventBusName=EVENT_BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])

    yield CapturedEvents(account_id, sqs, queue_url)

    events.remove_targets(Rule=rule, EventBusName=EVENT_BUS, Ids=["queue"])
    events.delete_rule(Name=rule, EventBusName=EVENT_BUS)
    sqs.delete_queue(QueueUrl=queue_url)


def flag_path(account_id: str, entity_id: str, flag_name: str) -> str:
    return f"/accounts/{quote(account_id, safe='')}/entities/{quote(entity_id, safe='')}/flags/{flag_name}"


def expected_detail(body: dict[str, Any], group: str) -> dict[str, Any]:
    """Build the event detail that a PUT response body announces."""
    keys = ("id", "account_id", "entity_id", "flag_name", "flag_value", "previous_value", "version", "update_time")
    return {**{key: body[key] for key in keys}, "group": group}


def test_change_events_published_for_http_writes(local_stack: Any, captured_events: CapturedEvents) -> None:
    account, entity = captured_events.account_id, f"entity-{uuid.uuid4()}"
    path = flag_path(account, entity, "Input_EFS_Transcoding")

    created = local_stack.request("PUT", path, {"flag_value": "Enqueued"})
    advanced = local_stack.request("PUT", path, {"flag_value": 3})

    assert created.status == 201
    assert advanced.status == 200
    events = captured_events.wait_for_events(2)
    assert [event["source"] for event in events] == ["status-flags", "status-flags"]
    assert [event["detail-type"] for event in events] == ["Status Flag Changed", "Status Flag Changed"]
    assert [event["detail"] for event in events] == [
        expected_detail(created.json(), "input"),
        expected_detail(advanced.json(), "input"),
    ]
    assert events[0]["detail"]["previous_value"] is None
    assert events[1]["detail"]["previous_value"] == 1
    assert [event["detail"]["version"] for event in events] == [1, 2]
