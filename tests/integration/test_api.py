"""Integration tests of the API function: API Gateway HTTP API events through the real handler, on moto."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest

from local_stack.lambda_runtime import LocalLambdaContext
from status_flags.history import HistoryRepository, Transition
from status_flags.models import VALID_FLAG_NAMES, VALID_FLAG_VALUES, FlagName, FlagValue

T0 = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
T0_TEXT = "2026-01-31T12:00:00.000000+00:00"
T1_TEXT = "2026-01-31T12:00:01.000000+00:00"

FLAG_PATH = "/accounts/acct-1/entities/model-7/flags/Model_Function_Run"
FLAGS_PATH = "/accounts/acct-1/entities/model-7/flags"
HISTORY_PATH = "/accounts/acct-1/entities/model-7/history"
JSON_CONTENT_TYPE = {"Content-Type": "application/json"}
ID_RULE = (
    "1 to 128 characters; any Unicode letters, digits, spaces and punctuation "
    "(including + = # / and %) are allowed, but not control characters"
)

ApiInvoker = Callable[..., dict[str, Any]]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fix the flag repository's clock: the first write happens at T0, each later one a second after."""
    seconds = itertools.count()
    monkeypatch.setattr("status_flags.repository.utc_now", lambda: T0 + timedelta(seconds=next(seconds)))


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def flag_path(account_id: str, entity_id: str, flag_name: str = "Model_Function_Run") -> str:
    return f"/accounts/{quote(account_id, safe='')}/entities/{quote(entity_id, safe='')}/flags/{flag_name}"


def scan(dynamodb: Any, table_name: str) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=table_name)["Items"]


def assert_tables_empty(dynamodb: Any, table_names: dict[str, str]) -> None:
    assert scan(dynamodb, table_names["FlagsTable"]) == []
    assert scan(dynamodb, table_names["HistoryTable"]) == []


def expected_flag(flag_id: str, flag_value: int, version: int, update_time: str = T0_TEXT) -> dict[str, Any]:
    return {
        "id": flag_id,
        "account_id": "acct-1",
        "entity_id": "model-7",
        "update_time": update_time,
        "flag_name": "Model_Function_Run",
        "flag_value": flag_value,
        "version": version,
    }


def invalid_request(field: str, message: str) -> dict[str, Any]:
    return {"error": "invalid_request", "message": message, "field": field}


def test_put_flag_created(invoke_api: ApiInvoker, clock: None, dynamodb: Any, table_names: dict[str, str]) -> None:
    response = invoke_api("PUT", FLAG_PATH, {"flag_value": 1})

    body = body_of(response)
    flag_id = body["id"]
    assert response["statusCode"] == 201
    assert response["headers"] == JSON_CONTENT_TYPE
    assert uuid.UUID(flag_id).version == 4
    assert body == {**expected_flag(flag_id, 1, 1), "outcome": "created", "previous_value": None}
    assert list(body)[:6] == ["id", "account_id", "entity_id", "update_time", "flag_name", "flag_value"]
    assert type(body["flag_value"]) is int
    assert scan(dynamodb, table_names["FlagsTable"]) == [
        {
            "pk": {"S": "acct-1#model-7"},
            "sk": {"S": "Model_Function_Run"},
            "id": {"S": flag_id},
            "account_id": {"S": "acct-1"},
            "entity_id": {"S": "model-7"},
            "flag_name": {"S": "Model_Function_Run"},
            "flag_value": {"N": "1"},
            "update_time": {"S": T0_TEXT},
            "version": {"N": "1"},
            "fleet_pk": {"S": "acct-1#Model_Function_Run#1"},
        }
    ]


def test_put_flag_by_label(invoke_api: ApiInvoker, clock: None) -> None:
    response = invoke_api("PUT", FLAG_PATH, {"flag_value": "In_Progress"})

    body = body_of(response)
    assert response["statusCode"] == 201
    assert body == {**expected_flag(body["id"], 2, 1), "outcome": "created", "previous_value": None}


