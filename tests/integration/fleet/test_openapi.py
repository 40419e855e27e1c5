"""Tests of the published OpenAPI document and the Swagger UI page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from local_stack.template import load_template

COMMITTED_OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_openapi_committed_copy_matches_routes(api_module: ModuleType) -> None:
    generated = api_module.openapi_document() + "\n"

    committed = COMMITTED_OPENAPI.read_text(encoding="utf-8")

    assert committed == generated, "docs/openapi.json is out of date; run `make openapi` and commit the result"


def test_openapi_served_at_route(invoke: Any, api_module: ModuleType) -> None:
    status, body = invoke("GET", "/openapi.json")

    assert status == 200
    assert body == json.loads(api_module.openapi_document())
    assert body["openapi"].startswith("3.")


def test_openapi_lists_every_template_route(invoke: Any) -> None:
    _, document = invoke("GET", "/openapi.json")
    events = load_template()["Resources"]["ApiFunction"]["Properties"]["Events"]
    template_routes = {
        (event["Properties"]["Method"].lower(), event["Properties"]["Path"])
        for event in events.values()
        if "Path" in event["Properties"] and event["Properties"]["Path"] not in ("/openapi.json", "/swagger")
    }

    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}

    assert documented == template_routes


def test_openapi_documents_batch_request_and_errors(invoke: Any) -> None:
    _, document = invoke("GET", "/openapi.json")
    batch = document["paths"]["/accounts/{account_id}/flags/batch"]["post"]
    schemas = document["components"]["schemas"]

    assert batch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BatchRequest"
    }
    assert set(batch["responses"]) == {"200", "400", "409"}
    assert schemas["BatchRequest"]["properties"]["updates"]["maxItems"] == 100
    assert schemas["BatchRequest"]["additionalProperties"] is False
    assert all(
        "422" not in operation["responses"] for path in document["paths"].values() for operation in path.values()
    )
    assert "HTTPValidationError" not in schemas


def test_swagger_page_loads_nothing_from_other_hosts(invoke: Any) -> None:
    status, page = invoke("GET", "/swagger")

    assert status == 200
    assert "<title>Swagger UI</title>" in page
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page) == []
    assert '"/accounts/{account_id}/flags/batch"' in page
