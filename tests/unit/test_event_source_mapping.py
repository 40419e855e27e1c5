"""Event source mapping rules: reading the template, filters, partial failures, bisect and retry exhaustion."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from local_stack.event_source_mapping import (
    Batch,
    InvocationResult,
    StreamMapping,
    UnsupportedMappingError,
    decide,
    filter_records,
    first_failed_index,
    matches_pattern,
    on_failure_message,
    stream_mappings,
    validate_pattern,
)

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/local-FlagsTable/stream/2026-01-01T00:00:00.000"


def stream_record(sequence: int, event_name: str = "MODIFY", created: int = 1_767_225_600) -> dict[str, Any]:
    return {
        "eventID": f"event-{sequence}",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "SequenceNumber": str(sequence),
            "ApproximateCreationDateTime": created + sequence,
            "Keys": {"pk": {"S": "a#e"}, "sk": {"S": "Model_Function_Run"}},
        },
        "eventSourceARN": STREAM_ARN,
    }


def mapping(**overrides: Any) -> StreamMapping:
    settings: dict[str, Any] = {
        "event_id": "FlagsStream",
        "table_id": "FlagsTable",
        "starting_position": "TRIM_HORIZON",
        "batch_size": 10,
        "maximum_retry_attempts": 2,
        "bisect_on_function_error": False,
        "report_batch_item_failures": True,
        **overrides,
    }
    return StreamMapping(**settings)


def batch_of(*sequences: int, retries: int = 0) -> Batch:
    return Batch(tuple(stream_record(sequence) for sequence in sequences), retries)


def sequences(batch: Batch) -> list[int]:
    return [int(record["dynamodb"]["SequenceNumber"]) for record in batch.records]


def test_stream_mappings_read_template_event(template: dict[str, Any]) -> None:
    [flags_stream] = stream_mappings(template, "StreamFunction")

    assert flags_stream == StreamMapping(
        event_id="FlagsStream",
        table_id="FlagsTable",
        starting_position="TRIM_HORIZON",
        batch_size=100,
        batching_window_seconds=1.0,
        maximum_retry_attempts=5,
        bisect_on_function_error=True,
        report_batch_item_failures=True,
        filter_patterns=({"eventName": ["INSERT", "MODIFY"]},),
        on_failure_queue_id="StreamFailureQueue",
    )


def test_stream_mappings_reject_unsupported_property(template: dict[str, Any]) -> None:
    event = template["Resources"]["StreamFunction"]["Properties"]["Events"]["FlagsStream"]
    changed = {**event, "Properties": {**event["Properties"], "TumblingWindowInSeconds": 60}}
    function = {**template["Resources"]["StreamFunction"]}
    function["Properties"] = {**function["Properties"], "Events": {"FlagsStream": changed}}
    changed_template = {**template, "Resources": {**template["Resources"], "StreamFunction": function}}

    with pytest.raises(UnsupportedMappingError, match="TumblingWindowInSeconds"):
        stream_mappings(changed_template, "StreamFunction")


@pytest.mark.parametrize(
    "pattern",
    [
        {"eventName": [{"prefix": "INS"}]},
        {"dynamodb": {"NewImage": {"flag_value": {"N": [{"numeric": [">", 2]}]}}}},
        {"eventName": [{"anything-but": ["REMOVE"]}]},
        {"eventName": "INSERT"},
    ],
)
def test_validate_pattern_rejects_operators(pattern: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedMappingError):
        validate_pattern(pattern, "filter")


def test_matches_pattern_exact_values() -> None:
    pattern = {"eventName": ["INSERT", "MODIFY"]}

    assert matches_pattern(pattern, stream_record(1, "INSERT"))
    assert matches_pattern(pattern, stream_record(1, "MODIFY"))
    assert not matches_pattern(pattern, stream_record(1, "REMOVE"))


def test_matches_pattern_nested_keys() -> None:
    pattern = {"dynamodb": {"Keys": {"sk": {"S": ["Model_Function_Run"]}}}}
    other = stream_record(1)
    other["dynamodb"]["Keys"]["sk"] = {"S": "Logo_S3_Storage"}

    assert matches_pattern(pattern, stream_record(1))
    assert not matches_pattern(pattern, other)


def test_matches_pattern_missing_key_fails() -> None:
    assert not matches_pattern({"dynamodb": {"NewImage": {"flag_value": {"N": ["3"]}}}}, stream_record(1))


def test_matches_pattern_array_in_event() -> None:
    assert matches_pattern({"tags": ["b"]}, {"tags": ["a", "b"]})
    assert not matches_pattern({"tags": ["c"]}, {"tags": ["a", "b"]})


def test_matches_pattern_distinguishes_booleans_and_numbers() -> None:
    assert not matches_pattern({"enabled": [1]}, {"enabled": True})
    assert matches_pattern({"enabled": [True]}, {"enabled": True})
    assert matches_pattern({"enabled": [None]}, {"enabled": None})


def test_filter_records_drops_remove_events() -> None:
    records = [stream_record(1, "INSERT"), stream_record(2, "REMOVE"), stream_record(3, "MODIFY")]
    flags_mapping = mapping(filter_patterns=({"eventName": ["INSERT", "MODIFY"]},))

    kept = filter_records(flags_mapping, records)

    assert [record["eventID"] for record in kept] == ["event-1", "event-3"]


def test_filter_records_keeps_all_without_filters() -> None:
    records = [stream_record(1, "REMOVE")]

    assert filter_records(mapping(), records) == records


def test_decide_success_checkpoints_batch() -> None:
    outcome = decide(mapping(), batch_of(1, 2, 3), InvocationResult(response={"batchItemFailures": []}))

    assert outcome.checkpointed == 3
    assert outcome.retry == ()
    assert outcome.discarded is None


def test_decide_partial_failure_retries_from_lowest_failed() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "4"}, {"itemIdentifier": "3"}]}

    outcome = decide(mapping(), batch_of(1, 2, 3, 4, 5), InvocationResult(response=response))

    assert outcome.checkpointed == 2
    assert [sequences(batch) for batch in outcome.retry] == [[3, 4, 5]]
    assert outcome.retry[0].retries == 1
    assert outcome.discarded is None


def test_decide_partial_failure_with_unknown_identifier_fails_batch() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "99"}]}

    outcome = decide(mapping(), batch_of(1, 2), InvocationResult(response=response))

    assert outcome.checkpointed == 0
    assert [sequences(batch) for batch in outcome.retry] == [[1, 2]]


def test_decide_partial_failure_ignored_without_response_type() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "1"}]}

    outcome = decide(mapping(report_batch_item_failures=False), batch_of(1, 2), InvocationResult(response=response))

    assert outcome.checkpointed == 2
    assert outcome.retry == ()


def test_first_failed_index_empty_identifier_is_whole_batch() -> None:
    assert first_failed_index(batch_of(1, 2), {"batchItemFailures": [{"itemIdentifier": ""}]}) == 0
    assert first_failed_index(batch_of(1, 2), {"batchItemFailures": []}) is None
    assert first_failed_index(batch_of(1, 2), None) is None


def test_decide_function_error_bisects_batch() -> None:
    outcome = decide(
        mapping(bisect_on_function_error=True), batch_of(1, 2, 3, 4, 5), InvocationResult(function_error="Unhandled")
    )

    assert outcome.checkpointed == 0
    assert [sequences(batch) for batch in outcome.retry] == [[1, 2], [3, 4, 5]]
    assert [batch.retries for batch in outcome.retry] == [0, 0]
    assert outcome.discarded is None


def test_decide_function_error_single_record_retries() -> None:
    outcome = decide(mapping(bisect_on_function_error=True), batch_of(7), InvocationResult(function_error="Unhandled"))

    assert [sequences(batch) for batch in outcome.retry] == [[7]]
    assert outcome.retry[0].retries == 1


def test_decide_function_error_without_bisect_retries_whole_batch() -> None:
    outcome = decide(mapping(), batch_of(1, 2, 3), InvocationResult(function_error="Unhandled"))

    assert [sequences(batch) for batch in outcome.retry] == [[1, 2, 3]]
    assert outcome.retry[0].retries == 1


def test_decide_retry_exhaustion_discards_batch() -> None:
    exhausted = batch_of(5, 6, retries=2)

    outcome = decide(mapping(maximum_retry_attempts=2), exhausted, InvocationResult(function_error="Unhandled"))

    assert outcome.retry == ()
    assert outcome.discarded == exhausted
    assert outcome.checkpointed == 0


def test_decide_partial_failure_exhaustion_discards_remaining() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "6"}]}

    outcome = decide(mapping(maximum_retry_attempts=0), batch_of(5, 6, 7), InvocationResult(response=response))

    assert outcome.checkpointed == 1
    assert outcome.retry == ()
    assert outcome.discarded is not None
    assert sequences(outcome.discarded) == [6, 7]


def test_decide_unlimited_retries_never_discard() -> None:
    outcome = decide(
        mapping(maximum_retry_attempts=-1), batch_of(1, retries=10_000), InvocationResult(function_error="Unhandled")
    )

    assert outcome.discarded is None
    assert outcome.retry[0].retries == 10_001


def test_decide_retries_until_exhausted_then_discards() -> None:
    flags_mapping = mapping(maximum_retry_attempts=3, bisect_on_function_error=True)
    pending = [batch_of(1, 2, 3)]
    invoked: list[list[int]] = []
    discarded: list[Batch] = []

    while pending:
        batch = pending.pop(0)
        invoked.append(sequences(batch))
        failed = 2 in sequences(batch)
        result = InvocationResult(function_error="Unhandled") if failed else InvocationResult(response=None)
        outcome = decide(flags_mapping, batch, result)
        pending[0:0] = list(outcome.retry)
        if outcome.discarded is not None:
            discarded.append(outcome.discarded)

    assert invoked == [[1, 2, 3], [1], [2, 3], [2], [2], [2], [2], [3]]
    assert [sequences(batch) for batch in discarded] == [[2]]
    assert discarded[0].invocations == 4


def test_on_failure_message_lambda_format() -> None:
    discarded = batch_of(11, 12, 13, retries=5)
    now = datetime(2026, 1, 1, 12, 30, 5, 123000, tzinfo=UTC)

    message = on_failure_message(
        discarded,
        InvocationResult(function_error="Unhandled"),
        shard_id="shardId-1",
        stream_arn=STREAM_ARN,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:local-StreamFunction",
        request_id="request-1",
        now=now,
    )

    assert message == {
        "version": "1.0",
        "timestamp": "2026-01-01T12:30:05.123Z",
        "requestContext": {
            "requestId": "request-1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:local-StreamFunction",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "DDBStreamBatchInfo": {
            "shardId": "shardId-1",
            "startSequenceNumber": "11",
            "endSequenceNumber": "13",
            "approximateArrivalOfFirstRecord": "2026-01-01T00:00:11Z",
            "approximateArrivalOfLastRecord": "2026-01-01T00:00:13Z",
            "batchSize": 3,
            "streamArn": STREAM_ARN,
        },
    }


def test_on_failure_message_partial_failure() -> None:
    message = on_failure_message(
        batch_of(1),
        InvocationResult(response={"batchItemFailures": [{"itemIdentifier": "1"}]}),
        shard_id="shardId-1",
        stream_arn=STREAM_ARN,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:local-StreamFunction",
        request_id="request-2",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )

    assert message["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert message["requestContext"]["approximateInvokeCount"] == 1
