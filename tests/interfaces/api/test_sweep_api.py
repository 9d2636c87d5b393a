"""POST /v1/sweep: a parametric circuit over a grid or explicit bindings."""

from __future__ import annotations

import numpy as np
import pytest

from tests.interfaces.api.conftest import ClientFactory

CIRCUIT = "ry(theta, 0); cx(0, 1); rx(phi, 1)"


async def test_rest_sweep_gives_the_cli_numbers(make_client: ClientFactory) -> None:
    async with make_client() as client:
        answer = await client.post(
            "/v1/sweep",
            json={
                "circuit": CIRCUIT,
                "grid": ["theta=0:pi:3", "phi=0:pi:5"],
                "observables": ["ZZ"],
            },
        )
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert data["expectation_values"]["ZZ"] == pytest.approx(
            np.cos(data["parameters"]["phi"]), abs=1e-12
        )
        both = await client.post(
            "/v1/sweep", json={"circuit": CIRCUIT, "grid": ["theta=0:1:2"], "bindings": {}}
        )
        assert both.status_code == 422 and both.json()["field"] == "bindings"
