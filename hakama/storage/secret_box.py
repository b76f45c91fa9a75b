"""Secrets kept encrypted at rest (a record source's API key or password).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key kept in the data folder's
`secrets/` beside the cookie-signing key: the database alone (a dump, a backup of it, a
replica) never holds a usable secret. The key is made on first use, readable by its owner only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hakama.core.errors import Invalid

KEY_FILE = "at_rest.key"
SESSION_KEY_FILE = "secret_key"


class SecretBox:
    """Seal and open short secrets with the data folder's key."""

    def __init__(self, secrets_dir: Path) -> None:
        self._path = secrets_dir / KEY_FILE
        self._fernet: Fernet | None = None

    def seal(self, secret: str) -> str:
        return self._key().encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._key().decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise Invalid(
                f"a stored secret cannot be decrypted with this data folder's key "
                f"({self._path.name}): enter it again"
            ) from None

    def _key(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(self._read_or_make())
        return self._fernet

    def _read_or_make(self) -> bytes:
        return read_or_make(self._path, Fernet.generate_key)


def session_key(secrets_dir: Path, configured: str | None) -> str:
    """The cookie-signing key: the configured one, else one kept in `secrets_dir` (made once)."""
    if configured:
        return configured
    path = secrets_dir / SESSION_KEY_FILE
    return read_or_make(path, lambda: secrets.token_urlsafe(48).encode()).decode()


def read_or_make(path: Path, make: Callable[[], bytes]) -> bytes:
    """The key in `path`, made by `make` first if there is none (readable by its owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(make())
            out.flush()
            os.fsync(out.fileno())
        try:  # a link never replaces: two processes starting at once keep one key
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes().strip()
