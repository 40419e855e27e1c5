"""Status flag model, the flag name and value enums, and the canonical time format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from status_flags.errors import InvalidInputError


class FlagName(StrEnum):
    """Workflow step that a flag tracks."""

    LOGO_EFS_STAGING = "Logo_EFS_Staging"
    LOGO_S3_STORAGE = "Logo_S3_Storage"
    FILE_EFS_STAGING = "File_EFS_Staging"
    FILE_S3_STORAGE = "File_S3_Storage"
    FILE_IMAGE_BUILD = "File_Image_Build"
    INPUT_EFS_STAGING = "Input_EFS_Staging"
    INPUT_S3_STORAGE = "Input_S3_Storage"
    INPUT_EFS_TRANSCODING = "Input_EFS_Transcoding"
    INPUT_EFS_TENSOR = "Input_EFS_Tensor"
    MODEL_FUNCTION_RUN = "Model_Function_Run"
    OUTPUT_EFS_STAGING = "Output_EFS_Staging"
    OUTPUT_S3_STORAGE = "Output_S3_Storage"


class FlagGroup(StrEnum):
    """Part of the platform that a flag name belongs to."""

    LOGO = "logo"
    FILE = "file"
    INPUT = "input"
    MODEL = "model"
    OUTPUT = "output"


FLAG_GROUPS: dict[FlagGroup, tuple[FlagName, ...]] = {
    FlagGroup.LOGO: (FlagName.LOGO_EFS_STAGING, FlagName.LOGO_S3_STORAGE),
    FlagGroup.FILE: (FlagName.FILE_EFS_STAGING, FlagName.FILE_S3_STORAGE, FlagName.FILE_IMAGE_BUILD),
    FlagGroup.INPUT: (
        FlagName.INPUT_EFS_STAGING,
        FlagName.INPUT_S3_STORAGE,
        FlagName.INPUT_EFS_TRANSCODING,
        FlagName.INPUT_EFS_TENSOR,
    ),
    FlagGroup.MODEL: (FlagName.MODEL_FUNCTION_RUN,),
    FlagGroup.OUTPUT: (FlagName.OUTPUT_EFS_STAGING, FlagName.OUTPUT_S3_STORAGE),
}


def group_of(flag_name: FlagName) -> FlagGroup:
    """Return the group that contains a flag name."""
    for group, names in FLAG_GROUPS.items():
        if flag_name in names:
            return group
    raise ValueError(f"flag name {flag_name!r} belongs to no group")


class FlagValue(IntEnum):
    """How far a workflow step has got. A higher value is further along, and values only rise."""

    NOT_STARTED = 0
    ENQUEUED = 1
    IN_PROGRESS = 2
    FINISHED = 3
    ERROR = 4

    @property
    def label(self) -> str:
        """Name of the value as clients write it, e.g. ``In_Progress``."""
        return _VALUE_LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> FlagValue | None:
        """Return the value with this exact label, or None."""
        return _VALUES_BY_LABEL.get(label)


_VALUE_LABELS = {
    FlagValue.NOT_STARTED: "Not_Started",
    FlagValue.ENQUEUED: "Enqueued",
    FlagValue.IN_PROGRESS: "In_Progress",
    FlagValue.FINISHED: "Finished",
    FlagValue.ERROR: "Error",
}
_VALUES_BY_LABEL = {label: value for value, label in _VALUE_LABELS.items()}

VALID_FLAG_VALUES = ", ".join(f"{value.value} ({value.label})" for value in FlagValue)
VALID_FLAG_NAMES = ", ".join(name.value for name in FlagName)


def parse_flag_value(raw: Any, field: str = "flag_value") -> FlagValue:
    """Parse a flag value given as its integer or its exact label.

    Raises InvalidInputError for anything else: booleans, floats (2.0 included), integers out of
    range, numeric strings and labels in another spelling. The message shows the value as JSON.
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw in FlagValue._value2member_map_:
            return FlagValue(raw)
    elif isinstance(raw, str):
        value = FlagValue.from_label(raw)
        if value is not None:
            return value

    shown = json.dumps(raw, default=repr)
    raise InvalidInputError(
        field,
        f"{field} {shown} is invalid. Give an integer or its exact name: {VALID_FLAG_VALUES}.",
    )


def parse_flag_name(raw: str, field: str = "flag_name") -> FlagName:
    """Parse a flag name given exactly as the enum spells it."""
    try:
        return FlagName(raw)
    except ValueError:
        raise InvalidInputError(
            field,
            f"{field} {raw!r} is not a known flag name. Use one of: {VALID_FLAG_NAMES}.",
        ) from None


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """Format a datetime in the service's one canonical form, e.g. ``2026-01-31T12:00:00.000000+00:00``.

    Every stored and returned time uses this form: UTC, microseconds, explicit offset. Equal widths
    make the strings sort in time order.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """Parse a stored time string back into an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return moment.astimezone(UTC)


UtcTime = Annotated[datetime, PlainSerializer(format_time, return_type=str)]
FlagValueInt = Annotated[FlagValue, PlainSerializer(int, return_type=int)]


class StatusFlag(BaseModel):
    """One workflow step of one entity, as stored and as the API returns it."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(default="0", description="Unique id of the flag record, assigned on first write.")
    account_id: str = Field(description="Account that owns the entity.")
    entity_id: str = Field(description="Tracked entity: a model, asset, invocation, input or output id.")
    update_time: UtcTime = Field(description="UTC time of the most recent change, set by the server.")
    flag_name: FlagName = Field(description="Workflow step.")
    flag_value: FlagValueInt = Field(description="How far the step has got: 0 Not_Started to 4 Error.")
    version: int = Field(default=0, ge=0, description="Raised by one with each accepted change.")

    def to_response(self) -> dict[str, Any]:
        """Return the flag's JSON form: the six flag fields, then the version."""
        return self.model_dump(mode="json")
