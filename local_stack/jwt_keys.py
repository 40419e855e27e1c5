"""The local stack's token signing key: an RSA key pair created once under the state directory and reused.

The local JWT authorizer verifies tokens with the public half, and ``make token`` signs them with the
private half, so tokens stay valid across restarts of the local stack until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_FILE_NAME = "jwt-signing-key.pem"
KEY_SIZE_BITS = 2048
PUBLIC_EXPONENT = 65537


@dataclass(frozen=True)
class SigningKey:
    """An RSA private key and its key id (the ``kid`` header of the tokens it signs)."""

    private_key: rsa.RSAPrivateKey
    key_id: str

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()


def key_path(state_dir: Path) -> Path:
    return state_dir / KEY_FILE_NAME


def load_or_create_signing_key(state_dir: Path) -> SigningKey:
    """Load the signing key from ``state_dir``, creating the directory and a new key pair if there is none.

    Two processes that start at once (the local stack and ``make token``) end up with the same key:
    the key file appears with one atomic link, and the process that loses the race loads the winner's.
    Raises ValueError when the file exists but does not contain an RSA private key.
    """
    path = key_path(state_dir)
    if path.exists():
        return _load(path)

    state_dir.mkdir(parents=True, exist_ok=True)
    private_key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE_BITS)
    pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )

    # mkstemp creates the file readable by its owner only.
    descriptor, temporary_name = tempfile.mkstemp(dir=state_dir, prefix=".jwt-signing-key-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(pem)
        os.link(temporary_name, path)
    except FileExistsError:
        return _load(path)
    finally:
        os.unlink(temporary_name)
    return SigningKey(private_key, thumbprint(private_key.public_key()))


def _load(path: Path) -> SigningKey:
    try:
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as error:
        raise ValueError(f"{path} is not a PEM private key ({error}); delete it to create a new key pair") from None

    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} contains a {type(private_key).__name__}, not an RSA key; delete it to create one")
    return SigningKey(private_key, thumbprint(private_key.public_key()))


def thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """Return the RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA public key, used as its key id."""
    numbers = public_key.public_numbers()
    members = {"e": _base64url_uint(numbers.e), "kty": "RSA", "n": _base64url_uint(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _base64url(hashlib.sha256(canonical).digest())


def _base64url_uint(value: int) -> str:
    return _base64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
