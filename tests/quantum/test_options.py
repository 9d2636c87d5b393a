"""``plan_simulation`` against fake inventories: the GPU options Aer would get on real hosts."""

from __future__ import annotations

import math

import pytest

from dunes.config import QuantumSettings
from dunes.devices import Device, Inventory
from dunes.errors import (
    CircuitValidationError,
    DeviceError,
    InsufficientMemoryError,
    InvalidInputError,
)
from dunes.quantum import SimulationOptions, parse_circuit
from dunes.quantum.backend import AerInfo
from dunes.quantum.options import (
    SimulationPlan,
    blocking_qubits_for,
    choose_fusion,
    estimate_fusion_costs,
    plan_simulation,
)
from dunes.quantum.simulator import _spread_over_gpus

GIB = 2**30
METHODS = ("automatic", "statevector", "density_matrix", "stabilizer", "matrix_product_state")
GPU_OPTIONS = ("batched_shots_gpu", "blocking_enable", "blocking_qubits", "cuStateVec_enable")

GPU_AER = AerInfo(
    distribution="qiskit-aer-gpu",
    version="0.15.1",
    devices=("CPU", "GPU"),
    methods=METHODS,
    options=GPU_OPTIONS,
)
OLD_GPU_AER = GPU_AER.model_copy(update={"options": ("blocking_enable", "blocking_qubits")})
CPU_AER = AerInfo(distribution="qiskit-aer", version="0.15.1", devices=("CPU",), methods=METHODS)


def inventory(*free_gib: float, host_free_gib: float = 64) -> Inventory:
    gpus = tuple(
        Device(
            id=f"cuda:{i}",
            kind="cuda",
            index=i,
            physical_index=i,
            name="Fake GPU",
            memory_total=int(80 * GIB),
            memory_free=int(free * GIB),
        )
        for i, free in enumerate(free_gib)
    )
    cpu = Device(
        id="cpu",
        kind="cpu",
        name="CPU",
        memory_total=int(128 * GIB),
        memory_free=int(host_free_gib * GIB),
    )
    return Inventory(source="nvml", cuda_visible_devices=None, devices=(*gpus, cpu))


def width(n: int) -> str:
    """A non-Clifford n-qubit circuit (so auto picks statevector)."""
    return "; ".join(["t(0)", *(f"cx({i},{i + 1})" for i in range(n - 1))])


def plan(text: str, inv: Inventory, aer: AerInfo = GPU_AER, **options: object) -> SimulationPlan:
    return plan_simulation(
        parse_circuit(text), SimulationOptions(**options), inventory=inv, aer=aer
    )


def test_gpu_build_and_gpu_present_uses_one_gpu_when_it_fits() -> None:
    result = plan(width(20), inventory(10, 40))
    assert result.aer_device == "GPU"
    assert result.devices == ("cuda:1",)  # the one with most free memory
    assert result.options["device"] == "GPU"
    assert result.options["target_gpus"] == [1]
    assert "blocking_enable" not in result.options
    assert result.options["cuStateVec_enable"] is True


def test_cpu_build_falls_back_to_cpu_and_says_why() -> None:
    result = plan(width(10), inventory(40), aer=CPU_AER)
    assert result.aer_device == "CPU" and result.devices == ("cpu",)
    assert any("has no GPU support" in r for r in result.reasons)


def test_no_gpu_visible_runs_on_cpu() -> None:
    result = plan(width(10), inventory(), aer=GPU_AER)
    assert result.aer_device == "CPU"
    assert any("no GPU visible" in r for r in result.reasons)


def test_device_gpu_on_cpu_build_names_qiskit_aer_gpu() -> None:
    with pytest.raises(DeviceError, match="qiskit-aer-gpu"):
        plan(width(4), inventory(40), aer=CPU_AER, device="gpu")


def test_device_gpu_without_gpus_is_refused() -> None:
    with pytest.raises(DeviceError, match="no GPU is visible"):
        plan(width(4), inventory(), device="gpu")


@pytest.mark.parametrize("frees", [(16, 16), (16, 12, 14, 16), (12, 10, 8, 8)])
def test_blocking_over_all_gpus_sized_by_the_smallest(frees: tuple[float, ...]) -> None:
    n = 30  # 16 GiB of double-precision amplitudes: no single GPU holds it
    result = plan(width(n), inventory(*frees))
    smallest = min(frees) * GIB * 0.9
    expected = math.floor(math.log2(smallest / 4 / 16))
    assert result.aer_device == "GPU"
    assert result.devices == tuple(f"cuda:{i}" for i in range(len(frees)))
    assert result.options["blocking_enable"] is True
    assert result.options["blocking_qubits"] == expected
    assert result.options["target_gpus"] == list(range(len(frees)))
    # a chunk fits a quarter of the smallest GPU, and no single GPU held the whole state
    assert 16 * 2 ** result.options["blocking_qubits"] <= smallest / 4
    assert 16 * 2**n > max(frees) * GIB * 0.9