def test_put_flag_advanced(invoke_api: ApiInvoker, clock: None, dynamodb: Any, table_names: dict[str, str]) -> None:
    flag_id = body_of(invoke_api("PUT", FLAG_PATH, {"flag_value": 1}))["id"]

    response = invoke_api("PUT", FLAG_PATH, {"flag_value": "Finished"})

    assert response["statusCode"] == 200
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {**expected_flag(flag_id, 3, 2, T1_TEXT), "outcome": "advanced", "previous_value": 1}
    items = scan(dynamodb, table_names["FlagsTable"])
    assert len(items) == 1
    assert items[0]["id"] == {"S": flag_id}
    assert items[0]["flag_value"] == {"N": "3"}
    assert items[0]["version"] == {"N": "2"}
    assert items[0]["update_time"] == {"S": T1_TEXT}


def test_put_flag_unchanged(invoke_api: ApiInvoker, clock: None, dynamodb: Any, table_names: dict[str, str]) -> None:
    flag_id = body_of(invoke_api("PUT", FLAG_PATH, {"flag_value": 2}))["id"]
    items_before = scan(dynamodb, table_names["FlagsTable"])

    response = invoke_api("PUT", FLAG_PATH, {"flag_value": 2})

    assert response["statusCode"] == 200
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {**expected_flag(flag_id, 2, 1), "outcome": "unchanged", "previous_value": 2}
    assert scan(dynamodb, table_names["FlagsTable"]) == items_before


def test_put_flag_stale(invoke_api: ApiInvoker, clock: None, dynamodb: Any, table_names: dict[str, str]) -> None:
    flag_id = body_of(invoke_api("PUT", FLAG_PATH, {"flag_value": 3}))["id"]
    items_before = scan(dynamodb, table_names["FlagsTable"])

    response = invoke_api("PUT", FLAG_PATH, {"flag_value": "Enqueued"})

    assert response["statusCode"] == 409
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {
        "error": "stale_flag_value",
        "message": (
            "flag_value 1 (Enqueued) is lower than the stored 3 (Finished) of Model_Function_Run; "
            "flag values only move forward"
        ),
        "flag": expected_flag(flag_id, 3, 1),
    }
    assert scan(dynamodb, table_names["FlagsTable"]) == items_before


def test_get_flag_stored(invoke_api: ApiInvoker, clock: None) -> None:
    flag_id = body_of(invoke_api("PUT", FLAG_PATH, {"flag_value": 4}))["id"]

    response = invoke_api("GET", FLAG_PATH)

    assert response["statusCode"] == 200
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == expected_flag(flag_id, 4, 1)


def test_get_flag_never_set(invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str]) -> None:
    response = invoke_api("GET", FLAG_PATH)

    assert response["statusCode"] == 404
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {
        "error": "flag_not_found",
        "message": "flag Model_Function_Run is not set for entity 'model-7' of account 'acct-1'",
    }
    assert_tables_empty(dynamodb, table_names)


def test_list_flags_enum_order(invoke_api: ApiInvoker, clock: None) -> None:
    output_id = body_of(invoke_api("PUT", f"{FLAGS_PATH}/Output_S3_Storage", {"flag_value": 1}))["id"]
    logo_id = body_of(invoke_api("PUT", f"{FLAGS_PATH}/Logo_EFS_Staging", {"flag_value": 3}))["id"]
    invoke_api("PUT", "/accounts/acct-1/entities/model-8/flags/File_S3_Storage", {"flag_value": 2})

    response = invoke_api("GET", FLAGS_PATH)

    assert response["statusCode"] == 200
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {
        "items": [
            {**expected_flag(logo_id, 3, 1, T1_TEXT), "flag_name": "Logo_EFS_Staging"},
            {**expected_flag(output_id, 1, 1, T0_TEXT), "flag_name": "Output_S3_Storage"},
        ]
    }


