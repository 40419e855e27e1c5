"""Validation of account and entity ids, and the DynamoDB keys built from them."""

from __future__ import annotations

import unicodedata

from status_flags.errors import InvalidInputError
from status_flags.models import FlagName, FlagValue

MAX_ID_LENGTH = 128
ID_RULE = (
    f"1 to {MAX_ID_LENGTH} characters; any Unicode letters, digits, spaces and punctuation "
    "(including + = # / and %) are allowed, but not control characters"
)

# Separates the parts of a key. Ids are escaped so that they never contain it.
KEY_SEPARATOR = "#"


def validate_id(value: str, field: str) -> str:
    """Return ``value`` unchanged if it is a valid account or entity id, else raise InvalidInputError."""
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise InvalidInputError(field, f"{field} must be {ID_RULE}; got {len(value)} characters.")

    for character in value:
        if unicodedata.category(character) in ("Cc", "Cs"):
            raise InvalidInputError(
                field,
                f"{field} contains the control character U+{ord(character):04X}; {field} must be {ID_RULE}.",
            )
    return value


def escape_id(value: str) -> str:
    """Escape ``%`` and the key separator so that joined ids split back unambiguously."""
    return value.replace("%", "%25").replace(KEY_SEPARATOR, "%23")


def entity_key(account_id: str, entity_id: str) -> str:
    """Partition key shared by an entity's flags and its history items."""
    return f"{escape_id(account_id)}{KEY_SEPARATOR}{escape_id(entity_id)}"


def flag_key(account_id: str, entity_id: str, flag_name: FlagName) -> dict[str, dict[str, str]]:
    """DynamoDB key of one flag item."""
    return {"pk": {"S": entity_key(account_id, entity_id)}, "sk": {"S": flag_name.value}}


def fleet_key(account_id: str, flag_name: FlagName, flag_value: FlagValue) -> str:
    """Partition key of the fleet index: every flag of one account with one name and value."""
    return KEY_SEPARATOR.join((escape_id(account_id), flag_name.value, str(flag_value.value)))
