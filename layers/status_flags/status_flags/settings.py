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
    from mypy_boto3_events import EventBridgeClient
else:
    DynamoDBClient = Any
    EventBridgeClient = Any

DEFAULT_HISTORY_RETENTION_DAYS = 90


@dataclass(frozen=True)
class Settings:
    """Names of the resources a function uses, as template.yaml passes them in."""

    flags_table_name: str
    history_table_name: str
    history_retention: timedelta
    # Only the stream function publishes change events, so only its environment names the bus.
    event_bus_name: str | None = None

    @classmethod
    def from_environment(cls) -> Settings:
        """Read the settings; raises KeyError naming the first missing variable."""
        return cls(
            flags_table_name=os.environ["FLAGS_TABLE_NAME"],
            history_table_name=os.environ["HISTORY_TABLE_NAME"],
            history_retention=timedelta(
                days=int(os.environ.get("HISTORY_RETENTION_DAYS", DEFAULT_HISTORY_RETENTION_DAYS))
            ),
            event_bus_name=os.environ.get("EVENT_BUS_NAME"),
        )

    def require_event_bus_name(self) -> str:
        """Return the name of the change event bus; raises KeyError when EVENT_BUS_NAME is not set."""
        if not self.event_bus_name:
            raise KeyError("EVENT_BUS_NAME")
        return self.event_bus_name


def _client_config() -> Config:
    """Build the client configuration: standard retry mode retries throttling and transient errors,
    and short timeouts leave room inside the function timeout for those retries.
    """
    return Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=5,
    )


@cache
def dynamodb_client() -> DynamoDBClient:
    """DynamoDB client shared by all invocations of one execution environment."""
    return boto3.client("dynamodb", config=_client_config())


@cache
def events_client() -> EventBridgeClient:
    """EventBridge client shared by all invocations of one execution environment.

    Its retries cover a failed PutEvents request, not a rejected entry inside an accepted request.
    """
    return boto3.client("events", config=_client_config())
