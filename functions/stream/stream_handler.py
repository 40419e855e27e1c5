"""Flags table stream consumer: records each accepted change as one history item and publishes it as an event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from status_flags.events import ChangeEventPublisher
from status_flags.history import HistoryRepository, Transition
from status_flags.repository import flag_from_item, is_complete_flag_item
from status_flags.settings import Settings, dynamodb_client, events_client

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

settings = Settings.from_environment()
history = HistoryRepository(dynamodb_client(), settings.history_table_name, settings.history_retention)
publisher = ChangeEventPublisher(events_client(), settings.require_event_bus_name())


def record_handler(record: DynamoDBRecord) -> None:
    """Record the transition a stream record describes as history, then publish it as a change event.

    Safe to replay: the history key is fixed by the transition, so a replay writes no second item.
    The event is published again on every replay, also when history was already recorded, because
    an earlier attempt may have written history and then failed to publish. Events are therefore
    delivered at least once.
    """
    images = record.raw_event.get("dynamodb", {})
    new_image = images.get("NewImage")
    old_image = images.get("OldImage")

    # DynamoDB sends complete images, but a local emulator may send a keys-only image when
    # UpdateItem creates an item. Such a record carries no flag to record.
    if record.event_name is None or not new_image or not is_complete_flag_item(new_image):
        logger.warning(
            "stream record skipped: new image is not a complete flag",
            event_id=record.event_id,
            event_name=record.raw_event.get("eventName"),
            keys=images.get("Keys"),
        )
        metrics.add_metric(name="StreamRecordsSkipped", unit=MetricUnit.Count, value=1)
        return

    new = flag_from_item(new_image)
    old = flag_from_item(old_image) if old_image and is_complete_flag_item(old_image) else None
    if old is not None and old.version == new.version:
        logger.info("stream record skipped: flag version did not change", event_id=record.event_id)
        return

    transition = Transition.from_flags(new, old)
    written = history.record(transition)
    if written:
        metrics.add_metric(name="HistoryItemsWritten", unit=MetricUnit.Count, value=1)
    logger.info(
        "history item written" if written else "history item already recorded",
        event_id=record.event_id,
        account_id=transition.account_id,
        entity_id=transition.entity_id,
        flag_name=transition.flag_name.value,
        flag_id=transition.id,
        version=transition.version,
        flag_value=transition.flag_value.value,
    )

    change_event_id = publisher.publish(transition)
    metrics.add_metric(name="ChangeEventsPublished", unit=MetricUnit.Count, value=1)
    logger.info(
        "change event published",
        event_id=record.event_id,
        change_event_id=change_event_id,
        flag_id=transition.id,
        version=transition.version,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
