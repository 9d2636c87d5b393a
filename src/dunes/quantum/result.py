"""``SimulationResult``: the one JSON encoding of a simulation (complex numbers as [re, im])."""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from dunes.errors import ArtifactError


class Amplitude(BaseModel):
    """One basis state's amplitude; ``bitstring`` puts qubit 0 rightmost, as Qiskit does."""

    model_config = ConfigDict(frozen=True)

    index: int
    bitstring: str
    amplitude: tuple[float, float]
    probability: float


class Artifact(BaseModel):
    """A payload too large for JSON, stored as a file and checked by its sha256."""

    model_config = ConfigDict(frozen=True)

    kind: str = "statevector"
    path: str
    sha256: str
    shape: tuple[int, ...]
    dtype: str


#: Which state ``statevector`` holds: the circuit's state before its final measurements (for a
#: circuit without measurements, its final state), the one branch a mid-circuit-measured circuit
#: reaches with certainty, or one branch drawn at random with ``seed``.
StateOf = Literal["before_final_measurements", "only_branch", "sampled_branch"]
#: What ``probabilities`` are over: the qubits of that state, or the classical bits at the end.
ProbabilitiesOf = Literal["qubits", "clbits"]


class SimulationResult(BaseModel):
    """What a simulation produced, and how it ran.

    ``exact`` says whether ``probabilities`` and ``expectation_values`` are exact or estimated
    from samples; ``reasons`` says why each choice was made, in words.
    """

    model_config = ConfigDict(frozen=True)

    num_qubits: int
    circuit: str = Field(description="The circuit in seed notation.")
    circuit_sha256: str
    device: str = Field(description="'cpu' or 'cuda:N' (the first device used).")
    devices: tuple[str, ...]
    aer_device: str
    backend: str = Field(description="Aer distribution and version.")
    method: str
    precision: str
    fusion: bool
    shots: int
    seed: int | None
    statevector: list[tuple[float, float]] | None = None
    statevector_truncated: bool = False
    top_amplitudes: list[Amplitude] | None = None
    probabilities: dict[str, float] | None = None
    probabilities_truncated: bool = Field(
        False, description="Only the most likely outcomes are listed (the rest are smaller)."
    )
    counts: dict[str, int] | None = None
    expectation_values: dict[str, float] | None = None
    artifact: Artifact | None = None
    state_of: StateOf | None = None
    probabilities_of: ProbabilitiesOf | None = None
    exact: bool = True
    branches: int | None = Field(
        None, description="Branches followed, for circuits that measure mid-circuit."
    )
    reasons: tuple[str, ...] = ()
    timings: dict[str, float] = Field(default_factory=dict)

    _state: np.ndarray | None = PrivateAttr(default=None)

    @property
    def state(self) -> np.ndarray | None:
        """The full statevector as a numpy array when it was computed in this process."""
        if self._state is not None:
            return self._state
        if self.statevector is not None and not self.statevector_truncated:
            pairs = np.asarray(self.statevector, dtype=float)
            return pairs[:, 0] + 1j * pairs[:, 1]
        if self.artifact is not None:
            return load_array(self.artifact)
        return None

    def entropy_bits(self) -> float | None:
        """Shannon entropy of the outcome distribution (counts if sampled, else probabilities)."""
        if self.counts:
            total = sum(self.counts.values())
            weights = [c / total for c in self.counts.values()]
        elif self.probabilities:
            weights = list(self.probabilities.values())
        else:
            return None
        return -sum(p * math.log2(p) for p in weights if p > 0)


def complex_pairs(values: np.ndarray) -> list[tuple[float, float]]:
    """``[re, im]`` pairs, the JSON form of complex numbers."""
    pairs: list[tuple[float, float]] = list(
        zip(values.real.tolist(), values.imag.tolist(), strict=True)
    )
    return pairs


def probabilities_of(state: np.ndarray) -> np.ndarray:
    """``|amplitude|^2``; numpy's vectorised ``abs`` beat ``einsum`` and ``re^2 + im^2`` here."""
    squared: np.ndarray = np.abs(state) ** 2
    return squared


