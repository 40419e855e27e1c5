"""Routes that act on many flags in one request: batch writes and the multi-entity read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from api_http import path_id
from api_models import (
    BatchItemResult,
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    FlagUpdateRequest,
    LookupRequest,
    LookupResponse,
    StaleBatchResponse,
    json_content,
)
from status_flags.batch import advance_each, list_for_entities
from status_flags.errors import InvalidInputError
from status_flags.models import FlagName, format_time
from status_flags.repository import AdvanceOutcome, AdvanceResult, FlagRepository, FlagUpdate, TransactionItemResult
from status_flags.settings import Settings, dynamodb_client

logger = Logger(child=True)
metrics = Metrics()
router = Router()

settings = Settings.from_environment()
flags = FlagRepository(dynamodb_client(), settings.flags_table_name)

_OUTCOME_METRICS = {
    AdvanceOutcome.CREATED: "FlagWritesAccepted",
    AdvanceOutcome.ADVANCED: "FlagWritesAccepted",
    AdvanceOutcome.ACCEPTED: "FlagWritesAccepted",
    AdvanceOutcome.UNCHANGED: "FlagWritesUnchanged",
    AdvanceOutcome.STALE: "FlagWritesStale",
}

# NOTE: Powertools parses and validates the body before any route code runs, so these routes have
# no body size check of their own. API Gateway limits a payload to 10 MB, and the models accept at
# most 100 entries of at most 128-character ids.
_CLIENT_ERRORS = {400: json_content(ErrorResponse, "Invalid request; field names the part to fix.")}


def reject_repeated_flags(updates: Sequence[FlagUpdateRequest]) -> None:
    """Raise InvalidInputError at the first update that repeats an earlier (entity_id, flag_name)."""
    first_index: dict[tuple[str, FlagName], int] = {}
    for index, update in enumerate(updates):
        key = (update.entity_id, update.flag_name)
        if key in first_index:
            raise InvalidInputError(
                f"updates[{index}]",
                f"updates[{index}] repeats entity_id {update.entity_id!r} and flag_name {update.flag_name.value} "
                f"of updates[{first_index[key]}]; send each flag at most once per batch.",
            )
        first_index[key] = index


def reject_repeated_entities(entity_ids: Sequence[str]) -> None:
    """Raise InvalidInputError at the first entity id that repeats an earlier one."""
    first_index: dict[str, int] = {}
    for index, entity_id in enumerate(entity_ids):
        if entity_id in first_index:
            raise InvalidInputError(
                f"entity_ids[{index}]",
                f"entity_ids[{index}] repeats {entity_id!r} of entity_ids[{first_index[entity_id]}]; "
                "send each entity id once.",
            )
        first_index[entity_id] = index


def independent_result(index: int, update: FlagUpdate, result: AdvanceResult) -> BatchItemResult:
    previous = result.previous_value.value if result.previous_value is not None else None
    return BatchItemResult(
        index=index,
        entity_id=update.entity_id,
        flag_name=update.flag_name,
        requested_value=update.flag_value.value,
        outcome=result.outcome.value,
        previous_value=previous,
        update_time=format_time(result.flag.update_time),
        flag=result.flag,
    )


def transaction_result(index: int, result: TransactionItemResult) -> BatchItemResult:
    stored = result.stored
    return BatchItemResult(
        index=index,
        entity_id=result.update.entity_id,
        flag_name=result.update.flag_name,
        requested_value=result.update.flag_value.value,
        outcome=result.outcome.value,
        previous_value=stored.flag_value.value if stored else None,
        update_time=format_time(result.update_time),
        flag=stored,
    )


@router.post(
    "/accounts/<account_id>/flags/batch",
    summary="Advance many flags of an account",
    description=(
        "Not atomic (default): each update is one conditional write, applied or rejected on its own; the status "
        "is 200 even when some updates are stale. Atomic: one DynamoDB transaction; when any update would lower "
        "a stored value, nothing is written and the 409 lists every stale update. An atomic update whose value "
        "is already stored is reported unchanged and does not cancel the batch, so retrying a batch is safe."
    ),
    tags=["flags"],
    responses={
        200: {"description": "One result per update, in request order."},
        **_CLIENT_ERRORS,
        409: json_content(
            StaleBatchResponse, "Atomic batch only: some updates would lower stored values; nothing was written."
        ),
    },
)
def post_batch(account_id: str, batch: Annotated[BatchRequest, Body()]) -> BatchResponse:
    account = path_id(account_id, "account_id")
    logger.append_keys(account_id=account)
    reject_repeated_flags(batch.updates)

    updates = [FlagUpdate(update.entity_id, update.flag_name, update.flag_value) for update in batch.updates]
    if batch.atomic:
        transaction_results = flags.advance_all_or_none(account, updates)
        results = [transaction_result(index, result) for index, result in enumerate(transaction_results)]
    else:
        advance_results = advance_each(flags, account, updates)
        results = [
            independent_result(index, update, result)
            for index, (update, result) in enumerate(zip(updates, advance_results, strict=True))
        ]

    outcomes = Counter(AdvanceOutcome(result.outcome) for result in results)
    for outcome, count in outcomes.items():
        metrics.add_metric(name=_OUTCOME_METRICS[outcome], unit=MetricUnit.Count, value=count)
    logger.info(
        "flag batch written",
        atomic=batch.atomic,
        updates=len(updates),
        outcomes={outcome.value: count for outcome, count in outcomes.items()},
    )
    return BatchResponse(atomic=batch.atomic, results=results)


@router.post(
    "/accounts/<account_id>/flags/lookup",
    summary="Read the flags of many entities",
    description=(
        "Returns each requested entity's flags (strongly consistent), optionally only the named flags. "
        "Costs one DynamoDB Query per entity id."
    ),
    tags=["flags"],
    responses={200: {"description": "Flags by entity id; an entity with no flags maps to []."}, **_CLIENT_ERRORS},
)
def post_lookup(account_id: str, lookup: Annotated[LookupRequest, Body()]) -> LookupResponse:
    account = path_id(account_id, "account_id")
    reject_repeated_entities(lookup.entity_ids)

    flags_by_entity = list_for_entities(flags, account, lookup.entity_ids, lookup.flag_names)
    return LookupResponse(flags=flags_by_entity)
