"""GPU inventory (NVML, then torch, then CPU only) and placement of work onto devices.

Device ids are what a process sees after ``CUDA_VISIBLE_DEVICES``: ``cuda:0`` is the first
visible GPU whatever its physical index, as in CUDA itself. ``cpu`` is always present.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dunes.errors import DeviceError

Source = Literal["nvml", "torch", "cpu"]


class Device(BaseModel):
    """One place work can run."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="'cpu' or 'cuda:N' (N is the visible index).")
    kind: Literal["cpu", "cuda"]
    index: int | None = Field(None, description="Visible CUDA index; None for the CPU.")
    physical_index: int | None = Field(None, description="Index as NVML numbers it.")
    name: str
    uuid: str | None = None
    memory_total: int = Field(description="Bytes.")
    memory_free: int = Field(description="Bytes.")
    utilization: float | None = Field(None, description="GPU busy share 0..1 where NVML has it.")


class Inventory(BaseModel):
    """What this process can use, and how that was found out."""

    model_config = ConfigDict(frozen=True)

    source: Source
    cuda_visible_devices: str | None
    devices: tuple[Device, ...]

    @property
    def gpus(self) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.kind == "cuda")

    @property
    def cpu(self) -> Device:
        return next(d for d in self.devices if d.kind == "cpu")

    def get(self, device_id: str) -> Device:
        """Return the device with this id.

        Raises:
            DeviceError: no such device; the message lists the ones there are.
        """
        wanted = normalize_device_id(device_id)
        for device in self.devices:
            if device.id == wanted:
                return device
        have = ", ".join(d.id for d in self.devices)
        raise DeviceError(f"no device {device_id!r}; available: {have}", field="device")


def normalize_device_id(device_id: str) -> str:
    """Accept 'cpu', 'cuda', 'cuda:1', 'gpu:1', 'GPU1' and return 'cpu' or 'cuda:N'."""
    text = device_id.strip().lower().replace(" ", "")
    if text == "cpu":
        return "cpu"
    for prefix in ("cuda", "gpu"):
        if text.startswith(prefix):
            rest = text[len(prefix) :].lstrip(":")
            if rest == "":
                return "cuda:0"
            if rest.isdigit():
                return f"cuda:{int(rest)}"
    raise DeviceError(
        f"device {device_id!r} not understood; use 'cpu' or 'cuda:N' (N = visible GPU index)",
        field="device",
    )


def host_memory() -> tuple[int, int]:
    """Total and available host memory in bytes (Linux /proc/meminfo, else sysconf)."""
    try:
        fields: dict[str, int] = {}
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                fields[key] = int(value.split()[0]) * 1024
        return fields["MemTotal"], fields.get("MemAvailable", fields["MemFree"])
    except (OSError, KeyError, ValueError):
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        return pages * size, pages * size // 2


def _cpu_device() -> Device:
    total, free = host_memory()
    return Device(
        id="cpu",
        kind="cpu",
        name=f"CPU ({os.cpu_count() or 1} cores)",
        memory_total=total,
        memory_free=free,
    )


def parse_visible(value: str | None) -> list[str] | None:
    """Split CUDA_VISIBLE_DEVICES into entries; None means 'all visible'.

    CUDA stops at the first invalid entry and '-1' hides everything after it; mirror that.
    """
    if value is None:
        return None
    entries: list[str] = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry or entry.startswith("-"):
            break
        entries.append(entry)
    return entries


def _select_visible(
    physical: Sequence[tuple[int, str | None]], visible: list[str] | None
) -> list[int]:
    """Map visible entries (indices or UUID prefixes) to physical indices, in visible order."""
    if visible is None:
        return [index for index, _ in physical]
    chosen: list[int] = []
    for entry in visible:
        match: int | None = None
        if entry.isdigit():
            index = int(entry)
            match = index if any(p == index for p, _ in physical) else None
        else:
            key = entry.lower().removeprefix("gpu-")
            for index, uuid in physical:
                if uuid and uuid.lower().removeprefix("gpu-").startswith(key):
                    match = index
                    break
        if match is None or match in chosen:
            break  # CUDA ignores everything from the first bad entry on
        chosen.append(match)
    return chosen


