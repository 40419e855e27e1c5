"""Write docs/openapi.json, the API's OpenAPI document as its routes generate it. Run it with `make openapi`."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def main() -> None:
    # The API module reads these when it is imported. Generating the document sends no AWS request,
    # so placeholders will do, and the signing key is a throwaway random one.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("FLAGS_TABLE_NAME", "unused")
    os.environ.setdefault("HISTORY_TABLE_NAME", "unused")
    os.environ.setdefault("CURSOR_SIGNING_KEY", secrets.token_hex(32))

    import api_handler

    OPENAPI_PATH.write_text(api_handler.openapi_document() + "\n", encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")


if __name__ == "__main__":
    main()
