"""Benchmark of the forward-only write: raw UpdateItem, FlagRepository.advance, and the full API handler.

Runs against moto in this process, so absolute figures measure moto and botocore more than DynamoDB.
The ratios against the raw unconditional UpdateItem, measured in the same run, show what the
condition, the model and the handler add. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable

import boto3
from moto import mock_aws

from local_stack.lambda_runtime import LocalLambdaContext
from local_stack.template import create_tables, load_template


def measure(label: str, operation: Callable[[int], object], count: int, rounds: int) -> float:
    """Run ``operation`` ``count`` times per round and return the median seconds per call."""
    per_call = []
    for round_number in range(rounds):
        started = time.perf_counter()
        for index in range(count):
            operation(round_number * count + index)
        per_call.append((time.perf_counter() - started) / count)
    median = statistics.median(per_call)
    print(f"{label:<34} {median * 1e6:9.1f} us/call  {1 / median:8.0f} calls/s")
    return median


def peak_memory_kib(operation: Callable[[int], object], count: int) -> float:
    tracemalloc.start()
    for index in range(count):
        operation(10_000_000 + index)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="calls per round (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median round is reported (default 5)")
    arguments = parser.parse_args()

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
        POWERTOOLS_SERVICE_NAME="status-flags",
        POWERTOOLS_METRICS_NAMESPACE="StatusFlags",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)

    with mock_aws():
        client = boto3.client("dynamodb")
        names = create_tables(client, load_template(), "bench-")
        os.environ["FLAGS_TABLE_NAME"] = names["FlagsTable"]
        os.environ["HISTORY_TABLE_NAME"] = names["HistoryTable"]

        import api_handler  # reads the table names above at import time
        from status_flags.models import FlagName, FlagValue
        from status_flags.repository import FlagRepository

        repository = FlagRepository(client, names["FlagsTable"])
        context = LocalLambdaContext(function_name="bench")

        def raw_update(index: int) -> object:
            return client.update_item(
                TableName=names["FlagsTable"],
                Key={"pk": {"S": f"raw#{index}"}, "sk": {"S": "Model_Function_Run"}},
                UpdateExpression="SET flag_value = :value",
                ExpressionAttributeValues={":value": {"N": "2"}},
            )

        def advance(index: int) -> object:
            return repository.advance("bench", f"entity-{index}", FlagName.MODEL_FUNCTION_RUN, FlagValue.IN_PROGRESS)

        def handler(index: int) -> object:
            path = f"/accounts/bench/entities/api-{index}/flags/Model_Function_Run"
            event = {
                "version": "2.0",
                "routeKey": "PUT /accounts/{account_id}/entities/{entity_id}/flags/{flag_name}",
                "rawPath": path,
                "rawQueryString": "",
                "headers": {"content-type": "application/json"},
                "requestContext": {
                    "http": {"method": "PUT", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                    "requestId": str(index),
                    "stage": "$default",
                },
                "body": json.dumps({"flag_value": 2}),
                "isBase64Encoded": False,
            }
            return api_handler.lambda_handler(event, context)

        print(f"{arguments.rounds} rounds of {arguments.count} calls, moto in process")
        baseline = measure("raw UpdateItem (baseline)", raw_update, arguments.count, arguments.rounds)
        repository_time = measure("FlagRepository.advance", advance, arguments.count, arguments.rounds)
        handler_time = measure("api_handler PUT (full handler)", handler, arguments.count, arguments.rounds)
        print(f"advance / baseline: {repository_time / baseline:.2f}x")
        print(f"handler / baseline: {handler_time / baseline:.2f}x")
        print(f"peak traced memory, 100 handler calls: {peak_memory_kib(handler, 100):.0f} KiB")


if __name__ == "__main__":
    main()
