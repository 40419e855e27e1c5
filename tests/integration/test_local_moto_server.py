"""The local stack's moto server: transactions roll back cleanly and copy each table once."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local_stack.moto_server import MotoServer
from local_stack.template import create_tables

REGION = "us-east-1"


@pytest.fixture
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer("127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server_tables(moto_server: MotoServer, template: dict[str, Any]) -> tuple[Any, str]:
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_server.endpoint_url)
    # moto keeps its backends in module state, shared by every server in this process.
    names = create_tables(client, template, f"server-{uuid.uuid4().hex[:8]}-")
    return client, names["FlagsTable"]


def update(table_name: str, key: str, value: int, condition: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "TableName": table_name,
        "Key": {"pk": {"S": key}, "sk": {"S": "Model_Function_Run"}},
        "UpdateExpression": "SET flag_value = :value",
        "ExpressionAttributeValues": {":value": {"N": str(value)}},
    }
    if condition:
        operation["ConditionExpression"] = condition
    return {"Update": operation}


def stream_records(client: Any, moto_server: MotoServer, table_name: str) -> list[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=moto_server.endpoint_url)
    stream_arn = client.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    return streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


def test_moto_server_cancelled_transaction_rolls_back(moto_server: MotoServer, server_tables: tuple[Any, str]) -> None:
    client, table_name = server_tables
    client.transact_write_items(TransactItems=[update(table_name, "stored", 3)])
    records_before = stream_records(client, moto_server, table_name)

    items = [update(table_name, f"new-{index}", 1) for index in range(3)]
    items.append(update(table_name, "stored", 1, condition="flag_value < :value"))
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=items)

    stored = client.scan(TableName=table_name)["Items"]
    assert [item["pk"]["S"] for item in stored] == ["stored"]
    assert stored[0]["flag_value"] == {"N": "3"}
    assert len(stream_records(client, moto_server, table_name)) == len(records_before)

    client.transact_write_items(TransactItems=[update(table_name, "after", 2)])
    assert len(stream_records(client, moto_server, table_name)) > len(records_before)


def test_moto_server_transaction_copies_table_once(
    moto_server: MotoServer, server_tables: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, table_name = server_tables
    table_copies = 0
    real_deepcopy = copy.deepcopy

    def counting_deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        nonlocal table_copies
        if type(value).__name__ == "Table":
            table_copies += 1
        return real_deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting_deepcopy)

    client.transact_write_items(TransactItems=[update(table_name, f"entity-{index}", 1) for index in range(20)])

    assert table_copies == 1
    assert len(client.scan(TableName=table_name)["Items"]) == 20
