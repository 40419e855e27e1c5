"""The rules of a Lambda event source mapping for a DynamoDB stream, apart from any I/O.

Reads the mapping from a function's DynamoDB event in template.yaml, filters records with the
mapping's FilterCriteria, and decides what happens to a batch after an invocation: checkpoint,
retry from the first failed record, bisect, or discard to the on-failure destination.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Properties of a DynamoDB event that this module implements. Any other property raises at start.
_SUPPORTED_PROPERTIES = {
    "Stream",
    "StartingPosition",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "MaximumRetryAttempts",
    "BisectBatchOnFunctionError",
    "FunctionResponseTypes",
    "FilterCriteria",
    "DestinationConfig",
    "Enabled",
}


class UnsupportedMappingError(ValueError):
    """The template configures an event source mapping feature the local stack does not implement."""


@dataclass(frozen=True)
class StreamMapping:
    """A DynamoDB stream event source mapping as the template configures it."""

    event_id: str
    table_id: str
    starting_position: str
    batch_size: int = 100
    batching_window_seconds: float = 0.0
    maximum_retry_attempts: int = -1
    bisect_on_function_error: bool = False
    report_batch_item_failures: bool = False
    filter_patterns: tuple[dict[str, Any], ...] = ()
    on_failure_queue_id: str | None = None


def stream_mappings(template: dict[str, Any], function_id: str) -> list[StreamMapping]:
    """Read the DynamoDB events of a function; raises UnsupportedMappingError for features not implemented."""
    events = template["Resources"][function_id].get("Properties", {}).get("Events", {})
    mappings = []
    for event_id, event in events.items():
        if event["Type"] != "DynamoDB":
            continue
        properties = event["Properties"]
        unsupported = sorted(set(properties) - _SUPPORTED_PROPERTIES)
        if unsupported:
            raise UnsupportedMappingError(
                f"event {event_id}: {', '.join(unsupported)} not supported by the local stack"
            )
        if properties.get("Enabled") is False:
            continue

        response_types = properties.get("FunctionResponseTypes", [])
        mappings.append(
            StreamMapping(
                event_id=event_id,
                table_id=_get_att_target(properties["Stream"], "StreamArn", event_id),
                starting_position=_starting_position(properties["StartingPosition"], event_id),
                batch_size=int(properties.get("BatchSize", 100)),
                batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
                maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
                bisect_on_function_error=bool(properties.get("BisectBatchOnFunctionError", False)),
                report_batch_item_failures="ReportBatchItemFailures" in response_types,
                filter_patterns=_filter_patterns(properties.get("FilterCriteria"), event_id),
                on_failure_queue_id=_on_failure_queue(properties.get("DestinationConfig"), event_id),
            )
        )
    return mappings


def _get_att_target(value: Any, attribute: str, event_id: str) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == attribute:
        return value["Fn::GetAtt"][0]
    raise UnsupportedMappingError(f"event {event_id}: expected !GetAtt <resource>.{attribute}, got {value!r}")


def _starting_position(value: str, event_id: str) -> str:
    if value not in ("TRIM_HORIZON", "LATEST"):
        raise UnsupportedMappingError(f"event {event_id}: StartingPosition {value!r}; use TRIM_HORIZON or LATEST")
    return value


def _on_failure_queue(destination_config: dict[str, Any] | None, event_id: str) -> str | None:
    if not destination_config:
        return None
    on_failure = destination_config.get("OnFailure", {})
    if on_failure.get("Type", "SQS") != "SQS":
        raise UnsupportedMappingError(f"event {event_id}: only an SQS OnFailure destination is supported")
    return _get_att_target(on_failure["Destination"], "Arn", event_id)


def _filter_patterns(filter_criteria: dict[str, Any] | None, event_id: str) -> tuple[dict[str, Any], ...]:
    if not filter_criteria:
        return ()
    patterns = []
    for filter_entry in filter_criteria.get("Filters", []):
        pattern = json.loads(filter_entry["Pattern"])
        validate_pattern(pattern, f"event {event_id} filter")
        patterns.append(pattern)
    return tuple(patterns)


def validate_pattern(pattern: Any, where: str) -> None:
    """Check that a pattern uses only nested keys and lists of exact values; raise UnsupportedMappingError if not.

    NOTE: content filters such as prefix, numeric, anything-but and exists are not implemented.
    """
    if not isinstance(pattern, dict):
        raise UnsupportedMappingError(f"{where}: a pattern must be a JSON object, got {pattern!r}")
    for key, value in pattern.items():
        if isinstance(value, dict):
            validate_pattern(value, f"{where}.{key}")
        elif isinstance(value, list):
            for candidate in value:
                if isinstance(candidate, dict | list):
                    raise UnsupportedMappingError(
                        f"{where}.{key}: filter operator {json.dumps(candidate)} is not supported by the local "
                        "stack; use a list of exact values"
                    )
        else:
            raise UnsupportedMappingError(f"{where}.{key}: a pattern leaf must be a list of values, got {value!r}")


def matches_pattern(pattern: dict[str, Any], event: Any) -> bool:
    """Match an event against an event pattern of nested keys and lists of exact values.

    Every key of the pattern must be present in the event. A list matches when the event's value
    equals one of its values. When the event's value is an array, any one of its elements may match.
    """
    if not isinstance(event, dict):
        return False
    for key, expected in pattern.items():
        if key not in event:
            return False
        actual = event[key]
        if isinstance(expected, dict):
            if not matches_pattern(expected, actual):
                return False
            continue

        actual_values = actual if isinstance(actual, list) else [actual]
        if not any(_equal(value, candidate) for value in actual_values for candidate in expected):
            return False
    return True


def _equal(value: Any, candidate: Any) -> bool:
    # JSON true and 1 are different values, though Python compares them equal.
    if isinstance(value, bool) or isinstance(candidate, bool):
        return isinstance(value, bool) and isinstance(candidate, bool) and value == candidate
    return value == candidate


def filter_records(mapping: StreamMapping, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the records that match any of the mapping's filters; every record when there are none."""
    if not mapping.filter_patterns:
        return list(records)
    return [record for record in records if any(matches_pattern(p, record) for p in mapping.filter_patterns)]


