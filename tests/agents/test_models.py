"""Model loading (tiny BERT models saved by the tests), sharing, placement and batching."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dunes.agents import AgentRuntime
from dunes.agents.batching import Batcher
from dunes.agents.models import ModelPool, ModelRef, pick_dtype, resolve_model
from dunes.config import get_settings
from dunes.errors import AgentError, DeviceError, InvalidInputError, ModelNotFoundError
from tests.agents.conftest import cpu_inventory, gpu_inventory, tiny_settings

ROLES = ("planner", "extraction", "validation", "synthesis")


def test_unset_roles_use_the_packaged_minilm() -> None:
    ref = resolve_model("planner", get_settings().agents)
    assert ref.packaged
    assert ref.name == "all-MiniLM-L6-v2"
    assert (ref.path / "config.json").is_file()


def test_missing_model_names_role_path_and_install(tmp_path: Path) -> None:
    absent = tmp_path / "no-such-model"
    settings = get_settings(agents={"models": {"validation": str(absent)}})
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("validation", settings.agents)
    message = str(info.value)
    assert "'validation'" in message
    assert str(absent) in message
    assert "pip install 'dunes-mcp[models]'" in message
    runtime = AgentRuntime(settings, inventory=cpu_inventory(), pool=ModelPool())
    with pytest.raises(ModelNotFoundError, match="validation"):
        runtime.embed(["x"], role="validation")


def test_a_directory_without_weights_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    ref = ModelRef("planner", broken, packaged=False)
    with pytest.raises(ModelNotFoundError, match=r"'planner' at .*broken could not be loaded"):
        ModelPool().get(ref, "cpu", "float32")


def test_tiny_model_encodes_unit_vectors(tiny_model: Path) -> None:
    runtime = AgentRuntime(tiny_settings(tiny_model), inventory=cpu_inventory(), pool=ModelPool())
    vectors = runtime.embed(["prepare a ghz state", "what is the weather", "a"], role="synthesis")
    assert vectors.shape == (3, 32)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
    again = runtime.embed(["what is the weather"], role="planner")
    assert np.allclose(again[0], vectors[1], atol=1e-5)


def test_roles_with_the_same_model_share_one_copy(tiny_model: Path, other_tiny_model: Path) -> None:
    pool = ModelPool()
    same = AgentRuntime(tiny_settings(tiny_model), inventory=cpu_inventory(), pool=pool)
    encoders = [same.encoder(role) for role in ROLES]
    assert all(e is encoders[0] for e in encoders)
    assert len(pool.loaded()) == 1
    settings = get_settings(
        agents={"models": {"planner": str(tiny_model), "synthesis": str(other_tiny_model)}}
    )
    mixed = AgentRuntime(settings, inventory=cpu_inventory(), pool=pool)
    assert mixed.encoder("planner") is encoders[0]  # same path, same device: reused
    assert mixed.encoder("synthesis") is not encoders[0]
    assert mixed.encoder("synthesis").dim == 48
    assert len(pool.loaded()) == 2


def test_concurrent_first_use_loads_once(tiny_model: Path) -> None:
    pool = ModelPool()
    ref = resolve_model("planner", tiny_settings(tiny_model).agents)
    barrier = threading.Barrier(8)
    got: list[object] = []

    def load() -> None:
        barrier.wait()
        got.append(pool.get(ref, "cpu", "float32"))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == 8
    assert all(e is got[0] for e in got)
    assert len(pool.loaded()) == 1


def test_placement_round_robin_over_gpus_by_free_memory() -> None:
    inventory = gpu_inventory([10 * 2**30, 40 * 2**30])
    runtime = AgentRuntime(get_settings(), inventory=inventory)
    plan = {role: d.id for role, d in runtime.placement().items()}
    assert plan == {
        "planner": "cuda:1",
        "extraction": "cuda:0",
        "validation": "cuda:1",
        "synthesis": "cuda:0",
    }


def test_placement_without_gpus_is_the_cpu_and_overrides_win() -> None:
    runtime = AgentRuntime(get_settings(), inventory=cpu_inventory())
    assert {d.id for d in runtime.placement().values()} == {"cpu"}
    pinned = AgentRuntime(
        get_settings(agents={"placement": {"synthesis": "cpu"}}),
        inventory=gpu_inventory([2**30]),
    )
    plan = pinned.placement()
    assert plan["synthesis"].id == "cpu"
    assert plan["planner"].id == "cuda:0"
    bad = AgentRuntime(
        get_settings(agents={"placement": {"planner": "cuda:3"}}), inventory=cpu_inventory()
    )
    with pytest.raises(DeviceError, match="available: cpu"):
        bad.placement()


def test_fp32_on_cpu_whatever_the_setting() -> None:
    assert pick_dtype("cpu", True) == "float32"
    assert pick_dtype("cpu", False) == "float32"


def test_unknown_role_lists_the_roles() -> None:
    runtime = AgentRuntime(get_settings(), inventory=cpu_inventory())
    with pytest.raises(InvalidInputError, match="roles: planner, extraction"):
        runtime.encoder("critic")


def test_batcher_groups_concurrent_requests_and_keeps_results_apart(tiny_model: Path) -> None:
    pool = ModelPool()
    encoder = pool.get(resolve_model("planner", tiny_settings(tiny_model).agents), "cpu", "float32")
    texts = [f"prepare state {i} of {'qubit ' * (i % 5)}" for i in range(64)]
    expected = np.stack([encoder.encode([t])[0] for t in texts])
    batcher = Batcher(encoder, max_batch_size=16, max_wait_ms=50)
    try:
        futures = [batcher.submit([t]) for t in texts]
        results = np.stack([f.result(timeout=60)[0] for f in futures])
    finally:
        batcher.close()
    assert np.allclose(results, expected, atol=1e-5)
    assert batcher.stats["texts"] == 64
    assert batcher.stats["largest"] <= 16
    assert batcher.stats["batches"] < 64


def test_a_lone_request_does_not_wait_for_company(tiny_model: Path) -> None:
    pool = ModelPool()
    encoder = pool.get(resolve_model("planner", tiny_settings(tiny_model).agents), "cpu", "float32")
    encoder.encode(["warm up"])
    batcher = Batcher(encoder, max_batch_size=16, max_wait_ms=30_000)
    try:
        for i in range(3):
            started = time.monotonic()
            batcher.submit([f"alone {i}"]).result(timeout=60)
            # A 30 s collection window would show; sequential callers never wait for it.
            assert time.monotonic() - started < 10
        assert batcher.stats["batches"] == 3
    finally:
        batcher.close()


def test_a_bad_request_fails_its_batch_not_the_thread(tiny_model: Path) -> None:
    pool = ModelPool()
    encoder = pool.get(resolve_model("planner", tiny_settings(tiny_model).agents), "cpu", "float32")
    batcher = Batcher(encoder, max_batch_size=8, max_wait_ms=0)
    try:
        bad = batcher.submit([None])  # type: ignore[list-item]
        with pytest.raises(AgentError, match="encoder failed"):
            bad.result(timeout=60)
        assert batcher.submit(["still alive"]).result(timeout=60).shape == (1, 32)
    finally:
        batcher.close()
    with pytest.raises(AgentError, match="closed"):
        batcher.submit(["late"])


def test_runtime_with_tiny_models_plans_by_keywords(tiny_model: Path) -> None:
    runtime = AgentRuntime(tiny_settings(tiny_model), inventory=cpu_inventory(), pool=ModelPool())
    plan = runtime.plan("Design a 4-qubit GHZ state")
    assert plan.family == "ghz"
    assert plan.circuit_seed == "h(0); cx(0,1); cx(1,2); cx(2,3)"
    assert plan.model == "tiny-bert"
    assert len(plan.embedding) == 32


def _cuda_devices() -> list[str]:
    import torch

    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


@pytest.mark.gpu
@pytest.mark.parametrize("device", _cuda_devices() or ["cuda:0"])
def test_half_precision_on_gpu_matches_cpu(tiny_model: Path, device: str) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device visible to torch")
    pool = ModelPool()
    ref = resolve_model("planner", tiny_settings(tiny_model).agents)
    dtype = pick_dtype(device, True)
    assert dtype in ("float16", "bfloat16")
    gpu = pool.get(ref, device, dtype)
    cpu = pool.get(ref, "cpu", "float32")
    assert gpu is not cpu
    texts = ["prepare a ghz state", "what is the weather", "grover search marked 101"]
    on_gpu, on_cpu = gpu.encode(texts), cpu.encode(texts)
    assert on_gpu.dtype == np.float32
    assert np.all(np.sum(on_gpu * on_cpu, axis=1) > 0.99)


def test_gpus_torch_cannot_use_fall_back_to_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this torch build has CUDA")
    # NVML would report these GPUs on a host where the CPU-only torch is installed
    monkeypatch.setattr("dunes.agents.runtime.discover", lambda: gpu_inventory([2**30, 2**30]))
    runtime = AgentRuntime(get_settings())
    assert {d.id for d in runtime.placement().values()} == {"cpu"}
