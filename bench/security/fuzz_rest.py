"""Schemathesis over every REST operation: generated requests, counted by status, 0 server errors.

    python bench/security/fuzz_rest.py --per-operation 500

The app runs in process (the schema's own ASGI client, Host ``testserver`` allowed); job
submissions run on a real local worker. A 5xx or a response that breaks the schema is a failure
and is printed with the request that caused it.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance

from dunes.config import get_settings
from dunes.interfaces.api import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-operation", type=int, default=500)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="dunes-fuzz-"))
    app = create_app(
        get_settings(
            data_dir=data_dir,
            quantum={"max_qubits": 12, "max_shots": 10_000},
            api={
                "rate_limit_per_minute": 10_000_000,
                "sync_wait_timeout_s": 2,
                "allowed_hosts": ["testserver"],
            },
        )
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: collections.Counter[int] = collections.Counter()
    per_operation: dict[str, int] = {}
    failures: list[str] = []
    started = time.monotonic()
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path.endswith("/stream"):
                continue  # a stream without end: its own test follows it (the dashboard's)
            count = 0

            @given(case=operation.as_strategy())
            @settings(
                max_examples=args.per_operation,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                nonlocal count
                response = case.call(timeout=120)
                statuses[response.status_code] += 1
                count += 1
                case.validate_response(
                    response, checks=[not_a_server_error, content_type_conformance]
                )

            try:
                check()
            except Exception as exc:  # every operation's failure, reported together
                failures.append(f"{operation.label}: {exc}")
            per_operation[operation.label] = count
            print(f"{operation.label}: {count} cases", flush=True)
    finally:
        app.state.gateway.services.close()
    total = sum(per_operation.values())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(f"\n{len(per_operation)} operations, {total} cases in {time.monotonic() - started:.0f} s")
    print("| status | responses |\n|---|---|")
    for status, n in sorted(statuses.items()):
        print(f"| {status} | {n} |")
    print(f"server errors: {server_errors}; failed checks: {len(failures)}")
    for failure in failures:
        print("\n" + failure[:2000])


if __name__ == "__main__":
    main()
