"""The sandbox every process block runs in: its own directory, limits, no secrets, no network.

- **Directory**: a fresh working directory per run, ``HOME`` and ``TMPDIR`` inside it.
- **Limits** (``setrlimit`` in the block's process, inherited by its children): address space,
  CPU seconds, size of a written file, open files, processes. The wall-clock timeout and the
  process group are the runner's.
- **Environment**: built from nothing (``PATH``, locale, the run's own variables); the server's
  variables (keys, database URLs) never reach a block.
- **Network**: where unprivileged user namespaces are allowed, the block runs in a new network
  namespace with only a loopback device (``unshare --user --map-root-user --net``). Where they
  are not, it has the host's network, and ``dunes doctor`` says so.

What it does not stop: reading files the server's user can read (there is no filesystem
isolation), using the CPU up to its limit, and anything a kernel exploit can do. Run servers that
accept signed documents from others in a container or VM of their own (docs/security.md).
"""

from __future__ import annotations

import functools
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dunes.config import MamlSettings

_EXEC_LIMITED = Path(__file__).with_name("_exec_limited.py")
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource limits of one block's process."""

    memory_bytes: int
    cpu_s: int
    file_bytes: int
    open_files: int
    processes: int

    @classmethod
    def from_settings(cls, maml: MamlSettings, *, timeout_s: float) -> Limits:
        return cls(
            memory_bytes=maml.sandbox_memory_mb * MIB,
            cpu_s=max(1, int(min(maml.sandbox_cpu_s or timeout_s, timeout_s) + 1)),
            file_bytes=maml.sandbox_file_size_mb * MIB,
            open_files=maml.sandbox_open_files,
            processes=maml.sandbox_processes,
        )

    def arguments(self) -> list[str]:
        return [
            f"AS={self.memory_bytes}",
            f"CPU={self.cpu_s}",
            f"FSIZE={self.file_bytes}",
            f"NOFILE={self.open_files}",
            f"NPROC={self.processes}",
        ]


@functools.cache
def network_isolation() -> bool:
    """Whether blocks can get a network namespace of their own here (probed once)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        done = subprocess.run(
            [unshare, "--user", "--map-root-user", "--net", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def sandboxed(command: list[str], limits: Limits, *, isolate_network: bool) -> list[str]:
    """``command`` wrapped: a network namespace where available and asked for, then limits."""
    wrapped = [sys.executable, "-I", "-S", str(_EXEC_LIMITED), *limits.arguments(), "--", *command]
    if isolate_network and network_isolation():
        unshare = shutil.which("unshare") or "unshare"
        wrapped = [unshare, "--user", "--map-root-user", "--net", "--", *wrapped]
    return wrapped


#: Signals that mean a limit was reached, with the setting to raise.
LIMIT_SIGNALS = {
    signal.SIGXCPU: "CPU time limit (maml.sandbox_cpu_s)",
    signal.SIGXFSZ: "file size limit (maml.sandbox_file_size_mb)",
}


def limit_reason(returncode: int | None, stderr: str) -> str | None:
    """Why a block's process ended, when a sandbox limit ended it."""
    if returncode is not None and returncode < 0:
        try:
            which = signal.Signals(-returncode)
        except ValueError:
            return None
        if which in LIMIT_SIGNALS:
            return f"stopped by {which.name}: {LIMIT_SIGNALS[which]} reached"
        if which is signal.SIGKILL:
            return "killed (SIGKILL): the CPU time limit (maml.sandbox_cpu_s) or an OOM kill"
    for marker in ("MemoryError", "Cannot allocate memory", "cannot allocate memory"):
        if marker in stderr:
            return "out of memory: the address-space limit (maml.sandbox_memory_mb) reached"
    for marker in ("File size limit exceeded", "File too large"):
        if marker in stderr:
            return "file size limit (maml.sandbox_file_size_mb) reached"
    if "Network is unreachable" in stderr:
        return "no network in the sandbox (maml.sandbox_network allows it)"
    return None
