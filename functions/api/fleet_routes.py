"""Fleet query route: the flags of one account with one name and value, oldest update first."""

from __future__ import annotations

import os
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from api_http import path_id
from api_models import ErrorResponse, FlagNameField, FleetPageResponse, json_content
from status_flags.cursor import MAX_CURSOR_LENGTH, CursorSigner
from status_flags.errors import InvalidInputError
from status_flags.fleet import (
    DEFAULT_FLEET_LIMIT,
    MAX_FLEET_LIMIT,
    TIME_FORMAT_HINT,
    FleetQuery,
    FleetRepository,
    parse_query_flag_value,
    parse_query_time,
)
from status_flags.models import VALID_FLAG_NAMES, VALID_FLAG_VALUES
from status_flags.settings import Settings, dynamodb_client

logger = Logger(child=True)
router = Router()

# A misspelt filter must not widen the result, so any other parameter is a 400.
FLEET_QUERY_PARAMETERS = frozenset({"flag_name", "flag_value", "updated_after", "updated_before", "limit", "cursor"})

settings = Settings.from_environment()
fleet = FleetRepository(dynamodb_client(), settings.flags_table_name)

# The HMAC key of page cursors. template.yaml resolves it from a generated Secrets Manager secret;
# the local stack and the tests set a random one. A missing key fails the function's start.
cursor_signer = CursorSigner(os.environ["CURSOR_SIGNING_KEY"].encode())


@router.get(
    "/accounts/<account_id>/flags",
    summary="Find an account's flags by name and value",
    description=(
        "Returns the account's flags that have flag_name and flag_value, oldest update first, e.g. the entities "
        "stuck at In_Progress on Model_Function_Run. One DynamoDB Query of an index per page, so a write may take "
        "a moment to appear. Pass next_cursor as cursor, with the same other parameters, for the next page."
    ),
    tags=["flags"],
    responses={
        200: {"description": "One page of flags; next_cursor is null on the last page."},
        400: json_content(
            ErrorResponse, "Invalid parameter, or a cursor that was altered or issued for another query."
        ),
    },
)
def get_fleet(
    account_id: str,
    flag_name: Annotated[FlagNameField, Query(description=f"Required. One of: {VALID_FLAG_NAMES}.")],
    flag_value: Annotated[
        str, Query(description=f"Required. The value as its integer or its exact name: {VALID_FLAG_VALUES}.")
    ],
    updated_after: Annotated[
        str | None, Query(description=f"Only flags updated after this time (exclusive): {TIME_FORMAT_HINT}.")
    ] = None,
    updated_before: Annotated[
        str | None, Query(description=f"Only flags updated before this time (exclusive): {TIME_FORMAT_HINT}.")
    ] = None,
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_FLEET_LIMIT, description=f"Page size, 1 to {MAX_FLEET_LIMIT}; larger values are a 400."),
    ] = DEFAULT_FLEET_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="next_cursor of the previous page; omit for the first page."),
    ] = None,
) -> FleetPageResponse:
    account = path_id(account_id, "account_id")
    unknown = sorted(set(router.current_event.query_string_parameters or {}) - FLEET_QUERY_PARAMETERS)
    if unknown:
        accepted = ", ".join(sorted(FLEET_QUERY_PARAMETERS))
        raise InvalidInputError(
            unknown[0], f"unknown query parameter {unknown[0]!r}; the fleet query accepts only: {accepted}."
        )

    query = FleetQuery(
        account_id=account,
        flag_name=flag_name,
        flag_value=parse_query_flag_value(flag_value),
        updated_after=parse_query_time(updated_after, "updated_after") if updated_after is not None else None,
        updated_before=parse_query_time(updated_before, "updated_before") if updated_before is not None else None,
    )
    start_key = cursor_signer.verify(cursor, query.scope()) if cursor is not None else None

    page = fleet.query(query, limit, start_key)
    next_cursor = cursor_signer.sign(page.last_key, query.scope()) if page.last_key else None
    logger.info(
        "fleet query",
        account_id=account,
        flag_name=flag_name.value,
        flag_value=query.flag_value.value,
        items=len(page.flags),
        more=next_cursor is not None,
    )
    return FleetPageResponse(items=page.flags, next_cursor=next_cursor)
