"""A separate process writing into the store while another one does the same (see test_concurrency).

Usage: python _concurrent_writer.py URL TAG COUNT CLAIMS GATE_DIR JOB_ID
Each record is an entity and a job event (two transactions; every tenth record also relates its
entity to the job); then the process races the other for CLAIMS job claims. Prints one JSON line: the claims it won.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from dunes.beluga import open_store


def main() -> None:
    url, tag, count, claims, gate, job_id = sys.argv[1:7]
    total = int(count)
    with open_store(url=url) as store:
        (Path(gate) / f"ready-{tag}").touch()
        deadline = time.monotonic() + 60
        while not (Path(gate) / "go").exists():
            if time.monotonic() > deadline:
                raise SystemExit("never got the go signal")
            time.sleep(0.005)
        won = []
        for i in range(total):
            node = store.add_entity("task", {"writer": tag, "i": i})
            if i % 10 == 0:
                store.relate(node, "wasGeneratedBy", job_id)
            store.add_job_event(job_id, step=tag, progress=i / total, message=str(i))
        for i in range(int(claims)):
            if store.claim_job(f"claim-{i}", worker=tag):
                won.append(i)
    print(json.dumps({"tag": tag, "won": won}))


if __name__ == "__main__":
    main()
