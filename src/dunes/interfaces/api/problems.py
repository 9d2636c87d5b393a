"""Errors to RFC 9457 problem details: each ``DunesError`` is converted here, and only here.

The body is ``{"type", "title", "status", "detail", "instance", "field"}`` with the media type
``application/problem+json``. Unexpected exceptions become a 500 whose detail says nothing about
the internals; the traceback goes to the log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from dunes import errors

log = logging.getLogger("dunes.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:dunes:problem:"


class Problem(BaseModel):
    """RFC 9457 problem details, plus the request field that was wrong."""

    type: str = Field(examples=["urn:dunes:problem:circuit-validation"])
    title: str = Field(examples=["Invalid circuit"])
    status: int = Field(examples=[422])
    detail: str = Field(
        examples=["circuit has 40 qubits; the limit is 32 (setting quantum.max_qubits)"]
    )
    instance: str | None = Field(None, examples=["/v1/simulate"])
    field: str | None = Field(None, examples=["circuit"])
    job_id: str | None = Field(None, description="The job concerned, when there is one.")


#: The status of each kind of error (``dunes.errors.ErrorKind``).
STATUS: dict[errors.ErrorKind, int] = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthorized": 401,
    "misdirected": 421,
    "too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
    "failed": 500,
}


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    job_id: str | None = None,
) -> JSONResponse:
    """One problem-details response."""
    body = Problem(
        type=TYPE_PREFIX + slug,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        field=field,
        job_id=job_id,
    )
    return JSONResponse(
        body.model_dump(exclude={"job_id"} if job_id is None else set()),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def dunes_error_response(exc: errors.DunesError, instance: str | None = None) -> JSONResponse:
    """Convert a DunesError (the one place this happens)."""
    status = STATUS[exc.kind]
    headers: dict[str, str] = {}
    if isinstance(exc, errors.AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="dunes"'
    if isinstance(exc, errors.RateLimitedError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    if status >= 500:
        log.error("%s on %s: %s", type(exc).__name__, instance, exc, exc_info=exc)
    else:
        log.info("%s on %s: %s", type(exc).__name__, instance, exc)
    return problem_response(
        status=status,
        slug=exc.code,
        title=exc.title,
        detail=exc.message,
        instance=instance,
        field=exc.field,
        headers=headers or None,
        job_id=exc.job_id if isinstance(exc, errors.JobError) else None,
    )


def _validation_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _on_dunes_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DunesError)
    return dunes_error_response(exc, request.url.path)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    field = _validation_field(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return problem_response(
            status=400,
            slug="malformed-json",
            title="Malformed JSON",
            detail=f"the request body is not valid JSON: {first.get('msg')}",
            instance=request.url.path,
            field="body",
        )
    message = str(first.get("msg", "invalid value"))
    expected = (first.get("ctx") or {}).get("expected")
    if expected and str(expected) not in message:
        message = f"{message}; accepted: {expected}"
    return problem_response(
        status=422,
        slug="invalid-input",
        title="Invalid input",
        detail=f"{field}: {message}",
        instance=request.url.path,
        field=field,
    )


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable"}
    return problem_response(
        status=exc.status_code,
        slug=f"http-{exc.status_code}",
        title=titles.get(exc.status_code, "HTTP error"),
        detail=str(exc.detail),
        instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        status=500,
        slug="internal",
        title="Internal error",
        detail="an unexpected error occurred; it has been logged",
        instance=request.url.path,
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(errors.DunesError, _on_dunes_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)


_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}

#: OpenAPI ``responses`` shared by every router: any error is a Problem.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": description, "content": _PROBLEM_CONTENT}
    for code, description in (
        (422, "Invalid input"),
        ("4XX", "Client error"),
        ("5XX", "Server error"),
    )
}
