"""CUDA_VISIBLE_DEVICES parsing, inventory discovery and placement of work onto devices."""

from __future__ import annotations

import pytest

from dunes.devices import (
    Device,
    Inventory,
    _select_visible,
    discover,
    normalize_device_id,
    parse_visible,
    pick_device,
    place,
)
from dunes.errors import DeviceError

GIB = 2**30
PHYSICAL = [
    (0, "GPU-aaaa1111-0000-0000-0000-000000000000"),
    (1, "GPU-bbbb2222-0000-0000-0000-000000000000"),
    (2, "GPU-cccc3333-0000-0000-0000-000000000000"),
    (3, None),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", []),
        ("0,1", ["0", "1"]),
        (" 2 , 0 ", ["2", "0"]),
        ("-1", []),
        ("1,-1,0", ["1"]),
        ("0,,1", ["0"]),
        ("GPU-bbbb,0", ["GPU-bbbb", "0"]),
    ],
)
def test_parse_visible(value: str | None, expected: list[str] | None) -> None:
    assert parse_visible(value) == expected


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        (None, [0, 1, 2, 3]),
        (["2", "0"], [2, 0]),
        (["GPU-bbbb"], [1]),
        (["cccc3333"], [2]),
        (["1", "GPU-aaaa1111-0000"], [1, 0]),
        (["1", "7", "0"], [1]),  # CUDA stops at the first invalid entry
        (["nope", "0"], []),
        (["0", "0", "1"], [0]),  # a repeated device is invalid too
        ([], []),
    ],
)
def test_select_visible(visible: list[str] | None, expected: list[int]) -> None:
    assert _select_visible(PHYSICAL, visible) == expected


def gpu(index: int, free_gib: float) -> Device:
    return Device(
        id=f"cuda:{index}",
        kind="cuda",
        index=index,
        name="Fake GPU",
        memory_total=80 * GIB,
        memory_free=int(free_gib * GIB),
    )


CPU = Device(id="cpu", kind="cpu", name="CPU", memory_total=64 * GIB, memory_free=32 * GIB)


def inventory(*free: float) -> Inventory:
    gpus = tuple(gpu(i, f) for i, f in enumerate(free))
    return Inventory(source="nvml", cuda_visible_devices=None, devices=(*gpus, CPU))


def test_place_round_robin_by_free_memory() -> None:
    plan = place(
        ["planner", "extraction", "validation", "synthesis", "extra"], inventory(10, 30, 20)
    )
    assert {name: d.id for name, d in plan.items()} == {
        "planner": "cuda:1",
        "extraction": "cuda:2",
        "validation": "cuda:0",
        "synthesis": "cuda:1",
        "extra": "cuda:2",
    }


def test_place_overrides_win_and_do_not_take_a_slot() -> None:
    plan = place(
        ["planner", "extraction", "validation"],
        inventory(10, 30),
        overrides={"planner": "cpu", "validation": "GPU0"},
    )
    assert plan["planner"].id == "cpu"
    assert plan["extraction"].id == "cuda:1"
    assert plan["validation"].id == "cuda:0"


def test_place_without_gpus_uses_cpu_and_bad_override_is_named() -> None:
    assert {d.id for d in place(["a", "b"], inventory()).values()} == {"cpu"}
    with pytest.raises(DeviceError, match="no device 'cuda:3'; available: cuda:0, cpu"):
        place(["a"], inventory(10), overrides={"a": "cuda:3"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cpu", "cpu"),
        ("CUDA", "cuda:0"),
        ("cuda:1", "cuda:1"),
        ("gpu:2", "cuda:2"),
        ("GPU3", "cuda:3"),
    ],
)
def test_normalize_device_id(text: str, expected: str) -> None:
    assert normalize_device_id(text) == expected


def test_normalize_device_id_rejects_junk() -> None:
    with pytest.raises(DeviceError, match="use 'cpu' or 'cuda:N'"):
        normalize_device_id("tpu:0")


def test_pick_device_prefers_gpu_that_holds_the_work() -> None:
    inv = inventory(4, 12, 8)
    assert pick_device(inv, required_bytes=6 * GIB).id == "cuda:1"
    assert pick_device(inv, required_bytes=20 * GIB).id == "cpu"
    assert pick_device(inv, required_bytes=1, prefer_gpu=False).id == "cpu"


def test_discover_here_finds_the_cpu_and_honours_hidden_gpus() -> None:
    found = discover()
    assert found.cpu.memory_total > 0 and 0 < found.cpu.memory_free <= found.cpu.memory_total
    hidden = discover({"CUDA_VISIBLE_DEVICES": "-1"})
    assert hidden.source == "cpu" and hidden.gpus == () and hidden.cuda_visible_devices == "-1"
