"""Errors a use case raises. Each carries its stable code and HTTP status; the API renders them
as problem+json. Business refusals in /validate are verdicts, not errors."""

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    INVALID_CURSOR = "invalid_cursor"
    MALFORMED_JSON = "malformed_json"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CAMPAIGN_NOT_FOUND = "campaign_not_found"
    CODE_NOT_FOUND = "code_not_found"
    REDEMPTION_NOT_FOUND = "redemption_not_found"
    HOLD_NOT_FOUND = "hold_not_found"
    HOLD_ENDED = "hold_ended"
    HOLD_TOO_LONG = "hold_too_long"
    NOT_RETURNABLE = "not_returnable"
    WEBHOOK_NOT_FOUND = "webhook_not_found"
    WEBHOOK_DELIVERY_NOT_FOUND = "webhook_delivery_not_found"
    INVALID_RETURN = "invalid_return"
    API_KEY_NOT_FOUND = "api_key_not_found"
    CODE_ALREADY_EXISTS = "code_already_exists"
    CODE_IN_USE = "code_in_use"
    INVALID_CAMPAIGN = "invalid_campaign"
    INVALID_CART = "invalid_cart"
    INVALID_CODE = "invalid_code"
    INVALID_CODE_TERMS = "invalid_code_terms"
    REDEMPTION_REFUSED = "redemption_refused"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INVALID_CODE_SPEC = "invalid_code_spec"
    CODE_SPACE_TOO_SMALL = "code_space_too_small"
    POOL_EXHAUSTED = "pool_exhausted"
    JOB_NOT_FOUND = "job_not_found"
    IMPORT_REJECTED = "import_rejected"
    ISSUING_LIMIT_EXCEEDED = "issuing_limit_exceeded"
    ISSUING_LIMITS_NOT_FOUND = "issuing_limits_not_found"
    INVALID_SUPPORT_CODE = "invalid_support_code"
    TOO_MANY_FAILED_GUESSES = "too_many_failed_guesses"
    PROGRAM_NOT_FOUND = "program_not_found"
    REFERRAL_PROGRAM_NOT_FOUND = "referral_program_not_found"
    INVALID_PROGRAM = "invalid_program"
    PROGRAM_ARCHIVED = "program_archived"
    REWARD_NOT_FOUND = "reward_not_found"
    REWARD_ARCHIVED = "reward_archived"
    CURRENCY_MISMATCH = "currency_mismatch"
    ORDER_ALREADY_EARNED = "order_already_earned"
    INSUFFICIENT_POINTS = "insufficient_points"
    POINTS_LIMIT_EXCEEDED = "points_limit_exceeded"
    BALANCE_CODE_NOT_FOUND = "balance_code_not_found"
    INVALID_GIFT_CARD = "invalid_gift_card"
    SERVICE_UNAVAILABLE = "service_unavailable"
    INTERNAL_ERROR = "internal_error"


class AppError(Exception):
    code: ClassVar[ErrorCode]
    status: ClassVar[int]
    title: ClassVar[str]

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions
        self.headers: dict[str, str] | None = None


class Unauthorized(AppError):
    code = ErrorCode.UNAUTHORIZED
    status = 401
    title = "Missing or invalid API key"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        # RFC 9110: a 401 names the scheme that would work.
        self.headers = {"WWW-Authenticate": 'Bearer realm="tessera"'}


class Forbidden(AppError):
    code = ErrorCode.FORBIDDEN
    status = 403
    title = "The API key lacks the scope for this operation"


class CampaignNotFound(AppError):
    code = ErrorCode.CAMPAIGN_NOT_FOUND
    status = 404
    title = "Campaign not found"


class CodeNotFound(AppError):
    code = ErrorCode.CODE_NOT_FOUND
    status = 404
    title = "Code not found"


class RedemptionNotFound(AppError):
    code = ErrorCode.REDEMPTION_NOT_FOUND
    status = 404
    title = "Redemption not found"


class WebhookNotFound(AppError):
    code = ErrorCode.WEBHOOK_NOT_FOUND
    status = 404
    title = "Webhook endpoint not found"


class WebhookDeliveryNotFound(AppError):
    code = ErrorCode.WEBHOOK_DELIVERY_NOT_FOUND
    status = 404
    title = "Webhook delivery not found"


class NotReturnable(AppError):
    code = ErrorCode.NOT_RETURNABLE
    status = 409
    title = "The redemption's lines cannot be returned"


class InvalidReturn(AppError):
    code = ErrorCode.INVALID_RETURN
    status = 422
    title = "The lines to return are not in the order"


class HoldNotFound(AppError):
    code = ErrorCode.HOLD_NOT_FOUND
    status = 404
    title = "Hold not found"


class HoldEnded(AppError):
    code = ErrorCode.HOLD_ENDED
    status = 409
    title = "The hold holds nothing any more"


class HoldTooLong(AppError):
    """hold_seconds beyond the service's TESSERA_HOLDS__MAX_SECONDS: a setting of the running
    service, so not in the committed spec's schema."""

    code = ErrorCode.HOLD_TOO_LONG
    status = 422
    title = "The hold would last too long"


class ApiKeyNotFound(AppError):
    code = ErrorCode.API_KEY_NOT_FOUND
    status = 404
    title = "API key not found"


