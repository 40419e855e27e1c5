"""Integration tests of the stream function: real writes in moto, the table's stream, the handler and its events."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.stub import Stubber

from local_stack.lambda_runtime import LocalLambdaContext, lambda_stream_record
from status_flags.events import ChangeEventPublisher, change_event_entry
from status_flags.history import Transition
from status_flags.models import FlagName, FlagValue
from status_flags.repository import FlagRepository
from status_flags.settings import DEFAULT_HISTORY_RETENTION_DAYS

REGION = "us-east-1"
ACCOUNT = "acct-1"
ENTITY = "model-7"
T0 = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
T2 = T0 + timedelta(seconds=2)
SKIPPED_MESSAGE = "stream record skipped: new image is not a complete flag"

MetricsReader = Callable[[], dict[str, list[float]]]


class StreamReader:
    """Reads the flags table's stream from moto and returns the records not read before, in Lambda's form."""

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._streams = boto3.client("dynamodbstreams", region_name=REGION)
        self.stream_arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._seen: set[str] = set()

    def new_records(self) -> list[dict[str, Any]]:
        records = []
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            response = self._streams.get_records(ShardIterator=iterator)
            for record in response["Records"]:
                sequence_number = record["dynamodb"]["SequenceNumber"]
                if sequence_number not in self._seen:
                    self._seen.add(sequence_number)
                    records.append(lambda_stream_record(record, self.stream_arn, REGION))
        return records


@pytest.fixture
def stream(dynamodb: Any, table_names: dict[str, str]) -> StreamReader:
    return StreamReader(dynamodb, table_names["FlagsTable"])


def invoke(stream_handler: ModuleType, records: list[dict[str, Any]]) -> dict[str, Any]:
    return stream_handler.lambda_handler({"Records": records}, LocalLambdaContext(function_name="StreamFunction"))


def history_items(dynamodb: Any, table_names: dict[str, str]) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=table_names["HistoryTable"])["Items"]
    return sorted(items, key=lambda item: item["sk"]["S"])


def is_complete(record: dict[str, Any]) -> bool:
    return "flag_value" in record["dynamodb"].get("NewImage", {})


def expires_at(update_time: datetime) -> dict[str, str]:
    return {"N": str(int((update_time + timedelta(days=DEFAULT_HISTORY_RETENTION_DAYS)).timestamp()))}


def history_item(
    flag_id: str,
    flag_name: FlagName,
    flag_value: int,
    previous_value: int | None,
    version: int,
    update_time: datetime,
) -> dict[str, Any]:
    time_text = update_time.isoformat(timespec="microseconds")
    return {
        "pk": {"S": f"{ACCOUNT}#{ENTITY}"},
        "sk": {"S": f"{time_text}#{flag_name.value}#{version:010d}"},
        "id": {"S": flag_id},
        "account_id": {"S": ACCOUNT},
        "entity_id": {"S": ENTITY},
        "flag_name": {"S": flag_name.value},
        "flag_value": {"N": str(flag_value)},
        "previous_value": {"N": str(previous_value)} if previous_value is not None else {"NULL": True},
        "version": {"N": str(version)},
        "update_time": {"S": time_text},
        "expires_at": expires_at(update_time),
    }


def test_stream_history_per_accepted_change(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
    read_metrics: MetricsReader,
) -> None:
    run = flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.FINISHED, now=T1)
    logo = flag_repository.advance(ACCOUNT, ENTITY, FlagName.LOGO_S3_STORAGE, FlagValue.IN_PROGRESS, now=T2)
    records = stream.new_records()
    read_metrics()

    response = invoke(stream_handler, records)

    assert response == {"batchItemFailures": []}
    assert history_items(dynamodb, table_names) == [
        history_item(run.flag.id, FlagName.MODEL_FUNCTION_RUN, 1, None, 1, T0),
        history_item(run.flag.id, FlagName.MODEL_FUNCTION_RUN, 3, 1, 2, T1),
        history_item(logo.flag.id, FlagName.LOGO_S3_STORAGE, 2, None, 1, T2),
    ]
    metrics = read_metrics()
    assert sum(metrics["HistoryItemsWritten"]) == 3
    skipped = len([record for record in records if not is_complete(record)])
    assert len(records) == 3 + skipped
    assert sum(metrics.get("StreamRecordsSkipped", [])) == skipped


def test_stream_replay_writes_nothing(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
    read_metrics: MetricsReader,
) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ERROR, now=T1)
    records = stream.new_records()
    invoke(stream_handler, records)
    items_after_first = history_items(dynamodb, table_names)
    read_metrics()

    response = invoke(stream_handler, records)

    assert response == {"batchItemFailures": []}
    assert len(items_after_first) == 2
    assert history_items(dynamodb, table_names) == items_after_first
    assert "HistoryItemsWritten" not in read_metrics()


def test_stream_unchanged_and_stale_silent(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.IN_PROGRESS, now=T0)
    invoke(stream_handler, stream.new_records())
    items_before = history_items(dynamodb, table_names)

    unchanged = flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.IN_PROGRESS, now=T1)
    stale = flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T2)

    assert unchanged.accepted is False
    assert stale.accepted is False
    assert stream.new_records() == []
    assert len(items_before) == 1
    assert history_items(dynamodb, table_names) == items_before


def test_stream_keys_only_insert_skipped(
    stream_handler: ModuleType,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
    read_metrics: MetricsReader,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys = {"pk": {"S": f"{ACCOUNT}#{ENTITY}"}, "sk": {"S": "Model_Function_Run"}}
    record = {
        "eventID": "keys-only-1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(T0.timestamp()),
            "Keys": keys,
            "NewImage": keys,
            "SequenceNumber": "100",
            "SizeBytes": 50,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": stream.stream_arn,
    }
    read_metrics()

    with caplog.at_level(logging.WARNING):
        response = invoke(stream_handler, [record])

    assert response == {"batchItemFailures": []}
    assert history_items(dynamodb, table_names) == []
    warnings = [entry for entry in caplog.records if entry.levelno == logging.WARNING]
    assert [entry.getMessage() for entry in warnings] == [SKIPPED_MESSAGE]
    assert warnings[0].event_id == "keys-only-1"  # type: ignore[attr-defined]
    assert warnings[0].event_name == "INSERT"  # type: ignore[attr-defined]
    assert warnings[0].keys == keys  # type: ignore[attr-defined]
    assert read_metrics() == {"StreamRecordsSkipped": [1.0]}


def test_stream_moto_keys_only_insert_skipped(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    keys_only = [record for record in stream.new_records() if not is_complete(record)]
    if not keys_only:
        pytest.skip("this moto version sends no keys-only INSERT record")

    with caplog.at_level(logging.WARNING):
        response = invoke(stream_handler, keys_only)

    assert response == {"batchItemFailures": []}
    assert history_items(dynamodb, table_names) == []
    assert [entry.getMessage() for entry in caplog.records if entry.levelno == logging.WARNING] == [
        SKIPPED_MESSAGE
    ] * len(keys_only)


def test_stream_history_failure_reported(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    logo = flag_repository.advance(ACCOUNT, ENTITY, FlagName.LOGO_S3_STORAGE, FlagValue.ENQUEUED, now=T1)
    records = [record for record in stream.new_records() if is_complete(record)]
    failing = next(record for record in records if record["dynamodb"]["Keys"]["sk"]["S"] == "Model_Function_Run")
    original_record = stream_handler.history.record

    def record_or_fail(transition: Any) -> bool:
        if transition.flag_name is FlagName.MODEL_FUNCTION_RUN:
            raise RuntimeError("history write failed")
        return original_record(transition)

    monkeypatch.setattr(stream_handler.history, "record", record_or_fail)

    response = invoke(stream_handler, records)

    assert len(records) == 2
    assert response == {"batchItemFailures": [{"itemIdentifier": failing["dynamodb"]["SequenceNumber"]}]}
    assert history_items(dynamodb, table_names) == [
        history_item(logo.flag.id, FlagName.LOGO_S3_STORAGE, 1, None, 1, T1),
    ]


def test_stream_missing_history_table_reported(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.FINISHED, now=T1)
    complete = [record for record in stream.new_records() if is_complete(record)]
    skippable = {
        **complete[0],
        "eventID": "keys-only-1",
        "dynamodb": {**complete[0]["dynamodb"], "NewImage": complete[0]["dynamodb"]["Keys"], "SequenceNumber": "1"},
    }
    dynamodb.delete_table(TableName=table_names["HistoryTable"])

    response = invoke(stream_handler, [skippable, *complete])

    assert len(complete) == 2
    assert response == {
        "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]} for record in complete]
    }


def test_stream_entire_batch_failure_raises(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    complete = [record for record in stream.new_records() if is_complete(record)]
    dynamodb.delete_table(TableName=table_names["HistoryTable"])

    # When every record fails, Powertools raises, and Lambda retries or bisects the whole batch.
    with pytest.raises(BatchProcessingError, match="All records failed processing"):
        invoke(stream_handler, complete)


def test_stream_records_match_lambda_event(stream: StreamReader, flag_repository: FlagRepository) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.FINISHED, now=T1)

    records = [record for record in stream.new_records() if is_complete(record)]

    assert [record["eventName"] for record in records] == ["INSERT", "MODIFY"]
    for record in records:
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"] == stream.stream_arn
        assert type(record["dynamodb"]["ApproximateCreationDateTime"]) is int
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        json.dumps(record)
    assert "OldImage" not in records[0]["dynamodb"]
    assert records[1]["dynamodb"]["OldImage"]["flag_value"] == {"N": "1"}
    assert records[1]["dynamodb"]["NewImage"]["flag_value"] == {"N": "3"}
    assert records[1]["dynamodb"]["NewImage"]["version"] == {"N": "2"}


class ChangeEventReader:
    """Captures the events on a bus through an EventBridge rule whose target is an SQS queue."""

    def __init__(self, bus_name: str) -> None:
        events = boto3.client("events", region_name=REGION)
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._queue_url = self._sqs.create_queue(QueueName="captured-change-events")["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="capture-change-events",
            EventBusName=bus_name,
            EventPattern=json.dumps({"source": ["status-flags"]}),
        )
        events.put_targets(
            Rule="capture-change-events", EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )

    def new_events(self) -> list[dict[str, Any]]:
        """Return the events delivered since the last call, oldest first, and delete them from the queue."""
        events = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def change_events(event_bus_names: dict[str, str]) -> ChangeEventReader:
    return ChangeEventReader(event_bus_names["FlagEventsBus"])


def change_detail(
    flag_id: str,
    flag_name: FlagName,
    flag_value: int,
    previous_value: int | None,
    version: int,
    update_time: datetime,
    group: str,
) -> dict[str, Any]:
    return {
        "id": flag_id,
        "account_id": ACCOUNT,
        "entity_id": ENTITY,
        "flag_name": flag_name.value,
        "flag_value": flag_value,
        "previous_value": previous_value,
        "version": version,
        "update_time": update_time.isoformat(timespec="microseconds"),
        "group": group,
    }


def test_stream_change_event_per_accepted_change(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    change_events: ChangeEventReader,
    read_metrics: MetricsReader,
) -> None:
    run = flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    records = stream.new_records()
    read_metrics()

    response = invoke(stream_handler, records)

    assert response == {"batchItemFailures": []}
    events = change_events.new_events()
    assert len(events) == 1
    assert events[0]["source"] == "status-flags"
    assert events[0]["detail-type"] == "Status Flag Changed"
    assert events[0]["detail"] == change_detail(run.flag.id, FlagName.MODEL_FUNCTION_RUN, 1, None, 1, T0, "model")
    assert read_metrics()["ChangeEventsPublished"] == [1.0]


def test_stream_change_events_in_stream_order(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    change_events: ChangeEventReader,
) -> None:
    run = flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.FINISHED, now=T1)
    logo = flag_repository.advance(ACCOUNT, ENTITY, FlagName.LOGO_S3_STORAGE, FlagValue.IN_PROGRESS, now=T2)

    response = invoke(stream_handler, stream.new_records())

    assert response == {"batchItemFailures": []}
    assert [event["detail"] for event in change_events.new_events()] == [
        change_detail(run.flag.id, FlagName.MODEL_FUNCTION_RUN, 1, None, 1, T0, "model"),
        change_detail(run.flag.id, FlagName.MODEL_FUNCTION_RUN, 3, 1, 2, T1, "model"),
        change_detail(logo.flag.id, FlagName.LOGO_S3_STORAGE, 2, None, 1, T2, "logo"),
    ]


def test_stream_same_version_publishes_nothing(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    change_events: ChangeEventReader,
    dynamodb: Any,
    table_names: dict[str, str],
) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.IN_PROGRESS, now=T0)
    complete = next(record for record in stream.new_records() if is_complete(record))
    # A MODIFY whose old and new images carry the same version is no accepted change.
    images = complete["dynamodb"]
    same_version = {
        **complete,
        "eventName": "MODIFY",
        "dynamodb": {**images, "OldImage": images["NewImage"], "SequenceNumber": "900"},
    }

    response = invoke(stream_handler, [same_version])

    assert response == {"batchItemFailures": []}
    assert change_events.new_events() == []
    assert history_items(dynamodb, table_names) == []


def test_stream_replay_publishes_again(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    change_events: ChangeEventReader,
    dynamodb: Any,
    table_names: dict[str, str],
    read_metrics: MetricsReader,
) -> None:
    run = flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    records = stream.new_records()
    invoke(stream_handler, records)
    items_after_first = history_items(dynamodb, table_names)
    first_events = change_events.new_events()
    read_metrics()

    response = invoke(stream_handler, records)

    # Events are delivered at least once: a replay publishes the same change again, with the same id and version.
    assert response == {"batchItemFailures": []}
    assert history_items(dynamodb, table_names) == items_after_first
    expected = change_detail(run.flag.id, FlagName.MODEL_FUNCTION_RUN, 1, None, 1, T0, "model")
    assert [event["detail"] for event in first_events] == [expected]
    assert [event["detail"] for event in change_events.new_events()] == [expected]
    metrics = read_metrics()
    assert "HistoryItemsWritten" not in metrics
    assert metrics["ChangeEventsPublished"] == [1.0]


def test_stream_rejected_event_reported_then_retried(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    change_events: ChangeEventReader,
    dynamodb: Any,
    table_names: dict[str, str],
    event_bus_names: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus_name = event_bus_names["FlagEventsBus"]
    run = flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    logo = flag_repository.advance(ACCOUNT, ENTITY, FlagName.LOGO_S3_STORAGE, FlagValue.ENQUEUED, now=T1)
    records = [record for record in stream.new_records() if is_complete(record)]
    failing = next(record for record in records if record["dynamodb"]["Keys"]["sk"]["S"] == "Model_Function_Run")

    # EventBridge rejects the first entry inside a successful response, and accepts the second.
    stubbed_client = boto3.client("events", region_name=REGION)
    stubber = Stubber(stubbed_client)
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal error"}]},
        {"Entries": [change_event_entry(Transition.from_flags(run.flag, None), bus_name)]},
    )
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 0, "Entries": [{"EventId": "event-2"}]},
        {"Entries": [change_event_entry(Transition.from_flags(logo.flag, None), bus_name)]},
    )
    original_publisher = stream_handler.publisher
    monkeypatch.setattr(stream_handler, "publisher", ChangeEventPublisher(stubbed_client, bus_name))

    with stubber:
        response = invoke(stream_handler, records)

    assert len(records) == 2
    assert response == {"batchItemFailures": [{"itemIdentifier": failing["dynamodb"]["SequenceNumber"]}]}
    stubber.assert_no_pending_responses()
    # History was written before the publish failed.
    items_after_failure = history_items(dynamodb, table_names)
    assert items_after_failure == [
        history_item(run.flag.id, FlagName.MODEL_FUNCTION_RUN, 1, None, 1, T0),
        history_item(logo.flag.id, FlagName.LOGO_S3_STORAGE, 1, None, 1, T1),
    ]
    assert change_events.new_events() == []

    monkeypatch.setattr(stream_handler, "publisher", original_publisher)
    retry = invoke(stream_handler, [failing])

    assert retry == {"batchItemFailures": []}
    assert history_items(dynamodb, table_names) == items_after_failure
    assert [event["detail"] for event in change_events.new_events()] == [
        change_detail(run.flag.id, FlagName.MODEL_FUNCTION_RUN, 1, None, 1, T0, "model"),
    ]


def test_stream_missing_event_bus_fails_batch(
    stream_handler: ModuleType,
    flag_repository: FlagRepository,
    stream: StreamReader,
    dynamodb: Any,
    table_names: dict[str, str],
    event_bus_names: dict[str, str],
) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, now=T0)
    flag_repository.advance(ACCOUNT, ENTITY, FlagName.LOGO_S3_STORAGE, FlagValue.ENQUEUED, now=T1)
    records = [record for record in stream.new_records() if is_complete(record)]
    boto3.client("events", region_name=REGION).delete_event_bus(Name=event_bus_names["FlagEventsBus"])

    # When every record fails, Powertools raises, and Lambda retries or bisects the whole batch.
    with pytest.raises(BatchProcessingError, match="All records failed processing"):
        invoke(stream_handler, records)

    assert len(records) == 2
    assert len(history_items(dynamodb, table_names)) == 2
