from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from app.api.schemas.common import CustomerId, Limit, RequestModel, Timestamp
from app.api.schemas.examples import example
from app.domain.codegen import DEFAULT_CHARSET, DEFAULT_LENGTH
from app.domain.pools import CodeJob as CodeJobValue
from app.domain.pools import JobKind, JobStatus
from app.services.pools import GenerationTerms

# Letters, digits and '-', '_', '.' (and the placeholders in a pattern); the service explains
# what else is wrong with a spec.
_Affix = Annotated[str, Field(max_length=32, pattern=r"^[A-Za-z0-9._-]*$")]


class CodeGenerationCreate(RequestModel):
    """Refused unless the spec's space of possible codes is at least 1,000,000 times the
    count, so that a guess stays a long shot."""

    model_config = example("CodeGenerationCreate")

    count: int = Field(ge=1, le=10_000_000, description="How many codes to generate")
    charset: str = Field(
        default=DEFAULT_CHARSET,
        min_length=2,
        max_length=62,
        pattern=r"^[A-Za-z0-9]+$",
        description="Characters to draw from (matched case-insensitively); the default leaves "
        "out look-alikes such as 0/O and 1/I/L",
    )
    length: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description=f"Random characters per code (default {DEFAULT_LENGTH}); not with pattern",
    )
    pattern: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._#?*-]+$",
        examples=["WELCOME-####-????"],
        description="'#' a digit, '?' a letter, '*' any character of the charset; the rest "
        "is kept as written",
    )
    prefix: _Affix = ""
    suffix: _Affix = ""
    max_redemptions: Limit | None = Field(
        default=1, description="Uses per code; pool codes are single use unless set"
    )
    per_customer_limit: Limit | None = None
    expires_at: Timestamp | None = None

    def to_terms(self) -> GenerationTerms:
        return GenerationTerms(
            count=self.count,
            charset=self.charset,
            length=self.length,
            pattern=self.pattern,
            prefix=self.prefix,
            suffix=self.suffix,
            max_redemptions=self.max_redemptions,
            per_customer_limit=self.per_customer_limit,
            expires_at=self.expires_at,
        )


class CodeJob(BaseModel):
    id: UUID
    campaign_id: UUID
    kind: JobKind
    status: JobStatus
    requested: int
    created: int = Field(description="Codes written so far; they exist and can be used")
    spec: dict[str, Any]
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: CodeJobValue) -> "CodeJob":
        return cls(
            id=job.id,
            campaign_id=job.campaign_id,
            kind=job.kind,
            status=job.status,
            requested=job.requested,
            created=job.created,
            spec=dict(job.spec),
            error=job.error,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )


class ClaimCreate(RequestModel):
    model_config = example("ClaimCreate")

    customer_id: CustomerId


class CodeImported(BaseModel):
    imported: int = Field(description="Codes added to the pool")