def test_list_flags_empty(invoke_api: ApiInvoker) -> None:
    response = invoke_api("GET", FLAGS_PATH)

    assert response["statusCode"] == 200
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {"items": []}


def test_get_history_oldest_first(invoke_api: ApiInvoker, history_repository: HistoryRepository) -> None:
    created = Transition(
        id="f-1",
        account_id="acct-1",
        entity_id="model-7",
        flag_name=FlagName.MODEL_FUNCTION_RUN,
        flag_value=FlagValue.ENQUEUED,
        previous_value=None,
        version=1,
        update_time=T0,
    )
    advanced = created.model_copy(
        update={"flag_value": FlagValue.FINISHED, "previous_value": FlagValue.ENQUEUED, "version": 2, "update_time": T1}
    )
    history_repository.record(advanced)
    history_repository.record(created)

    response = invoke_api("GET", HISTORY_PATH)

    assert response["statusCode"] == 200
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {
        "items": [
            {
                "id": "f-1",
                "account_id": "acct-1",
                "entity_id": "model-7",
                "flag_name": "Model_Function_Run",
                "flag_value": 1,
                "previous_value": None,
                "version": 1,
                "update_time": T0_TEXT,
            },
            {
                "id": "f-1",
                "account_id": "acct-1",
                "entity_id": "model-7",
                "flag_name": "Model_Function_Run",
                "flag_value": 3,
                "previous_value": 1,
                "version": 2,
                "update_time": T1_TEXT,
            },
        ]
    }


def test_get_history_empty(invoke_api: ApiInvoker) -> None:
    response = invoke_api("GET", HISTORY_PATH)

    assert response["statusCode"] == 200
    assert body_of(response) == {"items": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/accounts"),
        ("GET", "/accounts/acct-1/entities/model-7"),
        ("GET", "/accounts/acct-1/entities/model-7/flags/"),
        ("GET", "/accounts/acct-1/entities/model-7/flags/Model_Function_Run/extra"),
        ("PUT", "/accounts//entities/model-7/flags/Model_Function_Run"),
        ("POST", "/somewhere"),
    ],
)
def test_unknown_route_not_found(
    invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str], method: str, path: str
) -> None:
    response = invoke_api(method, path, {"flag_value": 1} if method != "GET" else None)

    assert response["statusCode"] == 404
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {
        "error": "route_not_found",
        "message": f"no route matches {method} {path}; flag routes start with /accounts/{{account_id}}/entities/",
    }
    assert_tables_empty(dynamodb, table_names)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", FLAG_PATH, "GET, PUT"),
        ("POST", FLAG_PATH, "GET, PUT"),
        ("PATCH", FLAG_PATH, "GET, PUT"),
        ("PUT", FLAGS_PATH, "GET"),
        ("POST", FLAGS_PATH, "GET"),
        ("DELETE", HISTORY_PATH, "GET"),
    ],
)
def test_wrong_method_not_allowed(
    invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str], method: str, path: str, allowed: str
) -> None:
    response = invoke_api(method, path, {"flag_value": 1})

    assert response["statusCode"] == 405
    assert response["headers"] == {"Allow": allowed, **JSON_CONTENT_TYPE}
    assert body_of(response) == {
        "error": "method_not_allowed",
        "message": f"method {method} is not allowed on {path}; use one of: {allowed}",
    }
    assert_tables_empty(dynamodb, table_names)


