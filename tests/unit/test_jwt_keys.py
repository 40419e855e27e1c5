"""The local stack's signing key: created once under the state directory, then reused."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

from local_stack.jwt_keys import KEY_FILE_NAME, load_or_create_signing_key, thumbprint


def public_pem(key: object) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]


def test_signing_key_persists_across_loads(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"

    first = load_or_create_signing_key(state_dir)
    second = load_or_create_signing_key(state_dir)

    assert public_pem(first.public_key) == public_pem(second.public_key)
    assert first.key_id == second.key_id
    assert [path.name for path in state_dir.iterdir()] == [KEY_FILE_NAME]


def test_signing_key_file_owner_only(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path)

    mode = stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode)
    assert mode == 0o600


def test_signing_key_rsa_2048(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path)

    assert key.private_key.key_size == 2048
    assert key.key_id == thumbprint(key.public_key)


def test_signing_key_separate_state_dirs_differ(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path / "one")
    second = load_or_create_signing_key(tmp_path / "two")

    assert first.key_id != second.key_id


def test_signing_key_invalid_file(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("not a key")

    with pytest.raises(ValueError, match="delete it to create a new key pair"):
        load_or_create_signing_key(tmp_path)


def test_signing_key_non_rsa_file(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / KEY_FILE_NAME).write_bytes(pem)

    with pytest.raises(ValueError, match="not an RSA key"):
        load_or_create_signing_key(tmp_path)


def test_thumbprint_rfc7638_example() -> None:
    """The RFC 7638 section 3.1 example key has the thumbprint the RFC gives."""

    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
        "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr"
        "n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    modulus = int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big")
    public_key = RSAPublicNumbers(65537, modulus).public_key()

    assert thumbprint(public_key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
