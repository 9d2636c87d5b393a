"""``dunes worker --device DEV``: a Celery worker pinned to one device, consuming its queue."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from dunes.config import Settings
from dunes.constants import device_queue
from dunes.cpus import parse_cpu_list, pin_from_env
from dunes.devices import discover, normalize_device_id
from dunes.errors import InvalidInputError
from dunes.orchestration.executors.celery_app import ENV_NODE, ENV_POOL
from dunes.orchestration.executors.local import child_environment

#: Libraries that log at INFO for every transpile or migration check: quiet in workers.
QUIET_LOGGERS = ("qiskit", "alembic", "stevedore", "numexpr")


def worker_plan(
    settings: Settings,
    device: str,
    concurrency: int = 1,
    threads: int | None = None,
    cpus: str | None = None,
) -> dict[str, Any]:
    """Queue, pool, node name and environment for a worker of ``device`` on this host;
    ``cpus`` (a cpu list such as ``0-3``) pins it to those cores, one thread each unless
    ``threads`` says otherwise.

    Raises:
        DeviceError: no such device here.
        InvalidInputError: concurrency above 1 on a GPU (CUDA does not survive a fork), or a
            cpu list that is malformed or names cores this process cannot use.
    """
    wanted = normalize_device_id(device)
    inventory = discover()
    target = inventory.get(wanted)
    host = socket.gethostname()
    if concurrency < 1:
        raise InvalidInputError("--concurrency must be 1 or more", field="concurrency")
    if target.kind == "cuda" and concurrency != 1:
        raise InvalidInputError(
            "a GPU worker runs one job at a time (solo pool: no CUDA in forked children); "
            "start one worker per GPU instead",
            field="concurrency",
        )
    pool = "solo" if concurrency == 1 else "prefork"
    tag = target.id.replace(":", "")
    suffix = f"-{os.getpid()}" if target.kind == "cpu" else ""
    cores = parse_cpu_list(cpus) if cpus is not None else None
    env = child_environment(target, threads=None, cpus=cores)
    threads = threads or (len(cores) if cores else None)
    if threads:  # asked for on the command line: it wins over the environment
        env["OMP_NUM_THREADS"] = str(threads)
    env["DUNES_WORKER_DEVICE"] = target.id
    env["DUNES_WORKER_QUEUE"] = device_queue(host, target.id)
    env[ENV_NODE] = f"dunes-{tag}{suffix}@{host}"
    env[ENV_POOL] = pool
    return {
        "device": target.id,
        "queue": env["DUNES_WORKER_QUEUE"],
        "pool": pool,
        "concurrency": concurrency,
        "nodename": env[ENV_NODE],
        "env": env,
    }


def run_worker(
    settings: Settings,
    device: str,
    *,
    concurrency: int = 1,
    threads: int | None = None,
    cpus: str | None = None,
    loglevel: str = "INFO",
) -> None:
    """Pin the device, the cores and the threads (before anything loads CUDA or OpenMP), then
    run the Celery worker until stopped."""
    plan = worker_plan(settings, device, concurrency, threads, cpus)
    os.environ.update(plan["env"])
    pin_from_env()
    from dunes.orchestration.executors.celery_app import WorkerState, make_app

    app = make_app(settings)

    from celery import signals

    @signals.worker_ready.connect(weak=False)
    def _ready(**_: Any) -> None:
        # Start the heartbeat and reap dead workers' jobs before the first message arrives.
        if plan["pool"] == "solo":
            WorkerState.get(app, settings)

    @signals.after_setup_logger.connect(weak=False)
    def _quiet(**_: Any) -> None:
        # One line per job is Celery's; the libraries' per-call INFO lines are noise here.
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))

    @signals.worker_shutdown.connect(weak=False)
    @signals.worker_process_shutdown.connect(weak=False)
    def _leave(**_: Any) -> None:
        state = WorkerState.current
        if state is not None and state.beacon is not None:
            state.beacon.leave()

    argv = [
        "worker",
        f"--queues={plan['queue']}",
        f"--pool={plan['pool']}",
        f"--concurrency={plan['concurrency']}",
        f"--hostname={plan['nodename']}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        "--prefetch-multiplier=1",
    ]
    app.worker_main(argv=argv)
