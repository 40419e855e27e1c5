"""Integration tests of HistoryRepository against moto tables built from template.yaml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from status_flags.history import HistoryRepository, Transition
from status_flags.models import FlagName, FlagValue
from status_flags.settings import DEFAULT_HISTORY_RETENTION_DAYS

ACCOUNT = "acct-1"
ENTITY = "model-7"
T0 = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)


def make_transition(
    flag_name: FlagName = FlagName.MODEL_FUNCTION_RUN,
    flag_value: FlagValue = FlagValue.ENQUEUED,
    previous_value: FlagValue | None = None,
    version: int = 1,
    update_time: datetime = T0,
    entity_id: str = ENTITY,
) -> Transition:
    return Transition(
        id=f"id-{flag_name.value}",
        account_id=ACCOUNT,
        entity_id=entity_id,
        flag_name=flag_name,
        flag_value=flag_value,
        previous_value=previous_value,
        version=version,
        update_time=update_time,
    )


def scan_items(dynamodb: Any, table_name: str) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=table_name)["Items"]


def test_record_writes_item(history_repository: HistoryRepository, dynamodb: Any, table_names: dict[str, str]) -> None:
    transition = make_transition(flag_value=FlagValue.FINISHED, previous_value=FlagValue.ENQUEUED, version=2)

    assert history_repository.record(transition) is True

    expires_at = T0 + timedelta(days=DEFAULT_HISTORY_RETENTION_DAYS)
    assert scan_items(dynamodb, table_names["HistoryTable"]) == [
        {
            "pk": {"S": "acct-1#model-7"},
            "sk": {"S": "2026-01-31T12:00:00.000000+00:00#Model_Function_Run#0000000002"},
            "id": {"S": "id-Model_Function_Run"},
            "account_id": {"S": ACCOUNT},
            "entity_id": {"S": ENTITY},
            "flag_name": {"S": "Model_Function_Run"},
            "flag_value": {"N": "3"},
            "previous_value": {"N": "1"},
            "version": {"N": "2"},
            "update_time": {"S": "2026-01-31T12:00:00.000000+00:00"},
            "expires_at": {"N": str(int(expires_at.timestamp()))},
        }
    ]


def test_record_created_flag_has_null_previous(
    history_repository: HistoryRepository, dynamodb: Any, table_names: dict[str, str]
) -> None:
    history_repository.record(make_transition())

    items = scan_items(dynamodb, table_names["HistoryTable"])

    assert len(items) == 1
    assert items[0]["previous_value"] == {"NULL": True}
    assert history_repository.list_for_entity(ACCOUNT, ENTITY) == [make_transition()]


def test_record_is_idempotent(
    history_repository: HistoryRepository, dynamodb: Any, table_names: dict[str, str]
) -> None:
    transition = make_transition()

    first = history_repository.record(transition)
    second = history_repository.record(transition)

    assert first is True
    assert second is False
    assert len(scan_items(dynamodb, table_names["HistoryTable"])) == 1


def test_record_expires_after_retention(dynamodb: Any, table_names: dict[str, str]) -> None:
    repository = HistoryRepository(dynamodb, table_names["HistoryTable"], timedelta(days=7))

    repository.record(make_transition())

    item = scan_items(dynamodb, table_names["HistoryTable"])[0]
    assert item["expires_at"] == {"N": str(int(datetime(2026, 2, 7, 12, 0, 0, tzinfo=UTC).timestamp()))}
    assert item["expires_at"] == {"N": "1770465600"}


def test_history_table_ttl_enabled(dynamodb: Any, table_names: dict[str, str]) -> None:
    description = dynamodb.describe_time_to_live(TableName=table_names["HistoryTable"])["TimeToLiveDescription"]

    assert description == {"AttributeName": "expires_at", "TimeToLiveStatus": "ENABLED"}


def test_list_for_entity_oldest_first(history_repository: HistoryRepository) -> None:
    transitions = [
        make_transition(FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, None, 1, T0),
        make_transition(FlagName.LOGO_S3_STORAGE, FlagValue.IN_PROGRESS, None, 1, T0 + timedelta(seconds=1)),
        make_transition(
            FlagName.MODEL_FUNCTION_RUN, FlagValue.FINISHED, FlagValue.ENQUEUED, 2, T0 + timedelta(seconds=2)
        ),
        make_transition(FlagName.LOGO_S3_STORAGE, FlagValue.ERROR, FlagValue.IN_PROGRESS, 2, T0 + timedelta(minutes=5)),
    ]
    for transition in reversed(transitions):
        history_repository.record(transition)
    history_repository.record(make_transition(entity_id="model-8"))

    assert history_repository.list_for_entity(ACCOUNT, ENTITY) == transitions


def test_list_for_entity_empty(history_repository: HistoryRepository) -> None:
    assert history_repository.list_for_entity(ACCOUNT, ENTITY) == []


def test_list_for_entity_follows_pages(
    history_repository: HistoryRepository, dynamodb: Any, table_names: dict[str, str]
) -> None:
    transitions = [
        make_transition(FlagName.MODEL_FUNCTION_RUN, FlagValue.ENQUEUED, None, version, T0 + timedelta(seconds=version))
        for version in range(1, 6)
    ]
    for transition in transitions:
        history_repository.record(transition)
    original_query = dynamodb.query
    queries: list[dict[str, Any]] = []

    def query_two_at_a_time(**request: Any) -> dict[str, Any]:
        queries.append(request)
        return original_query(**request, Limit=2)

    dynamodb.query = query_two_at_a_time

    listed = history_repository.list_for_entity(ACCOUNT, ENTITY)

    assert listed == transitions
    assert len(queries) == 3