def test_blocking_for_density_matrix_counts_four_entries_per_qubit() -> None:
    statevector = blocking_qubits_for(40, "statevector", "double", 16 * GIB)
    density = blocking_qubits_for(40, "density_matrix", "double", 16 * GIB)
    assert statevector == 28  # 16 GiB / 4 / 16 bytes = 2^28 amplitudes
    assert density == 14  # 4^14 entries of 16 bytes = 4 GiB
    assert blocking_qubits_for(10, "statevector", "double", 16 * GIB) == 9


def brickwork(n: int, layers: int) -> str:
    """Entangling layers deep enough that no matrix product state stays small."""
    ops = []
    for layer in range(layers):
        ops += [f"h({q}); t({q})" for q in range(n)]
        ops += [f"cx({q},{q + 1})" for q in range(layer % 2, n - 1, 2)]
    return "; ".join(ops)


def test_state_that_fits_nothing_raises_with_needed_and_available() -> None:
    with pytest.raises(InsufficientMemoryError) as info:
        plan(brickwork(36, 40), inventory(40, 40, host_free_gib=64))
    message = str(info.value)
    assert "36-qubit circuit as a statevector needs 1.0 TiB at its peak" in message
    assert "72.0 GiB is usable on the 2 GPU(s) together" in message  # with cache blocking
    assert "matrix product state could need up to" in message


def test_low_entanglement_beyond_memory_runs_as_matrix_product_state() -> None:
    result = plan(width(36), inventory(40, 40, host_free_gib=64))
    assert result.method == "matrix_product_state" and result.aer_device == "CPU"
    assert result.required_bytes < GIB
    assert any("bond dimension at most 2" in r for r in result.reasons)


def test_too_big_for_gpus_with_device_gpu_names_gpu_memory() -> None:
    with pytest.raises(
        InsufficientMemoryError,
        match=r"needs 64\.\d GiB at its peak but 28\.8 GiB is usable on the 2 GPU\(s\) together",
    ):
        plan(width(32), inventory(16, 16), device="gpu")


def test_too_big_for_gpus_falls_back_to_host_in_auto() -> None:
    result = plan(width(32), inventory(16, 16, host_free_gib=100))
    assert result.aer_device == "CPU"
    assert any("does not fit the GPUs" in r for r in result.reasons)


def test_target_gpus_honoured_and_validated() -> None:
    result = plan(width(20), inventory(40, 40, 10, 10), target_gpus=(2, 3))
    assert result.devices == ("cuda:2",)
    big = plan(width(30), inventory(40, 40, 14, 14), target_gpus=(2, 3))
    assert big.options["target_gpus"] == [2, 3]
    with pytest.raises(
        DeviceError, match=r"target_gpus \[5\] not visible; visible GPU indices: 0, 1"
    ):
        plan(width(4), inventory(40, 40), target_gpus=(0, 5))
    with pytest.raises(ValueError, match="distinct non-negative"):
        SimulationOptions(target_gpus=(1, 1))


def test_batched_shots_only_where_aer_supports_it() -> None:
    text = "h(0); measure(0); h(1); cx(1, 2); t(2); measure"
    exact = plan(text, inventory(40), shots=1000)
    assert exact.engine == "branches"  # few branches: exact, no run per shot at all
    per_shot = plan_simulation(
        parse_circuit(text),
        SimulationOptions(shots=1000),
        inventory=inventory(40),
        aer=GPU_AER,
        limits=QuantumSettings(max_branch_amplitudes=4),
    )
    assert per_shot.engine == "aer"
    result = per_shot
    assert result.options.get("batched_shots_gpu") is True
    older = plan_simulation(
        parse_circuit(text),
        SimulationOptions(shots=1000),
        inventory=inventory(40),
        aer=OLD_GPU_AER,
        limits=QuantumSettings(max_branch_amplitudes=4),
    )
    assert older.engine == "aer" and "batched_shots_gpu" not in older.options
    no_midcircuit = plan("h(0); t(0); cx(0,1); measure", inventory(40), shots=1000)
    assert "batched_shots_gpu" not in no_midcircuit.options
    on_cpu = plan(text, inventory(40), aer=CPU_AER, shots=1000)
    assert "batched_shots_gpu" not in on_cpu.options


def test_old_aer_without_blocking_does_not_spread_a_state() -> None:
    older = OLD_GPU_AER.model_copy(update={"options": ()})
    result = plan(width(30), inventory(12, 12, host_free_gib=100), aer=older)
    assert result.aer_device == "CPU"