@pytest.mark.parametrize(
    ("account_id", "entity_id"),
    [
        ("acct 1", "model 7"),
        ("a+b", "c=d"),
        ("a#b", "c"),
        ("a", "b#c"),
        ("a/b", "c/d"),
        ("Zürich", "модель-7"),
        ("模型", "ünïcödé ñ"),
        ("100%", "%23%2F"),
        ("x" * 128, "y" * 128),
        ("😀" * 128, "#" * 128),
    ],
)
def test_tricky_ids_round_trip(
    invoke_api: ApiInvoker,
    clock: None,
    dynamodb: Any,
    table_names: dict[str, str],
    account_id: str,
    entity_id: str,
) -> None:
    path = flag_path(account_id, entity_id)

    created = invoke_api("PUT", path, {"flag_value": 2})
    fetched = invoke_api("GET", path)
    listed = invoke_api("GET", path.rsplit("/", 1)[0])

    assert created["statusCode"] == 201
    flag = {**expected_flag(body_of(created)["id"], 2, 1), "account_id": account_id, "entity_id": entity_id}
    assert body_of(created) == {**flag, "outcome": "created", "previous_value": None}
    assert fetched["statusCode"] == 200
    assert body_of(fetched) == flag
    assert listed["statusCode"] == 200
    assert body_of(listed) == {"items": [flag]}
    items = scan(dynamodb, table_names["FlagsTable"])
    assert len(items) == 1
    assert items[0]["account_id"] == {"S": account_id}
    assert items[0]["entity_id"] == {"S": entity_id}


def test_unencoded_plus_and_equals_kept(invoke_api: ApiInvoker, clock: None) -> None:
    response = invoke_api("PUT", "/accounts/a+b=c/entities/d+e/flags/Model_Function_Run", {"flag_value": 1})

    assert response["statusCode"] == 201
    assert body_of(response)["account_id"] == "a+b=c"
    assert body_of(response)["entity_id"] == "d+e"


def test_encoded_ids_do_not_collide(invoke_api: ApiInvoker, clock: None) -> None:
    invoke_api("PUT", flag_path("a#b", "c"), {"flag_value": 1})
    invoke_api("PUT", flag_path("a", "b#c"), {"flag_value": 3})

    first = body_of(invoke_api("GET", flag_path("a#b", "c")))
    second = body_of(invoke_api("GET", flag_path("a", "b#c")))

    assert (first["account_id"], first["entity_id"], first["flag_value"]) == ("a#b", "c", 1)
    assert (second["account_id"], second["entity_id"], second["flag_value"]) == ("a", "b#c", 3)


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/accounts/a%FF/entities/model-7/flags/Model_Function_Run", "account_id"),
        ("/accounts/acct-1/entities/%C3%28/flags/Model_Function_Run", "entity_id"),
        ("/accounts/acct-1/entities/model-7/flags/Model%80", "flag_name"),
    ],
)
def test_invalid_utf8_rejected(
    invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str], method: str, path: str, field: str
) -> None:
    response = invoke_api(method, path, {"flag_value": 1} if method == "PUT" else None)

    assert response["statusCode"] == 400
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == invalid_request(
        field, f"{field} is not valid UTF-8 after percent-decoding; percent-encode the id's UTF-8 bytes."
    )
    assert_tables_empty(dynamodb, table_names)


@pytest.mark.parametrize(
    ("encoded", "code"), [("%00", "U+0000"), ("%0A", "U+000A"), ("%1F", "U+001F"), ("%7F", "U+007F")]
)
@pytest.mark.parametrize("field", ["account_id", "entity_id"])
def test_control_characters_rejected(
    invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str], encoded: str, code: str, field: str
) -> None:
    account_id = f"a{encoded}b" if field == "account_id" else "acct-1"
    entity_id = f"a{encoded}b" if field == "entity_id" else "model-7"

    response = invoke_api(
        "PUT", f"/accounts/{account_id}/entities/{entity_id}/flags/Model_Function_Run", {"flag_value": 1}
    )

    assert response["statusCode"] == 400
    assert body_of(response) == invalid_request(
        field, f"{field} contains the control character {code}; {field} must be {ID_RULE}."
    )
    assert_tables_empty(dynamodb, table_names)


