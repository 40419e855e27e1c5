"""Page cursors: a DynamoDB LastEvaluatedKey, signed with HMAC-SHA256 so that clients cannot alter it.

A cursor is ``<payload>.<signature>``, both base64url without padding. The payload is the key as JSON.
The signature covers the key and a scope (the account and the query's parameters), so a cursor only
continues the query that issued it. The key inside is readable, but it contains only ids the caller already has.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from status_flags.errors import InvalidInputError

MIN_SIGNING_KEY_BYTES = 32
MAX_CURSOR_LENGTH = 4096

# Changing the payload format changes this label, so cursors of the old format fail verification.
_SIGNATURE_LABEL = b"status-flags cursor v1\n"

INVALID_CURSOR_MESSAGE = (
    "cursor is invalid, or was issued for another account or another query; send the cursor unchanged "
    "with the same query parameters as the request that returned it, or omit cursor to start from the first page."
)

Key = dict[str, dict[str, Any]]


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    padding = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode((text + padding).encode("ascii"))


class CursorSigner:
    """Signs and verifies page cursors with one HMAC-SHA256 key.

    NOTE: there is one key at a time, so replacing it makes every outstanding cursor invalid (400).
    Clients then restart their query from the first page.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_SIGNING_KEY_BYTES:
            raise ValueError(f"the cursor signing key must be at least {MIN_SIGNING_KEY_BYTES} bytes")
        self._key = key

    def sign(self, last_key: Key, scope: Mapping[str, Any]) -> str:
        """Return the cursor that continues the query ``scope`` after ``last_key``."""
        payload = _canonical_json(last_key)
        return f"{_encode(payload)}.{_encode(self._signature(payload, scope))}"

    def verify(self, cursor: str, scope: Mapping[str, Any]) -> Key:
        """Return the key inside ``cursor`` if this signer issued it for ``scope``.

        Raises InvalidInputError (field ``cursor``) for a cursor that is malformed, altered, signed
        with another key, or issued for another account or other query parameters.
        """
        invalid = InvalidInputError("cursor", INVALID_CURSOR_MESSAGE)
        if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise invalid

        encoded_payload, encoded_signature = cursor.split(".")
        try:
            payload = _decode(encoded_payload)
            signature = _decode(encoded_signature)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise invalid from None

        if not hmac.compare_digest(signature, self._signature(payload, scope)):
            raise invalid

        last_key = json.loads(payload)
        if not isinstance(last_key, dict):
            raise invalid
        return last_key

    def _signature(self, payload: bytes, scope: Mapping[str, Any]) -> bytes:
        message = _SIGNATURE_LABEL + _canonical_json(dict(scope)) + b"\n" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()
