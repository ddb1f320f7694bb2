"""Bulk work on a campaign's pool of unique codes, as stored."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class JobKind(StrEnum):
    GENERATE = "generate"


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CodeJob:
    id: UUID
    campaign_id: UUID
    kind: JobKind
    status: JobStatus
    requested: int
    created: int
    spec: Mapping[str, object]
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