@pytest.mark.parametrize("field", ["account_id", "entity_id"])
def test_long_id_rejected(invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str], field: str) -> None:
    account_id = "a" * 129 if field == "account_id" else "acct-1"
    entity_id = "é" * 129 if field == "entity_id" else "model-7"

    response = invoke_api("PUT", flag_path(account_id, entity_id), {"flag_value": 1})

    assert response["statusCode"] == 400
    assert body_of(response) == invalid_request(field, f"{field} must be {ID_RULE}; got 129 characters.")
    assert_tables_empty(dynamodb, table_names)


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize("flag_name", ["model_function_run", "MODEL_FUNCTION_RUN", "Unknown", "Model%20Function"])
def test_bad_flag_name_rejected(
    invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str], method: str, flag_name: str
) -> None:
    response = invoke_api(method, f"{FLAGS_PATH}/{flag_name}", {"flag_value": 1} if method == "PUT" else None)

    decoded = flag_name.replace("%20", " ")
    assert response["statusCode"] == 400
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == invalid_request(
        "flag_name", f"flag_name {decoded!r} is not a known flag name. Use one of: {VALID_FLAG_NAMES}."
    )
    assert_tables_empty(dynamodb, table_names)


@pytest.mark.parametrize(
    ("raw_value", "shown"),
    [
        ("5", "5"),
        ("-1", "-1"),
        ("2.5", "2.5"),
        ("2.0", "2.0"),
        ("1e0", "1.0"),
        ("true", "true"),
        ("false", "false"),
        ("null", "null"),
        ('"2"', '"2"'),
        ('"in_progress"', '"in_progress"'),
        ('"IN_PROGRESS"', '"IN_PROGRESS"'),
        ('""', '""'),
        ("[2]", "[2]"),
        ('{"value": 2}', '{"value": 2}'),
    ],
)
def test_bad_flag_value_rejected(
    invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str], raw_value: str, shown: str
) -> None:
    response = invoke_api("PUT", FLAG_PATH, f'{{"flag_value": {raw_value}}}')

    assert response["statusCode"] == 400
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == invalid_request(
        "flag_value", f"flag_value {shown} is invalid. Give an integer or its exact name: {VALID_FLAG_VALUES}."
    )
    assert_tables_empty(dynamodb, table_names)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (None, "body", "body is not valid JSON (Expecting value); send a JSON object."),
        ("", "body", "body is not valid JSON (Expecting value); send a JSON object."),
        (
            "{flag_value: 2}",
            "body",
            "body is not valid JSON (Expecting property name enclosed in double quotes); send a JSON object.",
        ),
        ('{"flag_value": 2', "body", "body is not valid JSON (Expecting ',' delimiter); send a JSON object."),
        ("[2]", "body", 'body must be a JSON object such as {"flag_value": 2}.'),
        ('"In_Progress"', "body", 'body must be a JSON object such as {"flag_value": 2}.'),
        ("2", "body", 'body must be a JSON object such as {"flag_value": 2}.'),
        ("null", "body", 'body must be a JSON object such as {"flag_value": 2}.'),
        ("{}", "flag_value", 'flag_value is missing; send {"flag_value": 2} or {"flag_value": "In_Progress"}.'),
        ('{"value": 2}', "value", "unknown field 'value'; the body accepts only flag_value."),
        ('{"flag_value": 2, "attempt": 1}', "attempt", "unknown field 'attempt'; the body accepts only flag_value."),
        (
            '{"flag_value": ' + "1" * 5000 + "}",
            "body",
            'body is nested too deeply or has a number with too many digits; send {"flag_value": 2}.',
        ),
    ],
)
def test_bad_body_rejected(
    invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str], body: str | None, field: str, message: str
) -> None:
    response = invoke_api("PUT", FLAG_PATH, body)

    assert response["statusCode"] == 400
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == invalid_request(field, message)
    assert_tables_empty(dynamodb, table_names)


