"""Which Aer build is installed (qiskit-aer or qiskit-aer-gpu) and what it can use."""

from __future__ import annotations

import functools
from importlib import metadata

from pydantic import BaseModel, ConfigDict

AER_DISTRIBUTIONS = ("qiskit-aer-gpu", "qiskit-aer-gpu-cu11", "qiskit-aer")


class AerInfo(BaseModel):
    """The active ``qiskit_aer`` module: which distribution provides it and its devices."""

    model_config = ConfigDict(frozen=True)

    distribution: str
    version: str
    devices: tuple[str, ...]
    methods: tuple[str, ...]
    options: tuple[str, ...] = ()

    def supports(self, option: str) -> bool:
        """Whether this Aer build knows the run option ``option`` (e.g. ``batched_shots_gpu``)."""
        return option in self.options

    @property
    def gpu_build(self) -> bool:
        return "gpu" in self.distribution

    @property
    def gpu_usable(self) -> bool:
        return "GPU" in self.devices


@functools.cache
def aer_info() -> AerInfo:
    """Inspect the installed Aer once per process."""
    from qiskit_aer import AerSimulator

    distribution, version = "unknown", "unknown"
    for name in AER_DISTRIBUTIONS:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        distribution = name
        break
    simulator = AerSimulator()
    return AerInfo(
        distribution=distribution,
        version=version,
        devices=tuple(simulator.available_devices()),
        methods=tuple(simulator.available_methods()),
        options=tuple(sorted(vars(AerSimulator._default_options()))),
    )
