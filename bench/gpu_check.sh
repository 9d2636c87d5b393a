#!/usr/bin/env bash
# GPU check of the agents, made to run in one call of at most 8 minutes on a lent GPU machine:
# inventory, placement of the four roles, encoder throughput in fp32 and fp16/bf16 at batch
# 1..256, the resident/batching benchmark on the GPU, and the same pipeline on the CPU for the
# ratio. Without a GPU it prints the CPU parts and says which GPU parts it skipped.
#
#   bench/gpu_check.sh            # from the repository root, with the venv active
#   BUDGET=0.5 bench/gpu_check.sh # seconds per batch size (default 1)
set -uo pipefail

cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export DUNES_DATA_DIR="${DUNES_DATA_DIR:-$(mktemp -d)}"
BUDGET="${BUDGET:-1}"
BATCHES="1,2,4,8,16,32,64,128,256"
PY="${PYTHON:-python}"

section() { printf '\n## %s\n\n' "$1"; }
run() {  # run a step with a time limit; a failure is reported, not fatal
    local limit=$1
    shift
    if ! timeout "$limit" "$@"; then
        echo "(step failed or timed out after ${limit}s: $*)"
    fi
}

section "inventory"
run 60 dunes gpus --json
GPU=$("$PY" -c 'import torch; print("cuda:0" if torch.cuda.is_available() else "")' 2>/dev/null)
echo "torch: $("$PY" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)')"

section "parameter sweeps: dunes batched statevector against Aer (expect 20x or more on a GPU)"
if [[ -n "$GPU" ]]; then
    run 240 "$PY" bench/sweep.py --device "$GPU" --sizes 1000 10000 --qubits 10 16
else
    echo "(no GPU: bench/sweep.py on the CPU is in bench/README.md)"
fi

section "placement of the four roles"
run 120 dunes agents placement --json

if [[ -n "$GPU" ]]; then
    HALF=$("$PY" -c 'import torch; print("bfloat16" if torch.cuda.get_device_capability(0)[0] >= 8 else "float16")')
    section "encoder throughput on $GPU (float32, float16, $HALF)"
    run 90 "$PY" bench/agents.py --device "$GPU" --throughput float32 --batches "$BATCHES" --budget "$BUDGET"
    run 90 "$PY" bench/agents.py --device "$GPU" --throughput float16 --batches "$BATCHES" --budget "$BUDGET"
    if [[ "$HALF" != float16 ]]; then
        run 90 "$PY" bench/agents.py --device "$GPU" --throughput "$HALF" --batches "$BATCHES" --budget "$BUDGET"
    fi
else
    section "encoder throughput on GPU"
    echo "skipped: torch sees no CUDA device (fp32/fp16 GPU throughput needs one)"
fi

section "encoder throughput on cpu (float32)"
run 120 "$PY" bench/agents.py --device cpu --throughput float32 --batches "$BATCHES" --budget "$BUDGET"

if [[ -n "$GPU" ]]; then
    section "reload-per-request vs resident, one-at-a-time vs batched ($GPU)"
    run 90 "$PY" bench/agents.py --device "$GPU" --reload-requests 5 --rounds 2
fi
section "reload-per-request vs resident, one-at-a-time vs batched (cpu)"
run 120 "$PY" bench/agents.py --device cpu --reload-requests 3 --rounds 2

section "pipeline: plan, validate, simulate, validate, report (roles as placed, then all on cpu)"
TASK="Run Grover's algorithm to find 10110 on five qubits"
PIPELINE=$(mktemp --suffix=.py)
cat >"$PIPELINE" <<'EOF'
import sys, time
from dunes.agents import AgentRuntime
from dunes.config import get_settings

runtime = AgentRuntime(get_settings())
print("placement:", {r: d.id for r, d in runtime.placement().items()})
start = time.perf_counter()
runtime.run_role("synthesis", sys.argv[1])
cold = time.perf_counter() - start
runs = []
for _ in range(5):
    start = time.perf_counter()
    report = runtime.run_role("synthesis", sys.argv[1] + f" ({len(runs)})")
    runs.append(time.perf_counter() - start)
print(f"first call (loads models) {cold:.2f} s; then best {min(runs) * 1000:.1f} ms per task")
print(report.text)
EOF
run 120 "$PY" "$PIPELINE" "$TASK"
run 120 env DUNES_AGENTS__PLACEMENT__PLANNER=cpu DUNES_AGENTS__PLACEMENT__EXTRACTION=cpu \
    DUNES_AGENTS__PLACEMENT__VALIDATION=cpu DUNES_AGENTS__PLACEMENT__SYNTHESIS=cpu \
    "$PY" "$PIPELINE" "$TASK"
rm -f "$PIPELINE"
