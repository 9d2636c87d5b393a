"""Artifacts on disk (``<sha256>.npy`` states) and reclaiming their space.

A 28-qubit state is 4 GiB, so artifacts are what fills a disk. ``collect_garbage`` removes files
no graph node refers to (a crashed write, a run whose record failed), then, by the retention
settings, the oldest referenced ones; each removed referenced file leaves a small tombstone
(``<sha256>.reclaimed``) so that reading it later says it was reclaimed, not lost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dunes.quantum.result import TOMBSTONE_SUFFIX

#: Half-written files (``.<pid>-<n>.tmp.npy``) older than this belong to no live writer.
STALE_TEMPORARY_S = 3600.0


@dataclass
class GcReport:
    """What a collection removed (or would remove, on a dry run), and what it kept."""

    dry_run: bool
    removed: list[dict[str, Any]] = field(default_factory=list)
    kept_files: int = 0
    kept_bytes: int = 0

    @property
    def removed_bytes(self) -> int:
        return sum(int(item["bytes"]) for item in self.removed)

    def public(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "removed_files": len(self.removed),
            "removed_bytes": self.removed_bytes,
            "kept_files": self.kept_files,
            "kept_bytes": self.kept_bytes,
            "removed": self.removed,
        }


def collect_garbage(
    referenced: dict[str, datetime],
    directory: Path,
    *,
    older_than: timedelta | None = None,
    max_bytes: int | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> GcReport:
    """Remove artifacts not in ``referenced`` (sha256 -> when its newest node was written),
    then referenced ones past ``older_than`` or beyond ``max_bytes`` in total (oldest first)."""
    now = now or datetime.now(UTC)
    report = GcReport(dry_run=dry_run)
    if not directory.is_dir():
        return report
    kept: list[tuple[datetime, Path, int]] = []
    for path in _files(directory):
        size = path.stat().st_size
        if path.name.endswith(".tmp.npy"):
            if time.time() - path.stat().st_mtime > STALE_TEMPORARY_S:
                _remove(report, path, size, "half-written, abandoned", tombstone=None)
            continue
        sha = path.stem
        if sha not in referenced:
            _remove(report, path, size, "no graph node refers to it", tombstone=None)
        elif older_than is not None and now - referenced[sha] > older_than:
            _remove(report, path, size, f"older than {_days(older_than)}", tombstone=now)
        else:
            kept.append((referenced[sha], path, size))
    if max_bytes is not None:
        kept.sort()
        total = sum(size for _, _, size in kept)
        while kept and total > max_bytes:
            _, path, size = kept.pop(0)
            total -= size
            _remove(report, path, size, f"beyond the {max_bytes}-byte budget", tombstone=now)
    report.kept_files = len(kept)
    report.kept_bytes = sum(size for _, _, size in kept)
    return report


def _files(directory: Path) -> Iterator[Path]:
    yield from sorted(p for p in directory.iterdir() if p.is_file() and p.suffix == ".npy")


def _remove(
    report: GcReport, path: Path, size: int, why: str, *, tombstone: datetime | None
) -> None:
    report.removed.append({"file": path.name, "bytes": size, "why": why})
    if report.dry_run:
        return
    if tombstone is not None:
        mark = path.with_suffix(TOMBSTONE_SUFFIX)
        mark.write_text(json.dumps({"reclaimed_at": tombstone.isoformat(), "why": why}))
    path.unlink(missing_ok=True)


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:g} day(s)"