def top_indices(values: np.ndarray, k: int, *, block: int = 4096) -> np.ndarray:
    """Indices of the ``k`` largest ``values``, largest first, ties by lower index.

    Large arrays are searched block-wise: the k-th largest block maximum ``m`` is at most the k-th
    largest value, so every wanted entry lies in a block whose maximum is at least ``m``.
    """
    n = values.size
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if n >= 4 * block and n % block == 0 and k < n // block:
        maxima = values.reshape(-1, block).max(axis=1)
        kth_max = np.partition(maxima, maxima.size - k)[maxima.size - k]
        blocks = np.flatnonzero(maxima >= kth_max)
        if blocks.size <= 8 * k:
            candidates = (blocks[:, None] * block + np.arange(block)).ravel()
            return _exact_top(values[candidates], candidates, k)
        if kth_max <= 0:  # fewer than k non-zero blocks (GHZ-like states): zeros fill up
            busy = np.flatnonzero(maxima > 0)
            inside = (busy[:, None] * block + np.arange(block)).ravel()
            positive = inside[values[inside] > 0]
            if positive.size >= k:
                return _exact_top(values[positive], positive, k)
            head = _exact_top(values[positive], positive, positive.size)
            # the first k entries hold at least k - |positive| zeros
            need = k - positive.size
            zeros = np.flatnonzero(values[: need + positive.size] == 0)[:need]
            return np.concatenate([head, zeros])
    return _exact_top(values, None, k)


def _exact_top(values: np.ndarray, index: np.ndarray | None, k: int) -> np.ndarray:
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    kth = np.partition(values, values.size - k)[values.size - k]
    above = np.flatnonzero(values > kth)
    ties = np.flatnonzero(values == kth)[: k - above.size]
    chosen = np.concatenate([above, ties])
    positions = chosen if index is None else index[chosen]
    order = np.lexsort((positions, -values[chosen]))
    return positions[order].astype(np.int64)


#: Left beside a reclaimed artifact, so that reading it says so (``<sha256>.reclaimed``).
TOMBSTONE_SUFFIX = ".reclaimed"
#: Amplitudes looked at together when searching a big state: small next to the
#: state, so post-processing adds a few MiB to a run's peak, not a copy of the state.
CHUNK = 2**18


def top_amplitudes(state: np.ndarray, num_qubits: int, k: int) -> list[Amplitude]:
    """The ``k`` largest-magnitude amplitudes, largest first (ties by index), chunk by chunk.

    Once ``k`` are held, a later chunk can only add entries strictly above the smallest of them
    (an equal one has a higher index and loses the tie), so most chunks cost one comparison.
    """
    best_index = np.empty(0, dtype=np.int64)
    best_value = np.empty(0, dtype=np.float64)
    for start in range(0, state.size, CHUNK):
        probabilities = probabilities_of(state[start : start + CHUNK])
        if best_value.size >= k:
            hits = np.flatnonzero(probabilities > best_value.min())
        else:
            hits = np.arange(probabilities.size)
        if hits.size == 0:
            continue
        index = np.concatenate([best_index, hits + start])
        value = np.concatenate([best_value, probabilities[hits]])
        keep = _exact_top(value, None, min(k, value.size))
        best_index, best_value = index[keep], value[keep]
    chosen = best_index
    return [
        Amplitude(
            index=i,
            bitstring=format(i, f"0{num_qubits}b"),
            amplitude=(float(state[i].real), float(state[i].imag)),
            probability=float(abs(state[i]) ** 2),
        )
        for i in chosen.tolist()
    ]


def write_array(array: np.ndarray, directory: Path, *, kind: str = "statevector") -> Artifact:
    """Write ``array`` as ``<sha256>.npy`` under ``directory`` (content addressed).

    One pass over the array, chunk by chunk: no copy of a big state. Each chunk is hashed on a
    second thread while it is written (hashlib lets go of the GIL), so the two overlap. Big
    arrays bypass the page cache (``O_DIRECT``, through a page-aligned bounce buffer): a state
    of gigabytes otherwise runs into the kernel's dirty-page limit and is written two to three
    times slower; where the file system refuses direct I/O the file is written through the cache.
    """
    directory.mkdir(parents=True, exist_ok=True)
    data = np.ascontiguousarray(array)
    raw = memoryview(data.reshape(-1).data).cast("B")
    tmp = directory / f".{os.getpid()}-{threading.get_ident()}.tmp.npy"
    digest = None
    if len(raw) >= DIRECT_MIN_BYTES and len(raw) % DIRECT_ALIGN == 0:
        digest = _write_direct(tmp, _aligned_npy_header(data), raw)
    if digest is None:
        digest = _write_buffered(tmp, data, raw)
    path = directory / f"{digest}.npy"
    if path.exists():
        tmp.unlink()
    else:
        tmp.replace(path)
    return Artifact(
        kind=kind, path=str(path), sha256=digest, shape=data.shape, dtype=str(data.dtype)
    )


