"""Domain invariant violations. Business refusals are verdicts, never exceptions."""


class DomainError(Exception):
    """An input broke an invariant the domain relies on (a bug in the caller)."""
