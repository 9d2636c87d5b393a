"""The CLI as a person meets it, side by side in one run: cold and warm ``dunes run``, ``agents
plan``, ``--help``, a small ``simulate``, and the time from Ctrl-C to exit.

    python bench/cli.py --repeat 3

"before" is the figure the issue measured on this machine before this work (one process per
call, everything loaded each time); each row's own cold/warm pair is measured here.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.interfaces.api.conftest import clean_environment, dunes_executable
from tests.orchestration.helpers import slow_circuit

TASK = "Design a 4-qubit GHZ state"
BEFORE = {"run": 15.0, "plan": 12.0, "help": 2.3, "simulate": 2.2, "sigint": 14.0}


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([dunes_executable(), *args], env=env, capture_output=True, timeout=600)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr.decode()[-2000:])
    return took


def sigint_to_exit(args: list[str], env: dict[str, str], after_s: float) -> float:
    proc = subprocess.Popen(
        [dunes_executable(), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(after_s)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.wait(120)
    return time.perf_counter() - sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dunes-bench-cli-"))
    cold = clean_environment(root / "cold")  # runtime off: every call loads everything
    warm = {**clean_environment(root / "warm"), "DUNES_RUNTIME__ENABLED": "true"}
    circuit = root / "slow.txt"
    circuit.write_text(slow_circuit(24, 300))
    rows: list[tuple[str, str, float, float]] = []
    med = lambda xs: statistics.median(xs)  # noqa: E731
    try:
        first = timed(["run", TASK], warm)  # starts the runtime, loads the models
        rows.append(("dunes run", "first call (starts the runtime)", BEFORE["run"], first))
        runs_cold = [timed(["run", TASK], cold) for _ in range(args.repeat)]
        runs_warm = [timed(["run", TASK], warm) for _ in range(args.repeat)]
        rows.append(("dunes run", "runtime off, every call", BEFORE["run"], med(runs_cold)))
        rows.append(("dunes run", "warm runtime", BEFORE["run"], med(runs_warm)))
        plan_cold = [timed(["agents", "plan", TASK], cold) for _ in range(args.repeat)]
        plan_warm = [timed(["agents", "plan", TASK], warm) for _ in range(args.repeat)]
        rows.append(("dunes agents plan", "runtime off", BEFORE["plan"], med(plan_cold)))
        rows.append(("dunes agents plan", "warm runtime", BEFORE["plan"], med(plan_warm)))
        helps = [timed(["--help"], cold) for _ in range(args.repeat)]
        rows.append(("dunes --help", "", BEFORE["help"], med(helps)))
        sims = [
            timed(["simulate", "h(0); cx(0,1)", "--no-record"], cold) for _ in range(args.repeat)
        ]
        rows.append(("dunes simulate (small)", "cold", BEFORE["simulate"], med(sims)))
        stop_sim = [
            sigint_to_exit(["simulate", str(circuit), "--no-record"], cold, 3.0)
            for _ in range(args.repeat)
        ]
        rows.append(("Ctrl-C to exit", "24-qubit simulate", BEFORE["sigint"], med(stop_sim)))
        stop_run = [sigint_to_exit(["run", TASK], warm, 0.4) for _ in range(args.repeat)]
        rows.append(("Ctrl-C to exit", "dunes run (warm)", BEFORE["sigint"], med(stop_run)))
    finally:
        subprocess.run([dunes_executable(), "runtime", "stop"], env=warm, capture_output=True)
    print(f"{os.cpu_count()} cores, median of {args.repeat}\n")
    print("| command | how | before s | now s | speed-up |")
    print("|---|---|---|---|---|")
    for name, how, before, now in rows:
        print(f"| {name} | {how} | {before:.1f} | {now:.2f} | {before / now:.1f}x |")


if __name__ == "__main__":
    main()
