"""Agents: reload-per-request (the vendor guide's way) vs resident models, and batching.

(a) per request: load tokenizer + model inside every request, as the guide's Celery task does,
    against the resident encoder of dunes.agents; (b) 64 concurrent requests: one at a time
    (batch 1, serially) against the batching thread. Both sides run in this one process, on the
    packaged all-MiniLM-L6-v2, on the CPU unless --device says otherwise.

    python bench/agents.py [--device cpu|cuda:0] [--threads N] [--reload-requests 5] [--requests 64]
    python bench/agents.py --device cuda:0 --throughput float16 --batches 1,2,4,...,256
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np

from dunes.agents.batching import Batcher
from dunes.agents.models import POOL, Encoder, pick_dtype, resolve_model
from dunes.config import get_settings

TASKS = [
    "Design a 4-qubit GHZ state",
    "Run Grover's algorithm to find 101 on three qubits with 1000 shots",
    "Prepare a W state on five qubits",
    "Bernstein-Vazirani with secret 1011",
    "apply the inverse quantum Fourier transform to 4 qubits",
    "teleport a qubit from Alice to Bob with theta = pi/3",
    "Deutsch-Jozsa algorithm with a balanced oracle",
    "generate a random circuit with depth 10 on eight qubits",
]


def reload_per_request(path: str, device: str, text: str) -> list[list[list[float]]]:
    """The guide's way: every request loads the tokenizer and the model, then encodes."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
    with torch.inference_mode():
        batch = tokenizer([text], return_tensors="pt", truncation=True, padding=True).to(device)
        hidden = model(**batch).last_hidden_state
    return hidden.cpu().numpy().tolist()  # the guide returns every hidden state as lists


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def concurrent(batcher: Batcher, texts: list[str]) -> float:
    """Seconds until every one of len(texts) concurrent callers has its embedding."""
    barrier = threading.Barrier(len(texts) + 1)
    results: list[np.ndarray | None] = [None] * len(texts)

    def call(i: int) -> None:
        barrier.wait()
        results[i] = batcher.submit([texts[i]]).result(timeout=600)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    start = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert all(r is not None for r in results)
    return elapsed


def throughput(device: str, dtype: str, batches: list[int], budget_s: float) -> None:
    """Encoder texts/s at each batch size for one device and dtype (a table row each)."""
    settings = get_settings()
    ref = resolve_model("planner", settings.agents)
    encoder = POOL.get(ref, device, dtype)
    sync = _sync(device)
    print("| device | dtype | batch | texts/s | ms/batch |")
    print("|---|---|---|---|---|")
    for size in batches:
        texts = [TASKS[i % len(TASKS)] for i in range(size)]
        encoder.encode(texts)
        sync()
        count, start = 0, time.perf_counter()
        while True:
            encoder.encode(texts)
            sync()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed > budget_s or count >= 200:
                break
        print(
            f"| {device} | {dtype} | {size} | {size * count / elapsed:.0f} | "
            f"{elapsed / count * 1000:.2f} |",
            flush=True,
        )


def _sync(device: str):  # type: ignore[no-untyped-def]
    if device.startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--reload-requests", type=int, default=5)
    parser.add_argument("--resident-requests", type=int, default=50)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument(
        "--throughput",
        metavar="DTYPE",
        help="only print encoder throughput for float32|float16|bfloat16 at --batches",
    )
    parser.add_argument("--batches", default="1,2,4,8,16,32,64,128,256")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per batch size")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.throughput:
        sizes = [int(b) for b in args.batches.split(",")]
        throughput(args.device, args.throughput, sizes, args.budget)
        return

    settings = get_settings()
    ref = resolve_model("planner", settings.agents)
    dtype = pick_dtype(args.device, settings.agents.half_precision)
    encoder: Encoder = POOL.get(ref, args.device, dtype)
    texts = [TASKS[i % len(TASKS)] + f" (request {i})" for i in range(args.requests)]

    # (a) per request
    reload_per_request(str(ref.path), args.device, TASKS[0])  # warm the file cache and imports
    encoder.encode([TASKS[0]])
    # interleaved, so that both sides see the same load from other processes
    reload_s: list[float] = []
    resident_s: list[float] = []
    per_round = max(1, args.resident_requests // args.reload_requests)
    for _ in range(args.reload_requests):
        reload_s += timed(lambda: reload_per_request(str(ref.path), args.device, TASKS[1]), 1)
        resident_s += timed(lambda: encoder.encode([TASKS[1]]), per_round)
    reload_ms = statistics.median(reload_s) * 1000
    resident_ms = statistics.median(resident_s) * 1000

    # (b) throughput at N concurrent requests
    batcher = Batcher(
        encoder,
        max_batch_size=settings.agents.max_batch_size,
        max_wait_ms=settings.agents.max_wait_ms,
    )
    serial, batched = [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for text in texts:
            encoder.encode([text])
        serial.append(time.perf_counter() - start)
        batched.append(concurrent(batcher, texts))
    batcher.close()
    serial_rps = args.requests / statistics.median(serial)
    batched_rps = args.requests / statistics.median(batched)

    print(
        f"model {ref.name} on {args.device} ({dtype}); torch threads "
        f"{__import__('torch').get_num_threads()}; max_batch_size "
        f"{settings.agents.max_batch_size}, max_wait_ms {settings.agents.max_wait_ms}"
    )
    print()
    print("| case | seed way | dunes | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| (a) per request, median ms | reload model: {reload_ms:.1f} | resident: "
        f"{resident_ms:.2f} | {reload_ms / resident_ms:.0f}x | >= 50x |"
    )
    print(
        f"| (a) per request, fastest ms | reload model: {min(reload_s) * 1000:.1f} | resident: "
        f"{min(resident_s) * 1000:.2f} | {min(reload_s) / min(resident_s):.0f}x | >= 50x |"
    )
    print(
        f"| (b) {args.requests} concurrent requests, req/s | one at a time: {serial_rps:.1f} | "
        f"batched: {batched_rps:.1f} | {batched_rps / serial_rps:.1f}x | >= 3x |"
    )
    print()
    print(
        f"batches: {batcher.stats['batches']} for {batcher.stats['texts']} texts "
        f"(largest {batcher.stats['largest']})"
    )


if __name__ == "__main__":
    main()
