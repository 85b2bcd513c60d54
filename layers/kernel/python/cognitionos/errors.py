"""Domain exceptions. Each carries the HTTP status it maps to; handlers never catch them."""

from __future__ import annotations


class DomainError(Exception):
    """A request that cannot be served as asked; ``message`` is safe to show the caller."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    status_code = 400


class Unauthorized(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class PayloadTooLarge(DomainError):
    status_code = 413


class UnsupportedMediaType(DomainError):
    status_code = 415


class Unprocessable(DomainError):
    status_code = 422


class TooManyRequests(DomainError):
    """Refused for now; ``retry_after_s`` goes out as the ``Retry-After`` header."""

    status_code = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