@dataclass(frozen=True)
class Batch:
    """Records sent to the function together, and how many retries of them were already made."""

    records: tuple[dict[str, Any], ...]
    retries: int = 0

    @property
    def invocations(self) -> int:
        return self.retries + 1


@dataclass(frozen=True)
class InvocationResult:
    """Result of one invocation: the function's ``response``, or the ``function_error`` type it raised."""

    response: Any = None
    function_error: str | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """Next step after an invocation: records checkpointed, batches to invoke next, and a discarded batch."""

    checkpointed: int
    retry: tuple[Batch, ...] = ()
    discarded: Batch | None = None
    failed_records: int = 0
    reason: str = ""


def sequence_number(record: dict[str, Any]) -> str:
    return record["dynamodb"]["SequenceNumber"]


def first_failed_index(batch: Batch, response: Any) -> int | None:
    """Index of the record to retry from after a partial batch response; None when the batch succeeded.

    The function reports failures as ``{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}``.
    An empty list is a success. An identifier that is empty or not in the batch makes the whole
    batch a failure, as Lambda treats it.
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return None

    positions = {sequence_number(record): index for index, record in enumerate(batch.records)}
    failed = []
    for failure in response["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in positions:
            return 0
        failed.append(positions[identifier])
    return min(failed)


def decide(mapping: StreamMapping, batch: Batch, result: InvocationResult) -> BatchOutcome:
    """Apply the mapping's error handling to one invocation's result.

    - success: the whole batch is checkpointed;
    - partial failure (ReportBatchItemFailures): records before the lowest failed sequence number
      are checkpointed, and the rest is retried from there;
    - function error: with BisectBatchOnFunctionError a batch of two or more records is split in
      two halves, invoked in order. A split does not count as a retry. Otherwise the batch is retried;
    - once a batch has had MaximumRetryAttempts retries (-1 is unlimited), its next failure
      discards it to the on-failure destination and the mapping moves past it.
    """
    size = len(batch.records)
    if result.function_error is None:
        failed_index = first_failed_index(batch, result.response) if mapping.report_batch_item_failures else None
        if failed_index is None:
            return BatchOutcome(checkpointed=size)
        remaining = Batch(batch.records[failed_index:], batch.retries)
        return _retry_or_discard(mapping, remaining, checkpointed=failed_index, reason="partial batch failure")

    if mapping.bisect_on_function_error and size > 1:
        middle = size // 2
        halves = (Batch(batch.records[:middle], batch.retries), Batch(batch.records[middle:], batch.retries))
        return BatchOutcome(checkpointed=0, retry=halves, failed_records=size, reason="bisect on function error")

    return _retry_or_discard(mapping, batch, checkpointed=0, reason="function error")


def _retry_or_discard(mapping: StreamMapping, failed: Batch, checkpointed: int, reason: str) -> BatchOutcome:
    exhausted = mapping.maximum_retry_attempts != -1 and failed.retries >= mapping.maximum_retry_attempts
    if exhausted:
        return BatchOutcome(checkpointed, discarded=failed, failed_records=len(failed.records), reason=reason)
    retry = Batch(failed.records, failed.retries + 1)
    return BatchOutcome(checkpointed, retry=(retry,), failed_records=len(failed.records), reason=reason)


def _arrival_time(record: dict[str, Any]) -> str:
    created = record["dynamodb"].get("ApproximateCreationDateTime", 0)
    return datetime.fromtimestamp(float(created), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def on_failure_message(
    batch: Batch,
    result: InvocationResult,
    *,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    request_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Build the record Lambda sends to an on-failure destination for a discarded stream batch.

    The record names the batch by shard and sequence number range, not its records, so a consumer
    reads them back from the stream while the stream retains them.
    """
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if result.function_error is not None:
        response_context["functionError"] = result.function_error

    first, last = batch.records[0], batch.records[-1]
    return {
        "version": "1.0",
        "timestamp": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": batch.invocations,
        },
        "responseContext": response_context,
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": sequence_number(first),
            "endSequenceNumber": sequence_number(last),
            "approximateArrivalOfFirstRecord": _arrival_time(first),
            "approximateArrivalOfLastRecord": _arrival_time(last),
            "batchSize": len(batch.records),
            "streamArn": stream_arn,
        },
    }
