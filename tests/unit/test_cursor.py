"""Unit tests of page cursor signing and verification."""

from __future__ import annotations

import base64
import json

import pytest

from status_flags.cursor import INVALID_CURSOR_MESSAGE, MAX_CURSOR_LENGTH, CursorSigner
from status_flags.errors import InvalidInputError

KEY = b"k" * 32
LAST_KEY = {
    "pk": {"S": "acct-1#run-4"},
    "sk": {"S": "Model_Function_Run"},
    "fleet_pk": {"S": "acct-1#Model_Function_Run#2"},
    "update_time": {"S": "2026-01-31T12:01:00.000000+00:00"},
}
SCOPE = {
    "account_id": "acct-1",
    "flag_name": "Model_Function_Run",
    "flag_value": 2,
    "updated_after": None,
    "updated_before": None,
}


def assert_rejected(signer: CursorSigner, cursor: str, scope: dict[str, object] = SCOPE) -> None:
    with pytest.raises(InvalidInputError) as raised:
        signer.verify(cursor, scope)
    assert raised.value.field == "cursor"
    assert raised.value.message == INVALID_CURSOR_MESSAGE


def test_cursor_round_trip() -> None:
    signer = CursorSigner(KEY)

    cursor = signer.sign(LAST_KEY, SCOPE)

    assert signer.verify(cursor, SCOPE) == LAST_KEY
    assert signer.verify(cursor, dict(reversed(SCOPE.items()))) == LAST_KEY
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_cursor_same_input_same_cursor() -> None:
    assert CursorSigner(KEY).sign(LAST_KEY, SCOPE) == CursorSigner(KEY).sign(LAST_KEY, SCOPE)


@pytest.mark.parametrize(
    "changed",
    [
        {"account_id": "acct-2"},
        {"flag_name": "File_EFS_Staging"},
        {"flag_value": 3},
        {"updated_after": "2026-01-31T12:00:00.000000+00:00"},
        {"updated_before": "2026-01-31T12:00:00.000000+00:00"},
    ],
)
def test_cursor_other_scope_rejected(changed: dict[str, object]) -> None:
    signer = CursorSigner(KEY)
    cursor = signer.sign(LAST_KEY, SCOPE)

    assert_rejected(signer, cursor, {**SCOPE, **changed})


def test_cursor_other_key_rejected() -> None:
    cursor = CursorSigner(KEY).sign(LAST_KEY, SCOPE)

    assert_rejected(CursorSigner(b"o" * 32), cursor)


def test_cursor_modified_payload_rejected() -> None:
    signer = CursorSigner(KEY)
    _, signature = signer.sign(LAST_KEY, SCOPE).split(".")
    altered_key = {**LAST_KEY, "pk": {"S": "acct-1#run-0"}}
    altered_payload = base64.urlsafe_b64encode(json.dumps(altered_key).encode()).rstrip(b"=").decode()

    assert_rejected(signer, f"{altered_payload}.{signature}")


def test_cursor_modified_signature_rejected() -> None:
    signer = CursorSigner(KEY)
    payload, signature = signer.sign(LAST_KEY, SCOPE).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert_rejected(signer, f"{payload}.{flipped}")


@pytest.mark.parametrize(
    "cursor",
    ["", "no-dot", "a.b.c", "!!!.???", "é.é", "x" * (MAX_CURSOR_LENGTH + 1), "."],
)
def test_cursor_malformed_rejected(cursor: str) -> None:
    assert_rejected(CursorSigner(KEY), cursor)


def test_cursor_signed_non_object_rejected() -> None:
    signer = CursorSigner(KEY)
    cursor = signer.sign([1, 2], SCOPE)  # type: ignore[arg-type]

    assert_rejected(signer, cursor)


def test_cursor_short_key_rejected() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        CursorSigner(b"k" * 31)
