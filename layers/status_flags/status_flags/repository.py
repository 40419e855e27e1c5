"""DynamoDB repository of status flags: the forward-only write and the reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from status_flags.errors import StaleBatchError, StaleUpdate, TransactionConflictError
from status_flags.keys import entity_key, flag_key, fleet_key
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
    "#version = if_not_exists(#version, :zero) + :one, "
    # The fleet index's partition key follows the value, so the index always lists the flag
    # under the value it has now.
    "#fleet_pk = :fleet_pk"
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
    "#fleet_pk": "fleet_pk",
}

# Attributes that every flag item has; fleet_pk is left out because it only serves the index.
_FLAG_ATTRIBUTES = ("pk", "account_id", "entity_id", "flag_name", "flag_value", "update_time", "id", "version")

# Parts of an UpdateItem request that a TransactWriteItems Update entry takes unchanged.
_TRANSACT_UPDATE_PARTS = (
    "TableName",
    "Key",
    "UpdateExpression",
    "ConditionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnValuesOnConditionCheckFailure",
)

# An all-or-none batch resends its transaction without the updates found unchanged, and
# a racing writer can make another update unchanged in between, so this bounds the rounds.
MAX_TRANSACTION_ROUNDS = 3


class AdvanceOutcome(StrEnum):
    """Outcome of one forward-only write."""

    CREATED = "created"
    ADVANCED = "advanced"
    UNCHANGED = "unchanged"
    STALE = "stale"
    # Written by a transaction: TransactWriteItems returns no attributes on success, so
    # whether the flag was created or advanced, its id and its version are unknown.
    ACCEPTED = "accepted"


@dataclass(frozen=True)
class FlagUpdate:
    """One requested write of a batch."""

    entity_id: str
    flag_name: FlagName
    flag_value: FlagValue


@dataclass(frozen=True)
class TransactionItemResult:
    """Outcome of one update of an all-or-none batch: ACCEPTED, or UNCHANGED with the stored flag."""

    update: FlagUpdate
    outcome: AdvanceOutcome
    update_time: datetime
    stored: StatusFlag | None


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
    return all(name in item for name in _FLAG_ATTRIBUTES)


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

    def advance_all_or_none(
        self,
        account_id: str,
        updates: Sequence[FlagUpdate],
        now: datetime | None = None,
    ) -> list[TransactionItemResult]:
        """Apply every update in one TransactWriteItems, or none of them.

        Each Update entry carries the same condition and update expressions as ``advance``. When no
        stored value equals its requested one, this is exactly one DynamoDB request.

        An update whose stored value equals the requested one (a retried batch) fails its condition
        and cancels the transaction. Such updates are already done, so they are reported UNCHANGED
        and the transaction is sent again without them: a retried batch succeeds and writes nothing
        twice. This costs one more request per round that finds unchanged updates.

        Raises StaleBatchError naming every update whose stored value is higher, read from the
        cancellation reasons (no extra read); nothing is written then. Raises TransactionConflictError
        when DynamoDB cancels for another reason (e.g. a concurrent transaction on the same item) or
        after MAX_TRANSACTION_ROUNDS rounds.
        """
        update_time = format_time(now or utc_now())
        results: dict[int, TransactionItemResult] = {}
        pending = list(range(len(updates)))

        for _ in range(MAX_TRANSACTION_ROUNDS):
            if not pending:
                break

            transact_items = []
            for index in pending:
                update = updates[index]
                request = self._advance_request(
                    account_id, update.entity_id, update.flag_name, update.flag_value, update_time, str(uuid.uuid4())
                )
                transact_items.append({"Update": {part: request[part] for part in _TRANSACT_UPDATE_PARTS}})

            try:
                self._client.transact_write_items(TransactItems=transact_items)
            except self._client.exceptions.TransactionCanceledException as error:
                reasons = error.response.get("CancellationReasons", [])
                pending = self._drop_unchanged(updates, pending, reasons, results)
                continue

            for index in pending:
                results[index] = TransactionItemResult(
                    updates[index], AdvanceOutcome.ACCEPTED, parse_time(update_time), None
                )
            pending = []

        if pending:
            raise TransactionConflictError([f"still cancelled after {MAX_TRANSACTION_ROUNDS} rounds"])
        return [results[index] for index in range(len(updates))]

    @staticmethod
    def _drop_unchanged(
        updates: Sequence[FlagUpdate],
        pending: list[int],
        reasons: list[dict[str, Any]],
        results: dict[int, TransactionItemResult],
    ) -> list[int]:
        """Record the unchanged updates of a cancelled transaction; return the updates still to write.

        ``reasons`` has one entry per transaction item, in the order of ``pending``.
        """
        stale: list[StaleUpdate] = []
        unchanged: dict[int, StatusFlag] = {}
        other_codes: list[str] = []

        for index, reason in zip(pending, reasons, strict=True):
            code = reason.get("Code", "None")
            if code == "None":
                continue
            stored_item = reason.get("Item")
            if code != "ConditionalCheckFailed" or not stored_item:
                other_codes.append(code)
                continue

            stored = flag_from_item(stored_item)
            if stored.flag_value == updates[index].flag_value:
                unchanged[index] = stored
            else:
                stale.append(StaleUpdate(index, updates[index], stored))

        if stale:
            raise StaleBatchError(stale, total=len(updates))
        if other_codes or not unchanged:
            raise TransactionConflictError(other_codes or ["no cancellation reason"])

        for index, stored in unchanged.items():
            results[index] = TransactionItemResult(updates[index], AdvanceOutcome.UNCHANGED, stored.update_time, stored)
        return [index for index in pending if index not in unchanged]

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
                ":fleet_pk": {"S": fleet_key(account_id, flag_name, flag_value)},
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
