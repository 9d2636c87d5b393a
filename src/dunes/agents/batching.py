"""Batching of concurrent encoder requests: one background thread per loaded model.

Callers submit texts and get a future. The thread takes the first waiting request and everything
already queued behind it; while requests are arriving concurrently (the last batch held more than
one) it keeps collecting until ``max_batch_size`` texts are gathered or ``max_wait_ms`` has
passed. A lone caller is never delayed. It runs the model once on the batch and hands each caller
its rows. A failure fails only the requests of
that batch, never the thread.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from dunes.agents.models import Encoder
from dunes.errors import AgentError


@dataclass
class _Request:
    texts: list[str]
    future: Future[np.ndarray] = field(default_factory=Future)


_STOP = object()


class Batcher:
    """Groups requests for one encoder; ``stats`` counts batches and texts for inspection."""

    def __init__(self, encoder: Encoder, *, max_batch_size: int, max_wait_ms: float) -> None:
        self.encoder = encoder
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000
        self._queue: queue.Queue[_Request | object] = queue.Queue()
        self._closed = False
        self._concurrent = False  # the last batch held several requests: worth waiting for more
        self.stats = {"batches": 0, "texts": 0, "largest": 0}
        self._thread = threading.Thread(
            target=self._loop, name=f"dunes-batcher-{encoder.ref.name}", daemon=True
        )
        self._thread.start()

    def submit(self, texts: list[str]) -> Future[np.ndarray]:
        """Queue ``texts``; the future resolves to their (n, dim) embeddings."""
        if self._closed:
            raise AgentError("the batcher is closed; create a new runtime")
        request = _Request(list(texts))
        if not request.texts:
            request.future.set_result(np.zeros((0, self.encoder.dim), dtype=np.float32))
            return request.future
        self._queue.put(request)
        return request.future

    def close(self) -> None:
        """Finish queued work, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Request)
            batch = [first]
            size = len(first.texts)
            deadline = time.monotonic() + (self.max_wait if self._concurrent else 0.0)
            stop = False
            while size < self.max_batch_size:
                timeout = deadline - time.monotonic()
                try:
                    item = (
                        self._queue.get(timeout=timeout)
                        if timeout > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                assert isinstance(item, _Request)
                batch.append(item)
                size += len(item.texts)
            self._concurrent = len(batch) > 1
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[_Request]) -> None:
        live = [r for r in batch if r.future.set_running_or_notify_cancel()]
        if not live:
            return
        texts = [t for r in live for t in r.texts]
        try:
            vectors = self.encoder.encode(texts)
        except Exception as exc:
            error = exc if isinstance(exc, AgentError) else AgentError(f"encoder failed: {exc}")
            for request in live:
                request.future.set_exception(error)
            return
        self.stats["batches"] += 1
        self.stats["texts"] += len(texts)
        self.stats["largest"] = max(self.stats["largest"], len(texts))
        start = 0
        for request in live:
            end = start + len(request.texts)
            request.future.set_result(vectors[start:end])
            start = end
