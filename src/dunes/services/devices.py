"""The devices dunes can use and the simulator build that would use them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from dunes.devices import Device, discover
from dunes.quantum.backend import aer_info
from dunes.services.threads import io_bound


class AerBuild(BaseModel):
    """The active ``qiskit_aer``: its distribution, version, devices and whether GPUs serve."""

    model_config = ConfigDict(frozen=True)

    distribution: str
    version: str
    devices: list[str]
    gpu_build: bool
    gpu_usable: bool


class DeviceReport(BaseModel):
    """Devices (GPUs with memory and utilisation, the CPU), how they were found, and Aer."""

    model_config = ConfigDict(frozen=True)

    source: str
    cuda_visible_devices: str | None
    devices: list[Device]
    aer: AerBuild
    hint: str | None = None


@io_bound
def describe_devices() -> DeviceReport:
    inventory = discover()
    aer = aer_info()
    hint = None
    if not aer.gpu_build and inventory.gpus:
        hint = "pip uninstall -y qiskit-aer && pip install qiskit-aer-gpu  (CUDA 12)"
    return DeviceReport(
        source=inventory.source,
        cuda_visible_devices=inventory.cuda_visible_devices,
        devices=list(inventory.devices),
        aer=AerBuild(
            distribution=aer.distribution,
            version=aer.version,
            devices=list(aer.devices),
            gpu_build=aer.gpu_build,
            gpu_usable=aer.gpu_usable and bool(inventory.gpus),
        ),
        hint=hint,
    )
