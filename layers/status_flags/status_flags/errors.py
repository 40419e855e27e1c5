"""Domain errors. The API maps each one to an HTTP status in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from status_flags.models import FlagName, StatusFlag
    from status_flags.repository import FlagUpdate


class StatusFlagsError(Exception):
    """Base class of the errors a client can cause."""


class InvalidInputError(StatusFlagsError):
    """A request field is missing or invalid. ``field`` names it, and the message states the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class FlagNotFoundError(StatusFlagsError):
    """The flag has never been set for this entity."""

    def __init__(self, account_id: str, entity_id: str, flag_name: FlagName) -> None:
        message = f"flag {flag_name.value} is not set for entity {entity_id!r} of account {account_id!r}"
        super().__init__(message)
        self.message = message


class StaleFlagValueError(StatusFlagsError):
    """A write would lower a flag's value, so DynamoDB rejected it. ``stored`` is the flag as it is."""

    def __init__(self, stored: StatusFlag, requested: int) -> None:
        from status_flags.models import FlagValue

        requested_value = FlagValue(requested)
        message = (
            f"flag_value {requested_value.value} ({requested_value.label}) is lower than the stored "
            f"{stored.flag_value.value} ({stored.flag_value.label}) of {stored.flag_name.value}; "
            "flag values only move forward"
        )
        super().__init__(message)
        self.stored = stored
        self.requested = requested_value
        self.message = message


@dataclass(frozen=True)
class StaleUpdate:
    """An update of a batch that would lower a stored value: its position, the request and the stored flag."""

    index: int
    update: FlagUpdate
    stored: StatusFlag


class StaleBatchError(StatusFlagsError):
    """An all-or-none batch was cancelled because some updates would lower stored values; none was written."""

    def __init__(self, stale: list[StaleUpdate], total: int) -> None:
        message = (
            f"{len(stale)} of {total} updates would lower a stored flag value, so no update was written; "
            "flag values only move forward. Remove or raise the updates listed in stale and send the batch again."
        )
        super().__init__(message)
        self.stale = stale
        self.message = message


class TransactionConflictError(StatusFlagsError):
    """DynamoDB cancelled an all-or-none batch for a reason other than a stored value.

    A concurrent transaction on the same flag is the usual cause. Nothing was written, and sending
    the batch again is safe.
    """

    def __init__(self, reasons: list[str]) -> None:
        message = (
            "the batch conflicted with concurrent writes to the same flags and nothing was written "
            f"({', '.join(sorted(set(reasons)))}); send the batch again."
        )
        super().__init__(message)
        self.reasons = reasons
        self.message = message
