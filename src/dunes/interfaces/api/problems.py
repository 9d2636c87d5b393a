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


# Most specific first: the first class an error is an instance of decides.
_MAP: tuple[tuple[type[errors.DunesError], int, str, str], ...] = (
    (errors.AuthenticationError, 401, "unauthorized", "Missing or invalid API key"),
    (errors.RateLimitedError, 429, "rate-limited", "Too many requests"),
    (errors.LimitExceededError, 413, "limit-exceeded", "Limit exceeded"),
    (errors.InvalidInputError, 422, "invalid-input", "Invalid input"),
    (errors.CircuitSyntaxError, 422, "circuit-syntax", "Circuit does not parse"),
    (errors.CircuitError, 422, "circuit-validation", "Invalid circuit"),
    (errors.InsufficientMemoryError, 422, "insufficient-memory", "State does not fit memory"),
    (errors.DeviceError, 422, "device", "Device not usable"),
    (errors.JobNotFoundError, 404, "job-not-found", "Job not found"),
    (errors.JobCancelledError, 409, "job-cancelled", "Job cancelled"),
    (errors.BrokerUnavailableError, 503, "broker-unavailable", "Broker unavailable"),
    (errors.JobError, 409, "job", "Job error"),
    (errors.MamlSyntaxError, 422, "maml-syntax", "MAML document does not parse"),
    (errors.MamlValidationError, 422, "maml-validation", "Invalid MAML document"),
    (errors.MamlPermissionError, 403, "maml-permission", "MAML action not permitted"),
    (errors.MamlSignatureError, 403, "maml-signature", "MAML signature not trusted"),
    (errors.MamlError, 422, "maml", "MAML error"),
    (errors.NodeNotFoundError, 404, "node-not-found", "Graph node not found"),
    (errors.ArtifactError, 404, "artifact", "Artifact not available"),
    (errors.StoreError, 503, "store", "Store unavailable"),
    (errors.ModelNotFoundError, 503, "model-not-found", "Model not available"),
    (errors.AgentError, 500, "agent", "Agent failed"),
    (errors.SimulationError, 500, "simulation", "Simulation failed"),
    (errors.MissingDependencyError, 503, "missing-dependency", "Optional dependency missing"),
    (errors.ConfigError, 500, "config", "Server misconfigured"),
)


def classify(exc: errors.DunesError) -> tuple[int, str, str]:
    """(status, type slug, title) for a DunesError."""
    if type(exc) is errors.AgentError and exc.field is not None:
        return 422, "agent-input", "Agent cannot work on this input"
    for cls, status, slug, title in _MAP:
        if isinstance(exc, cls):
            return status, slug, title
    return 500, "error", "Error"


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
    status, slug, title = classify(exc)
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
        slug=slug,
        title=title,
        detail=exc.message,
        instance=instance,
        field=exc.field,
        headers=headers or None,
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
