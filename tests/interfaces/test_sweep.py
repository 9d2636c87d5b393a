"""dunes sweep, POST /v1/sweep and the sweep_circuit MCP tool: one sweep, the same numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from mcp.client.client import Client

from dunes.config import Settings
from dunes.interfaces.mcp import create_server
from tests.interfaces.test_cli_quantum import run_main

CIRCUIT = "ry(theta, 0); cx(0, 1); rx(phi, 1)"


def test_cli_sweeps_a_grid_prints_json_in_binding_order_and_plots(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plot = tmp_path / "heat.png"
    code, out, err = run_main(
        [
            "sweep",
            CIRCUIT,
            "-p",
            "theta=0:pi:3",
            "-p",
            "phi=0:pi:5",
            "-o",
            "ZZ",
            "-o",
            "Z0",
            "--plot",
            str(plot),
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["bindings"] == 15
    theta, phi = data["parameters"]["theta"], data["parameters"]["phi"]
    assert theta[:5] == [0.0] * 5 and phi[:5] == pytest.approx(np.linspace(0, math.pi, 5))
    # <ZZ> = cos(phi), <Z0> = cos(theta), for every binding in order
    assert data["expectation_values"]["ZZ"] == pytest.approx(np.cos(phi), abs=1e-12)
    assert data["expectation_values"]["Z0"] == pytest.approx(np.cos(theta), abs=1e-12)
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert data["recorded"]["sweep"]


@pytest.mark.parametrize("kind", ["json", "csv", "npy"])
def test_cli_reads_bindings_files(
    kind: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = {"theta": [0.0, 0.5, 1.0], "phi": [1.0, 2.0, 3.0]}
    path = tmp_path / f"b.{kind}"
    extra: list[str] = []
    if kind == "json":
        path.write_text(json.dumps(values))
    elif kind == "csv":
        path.write_text(
            "theta,phi\n" + "".join(f"{t},{p}\n" for t, p in zip(*values.values(), strict=True))
        )
    else:
        np.save(path, np.array(list(zip(*values.values(), strict=True))))
        extra = ["--names", "theta,phi"]
    code, out, err = run_main(
        ["sweep", CIRCUIT, "--bindings", str(path), *extra, "-o", "ZZ", "--json", "--no-record"],
        capsys,
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["expectation_values"]["ZZ"] == pytest.approx(np.cos(values["phi"]), abs=1e-12)
    assert data["recorded"] is None


def test_cli_names_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["sweep", CIRCUIT, "-p", "theta=0:1:3"], capsys)
    assert code == 1 and "parameter phi has no values" in err
    code, _, err = run_main(["sweep", CIRCUIT, "-p", "theta=0:1"], capsys)
    assert code == 1 and "START:STOP:COUNT" in err


async def test_mcp_sweep_reports_progress(settings: Settings) -> None:
    seen: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(value)

    server = create_server(settings)
    try:
        async with Client(server) as client:
            result = await client.call_tool(
                "sweep_circuit",
                {"circuit": CIRCUIT, "grid": ["theta=0:pi:4", "phi=0,1"], "observables": ["ZZ"]},
                progress_callback=on_progress,
            )
            assert not result.is_error, result.content
            data = result.structured_content
            assert data is not None and data["bindings"] == 8
            assert data["expectation_values"]["ZZ"] == pytest.approx(
                np.cos(data["parameters"]["phi"]), abs=1e-12
            )
    finally:
        server.close()
    assert seen and seen[-1] == 1.0
