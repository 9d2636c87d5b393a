"""Devices dunes can use and the active Aer build."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dunes.devices import Device, discover
from dunes.interfaces.api.deps import ClientDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.quantum.backend import aer_info

router = APIRouter(prefix="/v1/gpus", tags=["devices"], responses=PROBLEM_RESPONSES)


class AerBuild(BaseModel):
    """The Qiskit Aer distribution in use."""

    distribution: str = Field(examples=["qiskit-aer"])
    version: str = Field(examples=["0.17.2"])
    devices: list[str] = Field(examples=[["CPU"]])
    gpu_build: bool
    gpu_usable: bool


class Devices(BaseModel):
    """What this server can run on."""

    source: str = Field(description="How devices were found: nvml, torch or cpu.")
    cuda_visible_devices: str | None
    devices: list[Device]
    aer: AerBuild


def _devices() -> Devices:
    inventory = discover()
    aer = aer_info()
    return Devices(
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
    )


@router.get("", summary="Devices (GPUs with memory and utilisation, the CPU) and the Aer build")
async def list_devices(_client: ClientDep) -> Devices:
    return await run_in_threadpool(_devices)
