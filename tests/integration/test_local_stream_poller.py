"""The local stack's stream poller against moto: batches, bisect, retries and the on-failure queue."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from local_stack.event_source_mapping import StreamMapping
from local_stack.functions import FunctionError
from local_stack.resources import create_resources
from local_stack.stream_poller import StreamPoller

REGION = "us-east-1"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:local-StreamFunction"


class RecordingFunction:
    """Stands in for the stream function: fails any batch that contains the poisoned flag name."""

    def __init__(self, poisoned_sort_key: str) -> None:
        self.poisoned_sort_key = poisoned_sort_key
        self.batches: list[list[str]] = []
        self.processed: list[str] = []

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        sort_keys = [record["dynamodb"]["Keys"]["sk"]["S"] for record in event["Records"]]
        self.batches.append(sort_keys)
        if self.poisoned_sort_key in sort_keys:
            raise FunctionError("RuntimeError", "poisoned record")
        self.processed.extend(sort_keys)
        return {"batchItemFailures": []}


def wait_until(condition: Any, timeout_seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


@pytest.fixture
def local_resources(moto_aws: None, template: dict[str, Any]) -> Any:
    return create_resources(
        boto3.client("dynamodb", region_name=REGION),
        boto3.client("sqs", region_name=REGION),
        boto3.client("events", region_name=REGION),
        template,
    )


def test_stream_poller_discards_poisoned_record_to_queue(local_resources: Any) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    table = local_resources.table_names["FlagsTable"]
    queue_url = local_resources.queue_urls["StreamFailureQueue"]
    for sort_key in ("a", "b", "poison", "c"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "entity"}, "sk": {"S": sort_key}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "entity"}, "sk": {"S": "a"}})

    mapping = StreamMapping(
        event_id="FlagsStream",
        table_id="FlagsTable",
        starting_position="TRIM_HORIZON",
        batch_size=10,
        maximum_retry_attempts=1,
        bisect_on_function_error=True,
        report_batch_item_failures=True,
        filter_patterns=({"eventName": ["INSERT", "MODIFY"]},),
        on_failure_queue_id="StreamFailureQueue",
    )
    function = RecordingFunction("poison")
    poller = StreamPoller(
        mapping,
        streams_client=boto3.client("dynamodbstreams", region_name=REGION),
        sqs_client=sqs,
        stream_arn=local_resources.stream_arns["FlagsTable"],
        on_failure_queue_url=queue_url,
        function=function,
        function_arn=FUNCTION_ARN,
        region=REGION,
    )
    poller.start()
    try:
        messages = wait_until(lambda: sqs.receive_message(QueueUrl=queue_url).get("Messages"))
        assert wait_until(lambda: "c" in function.processed)
    finally:
        poller.stop()

    assert function.batches == [["a", "b", "poison", "c"], ["a", "b"], ["poison", "c"], ["poison"], ["poison"], ["c"]]
    assert function.processed == ["a", "b", "c"]

    [message] = messages
    body = json.loads(message["Body"])
    info = body["DDBStreamBatchInfo"]
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["functionArn"] == FUNCTION_ARN
    assert body["requestContext"]["approximateInvokeCount"] == 2
    assert body["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == local_resources.stream_arns["FlagsTable"]
