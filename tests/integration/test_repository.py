"""Integration tests of FlagRepository against moto tables built from template.yaml."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from status_flags.models import FlagName, FlagValue, StatusFlag
from status_flags.repository import AdvanceOutcome, FlagRepository

ACCOUNT = "acct-1"
ENTITY = "model-7"
NAME = FlagName.MODEL_FUNCTION_RUN
T0 = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
T2 = T0 + timedelta(seconds=2)


def stored_item(dynamodb: Any, table_name: str, account_key: str, flag_name: FlagName = NAME) -> dict[str, Any]:
    response = dynamodb.get_item(TableName=table_name, Key={"pk": {"S": account_key}, "sk": {"S": flag_name.value}})
    return response["Item"]


@pytest.fixture
def sent_operations(dynamodb: Any) -> Iterator[list[str]]:
    """Collect the operation name of every HTTP request the DynamoDB client sends, retries included."""
    operations: list[str] = []

    def record(request: Any, **_: Any) -> None:
        target = request.headers["X-Amz-Target"]
        operations.append(target.decode() if isinstance(target, bytes) else target)

    # register_first puts the hook ahead of moto's, which returns the response and so ends the chain.
    dynamodb.meta.events.register_first("before-send.dynamodb", record, unique_id="count-requests")
    yield operations
    dynamodb.meta.events.unregister("before-send.dynamodb", unique_id="count-requests")


def test_advance_creates_flag(flag_repository: FlagRepository, dynamodb: Any, table_names: dict[str, str]) -> None:
    result = flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.ENQUEUED, now=T0)

    assert result.outcome is AdvanceOutcome.CREATED
    assert result.accepted is True
    assert result.previous_value is None
    assert uuid.UUID(result.flag.id).version == 4
    assert result.flag == StatusFlag(
        id=result.flag.id,
        account_id=ACCOUNT,
        entity_id=ENTITY,
        update_time=T0,
        flag_name=NAME,
        flag_value=FlagValue.ENQUEUED,
        version=1,
    )
    assert stored_item(dynamodb, table_names["FlagsTable"], "acct-1#model-7") == {
        "pk": {"S": "acct-1#model-7"},
        "sk": {"S": "Model_Function_Run"},
        "id": {"S": result.flag.id},
        "account_id": {"S": ACCOUNT},
        "entity_id": {"S": ENTITY},
        "flag_name": {"S": "Model_Function_Run"},
        "flag_value": {"N": "1"},
        "update_time": {"S": "2026-01-31T12:00:00.000000+00:00"},
        "version": {"N": "1"},
        "fleet_pk": {"S": "acct-1#Model_Function_Run#1"},
    }


def test_advance_advances_flag(flag_repository: FlagRepository, dynamodb: Any, table_names: dict[str, str]) -> None:
    created = flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.ENQUEUED, now=T0)

    result = flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.FINISHED, now=T1)

    assert result.outcome is AdvanceOutcome.ADVANCED
    assert result.accepted is True
    assert result.previous_value is FlagValue.ENQUEUED
    assert result.flag == StatusFlag(
        id=created.flag.id,
        account_id=ACCOUNT,
        entity_id=ENTITY,
        update_time=T1,
        flag_name=NAME,
        flag_value=FlagValue.FINISHED,
        version=2,
    )
    assert stored_item(dynamodb, table_names["FlagsTable"], "acct-1#model-7") == {
        "pk": {"S": "acct-1#model-7"},
        "sk": {"S": "Model_Function_Run"},
        "id": {"S": created.flag.id},
        "account_id": {"S": ACCOUNT},
        "entity_id": {"S": ENTITY},
        "flag_name": {"S": "Model_Function_Run"},
        "flag_value": {"N": "3"},
        "update_time": {"S": "2026-01-31T12:00:01.000000+00:00"},
        "version": {"N": "2"},
        "fleet_pk": {"S": "acct-1#Model_Function_Run#3"},
    }


def test_advance_unchanged_duplicate(
    flag_repository: FlagRepository, dynamodb: Any, table_names: dict[str, str]
) -> None:
    created = flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.IN_PROGRESS, now=T0)
    item_before = stored_item(dynamodb, table_names["FlagsTable"], "acct-1#model-7")

    result = flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.IN_PROGRESS, now=T1)

    assert result.outcome is AdvanceOutcome.UNCHANGED
    assert result.accepted is False
    assert result.previous_value is FlagValue.IN_PROGRESS
    assert result.flag == created.flag
    assert result.flag.version == 1
    assert result.flag.update_time == T0
    assert stored_item(dynamodb, table_names["FlagsTable"], "acct-1#model-7") == item_before


def test_advance_stale_lower_value(flag_repository: FlagRepository, dynamodb: Any, table_names: dict[str, str]) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.ENQUEUED, now=T0)
    advanced = flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.FINISHED, now=T1)
    item_before = stored_item(dynamodb, table_names["FlagsTable"], "acct-1#model-7")

    result = flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.IN_PROGRESS, now=T2)

    assert result.outcome is AdvanceOutcome.STALE
    assert result.accepted is False
    assert result.previous_value is FlagValue.FINISHED
    assert result.flag == advanced.flag
    assert result.flag.flag_value is FlagValue.FINISHED
    assert result.flag.version == 2
    assert stored_item(dynamodb, table_names["FlagsTable"], "acct-1#model-7") == item_before


def test_advance_after_error_is_stale(flag_repository: FlagRepository) -> None:
    flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.ERROR, now=T0)

    for value in (FlagValue.NOT_STARTED, FlagValue.ENQUEUED, FlagValue.IN_PROGRESS, FlagValue.FINISHED):
        result = flag_repository.advance(ACCOUNT, ENTITY, NAME, value, now=T1)
        assert result.outcome is AdvanceOutcome.STALE
        assert result.flag.flag_value is FlagValue.ERROR


def test_advance_version_and_id_per_change(flag_repository: FlagRepository) -> None:
    writes = [0, 1, 1, 2, 0, 3, 3, 1, 4, 4]
    expected = [
        (AdvanceOutcome.CREATED, 0, 1),
        (AdvanceOutcome.ADVANCED, 1, 2),
        (AdvanceOutcome.UNCHANGED, 1, 2),
        (AdvanceOutcome.ADVANCED, 2, 3),
        (AdvanceOutcome.STALE, 2, 3),
        (AdvanceOutcome.ADVANCED, 3, 4),
        (AdvanceOutcome.UNCHANGED, 3, 4),
        (AdvanceOutcome.STALE, 3, 4),
        (AdvanceOutcome.ADVANCED, 4, 5),
        (AdvanceOutcome.UNCHANGED, 4, 5),
    ]

    results = [flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue(value)) for value in writes]

    assert [(result.outcome, result.flag.flag_value, result.flag.version) for result in results] == expected
    assert {result.flag.id for result in results} == {results[0].flag.id}


@pytest.mark.parametrize(
    ("first", "second", "outcome"),
    [
        (None, FlagValue.ENQUEUED, AdvanceOutcome.CREATED),
        (FlagValue.ENQUEUED, FlagValue.FINISHED, AdvanceOutcome.ADVANCED),
        (FlagValue.FINISHED, FlagValue.FINISHED, AdvanceOutcome.UNCHANGED),
        (FlagValue.FINISHED, FlagValue.ENQUEUED, AdvanceOutcome.STALE),
    ],
)
def test_advance_sends_one_request(
    flag_repository: FlagRepository,
    sent_operations: list[str],
    first: FlagValue | None,
    second: FlagValue,
    outcome: AdvanceOutcome,
) -> None:
    if first is not None:
        flag_repository.advance(ACCOUNT, ENTITY, NAME, first)
    sent_operations.clear()

    result = flag_repository.advance(ACCOUNT, ENTITY, NAME, second)

    assert result.outcome is outcome
    assert sent_operations == ["DynamoDB_20120810.UpdateItem"]


def test_get_never_set_flag(flag_repository: FlagRepository, sent_operations: list[str]) -> None:
    assert flag_repository.get(ACCOUNT, ENTITY, NAME) is None
    assert sent_operations == ["DynamoDB_20120810.GetItem"]


def test_get_returns_stored_flag(flag_repository: FlagRepository) -> None:
    advanced = flag_repository.advance(ACCOUNT, ENTITY, NAME, FlagValue.FINISHED, now=T0)

    assert flag_repository.get(ACCOUNT, ENTITY, NAME) == advanced.flag
    assert flag_repository.get(ACCOUNT, ENTITY, FlagName.LOGO_S3_STORAGE) is None
    assert flag_repository.get(ACCOUNT, "model-8", NAME) is None


def test_list_for_entity_enum_order(flag_repository: FlagRepository, sent_operations: list[str]) -> None:
    names = list(reversed(FlagName))
    for position, name in enumerate(names):
        flag_repository.advance(ACCOUNT, ENTITY, name, FlagValue(position % 5), now=T0)
    flag_repository.advance(ACCOUNT, "model-8", FlagName.LOGO_EFS_STAGING, FlagValue.ERROR, now=T0)
    flag_repository.advance("acct-2", ENTITY, FlagName.LOGO_EFS_STAGING, FlagValue.ERROR, now=T0)
    sent_operations.clear()

    flags = flag_repository.list_for_entity(ACCOUNT, ENTITY)

    assert sent_operations == ["DynamoDB_20120810.Query"]
    assert [flag.flag_name for flag in flags] == list(FlagName)
    assert {flag.account_id for flag in flags} == {ACCOUNT}
    assert {flag.entity_id for flag in flags} == {ENTITY}
    assert [flag.flag_value for flag in flags] == [FlagValue((len(names) - 1 - index) % 5) for index in range(12)]


def test_list_for_entity_empty(flag_repository: FlagRepository) -> None:
    assert flag_repository.list_for_entity(ACCOUNT, ENTITY) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a#b", "c"), ("a", "b#c")),
        (("a%23", "b"), ("a#", "b")),
        (("a%", "23b"), ("a", "%23b")),
        (("a b", "c+d=e/f"), ("a+b", "c d=e%2Ff")),
    ],
)
def test_keys_unambiguous_for_tricky_ids(
    flag_repository: FlagRepository, first: tuple[str, str], second: tuple[str, str]
) -> None:
    flag_repository.advance(*first, NAME, FlagValue.ENQUEUED, now=T0)
    flag_repository.advance(*second, NAME, FlagValue.FINISHED, now=T0)

    first_flags = flag_repository.list_for_entity(*first)
    second_flags = flag_repository.list_for_entity(*second)

    assert [(flag.account_id, flag.entity_id, flag.flag_value) for flag in first_flags] == [
        (*first, FlagValue.ENQUEUED)
    ]
    assert [(flag.account_id, flag.entity_id, flag.flag_value) for flag in second_flags] == [
        (*second, FlagValue.FINISHED)
    ]
    assert flag_repository.get(*first, NAME).flag_value is FlagValue.ENQUEUED  # type: ignore[union-attr]
    assert flag_repository.get(*second, NAME).flag_value is FlagValue.FINISHED  # type: ignore[union-attr]


def test_ids_round_trip_exactly(flag_repository: FlagRepository) -> None:
    account_id = "Zürich ##%23 + = /"
    entity_id = "模型 / 7 % a"

    created = flag_repository.advance(account_id, entity_id, NAME, FlagValue.ENQUEUED, now=T0)
    stored = flag_repository.get(account_id, entity_id, NAME)

    assert created.flag.account_id == account_id
    assert created.flag.entity_id == entity_id
    assert stored == created.flag
