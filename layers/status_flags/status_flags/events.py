"""Change events: one EventBridge event per accepted transition, published by the stream consumer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from status_flags.history import Transition
from status_flags.models import group_of

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef
else:
    EventBridgeClient = Any
    PutEventsRequestEntryTypeDef = dict[str, Any]

EVENT_SOURCE = "status-flags"
EVENT_DETAIL_TYPE = "Status Flag Changed"


class ChangeEventRejectedError(Exception):
    """EventBridge accepted the PutEvents request but rejected its entry (FailedEntryCount > 0)."""

    def __init__(self, transition: Transition, error_code: str, error_message: str) -> None:
        super().__init__(
            f"change event of flag {transition.id} version {transition.version} was rejected: "
            f"{error_code}: {error_message}"
        )
        self.error_code = error_code
        self.error_message = error_message


def change_event_detail(transition: Transition) -> dict[str, Any]:
    """Build an event's detail: the transition as the history API returns it, plus the flag's group.

    Keys: id, account_id, entity_id, flag_name, flag_value, previous_value, version, update_time, group.
    The pair (id, version) identifies one change. Events are delivered at least once, so a consumer
    that must act once per change de-duplicates on that pair.
    """
    return {**transition.model_dump(mode="json"), "group": group_of(transition.flag_name).value}


def change_event_entry(transition: Transition, event_bus_name: str) -> PutEventsRequestEntryTypeDef:
    """Build the PutEvents entry that announces one transition on the given bus."""
    return {
        "Source": EVENT_SOURCE,
        "DetailType": EVENT_DETAIL_TYPE,
        "Detail": json.dumps(change_event_detail(transition)),
        "EventBusName": event_bus_name,
    }


class ChangeEventPublisher:
    """Publishes change events to one EventBridge bus."""

    def __init__(self, client: EventBridgeClient, event_bus_name: str) -> None:
        self._client = client
        self._event_bus_name = event_bus_name

    def publish(self, transition: Transition) -> str:
        """Publish one transition with one PutEvents request and return the event id that EventBridge assigned.

        PutEvents reports a rejected entry in its response instead of raising, so this method raises
        ChangeEventRejectedError for it. A failed request raises botocore's ClientError. A retry after
        either error may publish the same change twice, and consumers detect that by the detail's id and version.
        """
        response = self._client.put_events(Entries=[change_event_entry(transition, self._event_bus_name)])

        entry = response["Entries"][0]
        if response.get("FailedEntryCount", 0) > 0 or "ErrorCode" in entry:
            raise ChangeEventRejectedError(
                transition, entry.get("ErrorCode", "Unknown"), entry.get("ErrorMessage", "no error message")
            )
        return entry["EventId"]
