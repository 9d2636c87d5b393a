"""Set resource limits, then become the block's process (run by path, importing nothing of dunes).

Usage: python -I -S _exec_limited.py NAME=VALUE ... -- COMMAND ARGS...
where NAME is a ``resource.RLIMIT_*`` suffix (AS, CPU, FSIZE, NOFILE, NPROC).
"""

import os
import resource
import sys


def main(argv: list[str]) -> None:
    split = argv.index("--")
    for item in argv[:split]:
        name, _, value = item.partition("=")
        limit = int(value)
        which = getattr(resource, "RLIMIT_" + name)
        _, hard = resource.getrlimit(which)
        # CPU: SIGXCPU at the soft limit (a named signal), SIGKILL a second later.
        soft_hard = (limit, limit + 1) if name == "CPU" else (limit, limit)
        if hard != resource.RLIM_INFINITY:
            soft_hard = (min(soft_hard[0], hard), min(soft_hard[1], hard))
        resource.setrlimit(which, soft_hard)
    command = argv[split + 1 :]
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        sys.stderr.write(f"cannot start {command[0]}: {exc.strerror}\n")
        sys.exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
