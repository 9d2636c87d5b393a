"""The planner's rules: find a circuit in the task, or score the catalog's families.

A family's score combines the embedding similarity of the task to the family's description and
examples with keyword evidence (exact, or a small typo of a keyword). Below the configured
threshold the planner refuses instead of guessing. Similarity alone never gets a family over
the threshold unless the task is close to one of its examples, so unrelated text is refused.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from dunes.agents.schemas import FamilyScore
from dunes.quantum import families
from dunes.quantum.gates import canonical_name

#: Weight of the best cosine similarity and of keyword evidence in a family's score.
SIMILARITY_WEIGHT = 0.75
KEYWORD_WEIGHT = 0.5
#: Similarity below this carries no evidence (unrelated sentences sit around 0-0.3 on MiniLM).
SIMILARITY_FLOOR = 0.3
#: Taken off a family that cannot take the qubit count the task asks for.
MISFIT_PENALTY = 0.25

_CALL = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*)\s*\(((?:[^()]|\([^()]*\))*)\)")
_BARE_MEASURE = re.compile(r";\s*(measure|barrier)\b(?!\s*\()", re.IGNORECASE)


def find_circuit(text: str) -> str | None:
    """The circuit a task contains (OpenQASM, JSON gate list or seed calls), or None."""
    stripped = text.strip()
    match = re.search(r"OPENQASM\s+\d", text)
    if match:
        return text[match.start() :]
    if stripped.startswith("[{") or (stripped.startswith("{") and '"operations"' in stripped):
        return stripped
    calls = []
    for m in _CALL.finditer(text):
        if canonical_name(m.group(1)) is None:
            continue
        calls.append((m.start(), m.group(0)))
    if not calls:
        return None
    calls += [(m.start(), m.group(1).lower()) for m in _BARE_MEASURE.finditer(text)]
    return "; ".join(call for _, call in sorted(calls))


def _normalise(text: str) -> str:
    text = text.lower().replace("–", "-").replace("—", "-").replace("’", "'")
    text = re.sub(r"[-_/]", " ", text)
    return re.sub(r"\s+", " ", text)


@dataclass(frozen=True)
class _Hit:
    family: str
    keyword: str
    start: int
    end: int
    exact: bool


def _keyword_hits(text: str) -> list[_Hit]:
    norm = _normalise(text)
    tokens = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z0-9†']+", norm)]
    hits: list[_Hit] = []
    for fam in families.FAMILIES.values():
        for raw in fam.keywords:
            keyword = _normalise(raw)
            for m in re.finditer(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", norm):
                hits.append(_Hit(fam.name, raw, m.start(), m.end(), True))
            if " " in keyword:
                continue
            for token, start, end in tokens:
                if token == keyword:
                    continue
                # a typo keeps the first letter: "grovr", "teleportaton", not "state"/"wstate"
                close = (
                    len(keyword) >= 4
                    and len(token) >= 3
                    and token[0] == keyword[0]
                    and difflib.SequenceMatcher(None, token, keyword).ratio() >= 0.8
                )
                anagram = len(keyword) == 3 and sorted(token) == sorted(keyword)
                # inflections: "teleporting", "groverian", "fourier's"
                stem = len(keyword) >= 5 and token.startswith(keyword[:-1]) and len(token) > 4
                if close or anagram or stem:
                    hits.append(_Hit(fam.name, raw, start, end, False))
    # a hit inside a longer hit of another family loses ("qft" inside "inverse qft")
    return [
        h
        for h in hits
        if not any(
            o.family != h.family
            and o.start <= h.start
            and h.end <= o.end
            and (o.end - o.start) > (h.end - h.start)
            for o in hits
        )
    ]


def _fits(family: str, num_qubits: int) -> bool:
    fam = families.FAMILIES[family]
    if fam.fixed_qubits is not None:
        return num_qubits == fam.fixed_qubits
    return num_qubits >= fam.min_qubits and (fam.max_qubits is None or num_qubits <= fam.max_qubits)


def score_families(
    embedding: np.ndarray,
    catalog: dict[str, np.ndarray],
    text: str,
    *,
    num_qubits: int | None = None,
) -> list[FamilyScore]:
    """Every family's score for ``text``, best first.

    ``catalog`` maps family -> unit embeddings of its description and examples (rows). A family
    that cannot take the ``num_qubits`` the task asks for loses ``MISFIT_PENALTY`` ("8 entangled
    qubits" is a GHZ state, not a Bell pair).
    """
    hits = _keyword_hits(text)
    scores = []
    for name, vectors in catalog.items():
        similarity = float(np.max(vectors @ embedding)) if len(vectors) else 0.0
        own = [h for h in hits if h.family == name]
        keyword = 1.0 if any(h.exact for h in own) else 0.7 if own else 0.0
        evidence = sorted({h.keyword if h.exact else f"~{h.keyword}" for h in own})
        sim_part = max(0.0, similarity - SIMILARITY_FLOOR) / (1 - SIMILARITY_FLOOR)
        score = min(1.0, SIMILARITY_WEIGHT * sim_part + KEYWORD_WEIGHT * keyword)
        if num_qubits is not None and not _fits(name, num_qubits):
            score = max(0.0, score - MISFIT_PENALTY)
            evidence.append(f"cannot take {num_qubits} qubits")
        scores.append(
            FamilyScore(
                family=name,
                score=round(score, 4),
                similarity=round(similarity, 4),
                keyword=keyword,
                evidence=evidence,
            )
        )
    return sorted(scores, key=lambda s: (-s.score, -s.similarity))


def catalog_texts() -> dict[str, list[str]]:
    """The texts each family is embedded from: its description and example tasks."""
    return {
        name: [f"{fam.title}: {fam.description}", *fam.examples]
        for name, fam in families.FAMILIES.items()
    }
