"""Request and response bodies of the batch, lookup and fleet routes, as pydantic models.

The routes validate requests with these models, and the OpenAPI document is generated from them.
A validator raises ValueError with the same message as the single-flag routes give for that field.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, WithJsonSchema

from status_flags.errors import InvalidInputError
from status_flags.history import Transition
from status_flags.keys import ID_RULE, MAX_ID_LENGTH, validate_id
from status_flags.models import (
    VALID_FLAG_NAMES,
    VALID_FLAG_VALUES,
    FlagName,
    FlagValue,
    StatusFlag,
    parse_flag_name,
    parse_flag_value,
)

MAX_BATCH_UPDATES = 100
MAX_LOOKUP_ENTITIES = 100


def _entity_id(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"entity_id must be a string of {ID_RULE}.")
    try:
        return validate_id(raw, "entity_id")
    except InvalidInputError as error:
        raise ValueError(error.message) from None


def _flag_name(raw: Any) -> FlagName:
    if not isinstance(raw, str):
        raise ValueError(f"flag_name must be a string; use one of: {VALID_FLAG_NAMES}.")
    try:
        return parse_flag_name(raw)
    except InvalidInputError as error:
        raise ValueError(error.message) from None


def _flag_value(raw: Any) -> FlagValue:
    try:
        return parse_flag_value(raw)
    except InvalidInputError as error:
        raise ValueError(error.message) from None


EntityId = Annotated[
    str,
    BeforeValidator(_entity_id),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "description": f"Entity id: {ID_RULE}."}
    ),
]
FlagNameField = Annotated[FlagName, BeforeValidator(_flag_name)]
FLAG_VALUE_SCHEMA: dict[str, Any] = {
    "description": f"Flag value as its integer or its exact name: {VALID_FLAG_VALUES}.",
    "oneOf": [
        {"type": "integer", "enum": [value.value for value in FlagValue]},
        {"type": "string", "enum": [value.label for value in FlagValue]},
    ],
}
FlagValueField = Annotated[FlagValue, BeforeValidator(_flag_value), WithJsonSchema(FLAG_VALUE_SCHEMA)]


class FlagUpdateRequest(BaseModel):
    """One update of a batch."""

    model_config = ConfigDict(extra="forbid")

    entity_id: EntityId
    flag_name: FlagNameField
    flag_value: FlagValueField


class BatchRequest(BaseModel):
    """Body of POST /accounts/{account_id}/flags/batch."""

    model_config = ConfigDict(extra="forbid")

    updates: list[FlagUpdateRequest] = Field(
        min_length=1,
        max_length=MAX_BATCH_UPDATES,
        description=f"1 to {MAX_BATCH_UPDATES} updates, each (entity_id, flag_name) at most once.",
    )
    atomic: StrictBool = Field(
        default=False,
        description="true: all updates in one DynamoDB transaction, or none (409 naming the stale ones). "
        "false: each update is written or rejected on its own.",
    )


class BatchItemResult(BaseModel):
    """Outcome of one update of a batch, at the update's position in the request."""

    index: int = Field(description="Position of the update in the request's updates list.")
    entity_id: str
    flag_name: FlagName
    requested_value: int
    outcome: str = Field(
        description="created, advanced, unchanged (the value was already stored) or stale (the stored value "
        "is higher, nothing written); accepted in an atomic batch, where DynamoDB does not return whether "
        "the flag was created or advanced."
    )
    previous_value: int | None = Field(
        description="Value stored before the request; null when the flag was created or the outcome is accepted."
    )
    update_time: str = Field(description="Time of this write, or of the stored flag when nothing was written.")
    flag: StatusFlag | None = Field(
        description="The flag as stored after the request; null for accepted, because a transaction "
        "returns no attributes (read it with the lookup route)."
    )


class BatchResponse(BaseModel):
    """Results of a batch, one per update in request order."""

    atomic: bool
    results: list[BatchItemResult]


class LookupRequest(BaseModel):
    """Body of POST /accounts/{account_id}/flags/lookup."""

    model_config = ConfigDict(extra="forbid")

    entity_ids: list[EntityId] = Field(
        min_length=1,
        max_length=MAX_LOOKUP_ENTITIES,
        description=f"1 to {MAX_LOOKUP_ENTITIES} distinct entity ids.",
    )
    flag_names: list[FlagNameField] | None = Field(
        default=None,
        min_length=1,
        description="Return only these flags; omit to return every flag of each entity.",
    )


class LookupResponse(BaseModel):
    """Flags of each requested entity, in flag name order; an entity with no flags maps to []."""

    flags: dict[str, list[StatusFlag]]


class FleetPageResponse(BaseModel):
    """One page of a fleet query, oldest update first."""

    items: list[StatusFlag]
    next_cursor: str | None = Field(
        description="Opaque cursor of the next page; send it with the same query parameters. null on the last page."
    )


class ErrorResponse(BaseModel):
    """Body of every 4xx response."""

    error: str = Field(description="Machine-readable error code, e.g. invalid_request.")
    message: str = Field(description="What was wrong and how to fix it.")
    field: str | None = Field(default=None, description="The request field at fault, e.g. updates[3].flag_value.")


class StaleUpdateDetail(BaseModel):
    """An update of an atomic batch that would lower a stored value."""

    index: int
    entity_id: str
    flag_name: FlagName
    requested_value: int
    stored_value: int
    flag: StatusFlag


class StaleBatchResponse(BaseModel):
    """Body of the 409 of an atomic batch: every stale update; nothing was written."""

    error: str
    message: str
    stale: list[StaleUpdateDetail]


class FlagWriteResponse(StatusFlag):
    """Body of a single write: the stored flag, what the write did, and the value before it."""

    outcome: str = Field(description="created, advanced or unchanged (the value was already stored).")
    previous_value: int | None = Field(description="Value stored before the write; null when it created the flag.")


class FlagListResponse(BaseModel):
    """An entity's flags, in flag name order."""

    items: list[StatusFlag]


class HistoryResponse(BaseModel):
    """An entity's accepted transitions, oldest first."""

    items: list[Transition]


class StaleFlagResponse(BaseModel):
    """Body of the 409 of a single write: the stored value is higher than the requested one."""

    error: str
    message: str
    flag: StatusFlag


# The PUT body, which the route parses itself so that its errors keep their exact wording.
PUT_FLAG_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"flag_value": FLAG_VALUE_SCHEMA},
                    "required": ["flag_value"],
                    "additionalProperties": False,
                }
            }
        },
    }
}


def json_content(model: type[BaseModel], description: str) -> OpenAPIResponse:
    """Build an OpenAPI response entry whose JSON body is ``model``."""
    return {"description": description, "content": {"application/json": {"model": model}}}
