"""Webhook secrets are kept encrypted at rest: the receiver must know the secret itself to
check an HMAC, so a one-way hash (as for API tokens) cannot do.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived by HKDF-SHA256 from
`EXECDASH_SECRETS_KEY` when set, otherwise from `SECRET_KEY`. Changing the key material
makes the stored secrets unreadable: the affected webhooks refuse deliveries until their
secret is rotated.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "secret_open", "secret_seal"]

_SALT = b"execdash.webhooks.secrets"
_INFO = b"fernet-key-v1"


@functools.lru_cache(maxsize=4)
def _fernet(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _key_material() -> str:
    return getattr(settings, "EXECDASH_SECRETS_KEY", "") or settings.SECRET_KEY


def secret_seal(plain: str) -> str:
    """The secret encrypted for storage (ASCII)."""
    return _fernet(_key_material()).encrypt(plain.encode()).decode("ascii")


def secret_open(sealed: str) -> str:
    """The stored secret decrypted; raises InvalidToken when the key material changed."""
    return _fernet(_key_material()).decrypt(sealed.encode("ascii")).decode()
