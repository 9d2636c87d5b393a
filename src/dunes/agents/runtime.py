"""``AgentRuntime``: the four roles on their devices, with resident models and batching.

Models load on first use and stay in the process-wide pool; each loaded model has one batching
thread, shared by every role (and every runtime) that uses it. All public methods are
thread-safe: concurrent callers are batched together.
"""

from __future__ import annotations

import logging
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any, cast

import numpy as np

from dunes.agents import checks, extraction, planner
from dunes.agents.batching import Batcher
from dunes.agents.models import POOL, Encoder, ModelPool, pick_dtype, resolve_model
from dunes.agents.schemas import (
    AgentOutput,
    Extraction,
    ParamValue,
    PlanResult,
    Report,
    ValidationVerdict,
)
from dunes.config import Settings
from dunes.constants import ROLES, Role
from dunes.devices import Device, Inventory, discover, pick_device, place
from dunes.errors import AgentInputError, InvalidInputError
from dunes.quantum import SimulationOptions, parse_circuit, simulate
from dunes.quantum import families as catalog
from dunes.quantum.circuit import CircuitSpec
from dunes.quantum.memory import state_bytes
from dunes.quantum.result import SimulationResult

#: Default seed of random circuits when the task gives none, so a plan is reproducible.
RANDOM_DEFAULT_SEED = 7
RANDOM_DEFAULT_DEPTH = 5
_MEMO_SIZE = 512
_log = logging.getLogger(__name__)


