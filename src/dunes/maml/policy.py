"""The one code-execution policy: which MAML blocks may start a process, from where.

A document from this machine's user (``dunes maml run FILE``) runs as its permissions say, with
a warning when unsigned. A document that arrived over a network interface (REST, MCP, a job
submitted through them) runs its process blocks (bash, sh, python) only when its signature
verifies against a trusted key, unless the operator turns that off with
``maml.allow_unsigned_network_code`` (and the server says so at start). Circuit, QASM and YAML
blocks start no process and are not limited here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from dunes.config import MamlSettings
from dunes.errors import MamlPermissionError

Origin = Literal["local", "network"]
#: Languages whose blocks run as processes on the host.
PROCESS_LANGUAGES = frozenset({"bash", "sh", "python"})


def check_execution(
    *,
    origin: Origin,
    verified: bool,
    blocks: Iterable[tuple[str, str]],
    settings: MamlSettings,
) -> None:
    """Refuse to start processes for an unverified document from the network.

    ``blocks`` are the (name, language) pairs about to run.

    Raises:
        MamlPermissionError: names the blocks' languages, the blocks that may run, and the ways
            forward.
    """
    chosen = list(blocks)
    starting = sorted({language for _, language in chosen} & PROCESS_LANGUAGES)
    if origin != "network" or not starting or verified or settings.allow_unsigned_network_code:
        return
    others = [name for name, language in chosen if language not in PROCESS_LANGUAGES]
    alone = (
        f"its other blocks may run alone without one (block={others[0]}; all: {', '.join(others)})"
        if others
        else "circuit, qasm and yaml blocks run without one"
    )
    raise MamlPermissionError(
        f"this document is not signed by a trusted key and arrived over the network; its "
        f"{', '.join(starting)} block(s) would run as processes on the server, which needs a "
        "signature by a trusted key (dunes maml sign, and the public key in maml.trusted_keys "
        f"on the server); {alone}; an operator can allow unsigned code with "
        "maml.allow_unsigned_network_code",
        field="signature",
    )


def unsigned_code_warning(settings: MamlSettings) -> str | None:
    """What a server says at start when it runs unsigned code from the network."""
    if not settings.allow_unsigned_network_code:
        return None
    return (
        "WARNING: maml.allow_unsigned_network_code is on: any caller that reaches this server "
        "can run bash and python on this machine through MAML documents"
    )
