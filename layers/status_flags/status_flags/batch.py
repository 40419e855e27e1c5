"""Batches of single-flag requests, run concurrently: independent writes and multi-entity reads."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from status_flags.models import FlagName, StatusFlag, utc_now
from status_flags.repository import AdvanceResult, FlagRepository, FlagUpdate

# Requests in flight at once. botocore's client keeps at most 10 pooled connections by default
# (max_pool_connections), so more threads would only wait for a connection. At ten requests at a
# time, a batch of 100 takes about ten request round trips, well inside the function timeout.
MAX_CONCURRENT_REQUESTS = 10


def advance_each(
    repository: FlagRepository,
    account_id: str,
    updates: Sequence[FlagUpdate],
    now: datetime | None = None,
) -> list[AdvanceResult]:
    """Apply each update independently; return one result per update, in the order given.

    Sends exactly one conditional UpdateItem per update (``FlagRepository.advance``), so each
    update succeeds or is rejected on its own. All updates share one update time.

    NOTE: when one request raises (e.g. throttling after botocore's retries), the error propagates
    after every other update has been attempted, so some may have been written. Sending the whole
    batch again is safe: an update whose value is already stored is reported unchanged.
    """
    update_time = now or utc_now()

    def advance(update: FlagUpdate) -> AdvanceResult:
        return repository.advance(account_id, update.entity_id, update.flag_name, update.flag_value, update_time)

    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_REQUESTS, len(updates))) as pool:
        return list(pool.map(advance, updates))


def list_for_entities(
    repository: FlagRepository,
    account_id: str,
    entity_ids: Sequence[str],
    flag_names: Sequence[FlagName] | None = None,
) -> dict[str, list[StatusFlag]]:
    """Return the flags of each entity, keyed by entity id in the order given; an entity with none maps to [].

    Sends exactly one strongly consistent Query per entity id (``len(entity_ids)`` requests, at most
    MAX_CONCURRENT_REQUESTS at a time) whether or not ``flag_names`` is given. The Query reads at most
    twelve small items per entity, so no page follows. ``flag_names`` filters in Python: a DynamoDB
    FilterExpression would consume the same read capacity, and a BatchGetItem of entity and flag name
    keys would cost one request per 100 keys and one read unit per flag instead of per entity.
    """
    requested_names = set(flag_names) if flag_names else None

    def list_flags(entity_id: str) -> list[StatusFlag]:
        flags = repository.list_for_entity(account_id, entity_id)
        return [flag for flag in flags if requested_names is None or flag.flag_name in requested_names]

    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_REQUESTS, len(entity_ids))) as pool:
        return dict(zip(entity_ids, pool.map(list_flags, entity_ids), strict=True))