class _Batchers:
    """One batcher per (encoder, batch size, wait): shared by every runtime in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[int, int, float], Batcher] = {}

    def get(self, encoder: Encoder, max_batch_size: int, max_wait_ms: float) -> Batcher:
        key = (id(encoder), max_batch_size, max_wait_ms)
        with self._lock:
            batcher = self._items.get(key)
            if batcher is None or batcher.encoder is not encoder:
                batcher = Batcher(encoder, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)
                self._items[key] = batcher
            return batcher


BATCHERS = _Batchers()
#: The catalog's embeddings per loaded planner model, computed once per process.
_CATALOGS: weakref.WeakKeyDictionary[Encoder, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_CATALOG_LOCK = threading.Lock()


def _torch_has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def check_role(role: str) -> Role:
    """``role`` as a Role.

    Raises:
        InvalidInputError: not one of the four roles.
    """
    if role not in ROLES:
        raise InvalidInputError(f"unknown role {role!r}; roles: {', '.join(ROLES)}", field="role")
    return role


class AgentRuntime:
    """The four agents of one worker: placement, resident models, batched inference."""

    def __init__(
        self,
        settings: Settings,
        inventory: Inventory | None = None,
        *,
        pool: ModelPool | None = None,
    ) -> None:
        self.settings = settings
        self._inventory = inventory
        self._inventory_is_live = inventory is None
        self._pool = pool or POOL
        self._placement: dict[str, Device] | None = None
        self._lock = threading.Lock()
        self._memo: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()

    # --- placement and models -------------------------------------------------------------

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            self._inventory = discover()
        return self._inventory

    def placement(self) -> dict[Role, Device]:
        """Role -> device: round-robin over GPUs by free memory, CPU without GPUs, or as set."""
        with self._lock:
            if self._placement is None:
                inventory = self.inventory
                if inventory.gpus and self._inventory_is_live and not _torch_has_cuda():
                    # NVML sees GPUs but this torch build cannot use them: unpinned roles go to
                    # the CPU instead of failing at load time
                    inventory = inventory.model_copy(update={"devices": (inventory.cpu,)})
                    _log.warning("torch has no CUDA support; agents placed on the CPU")
                overrides = {str(k): v for k, v in self.settings.agents.placement.items()}
                self._placement = place(ROLES, inventory, overrides=overrides)
                if inventory is not self.inventory:
                    pinned = dict(self.settings.agents.placement)
                    self._placement.update(
                        {r: self.inventory.get(d) for r, d in pinned.items() if r in ROLES}
                    )
            return {cast(Role, role): device for role, device in self._placement.items()}

    def model_name(self, role: str) -> str:
        return resolve_model(check_role(role), self.settings.agents).name

    def encoder(self, role: str) -> Encoder:
        """The resident encoder of ``role`` (loaded on first use, shared with same-model roles).

        Raises:
            ModelNotFoundError: the role's model is missing.
        """
        role = check_role(role)
        ref = resolve_model(role, self.settings.agents)
        device = self.placement()[role]
        dtype = pick_dtype(device.id, self.settings.agents.half_precision)
        return self._pool.get(ref, device.id, dtype)

    def batcher(self, role: str) -> Batcher:
        agents = self.settings.agents
        return BATCHERS.get(self.encoder(role), agents.max_batch_size, agents.max_wait_ms)

    # --- embeddings -----------------------------------------------------------------------

    def embed_async(self, texts: list[str], role: str = "planner") -> Future[np.ndarray]:
        """Queue ``texts`` for ``role``'s model; the future gives (n, dim) unit vectors."""
        return self.batcher(role).submit(list(texts))

    def embed(self, texts: list[str], role: str = "planner") -> np.ndarray:
        """Unit-length embeddings of ``texts`` with ``role``'s model, shape (n, dim)."""
        return self.embed_async(texts, role).result()

    def _embed_one(self, role: str, text: str) -> np.ndarray:
        encoder = self.encoder(role)
        key = (id(encoder), text)
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        vector: np.ndarray = self.embed([text], role)[0]
        with self._lock:
            self._memo[key] = vector
            while len(self._memo) > _MEMO_SIZE:
                self._memo.popitem(last=False)
        return vector

    def _catalog(self) -> dict[str, np.ndarray]:
        encoder = self.encoder("planner")
        with _CATALOG_LOCK:
            cached = _CATALOGS.get(encoder)
        if cached is not None:
            return cached
        texts = planner.catalog_texts()
        flat = [t for group in texts.values() for t in group]
        vectors = self.embed(flat, "planner")
        result: dict[str, np.ndarray] = {}
        start = 0
        for name, group in texts.items():
            result[name] = vectors[start : start + len(group)]
            start += len(group)
        with _CATALOG_LOCK:
            _CATALOGS[encoder] = result
        return result

    def _stamp(self, role: Role, vector: np.ndarray) -> dict[str, Any]:
        return {
            "role": role,
            "device": self.placement()[role].id,
            "model": self.model_name(role),
            "embedding": [float(x) for x in vector],
        }

    # --- roles ----------------------------------------------------------------------------

    def extract(self, text: str) -> Extraction:
        """Parameters in ``text``: qubits, shots, marked, angles, secret; what is missing."""
        found = extraction.extract(text)
        defaults: dict[str, ParamValue] = {}
        if found.shots is None:
            defaults["shots"] = self.settings.quantum.default_shots
        return Extraction(
            **self._stamp("extraction", self._embed_one("extraction", text)),
            num_qubits=found.num_qubits,
            shots=found.shots,
            marked=found.marked,
            angles=found.angles,
            secret=found.secret,
            basis=found.basis,
            bitstrings=found.bitstrings,
            depth=found.depth,
            seed=found.seed,
            oracle=found.oracle,
            variant=found.variant,
            missing=found.missing,
            defaults_used=defaults,
        )

    def plan(self, text: str) -> PlanResult:
        """A circuit for ``text``: the one it contains, a family from the catalog, or a refusal.

        Raises:
            CircuitError: the task contains a circuit that does not parse.
            InvalidInputError: the family cannot take the parameters asked for.
        """
        if not text.strip():
            raise InvalidInputError("the task is empty; describe a circuit", field="task")
        ext = self.extract(text)
        stamp = self._stamp("planner", self._embed_one("planner", text))
        shots = ext.shots if ext.shots is not None else self.settings.quantum.default_shots
        given = planner.find_circuit(text)
        if given is not None:
            spec = parse_circuit(given)
            return PlanResult(
                **stamp,
                task=text,
                source="given",
                family=None,
                confidence=1.0,
                reason="the task contains a circuit; used as is",
                num_qubits=spec.num_qubits,
                shots=shots,
                circuit=spec,
                circuit_seed=spec.to_seed(),
                extraction=ext,
            )
        scores = planner.score_families(
            np.asarray(stamp["embedding"], dtype=np.float32),
            self._catalog(),
            text,
            num_qubits=ext.num_qubits,
        )
        best, second = scores[0], scores[1]
        threshold = self.settings.agents.confidence_threshold
        common: dict[str, Any] = {
            "task": text,
            "runner_up": second.family,
            "runner_up_confidence": second.score,
            "scores": scores[:3],
            "extraction": ext,
            "shots": shots,
        }
        if best.score < threshold:
            # Nothing won: the runner-up is the closest family, the one that fell short.
            common |= {"runner_up": best.family, "runner_up_confidence": best.score}
            return PlanResult(
                **stamp,
                **common,
                source="none",
                family=None,
                confidence=best.score,
                reason=(
                    f"no circuit family matches well enough: best {best.family} scored "
                    f"{best.score:.2f}, below the threshold {threshold:.2f}; known families: "
                    f"{', '.join(catalog.names())}, or give the circuit itself "
                    "(e.g. 'h(0); cx(0,1)')"
                ),
            )
        params, defaults = family_params(best.family, ext)
        spec = catalog.build(best.family, params)
        params["num_qubits"] = spec.num_qubits
        evidence = ", ".join(best.evidence) or "no keyword"
        return PlanResult(
            **stamp,
            **common,
            source="catalog",
            family=best.family,
            confidence=best.score,
            reason=(
                f"{catalog.get(best.family).title}: similarity {best.similarity:.2f}, "
                f"keywords: {evidence}; runner-up {second.family} ({second.score:.2f})"
            ),
            num_qubits=spec.num_qubits,
            params=params,
            defaults_used={**ext.defaults_used, **defaults},
            circuit=spec,
            circuit_seed=spec.to_seed(),
        )

    def _target_device(self, spec: CircuitSpec, device: Device | str | None) -> Device:
        if isinstance(device, Device):
            return device
        if device is not None and device not in ("auto", "gpu"):
            return self.inventory.get(device)
        return pick_device(
            self.inventory,
            required_bytes=state_bytes(spec.num_qubits),
            prefer_gpu=device != "cpu",
        )

    def validate_circuit(
        self,
        spec: CircuitSpec,
        *,
        family: str | None = None,
        device: Device | str | None = None,
    ) -> ValidationVerdict:
        """Before running: qubits, depth and memory against the device that would run it."""
        target = self._target_device(spec, device)
        found = checks.circuit_checks(spec, device=target, limits=self.settings.quantum)
        passed, verdict = checks.verdict_of(found)
        subject = f"{family or 'given'} circuit on {spec.num_qubits} qubits for {target.id}"
        return ValidationVerdict(
            **self._stamp("validation", self._embed_one("validation", f"{subject}: {verdict}")),
            stage="circuit",
            target_device=target.id,
            checks=found,
            passed=passed,
            verdict=verdict,
        )

    def validate_result(
        self,
        spec: CircuitSpec,
        result: SimulationResult,
        *,
        family: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> ValidationVerdict:
        """After running: the norm, and fidelity to the family's ideal state where known."""
        found = checks.result_checks(spec, result, family=family, params=params)
        passed, verdict = checks.verdict_of(found)
        subject = f"{family or 'given'} result on {spec.num_qubits} qubits"
        return ValidationVerdict(
            **self._stamp("validation", self._embed_one("validation", f"{subject}: {verdict}")),
            stage="result",
            target_device=result.device,
            checks=found,
            passed=passed,
            verdict=verdict,
        )

    def synthesize(
        self,
        *,
        plan: PlanResult,
        result: SimulationResult,
        validations: list[ValidationVerdict],
    ) -> Report:
        """A short report: what was built, top outcomes, entropy, the validation verdict."""
        spec = plan.circuit
        if spec is None:
            raise AgentInputError(f"nothing to report: the plan has no circuit ({plan.reason})")
        outcomes = checks.top_outcomes(result)
        entropy = result.entropy_bits()
        if entropy is None and outcomes:
            entropy = -sum(o.probability * math.log2(o.probability) for o in outcomes)
        if any(not v.passed for v in validations):
            verdict = "fail"
        elif validations:
            verdict = "pass"
        else:
            verdict = "unchecked"
        what = (
            f"a {spec.num_qubits}-qubit {catalog.get(plan.family).title}"
            if plan.family
            else f"the given {spec.num_qubits}-qubit circuit"
        )
        lines = [
            f"Built {what} ({spec.gate_count} gates, depth {spec.depth}) and ran it on "
            f"{result.device} ({result.method}, {result.shots} shots).",
            "Top outcomes: "
            + (", ".join(f"{o.bitstring} ({o.probability:.3f})" for o in outcomes) or "none")
            + ".",
            f"Entropy: {entropy:.3f} bits." if entropy is not None else "Entropy: unknown.",
        ]
        for v in validations:
            lines.append(f"Validation ({v.stage}): {v.verdict}.")
        lines.append(f"Verdict: {verdict}.")
        text = "\n".join(lines)
        return Report(
            **self._stamp("synthesis", self._embed_one("synthesis", text)),
            text=text,
            family=plan.family,
            num_qubits=spec.num_qubits,
            gate_count=spec.gate_count,
            depth=spec.depth,
            top_outcomes=outcomes,
            entropy_bits=entropy,
            verdict=verdict,
        )

    def run_role(self, role: str, text: str) -> AgentOutput:
        """Run one role on ``text`` (the roles before it run as needed).

        Raises:
            AgentInputError: the planner found no circuit for a role that needs one.
        """
        role = check_role(role)
        if role == "extraction":
            return self.extract(text)
        plan = self.plan(text)
        if role == "planner":
            return plan
        if plan.circuit is None:
            raise AgentInputError(f"the {role} role needs a circuit: {plan.reason}", field="task")
        before = self.validate_circuit(plan.circuit, family=plan.family)
        if role == "validation":
            return before
        result = simulate(
            plan.circuit,
            SimulationOptions(shots=plan.shots, statevector=True),
            inventory=self.inventory,
            settings=self.settings.quantum,
            artifacts_dir=self.settings.artifacts_dir,
        )
        after = self.validate_result(plan.circuit, result, family=plan.family, params=plan.params)
        return self.synthesize(plan=plan, result=result, validations=[before, after])


def family_params(
    family: str, ext: Extraction
) -> tuple[dict[str, ParamValue], dict[str, ParamValue]]:
    """(params for ``families.build``, the defaults that filled gaps) from an extraction."""
    fam = catalog.get(family)
    params: dict[str, ParamValue] = {}
    defaults: dict[str, ParamValue] = {}
    plain = ext.bitstrings[0] if ext.bitstrings else None
    if ext.num_qubits is not None:
        params["num_qubits"] = ext.num_qubits
    if fam.name == "grover":
        marked = ext.marked or ext.basis or plain
        if marked:
            params["marked"] = marked
        else:
            n = ext.num_qubits or fam.default_qubits
            defaults["marked"] = params["marked"] = "1" * min(n, catalog.GROVER_MAX_QUBITS)
    elif fam.name in ("bernstein_vazirani", "deutsch_jozsa"):
        secret = ext.secret or plain
        if fam.name == "deutsch_jozsa":
            params["oracle"] = ext.oracle or "balanced"
            if ext.oracle is None:
                defaults["oracle"] = "balanced"
        if secret and params.get("oracle") != "constant":
            params["secret"] = secret
        elif params.get("oracle") != "constant":
            n = ext.num_qubits or fam.default_qubits
            defaults["secret"] = params["secret"] = "1" * max(1, n - 1)
    elif fam.name in ("qft", "iqft"):
        basis = ext.basis or plain
        if basis:
            params["basis"] = basis
        else:
            defaults["basis"] = "0"
    elif fam.name == "teleportation":
        for name, index, default in (
            ("theta", 0, catalog.TELEPORT_THETA),
            ("phi", 1, catalog.TELEPORT_PHI),
        ):
            if len(ext.angles) > index:
                params[name] = ext.angles[index]
            else:
                defaults[name] = params[name] = default
    elif fam.name == "random":
        for name, value, default in (
            ("depth", ext.depth, RANDOM_DEFAULT_DEPTH),
            ("seed", ext.seed, RANDOM_DEFAULT_SEED),
        ):
            params[name] = value if value is not None else default
            if value is None:
                defaults[name] = default
    elif fam.name == "bell" and ext.variant:
        params["variant"] = ext.variant
    if (
        "num_qubits" not in params
        and fam.fixed_qubits is None
        and not any(k in params and k not in defaults for k in ("secret", "marked", "basis"))
    ):
        defaults["num_qubits"] = fam.default_qubits
    if fam.fixed_qubits is not None and ext.num_qubits not in (None, fam.fixed_qubits):
        defaults["num_qubits"] = fam.fixed_qubits
        params.pop("num_qubits", None)
    return params, defaults