def _nvml_devices(visible: list[str] | None) -> list[Device] | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        count = pynvml.nvmlDeviceGetCount()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        uuids = [_as_str(pynvml.nvmlDeviceGetUUID(h)) for h in handles]
        order = _select_visible(list(enumerate(uuids)), visible)
        devices = []
        for visible_index, physical_index in enumerate(order):
            handle = handles[physical_index]
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                utilization: float | None = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100
            except pynvml.NVMLError:
                utilization = None
            devices.append(
                Device(
                    id=f"cuda:{visible_index}",
                    kind="cuda",
                    index=visible_index,
                    physical_index=physical_index,
                    name=_as_str(pynvml.nvmlDeviceGetName(handle)),
                    uuid=uuids[physical_index],
                    memory_total=int(memory.total),
                    memory_free=int(memory.free),
                    utilization=utilization,
                )
            )
        return devices
    except pynvml.NVMLError:
        return None
    finally:
        pynvml.nvmlShutdown()


def _as_str(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver is loaded (Linux, or WSL's /dev/dxg), without importing torch."""
    return Path("/proc/driver/nvidia").exists() or Path("/dev/dxg").exists()


def _torch_devices() -> list[Device] | None:
    # Importing torch costs seconds; without a driver it could not find a GPU anyway.
    if "torch" not in sys.modules and not _nvidia_driver_present():
        return None
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    devices = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        devices.append(
            Device(
                id=f"cuda:{index}",
                kind="cuda",
                index=index,
                name=torch.cuda.get_device_name(index),
                memory_total=int(total),
                memory_free=int(free),
            )
        )
    return devices


def discover(env: Mapping[str, str] | None = None) -> Inventory:
    """Find the devices this process may use: NVML, then torch, then the CPU alone."""
    environ = os.environ if env is None else env
    raw_visible = environ.get("CUDA_VISIBLE_DEVICES")
    visible = parse_visible(raw_visible)
    cpu = _cpu_device()
    if visible == []:
        return Inventory(source="cpu", cuda_visible_devices=raw_visible, devices=(cpu,))
    gpus = _nvml_devices(visible)
    if gpus:
        return Inventory(source="nvml", cuda_visible_devices=raw_visible, devices=(*gpus, cpu))
    gpus = _torch_devices()
    if gpus:
        return Inventory(source="torch", cuda_visible_devices=raw_visible, devices=(*gpus, cpu))
    return Inventory(source="cpu", cuda_visible_devices=raw_visible, devices=(cpu,))


def place(
    names: Sequence[str],
    inventory: Inventory,
    *,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, Device]:
    """Assign each name a device: round-robin over GPUs ordered by free memory, else the CPU.

    Several names may share a device when there are more names than GPUs. ``overrides`` pins a
    name to a device id and takes precedence.
    """
    pinned = dict(overrides or {})
    ordered = sorted(inventory.gpus, key=lambda d: (-d.memory_free, d.index or 0))
    plan: dict[str, Device] = {}
    slot = 0
    for name in names:
        if name in pinned:
            plan[name] = inventory.get(pinned[name])
        elif ordered:
            plan[name] = ordered[slot % len(ordered)]
            slot += 1
        else:
            plan[name] = inventory.cpu
    return plan


def pick_device(inventory: Inventory, *, required_bytes: int, prefer_gpu: bool = True) -> Device:
    """The GPU with the most free memory that holds ``required_bytes``, else the CPU."""
    if prefer_gpu:
        fitting = [d for d in inventory.gpus if d.memory_free >= required_bytes]
        if fitting:
            return max(fitting, key=lambda d: d.memory_free)
    return inventory.cpu
