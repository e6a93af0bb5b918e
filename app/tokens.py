"""Who may read and who may change the library: the admin and read tokens of `qa serve`.

A token comes from a file or an environment variable, never from the command line's arguments (other users
of the machine can read those), is at least 16 characters, and is compared in constant time.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from pathlib import Path

TOKEN_VARIABLES = {"admin": "MQ_ADMIN_TOKEN", "read": "MQ_READ_TOKEN"}


@dataclass(frozen=True)
class Tokens:
    """The admin token (writes) and the read token (reads); None: writes are off / reads are open."""

    admin: str | None = None
    read: str | None = None

    @classmethod
    def load(cls, admin_file: Path | None = None, read_file: Path | None = None) -> Tokens:
        """Each token from its file when given, else from MQ_ADMIN_TOKEN / MQ_READ_TOKEN."""
        found = {}
        for role, file in (("admin", admin_file), ("read", read_file)):
            value = Path(file).read_text(encoding="utf-8") if file else os.environ.get(TOKEN_VARIABLES[role], "")
            if value.strip() and len(value.strip()) < 16:
                raise ValueError(f"the {role} token must be at least 16 characters ({file or TOKEN_VARIABLES[role]})")
            if file and not value.strip():
                raise ValueError(f"the {role} token file {file} is empty")
            found[role] = value.strip() or None  # an empty variable is no token
        return cls(**found)

    def reads(self, given: str | None) -> bool:
        return self.read is None or _same(given, self.read) or _same(given, self.admin)

    def writes(self, given: str | None) -> bool:
        return _same(given, self.admin)


def _same(given: str | None, token: str | None) -> bool:
    return given is not None and token is not None and hmac.compare_digest(given.encode(), token.encode())
