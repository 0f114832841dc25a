"""Secrets we must keep and use again (a group robot's webhook key): encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from `DATA_KEY`; in development, where
`DATA_KEY` may be empty, from the JWT secret instead. Production requires `DATA_KEY`.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from api.config import Settings


class SecretUnreadable(Exception):
    """The stored cipher text does not open with the configured key (the key was changed)."""


def _fernet(settings: Settings) -> Fernet:
    material = settings.data_key.get_secret_value() or settings.jwt_secret.get_secret_value()
    digest = hashlib.sha256(b"pioneer-points data key\0" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(settings: Settings, plain: str) -> str:
    return _fernet(settings).encrypt(plain.encode()).decode()


def unseal(settings: Settings, cipher: str) -> str:
    try:
        return _fernet(settings).decrypt(cipher.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable() from exc
