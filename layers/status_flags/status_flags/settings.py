"""Settings read from the function environment, and the AWS clients built from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

DEFAULT_HISTORY_RETENTION_DAYS = 90


@dataclass(frozen=True)
class Settings:
    """Names of the resources a function uses, as template.yaml passes them in."""

    flags_table_name: str
    history_table_name: str
    history_retention: timedelta

    @classmethod
    def from_environment(cls) -> Settings:
        """Read the settings; raises KeyError naming the first missing variable."""
        return cls(
            flags_table_name=os.environ["FLAGS_TABLE_NAME"],
            history_table_name=os.environ["HISTORY_TABLE_NAME"],
            history_retention=timedelta(
                days=int(os.environ.get("HISTORY_RETENTION_DAYS", DEFAULT_HISTORY_RETENTION_DAYS))
            ),
        )


@cache
def dynamodb_client() -> DynamoDBClient:
    """DynamoDB client shared by all invocations of one execution environment.

    Standard retry mode retries throttling and transient errors. Short timeouts leave room
    inside the function timeout for those retries.
    """
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=5,
    )
    return boto3.client("dynamodb", config=config)
