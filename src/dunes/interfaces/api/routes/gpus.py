"""Devices dunes can use and the active Aer build."""

from __future__ import annotations

from fastapi import APIRouter

from dunes.interfaces.api.deps import GatewayDep
from dunes.interfaces.api.problems import PROBLEM_RESPONSES
from dunes.services.devices import DeviceReport, describe_devices

router = APIRouter(prefix="/v1/gpus", tags=["devices"], responses=PROBLEM_RESPONSES)


@router.get("", summary="Devices (GPUs with memory and utilisation, the CPU) and the Aer build")
async def list_devices(gateway: GatewayDep) -> DeviceReport:
    return await gateway.run(describe_devices)