class CodeAlreadyExists(AppError):
    code = ErrorCode.CODE_ALREADY_EXISTS
    status = 409
    title = "A code with this text already exists"


class CodeInUse(AppError):
    code = ErrorCode.CODE_IN_USE
    status = 409
    title = "The code has been used, so it is kept"


class InvalidCampaign(AppError):
    code = ErrorCode.INVALID_CAMPAIGN
    status = 422
    title = "The campaign's terms are inconsistent"


class InvalidCart(AppError):
    """A cart whose parts disagree (shipping methods), beyond what its schema says."""

    code = ErrorCode.INVALID_CART
    status = 422
    title = "The cart is not consistent"


class InvalidCode(AppError):
    code = ErrorCode.INVALID_CODE
    status = 422
    title = "The code's text is not a valid code"


class InvalidCodeTerms(AppError):
    code = ErrorCode.INVALID_CODE_TERMS
    status = 422
    title = "The code's terms are inconsistent"


class RedemptionRefused(AppError):
    code = ErrorCode.REDEMPTION_REFUSED
    status = 409
    title = "One or more codes cannot be redeemed for this order"

    def __init__(self, detail: str, *, replayed: bool = False, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.replayed = replayed
        if replayed:
            self.headers = {"Idempotent-Replayed": "true"}


class IdempotencyKeyReused(AppError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    status = 409
    title = "The Idempotency-Key was already used with a different request"


class ServiceUnavailable(AppError):
    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 503
    title = "The service cannot serve requests right now"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.headers = {"Retry-After": "1"}


class InvalidParameter(AppError):
    code = ErrorCode.VALIDATION_ERROR
    status = 422
    title = "The request is not valid"


class InvalidCursor(AppError):
    code = ErrorCode.INVALID_CURSOR
    status = 422
    title = "The cursor was not issued by this API"


class InvalidCodeSpec(AppError):
    code = ErrorCode.INVALID_CODE_SPEC
    status = 422
    title = "The code spec cannot produce valid codes"


class CodeSpaceTooSmall(AppError):
    code = ErrorCode.CODE_SPACE_TOO_SMALL
    status = 422
    title = "Too many codes for the spec's space: they would be guessable"


class PoolExhausted(AppError):
    code = ErrorCode.POOL_EXHAUSTED
    status = 409
    title = "The campaign's pool has no unclaimed code left"


class JobNotFound(AppError):
    code = ErrorCode.JOB_NOT_FOUND
    status = 404
    title = "Job not found"


class ImportRejected(AppError):
    code = ErrorCode.IMPORT_REJECTED
    status = 422
    title = "The import file was refused as a whole"


class UnsupportedMediaType(AppError):
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    status = 415
    title = "Unsupported media type"


class IssuingLimitExceeded(AppError):
    code = ErrorCode.ISSUING_LIMIT_EXCEEDED
    status = 422
    title = "The code is more than this API key may issue"


class IssuingLimitsNotFound(AppError):
    code = ErrorCode.ISSUING_LIMITS_NOT_FOUND
    status = 404
    title = "The API key has no issuing limits"


class InvalidSupportCode(AppError):
    code = ErrorCode.INVALID_SUPPORT_CODE
    status = 422
    title = "The support code takes nothing off, or too much at once"


class TooManyFailedGuesses(AppError):
    code = ErrorCode.TOO_MANY_FAILED_GUESSES
    status = 429
    title = "Too many unknown codes were tried; wait before trying codes again"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class ReferralProgramNotFound(AppError):
    code = ErrorCode.REFERRAL_PROGRAM_NOT_FOUND
    status = 404
    title = "Referral program not found"


class ProgramNotFound(AppError):
    code = ErrorCode.PROGRAM_NOT_FOUND
    status = 404
    title = "Loyalty program not found"


class InvalidProgram(AppError):
    code = ErrorCode.INVALID_PROGRAM
    status = 422
    title = "The loyalty program's terms are inconsistent"


class ProgramArchived(AppError):
    code = ErrorCode.PROGRAM_ARCHIVED
    status = 409
    title = "The loyalty program is archived and earns nothing more"


class RewardNotFound(AppError):
    code = ErrorCode.REWARD_NOT_FOUND
    status = 404
    title = "Reward not found"


class RewardArchived(AppError):
    code = ErrorCode.REWARD_ARCHIVED
    status = 409
    title = "The reward can no longer be bought"


class CurrencyMismatch(AppError):
    code = ErrorCode.CURRENCY_MISMATCH
    status = 422
    title = "The amount is in another currency than the balance"


class OrderAlreadyEarned(AppError):
    code = ErrorCode.ORDER_ALREADY_EARNED
    status = 409
    title = "The order already earned points, for a different amount"


class InsufficientPoints(AppError):
    code = ErrorCode.INSUFFICIENT_POINTS
    status = 409
    title = "The member does not have that many points available"


class PointsLimitExceeded(AppError):
    code = ErrorCode.POINTS_LIMIT_EXCEEDED
    status = 422
    title = "The order would earn more points than one credit may hold"


class BalanceCodeNotFound(AppError):
    code = ErrorCode.BALANCE_CODE_NOT_FOUND
    status = 404
    title = "Gift card or wallet not found"


class InvalidGiftCard(AppError):
    code = ErrorCode.INVALID_GIFT_CARD
    status = 422
    title = "The gift card cannot be issued or topped up like this"
