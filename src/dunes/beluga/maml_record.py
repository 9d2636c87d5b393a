"""Recording a MAML run in the provenance graph: the document, the run, its outputs.

Failures to record become warnings of the run, never a lost run.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from dunes.config import Settings
from dunes.errors import DunesError

if TYPE_CHECKING:
    from dunes.beluga.store import GraphStore
    from dunes.maml.model import MamlDocument
    from dunes.maml.runner import MamlRunResult
    from dunes.quantum import CircuitSpec, SimulationResult


class MamlRecorder:
    """Writes the run into the BELUGA graph; failures there become warnings, never lost runs."""

    def __init__(
        self,
        settings: Settings,
        warnings: list[str],
        *,
        enabled: bool,
        store: GraphStore | None = None,
        job_id: str | None = None,
    ) -> None:
        self.store: GraphStore | None = store
        self._owned = False
        self.job_id = job_id
        self.warnings = warnings
        self.simulations: list[dict[str, str]] = []
        self.imports: list[Any] = []
        if not enabled or store is not None:
            return
        try:
            from dunes.beluga import open_store

            self.store = open_store(settings)
            self._owned = True
        except ImportError:
            warnings.append(
                "the BELUGA store is not available; the run is not recorded in the graph"
            )
        except DunesError as exc:
            warnings.append(f"the BELUGA store could not be opened: {exc}")

    def close(self) -> None:
        """Close the store when it was opened here."""
        if self._owned and self.store is not None:
            self.store.close()
            self.store = None

    def simulation(self, spec: CircuitSpec, result: SimulationResult) -> None:
        if self.store is None:
            return
        try:
            self.simulations.append(self.store.record_simulation(spec, result, job_id=self.job_id))
        except DunesError as exc:
            self.warnings.append(f"recording a simulation failed: {exc}")

    def import_graph(self, text: str) -> Any:
        if self.store is None:
            self.warnings.append("quantum_graph data was read but not imported: no BELUGA store")
            return None
        from dunes.beluga import import_quantum_graph_yaml

        imported = import_quantum_graph_yaml(self.store, text)
        self.imports.append(imported)
        return imported

    def run(
        self, *, doc: MamlDocument, result: MamlRunResult, source: str | None
    ) -> dict[str, Any]:
        """Record the document, the run, each block's output and the links to simulations."""
        if self.store is None:
            return {}
        front = doc.front_matter
        try:
            doc_id = self.store.add_entity(
                "maml_document",
                {
                    "document_id": result.document_id,
                    "context": front.context if front else None,
                    "source": source,
                    "sha256": hashlib.sha256(doc.text.encode()).hexdigest(),
                    "signed": result.signed,
                    "key_id": result.key_id,
                },
            )
            run_id = self.store.add_activity(
                "maml_run",
                {
                    "run_id": result.run_id,
                    "job_id": self.job_id,
                    "status": result.status,
                    "blocks": [
                        b.name for b in result.blocks if b.status not in {"skipped", "planned"}
                    ],
                    "drift": result.drift,
                },
            )
            self.store.relate(run_id, "used", doc_id)
            outputs = []
            for block in result.blocks:
                if block.output_sha256 is None:
                    continue
                out_id = self.store.add_entity(
                    "report",  # one block's output; BELUGA has no narrower entity kind for it
                    {
                        "source": "maml_block",
                        "block": block.name,
                        "language": block.language,
                        "status": block.status,
                        "block_sha256": block.block_sha256,
                        "output_sha256": block.output_sha256,
                        "stdout": block.stdout[:4000],
                    },
                )
                self.store.relate(out_id, "wasGeneratedBy", run_id)
                outputs.append(out_id)
            for imported in self.imports:
                for node_id in (imported or {}).values():
                    self.store.relate(node_id, "wasDerivedFrom", doc_id)
            for ids in self.simulations:
                if "circuit" in ids:
                    self.store.relate(run_id, "used", ids["circuit"])
                    self.store.relate(ids["circuit"], "wasDerivedFrom", doc_id)
                if "simulation" in ids:
                    self.store.relate(ids["simulation"], "wasInformedBy", run_id)
        except DunesError as exc:
            self.warnings.append(f"recording the run in the graph failed: {exc}")
            return {}
        return {
            "document": doc_id,
            "run": run_id,
            "outputs": outputs,
            "simulations": self.simulations,
        }