def test_clifford_counts_only_uses_stabilizer_on_cpu() -> None:
    result = plan("h(0); cx(0,1); s(1); measure", inventory(40), shots=100)
    assert result.method == "stabilizer"
    assert result.aer_device == "CPU"
    with_state = plan("h(0); cx(0,1); s(1)", inventory(40))
    assert with_state.method == "statevector"
    non_clifford = plan("h(0); t(0); measure", inventory(40), shots=100)
    assert non_clifford.method == "statevector"
    on_gpu = plan("h(0); cx(0,1); s(1); measure", inventory(40), shots=100, device="gpu")
    assert on_gpu.method == "statevector" and on_gpu.aer_device == "GPU"


def test_stabilizer_requested_for_non_clifford_names_the_gates() -> None:
    with pytest.raises(CircuitValidationError, match="non-Clifford gates: rx, t"):
        plan("h(0); t(0); rx(0.1, 0)", inventory(), method="stabilizer", shots=10)
    with pytest.raises(InvalidInputError, match="gives no statevector"):
        plan("h(0)", inventory(), method="stabilizer", statevector=True)


def test_unavailable_method_lists_available_ones() -> None:
    limited = CPU_AER.model_copy(update={"methods": ("statevector",)})
    with pytest.raises(DeviceError, match="available: statevector"):
        plan("h(0)", inventory(), aer=limited, method="density_matrix")


def test_seed_is_passed_to_aer() -> None:
    assert plan("h(0)", inventory(), seed=7).options["seed_simulator"] == 7


def test_spread_over_gpus_round_robin_by_free_memory() -> None:
    inv = inventory(10, 40, 20, 30)
    plans = [plan(width(12), inv) for _ in range(5)]
    assert {p.devices for p in plans} == {("cuda:1",)}
    spread = _spread_over_gpus(plans, inv, fraction=0.9)
    assert [p.devices[0] for p in spread] == ["cuda:1", "cuda:3", "cuda:2", "cuda:0", "cuda:1"]
    assert [p.options["target_gpus"] for p in spread] == [[1], [3], [2], [0], [1]]


def test_spread_skips_gpus_too_small_and_leaves_cpu_plans() -> None:
    inv = inventory(40, 0.01)
    plans = [plan(width(20), inv), plan(width(20), inv), plan(width(4), inv, device="cpu")]
    spread = _spread_over_gpus(plans, inv, fraction=0.9)
    assert [p.devices[0] for p in spread] == ["cuda:0", "cuda:0", "cpu"]
    assert _spread_over_gpus(plans, inventory(40), fraction=0.9) == plans


# --- fusion --------------------------------------------------------------------------------


def ghz(n: int) -> str:
    return "; ".join(["h(0)", *(f"cx({i},{i + 1})" for i in range(n - 1))])


def layered(n: int, layers: int) -> str:
    """A hardware-efficient ansatz: rotations on every qubit, then a cz ladder."""
    ops = []
    for layer in range(layers):
        ops += [f"ry({0.1 * (layer + q + 1)}, {q}); rz({0.2 * q + 0.1}, {q})" for q in range(n)]
        ops += [f"cz({q}, {q + 1})" for q in range(layer % 2, n - 1, 2)]
    return "; ".join(ops)


def test_fusion_off_for_ghz_chains_on_for_dense_layers() -> None:
    ghz_spec = parse_circuit(ghz(20))
    dense_spec = parse_circuit(layered(20, 6))
    unfused, fused = estimate_fusion_costs(ghz_spec)
    assert unfused < fused
    assert choose_fusion(ghz_spec, SimulationOptions(), "statevector")[0] is False
    unfused, fused = estimate_fusion_costs(dense_spec)
    assert fused < unfused
    assert choose_fusion(dense_spec, SimulationOptions(), "statevector")[0] is True


def test_fusion_respects_request_small_circuits_and_methods() -> None:
    spec = parse_circuit(ghz(20))
    assert choose_fusion(spec, SimulationOptions(fusion="on"), "statevector")[0] is True
    small = parse_circuit(layered(6, 4))
    assert choose_fusion(small, SimulationOptions(), "statevector")[0] is False
    assert choose_fusion(spec, SimulationOptions(fusion="on"), "stabilizer")[0] is False


def test_fusion_on_gpu_counts_passes() -> None:
    spec = parse_circuit(ghz(20))
    unfused, fused = estimate_fusion_costs(spec, gpu=True)
    assert fused < unfused
    result = plan(ghz(20) + "; t(3)", inventory(40))
    assert result.fusion is True and result.options["fusion_enable"] is True
