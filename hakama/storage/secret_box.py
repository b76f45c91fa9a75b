"""Secrets kept encrypted at rest (a record source's API key or password).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key kept in the data folder's
`secrets/` beside the cookie-signing key: the database alone (a dump, a backup of it, a
replica) never holds a usable secret. The key is made on first use, readable by its owner only.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hakama.core.errors import Invalid

KEY_FILE = "at_rest.key"


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
        if not self._path.exists():
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_name(f".{KEY_FILE}.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
                out.flush()
                os.fsync(out.fileno())
            try:  # a link never replaces: two processes starting at once keep one key
                os.link(tmp, self._path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return self._path.read_bytes().strip()
