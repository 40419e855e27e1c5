"""History of accepted transitions: one item per change of a flag, written by the stream consumer."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from status_flags.keys import KEY_SEPARATOR, entity_key
from status_flags.models import FlagName, FlagValue, FlagValueInt, StatusFlag, UtcTime, format_time, parse_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

Item = dict[str, dict[str, Any]]


class Transition(BaseModel):
    """One accepted change of a flag: its value before and after, and the version it produced."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Id of the flag record that changed.")
    account_id: str
    entity_id: str
    flag_name: FlagName
    flag_value: FlagValueInt = Field(description="Value after the change.")
    previous_value: FlagValueInt | None = Field(description="Value before the change; null when the flag was created.")
    version: int = Field(ge=1, description="Flag version this change produced.")
    update_time: UtcTime = Field(description="Time of the change, as stored on the flag.")

    @classmethod
    def from_flags(cls, new: StatusFlag, old: StatusFlag | None) -> Transition:
        """Build the transition between two images of the same flag."""
        return cls(
            id=new.id,
            account_id=new.account_id,
            entity_id=new.entity_id,
            flag_name=new.flag_name,
            flag_value=new.flag_value,
            previous_value=old.flag_value if old else None,
            version=new.version,
            update_time=new.update_time,
        )

    def sort_key(self) -> str:
        """History sort key: time first, so a Query returns oldest first.

        The flag name and version make it unique, and a replay of the same change builds the same key.
        """
        return KEY_SEPARATOR.join((format_time(self.update_time), self.flag_name.value, f"{self.version:010d}"))


def transition_from_item(item: Item) -> Transition:
    """Build a transition from a history item in the low-level attribute-value form."""
    previous = item.get("previous_value", {})
    return Transition(
        id=item["id"]["S"],
        account_id=item["account_id"]["S"],
        entity_id=item["entity_id"]["S"],
        flag_name=FlagName(item["flag_name"]["S"]),
        flag_value=FlagValue(int(item["flag_value"]["N"])),
        previous_value=FlagValue(int(previous["N"])) if "N" in previous else None,
        version=int(item["version"]["N"]),
        update_time=parse_time(item["update_time"]["S"]),
    )


class HistoryRepository:
    """Writes and reads of the history table."""

    def __init__(self, client: DynamoDBClient, table_name: str, retention: timedelta) -> None:
        self._client = client
        self._table_name = table_name
        self._retention = retention

    def record(self, transition: Transition) -> bool:
        """Write one history item. Returns False when the same transition was already recorded.

        One conditional PutItem, so replaying a stream record leaves the stored item as it is.
        """
        expires_at = int((transition.update_time + self._retention).timestamp())
        previous: dict[str, Any] = (
            {"N": str(transition.previous_value.value)} if transition.previous_value is not None else {"NULL": True}
        )
        item: Item = {
            "pk": {"S": entity_key(transition.account_id, transition.entity_id)},
            "sk": {"S": transition.sort_key()},
            "id": {"S": transition.id},
            "account_id": {"S": transition.account_id},
            "entity_id": {"S": transition.entity_id},
            "flag_name": {"S": transition.flag_name.value},
            "flag_value": {"N": str(transition.flag_value.value)},
            "previous_value": previous,
            "version": {"N": str(transition.version)},
            "update_time": {"S": format_time(transition.update_time)},
            "expires_at": {"N": str(expires_at)},
        }

        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": "pk"},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def list_for_entity(self, account_id: str, entity_id: str) -> list[Transition]:
        """Return an entity's recorded transitions, oldest first, following every Query page."""
        transitions: list[Transition] = []
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": "pk"},
            "ExpressionAttributeValues": {":pk": {"S": entity_key(account_id, entity_id)}},
        }

        while True:
            response = self._client.query(**request)
            transitions.extend(transition_from_item(item) for item in response["Items"])
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return transitions
            request["ExclusiveStartKey"] = last_key
