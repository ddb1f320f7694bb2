"""API keys as the rest of the service sees them (never with their secret)."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class Scope(StrEnum):
    CHECKOUT = "checkout"
    SUPPORT = "support"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: UUID
    name: str
    key_prefix: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    revoked_at: datetime | None

    def holds(self, scope: Scope) -> bool:
        """Admin holds every scope."""
        return scope in self.scopes or Scope.ADMIN in self.scopes
