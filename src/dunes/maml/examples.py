"""The example documents shipped with the package (served by MCP as ``dunes://maml/{name}``)."""

from __future__ import annotations

from importlib import resources

from dunes.errors import MamlExampleNotFoundError

SUFFIX = ".maml.md"


def list_examples() -> list[str]:
    """Names of the shipped examples, without the ``.maml.md`` suffix, sorted."""
    folder = resources.files("dunes") / "examples"
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(SUFFIX)] for p in folder.iterdir() if p.name.endswith(SUFFIX))


def read_example(name: str) -> str:
    """The text of example ``name`` (with or without the suffix).

    Raises:
        MamlExampleNotFoundError: no such example; the message lists the ones there are.
    """
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
    if stem not in list_examples():
        raise MamlExampleNotFoundError(
            f"no example {name!r}; examples: {', '.join(list_examples()) or 'none'}", field="name"
        )
    return (resources.files("dunes") / "examples" / (stem + SUFFIX)).read_text(encoding="utf-8")