#: Direct I/O wants offsets, sizes and buffers aligned to the device's block (4 KiB covers all).
DIRECT_ALIGN = 4096
#: Below this an array is written through the page cache (direct I/O pays off for big states).
DIRECT_MIN_BYTES = 16 << 20


def _aligned_npy_header(data: np.ndarray) -> bytes:
    """The ``.npy`` 1.0 header, padded with spaces to ``DIRECT_ALIGN`` bytes so that the data
    that follows starts on a block (NumPy reads any padding)."""
    info = np.lib.format.header_data_from_array_1_0(data)
    text = repr({k: info[k] for k in sorted(info)}).encode("latin1")
    pad = DIRECT_ALIGN - 10 - len(text) - 1
    return (
        b"\x93NUMPY\x01\x00" + (DIRECT_ALIGN - 10).to_bytes(2, "little") + text + b" " * pad + b"\n"
    )


#: Bytes written (and hashed) at a time: small next to a state, big enough for the disk.
WRITE_BLOCK = 4 << 20


def _hash_while_writing(
    raw: memoryview,
    write: Callable[[memoryview, int], None],
    stage: Callable[[memoryview, int], memoryview] = lambda piece, _: piece,
) -> str:
    """sha256 of ``raw``, block by block: each block (``stage`` may copy it elsewhere first)
    is hashed on a second thread while ``write(block, offset)`` writes it."""
    digest = hashlib.sha256()
    with ThreadPoolExecutor(1, "dunes-hash") as hasher:
        hashing: Future[None] | None = None
        for i, start in enumerate(range(0, len(raw), WRITE_BLOCK)):
            block = stage(raw[start : start + WRITE_BLOCK], i)
            if hashing is not None:
                hashing.result()
            hashing = hasher.submit(digest.update, block)
            write(block, start)
        if hashing is not None:
            hashing.result()
    return digest.hexdigest()


def _write_buffered(tmp: Path, data: np.ndarray, raw: memoryview) -> str:
    with open(tmp, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, np.lib.format.header_data_from_array_1_0(data))

        def put(block: memoryview, _offset: int) -> None:
            handle.write(block)

        return _hash_while_writing(raw, put)


def _write_direct(tmp: Path, header: bytes, raw: memoryview) -> str | None:
    """Write through ``O_DIRECT``; None when the file system refuses it (nothing is left)."""
    import mmap

    direct = getattr(os, "O_DIRECT", None)
    if direct is None:
        return None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | direct, 0o600)
    except OSError:
        return None
    # Two page-aligned bounce buffers: one is written while the other is filled.
    buffers = [mmap.mmap(-1, WRITE_BLOCK), mmap.mmap(-1, WRITE_BLOCK)]

    def put(block: memoryview, offset: int) -> None:
        if os.pwrite(fd, block, offset) != len(block):
            raise OSError("short write")

    def stage(piece: memoryview, i: int) -> memoryview:
        buffer = memoryview(buffers[i % 2])[: len(piece)]
        buffer[:] = piece
        return buffer

    try:
        put(stage(memoryview(header), 0), 0)
        return _hash_while_writing(raw, lambda block, start: put(block, len(header) + start), stage)
    except OSError:
        tmp.unlink(missing_ok=True)
        return None
    finally:
        os.close(fd)


def load_array(artifact: Artifact) -> np.ndarray:
    """Read an artifact back, checking that its content still has the recorded sha256.

    Raises:
        ArtifactError: the file is missing, unreadable or its content changed.
    """
    path = Path(artifact.path)
    if not path.is_file():
        tombstone = path.with_suffix(TOMBSTONE_SUFFIX)
        if tombstone.is_file():
            raise ArtifactError(
                f"artifact reclaimed: {path} was removed by 'dunes graph gc' "
                f"({tombstone.read_text(encoding='utf-8', errors='replace')[:200]})"
            )
        raise ArtifactError(f"artifact missing: {path} ({artifact.kind}, sha256 {artifact.sha256})")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"artifact unreadable: {path}: {exc}") from exc
    digest = hashlib.sha256(
        memoryview(np.ascontiguousarray(data).reshape(-1).data).cast("B")
    ).hexdigest()
    if digest != artifact.sha256:
        raise ArtifactError(
            f"artifact corrupt: {path} has sha256 {digest}, expected {artifact.sha256}"
        )
    loaded: np.ndarray = data
    return loaded