def test_body_invalid_utf8_rejected(invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str]) -> None:
    response = invoke_api("PUT", FLAG_PATH, b'{"flag_value": "\xff"}')

    assert response["statusCode"] == 400
    assert body_of(response) == invalid_request("body", "body is not valid UTF-8; send a UTF-8 encoded JSON object.")
    assert_tables_empty(dynamodb, table_names)


def test_body_base64_accepted(invoke_api: ApiInvoker, clock: None) -> None:
    response = invoke_api("PUT", FLAG_PATH, b'{"flag_value": "Enqueued"}')

    assert response["statusCode"] == 201
    assert body_of(response)["flag_value"] == 1


def test_body_invalid_base64_rejected(
    api_handler: ModuleType, http_event: Callable[..., dict[str, Any]], dynamodb: Any, table_names: dict[str, str]
) -> None:
    event = {**http_event("PUT", FLAG_PATH), "body": "not base64!", "isBase64Encoded": True}

    response = api_handler.lambda_handler(event, LocalLambdaContext(function_name="ApiFunction"))

    assert response["statusCode"] == 400
    assert body_of(response) == invalid_request("body", "body is marked base64-encoded but is not valid base64.")
    assert_tables_empty(dynamodb, table_names)


def test_body_over_limit_rejected(invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str]) -> None:
    body = '{"flag_value": 2}' + " " * (16 * 1024 - 16)

    response = invoke_api("PUT", FLAG_PATH, body)

    assert response["statusCode"] == 413
    assert response["headers"] == JSON_CONTENT_TYPE
    assert body_of(response) == {
        "error": "payload_too_large",
        "message": "request body is 16385 bytes; the limit is 16384 bytes, so send a smaller body",
    }
    assert_tables_empty(dynamodb, table_names)


def test_body_at_limit_accepted(invoke_api: ApiInvoker, clock: None) -> None:
    body = '{"flag_value": 2}' + " " * (16 * 1024 - 17)

    response = invoke_api("PUT", FLAG_PATH, body)

    assert response["statusCode"] == 201


def test_body_limit_counts_utf8_bytes(invoke_api: ApiInvoker, dynamodb: Any, table_names: dict[str, str]) -> None:
    body = '{"flag_value": "' + "é" * 8200 + '"}'

    response = invoke_api("PUT", FLAG_PATH, body)

    assert response["statusCode"] == 413
    assert (
        body_of(response)["message"] == "request body is 16418 bytes; the limit is 16384 bytes, so send a smaller body"
    )
    assert_tables_empty(dynamodb, table_names)


def test_write_metrics_emitted(
    invoke_api: ApiInvoker, clock: None, read_metrics: Callable[[], dict[str, list[float]]]
) -> None:
    read_metrics()

    invoke_api("PUT", FLAG_PATH, {"flag_value": 3})
    created = read_metrics()
    invoke_api("PUT", FLAG_PATH, {"flag_value": 3})
    unchanged = read_metrics()
    invoke_api("PUT", FLAG_PATH, {"flag_value": 1})
    stale = read_metrics()
    invoke_api("PUT", FLAG_PATH, {"flag_value": 4})
    advanced = read_metrics()

    assert created == {"FlagWritesAccepted": [1.0]}
    assert unchanged == {"FlagWritesUnchanged": [1.0]}
    assert stale == {"FlagWritesStale": [1.0]}
    assert advanced == {"FlagWritesAccepted": [1.0]}


def test_write_metrics_namespace(invoke_api: ApiInvoker, capsys: pytest.CaptureFixture[str], clock: None) -> None:
    capsys.readouterr()

    invoke_api("PUT", FLAG_PATH, {"flag_value": 3})

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    documents = [line for line in lines if "_aws" in line]
    assert len(documents) == 1
    directive = documents[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "StatusFlags"
    assert directive["Metrics"] == [{"Name": "FlagWritesAccepted", "Unit": "Count"}]
    assert documents[0]["service"] == "status-flags"
