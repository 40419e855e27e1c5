"""Unit tests of id validation and the DynamoDB keys built from ids."""

from __future__ import annotations

import itertools

import pytest

from status_flags.errors import InvalidInputError
from status_flags.keys import MAX_ID_LENGTH, entity_key, escape_id, flag_key, validate_id
from status_flags.models import FlagName

TRICKY_IDS = ["a", "a#b", "b#c", "a%23", "a#", "a%", "%", "#", "##", "%25", "a b", "a+b=c", "a/b", "Zürich-ñ", "模型"]


def unescape_id(value: str) -> str:
    """Reverse escape_id, to show that an escaped id loses nothing."""
    return value.replace("%23", "#").replace("%25", "%")


@pytest.mark.parametrize(
    "value", ["x", "x" * MAX_ID_LENGTH, "a b", "a+b", "a=b", "a#b", "a/b", "a%2Fb", "Zürich", "模型-7", "😀"]
)
def test_validate_id_accepts(value: str) -> None:
    assert validate_id(value, "entity_id") == value


def test_validate_id_rejects_empty() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_id("", "account_id")

    assert caught.value.field == "account_id"
    assert caught.value.message == (
        "account_id must be 1 to 128 characters; any Unicode letters, digits, spaces and punctuation "
        "(including + = # / and %) are allowed, but not control characters; got 0 characters."
    )


def test_validate_id_rejects_too_long() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_id("x" * (MAX_ID_LENGTH + 1), "entity_id")

    assert caught.value.field == "entity_id"
    assert caught.value.message.startswith("entity_id must be 1 to 128 characters;")
    assert caught.value.message.endswith("got 129 characters.")


@pytest.mark.parametrize(
    ("character", "code"), [("\x00", "U+0000"), ("\n", "U+000A"), ("\x7f", "U+007F"), ("\x85", "U+0085")]
)
def test_validate_id_rejects_control_characters(character: str, code: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_id(f"a{character}b", "entity_id")

    assert caught.value.field == "entity_id"
    assert caught.value.message.startswith(f"entity_id contains the control character {code}; entity_id must be")


def test_validate_id_rejects_surrogate() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_id("a\udcffb", "account_id")

    assert caught.value.field == "account_id"
    assert "U+DCFF" in caught.value.message


def test_entity_key_separates_with_hash() -> None:
    assert entity_key("acct-1", "model-7") == "acct-1#model-7"


def test_entity_key_escapes_separator_and_percent() -> None:
    assert entity_key("a#b", "c") == "a%23b#c"
    assert entity_key("a", "b#c") == "a#b%23c"
    assert entity_key("a%23", "b") == "a%2523#b"
    assert entity_key("a#", "b") == "a%23#b"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a#b", "c"), ("a", "b#c")),
        (("a%23", "b"), ("a#", "b")),
        (("a%", "23b"), ("a", "%23b")),
        (("a", "#"), ("a#", "")),
    ],
)
def test_entity_key_distinct_for_tricky_pairs(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert entity_key(*first) != entity_key(*second)


def test_entity_key_injective_over_tricky_ids() -> None:
    pairs = list(itertools.product(TRICKY_IDS, repeat=2))

    keys = {entity_key(account_id, entity_id) for account_id, entity_id in pairs}

    assert len(keys) == len(pairs)


@pytest.mark.parametrize("value", TRICKY_IDS)
def test_escape_id_round_trip(value: str) -> None:
    escaped = escape_id(value)

    assert "#" not in escaped
    assert unescape_id(escaped) == value


@pytest.mark.parametrize(("account_id", "entity_id"), list(itertools.product(TRICKY_IDS, repeat=2)))
def test_entity_key_splits_back(account_id: str, entity_id: str) -> None:
    escaped_account, escaped_entity = entity_key(account_id, entity_id).split("#")

    assert unescape_id(escaped_account) == account_id
    assert unescape_id(escaped_entity) == entity_id


def test_flag_key_form() -> None:
    assert flag_key("a#b", "c", FlagName.FILE_IMAGE_BUILD) == {
        "pk": {"S": "a%23b#c"},
        "sk": {"S": "File_Image_Build"},
    }
