"""``dunes simulate`` and ``dunes gpus`` as a person runs them: a real process, real output."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

DUNES = str(Path(sys.executable).parent / "dunes")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def dunes(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DUNES, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        cwd=cwd,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_simulate_ghz_json() -> None:
    proc = dunes("simulate", "h(0); cx(0,1); cx(1,2); cx(2,3)", "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["num_qubits"] == 4
    assert payload["device"] == "cpu" and payload["method"] == "statevector"
    amplitudes = payload["statevector"]
    assert len(amplitudes) == 16
    for index, (re, im) in enumerate(amplitudes):
        expected = 1 / math.sqrt(2) if index in (0, 15) else 0.0
        assert re == pytest.approx(expected, abs=1e-12) and im == pytest.approx(0.0, abs=1e-12)
    assert round(amplitudes[0][0], 4) == 0.7071
    assert "counts" not in payload or payload["counts"] is None


def test_simulate_file_with_shots_plot_and_draw(tmp_path: Path) -> None:
    circuit = tmp_path / "bell.qasm"
    circuit.write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
        "h q[0];\ncx q[0],q[1];\nry(0.4) q[2];\nmeasure q -> c;\n",
        encoding="utf-8",
    )
    plot, drawing = tmp_path / "out.png", tmp_path / "circuit.png"
    proc = dunes(
        "simulate", str(circuit), "--shots", "500", "--seed", "3", "--json",
        "--plot", str(plot), "--draw", str(drawing),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert sum(payload["counts"].values()) == 500
    assert {key[1:] for key in payload["counts"]} <= {"00", "11"}
    width, height = png_size(plot)
    assert width > 300 and height > 200 and plot.stat().st_size > 5000
    width, height = png_size(drawing)
    assert width > 100 and height > 100


def test_simulate_draw_text_and_human_output() -> None:
    proc = dunes("simulate", "h(0); cx(0,1); rz(pi/4, 1)", "--draw", "text", "--observable", "ZZ")
    assert proc.returncode == 0, proc.stderr
    assert "q_0" in proc.stdout and "H" in proc.stdout and "Rz" in proc.stdout
    assert "|00>" in proc.stdout and "|11>" in proc.stdout
    assert "<ZZ> = +1.000000" in proc.stdout


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The console script's entry point in this process (same code path, no start-up cost)."""
    from dunes.interfaces.cli import main

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["dunes", *args])
        with pytest.raises(SystemExit) as info:
            main()
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_error_in_a_real_process_is_one_line() -> None:
    proc = dunes("simulate", 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nrx(pi/) q[0];\n')
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: line 4, column 7: OpenQASM 3: no viable alternative at input 'rx(pi/)'"
    ]
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("hh(0); cx(0,1)",), "unknown gate 'hh'; did you mean h"),
        (("h(0)\ncx(0,", "--json"), "line 2, column 3: unclosed '('"),
        (
            ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nh q[0]\n',),
            "line 4, column 1: OpenQASM 2: unexpected end-of-file",
        ),
        (("h(0)", "--device", "gpu"), "qiskit-aer-gpu"),
        (("h(0)", "--shots", "-1"), "shots"),
        (("missing.qasm",), "circuit file missing.qasm not found"),
        (("h(0)", "--qubits", "70000"), "num_qubits=70000 is out of range; give 1..65536"),
    ],
)
def test_errors_are_one_line_without_traceback(
    args: tuple[str, ...],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["simulate", *args], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and out == ""
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in err


def test_a_choice_outside_the_list_is_a_usage_error_listing_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_main(["simulate", "h(0)", "--method", "magic"], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "'magic' is not one of" in err and "matrix_product_state" in err


def test_state_too_big_for_memory_names_sizes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(["simulate", "; ".join(["h(0); t(0); cx(0,45)"] * 30)], capsys)
    assert code == 1
    assert "46-qubit circuit as a statevector needs 1.0 PiB" in err
    assert "what would work" in err
    assert "usable" in err and len(err.strip().splitlines()) == 1


def test_defaults_come_from_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DUNES_QUANTUM__DEFAULT_SHOTS", "64")
    monkeypatch.setenv("DUNES_QUANTUM__DEFAULT_DEVICE", "gpu")
    code, out, err = run_main(["simulate", "x(0)", "--device", "cpu", "--json"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["counts"] == {"1": 64}
    code, _, err = run_main(["simulate", "x(0)"], capsys)
    assert code == 1 and "GPU requested" in err


def test_gpus_json() -> None:
    proc = dunes("gpus", "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["source"] in ("nvml", "torch", "cpu")
    ids = [d["id"] for d in payload["devices"]]
    assert "cpu" in ids
    cpu = next(d for d in payload["devices"] if d["id"] == "cpu")
    assert 0 < cpu["memory_free"] <= cpu["memory_total"]
    aer = payload["aer"]
    assert aer["distribution"].startswith("qiskit-aer") and "CPU" in aer["devices"]
    assert aer["gpu_usable"] is (aer["gpu_build"] and len(ids) > 1 and "GPU" in aer["devices"])


def test_no_record_writes_nothing_and_gc_reclaims(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("DUNES_DATA_DIR", str(data))
    wide = "t(0); " + "; ".join(f"cx({q},{q + 1})" for q in range(17))
    code, out, err = run_main(["simulate", wide, "--statevector", "--no-record", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["artifact"] is None
    assert not (data / "artifacts").exists() or not any((data / "artifacts").iterdir())
    code, out, err = run_main(["simulate", wide, "--statevector", "--json"], capsys)
    assert code == 0, err
    artifact = json.loads(out)["artifact"]
    assert artifact and Path(artifact["path"]).is_file()
    code, out, err = run_main(["graph", "gc", "--older-than", "0", "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["removed_files"] == 1 and report["removed_bytes"] > 4 * 2**20
    assert not Path(artifact["path"]).exists()
    code, _, err = run_main(["graph", "gc", "--max-size", "lots"], capsys)
    assert code != 0 and "cannot read size 'lots'" in err


def test_density_matrix_and_branching_results_print_their_distribution(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_main(
        ["simulate", "h(0); cx(0,1); t(1)", "--method", "density_matrix", "--no-record"], capsys
    )
    assert code == 0, err
    assert "exact distribution" in out and "0.500000" in out
    code, out, err = run_main(
        ["simulate", "h(0); measure(0,0); if(c[0]==1) x(1); measure(1,1)", "--no-record"], capsys
    )
    assert code == 0, err
    assert "classical bits" in out and "11" in out
