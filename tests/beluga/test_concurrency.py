"""Two processes writing 1,000 records each at the same moment: nothing lost, nothing locked."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dunes.beluga import GraphStore

WRITER = Path(__file__).with_name("_concurrent_writer.py")
RECORDS = 1000
CLAIMS = 250

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_processes_write_at_once(store: GraphStore, store_url: str, tmp_path: Path) -> None:
    store.create_job(job_id="shared", kind="load", input={})
    url = store_url
    if store.dialect == "postgresql":
        # Commits wait for no fsync (7 ms each on the test disk): locking, constraints and
        # visibility, what this test is about, are the same; only crash durability differs.
        url += "%20-csynchronous_commit%3Doff"
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WRITER),
                url,
                tag,
                str(RECORDS),
                str(CLAIMS),
                str(gate),
                "shared",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("A", "B")
    ]
    deadline = time.monotonic() + 60
    while not all((gate / f"ready-{t}").exists() for t in ("A", "B")):
        assert time.monotonic() < deadline, "writers did not start"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    (gate / "go").touch()
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower() and "traceback" not in err.lower(), err

    won = {json.loads(out)["tag"]: json.loads(out)["won"] for out, _ in outputs}
    # every claim id was won exactly once, by one of the two
    assert sorted(won["A"] + won["B"]) == list(range(CLAIMS))

    stats = store.stats()
    assert stats["kinds"]["task"] == 2 * RECORDS
    assert stats["relations"]["wasGeneratedBy"] == 2 * RECORDS // 10
    events = store.job_events("shared")
    assert [e.seq for e in events] == list(range(1, 2 * RECORDS + 1))
    for tag in ("A", "B"):
        mine = [int(e.message) for e in events if e.step == tag]
        assert mine == list(range(RECORDS))
    linked = store.lineage("shared", depth=1, direction="downstream")
    tasks = [n for n in linked.nodes if n.kind == "task"]
    assert len(tasks) == len(linked.downstream) == 2 * RECORDS // 10
    assert sorted((n.data["writer"], n.data["i"]) for n in tasks) == [
        (tag, i) for tag in ("A", "B") for i in range(0, RECORDS, 10)
    ]
