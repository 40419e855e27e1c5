"""Fleet queries: the flags of one account with one name and value, ordered by update time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from status_flags.errors import InvalidInputError
from status_flags.keys import fleet_key
from status_flags.models import FlagName, FlagValue, StatusFlag, format_time, parse_flag_value
from status_flags.repository import flag_from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

Item = dict[str, dict[str, Any]]

# Index of the flags table keyed by fleet_pk (account, flag name, value) and update_time.
FLEET_INDEX_NAME = "FleetIndex"
DEFAULT_FLEET_LIMIT = 50
MAX_FLEET_LIMIT = 100

# Attributes of an index item's key: the table's key and the index's key.
_INDEX_KEY_ATTRIBUTES = ("pk", "sk", "fleet_pk", "update_time")

# Stored times have microsecond precision, so moving an exclusive bound by one microsecond
# turns it into an inclusive bound for BETWEEN.
_TIME_RESOLUTION = timedelta(microseconds=1)

TIME_FORMAT_HINT = "an ISO 8601 time with a UTC offset, e.g. 2026-01-31T12:00:00Z or 2026-01-31T14:00:00+02:00"


def parse_query_time(raw: str, field: str) -> datetime:
    """Parse a time bound of a query; a time without a UTC offset is ambiguous and is rejected."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        message = f"{field} {raw!r} is not a valid time; give {TIME_FORMAT_HINT}."
        if " " in raw:
            # A literal + in a query string decodes to a space, so a +02:00 offset arrives as " 02:00".
            message += " In a URL, write the + of an offset as %2B."
        raise InvalidInputError(field, message) from None

    if moment.tzinfo is None:
        raise InvalidInputError(field, f"{field} {raw!r} has no UTC offset; give {TIME_FORMAT_HINT}.")
    return moment


def parse_query_flag_value(raw: str, field: str = "flag_value") -> FlagValue:
    """Parse a flag value from a query string, where the integer arrives as digits."""
    return parse_flag_value(int(raw) if raw.isascii() and raw.isdigit() else raw, field)


@dataclass(frozen=True)
class FleetQuery:
    """Parameters of a fleet query. Both time bounds are exclusive and optional."""

    account_id: str
    flag_name: FlagName
    flag_value: FlagValue
    updated_after: datetime | None = None
    updated_before: datetime | None = None

    def __post_init__(self) -> None:
        if self.updated_after and self.updated_before and self.updated_after >= self.updated_before:
            raise InvalidInputError(
                "updated_after",
                "updated_after must be earlier than updated_before; swap the two times or drop one of them.",
            )

    def scope(self) -> dict[str, Any]:
        """Return the query's parameters in canonical form, which a page cursor is bound to.

        The page size is left out, so a client may change ``limit`` between pages.
        """
        return {
            "account_id": self.account_id,
            "flag_name": self.flag_name.value,
            "flag_value": self.flag_value.value,
            "updated_after": format_time(self.updated_after) if self.updated_after else None,
            "updated_before": format_time(self.updated_before) if self.updated_before else None,
        }


@dataclass(frozen=True)
class FleetPage:
    """One page of a fleet query, and the key to continue after it (None on the last page)."""

    flags: list[StatusFlag]
    last_key: Item | None


class FleetRepository:
    """Fleet queries of the flags table's FleetIndex."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def query(self, query: FleetQuery, limit: int, start_key: Item | None = None) -> FleetPage:
        """Return up to ``limit`` flags that match ``query``, oldest update first.

        Sends exactly one Query to FleetIndex (never a Scan). It requests ``limit + 1`` items, so a
        page that ends the results carries no key and the client makes no extra request for an
        empty page. The index is eventually consistent: a write may take a moment to appear.
        """
        names = {"#fleet_pk": "fleet_pk"}
        values: dict[str, Any] = {":fleet_pk": {"S": fleet_key(query.account_id, query.flag_name, query.flag_value)}}
        condition = "#fleet_pk = :fleet_pk"

        lowest = format_time(query.updated_after + _TIME_RESOLUTION) if query.updated_after else None
        highest = format_time(query.updated_before - _TIME_RESOLUTION) if query.updated_before else None
        if lowest and highest and lowest > highest:
            return FleetPage([], None)
        if lowest or highest:
            names["#update_time"] = "update_time"
        if lowest and highest:
            condition += " AND #update_time BETWEEN :lowest AND :highest"
            values.update({":lowest": {"S": lowest}, ":highest": {"S": highest}})
        elif lowest:
            condition += " AND #update_time >= :lowest"
            values[":lowest"] = {"S": lowest}
        elif highest:
            condition += " AND #update_time <= :highest"
            values[":highest"] = {"S": highest}

        request: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": FLEET_INDEX_NAME,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": True,
            "Limit": limit + 1,
        }
        if start_key:
            request["ExclusiveStartKey"] = start_key
        response = self._client.query(**request)

        items = response["Items"]
        if len(items) > limit:
            last = items[limit - 1]
            return FleetPage(
                [flag_from_item(item) for item in items[:limit]],
                {name: last[name] for name in _INDEX_KEY_ATTRIBUTES},
            )
        # A page cut short by the 1 MB response limit still returns DynamoDB's own key.
        return FleetPage([flag_from_item(item) for item in items], response.get("LastEvaluatedKey"))
