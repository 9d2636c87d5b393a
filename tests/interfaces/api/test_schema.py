"""Property-based checks over the OpenAPI schema: no 5xx, and answers match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dunes.config import get_settings
from dunes.interfaces.api import create_app

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Submitting jobs starts worker processes that load models; those endpoints have their own tests.
SKIPPED = {
    ("POST", "/orchestrate-quantum-simulation"),
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs/stream"),  # a stream without end; the dashboard's tests follow it
}
MAX_EXAMPLES = 6


def test_openapi_conformance() -> None:
    app = create_app(
        get_settings(
            quantum={"max_qubits": 8, "max_shots": 1000},
            api={
                "rate_limit_per_minute": 1_000_000,
                "sync_wait_timeout_s": 2,
                "allowed_hosts": ["testserver"],  # the name the schema's ASGI client sends
            },
        )
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tested: list[str] = []
    failures: list[str] = []
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) in SKIPPED:
                continue

            @given(case=operation.as_strategy())
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=CHECKS, timeout=120)

            tested.append(operation.label)
            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label}: {exc}")
    finally:
        app.state.gateway.services.close()
    assert len(tested) >= 15, tested
    assert not failures, "\n\n".join(failures)
