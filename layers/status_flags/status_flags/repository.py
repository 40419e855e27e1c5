"""DynamoDB repository of status flags: the forward-only write and the reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from status_flags.keys import entity_key, flag_key
from status_flags.models import FlagName, FlagValue, StatusFlag, format_time, parse_time, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

Item = dict[str, dict[str, Any]]

# The flag's fields as one UpdateItem writes them. ``id`` and ``version`` keep their stored
# values through if_not_exists, so the id never changes and the version rises by one.
_ADVANCE_UPDATE = (
    "SET #account_id = :account_id, #entity_id = :entity_id, #flag_name = :flag_name, "
    "#flag_value = :flag_value, #update_time = :update_time, "
    "#id = if_not_exists(#id, :new_id), "
    "#version = if_not_exists(#version, :zero) + :one"
)

# The forward-only rule, checked by DynamoDB in the same request that writes:
_ADVANCE_CONDITION = " OR ".join(
    (
        # the flag has never been written, or
        "attribute_not_exists(#pk)",
        # the stored value is lower than the requested one. An equal value fails too,
        # so a retry or duplicate changes nothing and raises no stream record.
        "#flag_value < :flag_value",
    )
)

_ADVANCE_NAMES = {
    "#pk": "pk",
    "#account_id": "account_id",
    "#entity_id": "entity_id",
    "#flag_name": "flag_name",
    "#flag_value": "flag_value",
    "#update_time": "update_time",
    "#id": "id",
    "#version": "version",
}


class AdvanceOutcome(StrEnum):
    """Outcome of one forward-only write."""

    CREATED = "created"
    ADVANCED = "advanced"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass(frozen=True)
class AdvanceResult:
    """Outcome of one write, the flag as stored after it, and the value stored before it."""

    outcome: AdvanceOutcome
    flag: StatusFlag
    previous_value: FlagValue | None

    @property
    def accepted(self) -> bool:
        """True when the write changed the stored flag."""
        return self.outcome in (AdvanceOutcome.CREATED, AdvanceOutcome.ADVANCED)


def flag_from_item(item: Item) -> StatusFlag:
    """Build a flag from a DynamoDB item in the low-level attribute-value form."""
    return StatusFlag(
        id=item["id"]["S"],
        account_id=item["account_id"]["S"],
        entity_id=item["entity_id"]["S"],
        update_time=parse_time(item["update_time"]["S"]),
        flag_name=FlagName(item["flag_name"]["S"]),
        flag_value=FlagValue(int(item["flag_value"]["N"])),
        version=int(item["version"]["N"]),
    )


def is_complete_flag_item(item: Item) -> bool:
    """True when the item has every attribute of a flag, as a stream image must to be recorded."""
    return all(name in item for name in _ADVANCE_NAMES.values())


class FlagRepository:
    """Reads and forward-only writes of the flags table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def advance(
        self,
        account_id: str,
        entity_id: str,
        flag_name: FlagName,
        flag_value: FlagValue,
        now: datetime | None = None,
    ) -> AdvanceResult:
        """Set a flag to ``flag_value`` if that moves it forward.

        Sends exactly one conditional UpdateItem. A rejected write learns the stored flag from
        ``ReturnValuesOnConditionCheckFailure``, so no outcome needs a second read, and no
        interleaving of writers can lower a stored value.
        """
        update_time = format_time(now or utc_now())
        new_id = str(uuid.uuid4())

        request = self._advance_request(account_id, entity_id, flag_name, flag_value, update_time, new_id)
        try:
            response = self._client.update_item(**request)
        except self._client.exceptions.ConditionalCheckFailedException as error:
            return self._rejected_result(error.response, flag_value)

        old_item = response.get("Attributes")
        if not old_item:
            created = StatusFlag(
                id=new_id,
                account_id=account_id,
                entity_id=entity_id,
                update_time=parse_time(update_time),
                flag_name=flag_name,
                flag_value=flag_value,
                version=1,
            )
            return AdvanceResult(AdvanceOutcome.CREATED, created, None)

        previous = flag_from_item(old_item)
        advanced = previous.model_copy(
            update={
                "flag_value": flag_value,
                "update_time": parse_time(update_time),
                "version": previous.version + 1,
            }
        )
        return AdvanceResult(AdvanceOutcome.ADVANCED, advanced, previous.flag_value)

    def get(self, account_id: str, entity_id: str, flag_name: FlagName) -> StatusFlag | None:
        """Return one flag, or None if it has never been set. One strongly consistent GetItem."""
        response = self._client.get_item(
            TableName=self._table_name,
            Key=flag_key(account_id, entity_id, flag_name),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return flag_from_item(item) if item else None

    def list_for_entity(self, account_id: str, entity_id: str) -> list[StatusFlag]:
        """Return an entity's flags in the order of the FlagName enum.

        One Query: an entity has at most one item per flag name, far below the 1 MB page size.
        """
        response = self._client.query(
            TableName=self._table_name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": "pk"},
            ExpressionAttributeValues={":pk": {"S": entity_key(account_id, entity_id)}},
            ConsistentRead=True,
        )
        flags = [flag_from_item(item) for item in response["Items"]]
        order = {name: position for position, name in enumerate(FlagName)}
        return sorted(flags, key=lambda flag: order[flag.flag_name])

    def _advance_request(
        self,
        account_id: str,
        entity_id: str,
        flag_name: FlagName,
        flag_value: FlagValue,
        update_time: str,
        new_id: str,
    ) -> dict[str, Any]:
        return {
            "TableName": self._table_name,
            "Key": flag_key(account_id, entity_id, flag_name),
            "UpdateExpression": _ADVANCE_UPDATE,
            "ConditionExpression": _ADVANCE_CONDITION,
            "ExpressionAttributeNames": _ADVANCE_NAMES,
            "ExpressionAttributeValues": {
                ":account_id": {"S": account_id},
                ":entity_id": {"S": entity_id},
                ":flag_name": {"S": flag_name.value},
                ":flag_value": {"N": str(flag_value.value)},
                ":update_time": {"S": update_time},
                ":new_id": {"S": new_id},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
            },
            "ReturnValues": "ALL_OLD",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    @staticmethod
    def _rejected_result(error_response: dict[str, Any], flag_value: FlagValue) -> AdvanceResult:
        stored_item = error_response.get("Item")
        if not stored_item:
            # The condition only fails when the item exists, so DynamoDB always returns it.
            raise RuntimeError("conditional write failed but DynamoDB returned no stored item")

        stored = flag_from_item(stored_item)
        if stored.flag_value == flag_value:
            return AdvanceResult(AdvanceOutcome.UNCHANGED, stored, stored.flag_value)
        return AdvanceResult(AdvanceOutcome.STALE, stored, stored.flag_value)
