from pydantic import BaseModel, Field


class PurgeRun(BaseModel):
    idempotency_keys: int = Field(description="Keys past their 24 h lifetime, deleted")
    guess_windows: int = Field(description="Failed-guess windows that had ended, deleted")
    verdicts: int = Field(description="Customers' logged verdicts older than 30 days, deleted")
    events: int = Field(
        description="Events older than 30 days, deleted with their webhook deliveries"
    )
    jobs: int = Field(description="Jobs that ended more than 7 days ago, deleted")
