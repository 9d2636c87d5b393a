"""Real Redis, real ``dunes worker`` processes: fixtures to start, find and stop them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from dunes.config import Settings, get_settings
from tests.orchestration.helpers import poll

#: Orchestration tests use their own Redis database so that flushing it disturbs nobody.
ORCH_DB = 13


def db_url(redis_url: str, db: int = ORCH_DB) -> str:
    base = redis_url.rsplit("/", 1)[0]
    return f"{base}/{db}"


class Workers:
    """Start and stop ``dunes worker`` processes for one test."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.redis = redis.Redis.from_url(settings.executor.broker_url)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUNES_")}
        ex = self.settings.executor
        env.update(
            {
                "DUNES_DATA_DIR": str(self.settings.data_dir),
                "DUNES_EXECUTOR__BROKER_URL": self.settings.executor.broker_url,
                "DUNES_EXECUTOR__RESULT_BACKEND": self.settings.executor.result_backend,
                "DUNES_EXECUTOR__TASK_SOFT_TIME_LIMIT_S": str(ex.task_soft_time_limit_s),
                "DUNES_EXECUTOR__TASK_TIME_LIMIT_S": str(ex.task_time_limit_s),
                "DUNES_EXECUTOR__VISIBILITY_TIMEOUT_S": str(ex.visibility_timeout_s),
                "DUNES_CONFIG": str(self.logs / "absent.toml"),
                "C_FORCE_ROOT": "1",
                "DUNES_RUNTIME__ENABLED": "false",
            }
        )
        return env

    def start(
        self,
        device: str = "cpu",
        *,
        concurrency: int = 1,
        cpus: str | None = None,
        wait: bool = True,
        loglevel: str = "WARNING",
    ) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from dunes.interfaces.cli import main; main()",
                "worker",
                "--device",
                device,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                loglevel,
                *(["--cpus", cpus] if cpus else []),
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        if wait:
            self.wait_ready(proc)
        return proc

    def registered_pids(self) -> set[int]:
        try:
            raw = self.redis.hgetall("dunes:workers")
        except redis.exceptions.ConnectionError:
            return set()
        return {int(json.loads(v)["pid"]) for v in raw.values()}

    def wait_ready(self, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with {proc.returncode}; see {self.logs}")
            return proc.pid in self.registered_pids()

        poll(ready, timeout=timeout, what=f"worker {proc.pid} to register")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.redis.close()


@pytest.fixture
def celery_settings(redis_url: str, tmp_path: Path) -> Settings:
    url = db_url(redis_url)
    redis.Redis.from_url(url).flushdb()
    return get_settings(
        data_dir=tmp_path / "data",
        executor={"kind": "celery", "broker_url": url, "result_backend": url},
    )


@pytest.fixture
def workers_for() -> Iterator[Callable[[Settings, Path], Workers]]:
    made: list[Workers] = []

    def make(settings: Settings, logs: Path) -> Workers:
        logs.mkdir(parents=True, exist_ok=True)
        made.append(Workers(settings, logs))
        return made[-1]

    yield make
    for workers in made:
        workers.stop_all()


@pytest.fixture
def workers(
    celery_settings: Settings, tmp_path: Path, workers_for: Callable[[Settings, Path], Workers]
) -> Workers:
    return workers_for(celery_settings, tmp_path / "logs")
