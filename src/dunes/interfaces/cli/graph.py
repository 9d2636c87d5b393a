"""``dunes graph``: look at the BELUGA provenance graph (show, lineage, search, export, stats, gc)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dunes.constants import GRAPH_FORMATS as FORMATS
from dunes.constants import Direction
from dunes.errors import InvalidInputError
from dunes.interfaces.cli.common import JsonFlag, console, lazy_import, print_json, services

if TYPE_CHECKING:
    from dunes.beluga import Lineage
    from dunes.services import graph as graph_service
else:
    graph_service = lazy_import("dunes.services.graph")


def format_bytes(n: int) -> str:
    from dunes.quantum.memory import format_bytes as fmt

    return fmt(n)


app = typer.Typer(
    help="The provenance graph: what produced what, and which runs resemble each other.",
    no_args_is_help=True,
)

IdArg = Annotated[str, typer.Argument(help="Node id or a unique prefix of one (like git).")]


def short(node_id: str, width: int = 16) -> str:
    from dunes.beluga.models import Node

    return Node.short_id(node_id, width)


@app.command()
def show(node_id: IdArg, as_json: JsonFlag = False) -> None:
    """Show one node: its kind, data and relations."""
    with services() as svc:
        node = graph_service.show_node(services=svc, node_id=node_id)
        links = graph_service.node_edges(services=svc, node_id=node.id)
    if as_json:
        print_json({"node": node, "edges": links})
        return
    console.print(f"[bold]{node.id}[/]  {node.category} [cyan]{node.kind}[/]", highlight=False)
    console.print(f"created {node.created_at.isoformat()}", highlight=False)
    if node.label:
        console.print(f"label: {node.label}", highlight=False)
    for key, value in sorted(node.data.items()):
        text = json.dumps(value, sort_keys=True)
        if len(text) > 100:
            text = text[:99] + "… (use --json)"
        console.print(f"  {key}: {text}", highlight=False, markup=False)
    if links:
        table = Table("src", "relation", "dst", title="relations")
        for edge in links:
            table.add_row(short(edge.src), edge.relation, short(edge.dst))
        console.print(table)


@app.command()
def lineage(
    node_id: IdArg,
    depth: Annotated[int, typer.Option(help="Hops to follow (0..100).")] = 3,
    direction: Annotated[Direction, typer.Option(help="Which relations to follow.")] = "both",
    as_json: JsonFlag = False,
) -> None:
    """What a node came from (upstream) and what came from it (downstream)."""
    with services() as svc:
        found = graph_service.lineage(
            services=svc, node_id=node_id, depth=depth, direction=direction
        )
    if as_json:
        print_json(found)
        return
    render_lineage(found)


def render_lineage(found: Lineage) -> None:
    """A table ordered from the oldest ancestor through the root to the newest descendant."""
    table = Table(
        "hops", "kind", "id", "summary", title=f"lineage of {found.root[:16]} (depth {found.depth})"
    )
    order = sorted(
        found.nodes,
        key=lambda n: (
            -found.upstream[n.id] if n.id in found.upstream else found.downstream.get(n.id, 0),
            n.kind,
            n.id,
        ),
    )
    for node in order:
        if node.id == found.root:
            hops = "root"
        elif node.id in found.upstream:
            hops = f"↑{found.upstream[node.id]}"
        else:
            hops = f"↓{found.downstream[node.id]}"
        table.add_row(hops, node.kind, short(node.id), node.summary())
    console.print(table)
    if found.edges:
        console.print(
            "\n".join(f"{short(e.src, 12)} {e.relation} {short(e.dst, 12)}" for e in found.edges),
            highlight=False,
        )


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="What to look for, in words.")] = "",
    top: Annotated[int, typer.Option("--top", "-k", help="How many results.")] = 5,
    kind: Annotated[str | None, typer.Option(help="Only nodes of this kind, e.g. task.")] = None,
    vector: Annotated[
        str | None, typer.Option(help="Search by this JSON vector instead of embedding TEXT.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Nodes whose stored embedding is closest to TEXT (cosine similarity)."""
    query: list[float] | None = None
    if vector is not None:
        try:
            query = [float(v) for v in json.loads(vector)]
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"--vector must be a JSON list of numbers, e.g. '[0.1, 0.2]': {exc}",
                field="vector",
            ) from exc
    with services() as svc:
        found = graph_service.search_graph(
            services=svc, text=text or None, vector=query, top=top, kind=kind
        )
    if as_json:
        print_json(found)
        return
    hits = [(hit.node, hit.score) for hit in found.hits]
    if not hits:
        console.print("no stored embeddings to compare with")
        return
    table = Table("score", "kind", "id", "summary", title="most similar")
    for node, score in hits:
        table.add_row(f"{score:.4f}", node.kind, short(node.id), node.summary())
    console.print(table)


@app.command(name="list")
def list_nodes(
    kind: Annotated[str | None, typer.Option(help="Only nodes of this kind.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The newest nodes."""
    with services() as svc:
        found = graph_service.list_nodes(services=svc, kind=kind, limit=limit)
    if as_json:
        print_json(found)
        return
    table = Table("created", "kind", "id", "summary", title="nodes (newest first)")
    for node in found:
        table.add_row(
            node.created_at.strftime("%Y-%m-%d %H:%M:%S"), node.kind, short(node.id), node.summary()
        )
    console.print(table)


@app.command()
def export(
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)}.")
    ] = "json",
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """The whole graph as node-link JSON, GraphML, PROV-JSON or the seed's YAML."""
    with services() as svc:
        exported = graph_service.export_graph(services=svc, fmt=fmt)
    if out is None:
        typer.echo(exported.text, nl=not exported.text.endswith("\n"))
        return
    out.write_text(exported.text, encoding="utf-8")
    console.print(f"wrote {out} ({exported.bytes:,} bytes, {fmt})", highlight=False)


@app.command(name="import")
def import_(
    path: Annotated[
        Path, typer.Argument(help="An export of any format: .json, .graphml, PROV .json, .yaml.")
    ],
) -> None:
    """Load an export (node-link JSON, GraphML, PROV-JSON or the seed's YAML) into the graph."""
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}", field="path")
    with services() as svc:
        done = graph_service.import_graph(services=svc, text=path.read_text(encoding="utf-8"))
    console.print(f"imported {done.nodes} nodes and {done.edges} edges ({done.format})")


@app.command()
def stats(as_json: JsonFlag = False) -> None:
    """How many nodes, edges and jobs the graph holds, by kind."""
    with services() as svc:
        counts = graph_service.graph_stats(services=svc)
    if as_json:
        print_json(counts)
        return
    console.print(
        f"{counts.database}: {counts.nodes} nodes, {counts.edges} edges, "
        f"{counts.jobs} jobs, {counts.embeddings} embeddings",
        highlight=False,
    )
    kinds = Table("node kind", "nodes")
    for kind, count in counts.kinds.items():
        kinds.add_row(kind, str(count))
    relations = Table("relation", "edges")
    for relation, count in counts.relations.items():
        relations.add_row(relation, str(count))
    console.print(kinds, relations)


@app.command()
def gc(
    older_than: Annotated[
        float | None,
        typer.Option(
            help="Remove state artifacts older than this many days "
            "(default: store.artifact_retention_days).",
        ),
    ] = None,
    max_size: Annotated[
        str | None,
        typer.Option(
            help="Keep at most this much, e.g. 20GiB, removing the oldest first "
            "(default: store.artifact_max_bytes).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Reclaim disk space: artifacts no node refers to, then old ones by the retention rules."""
    with services() as svc:
        report = graph_service.collect_garbage(
            services=svc,
            older_than_days=older_than,
            max_bytes=graph_service.parse_size(max_size) if max_size is not None else None,
            dry_run=dry_run,
        )
    if as_json:
        print_json(report.public())
        return
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"{verb} {len(report.removed)} artifact(s), {format_bytes(report.removed_bytes)}; "
        f"kept {report.kept_files}, {format_bytes(report.kept_bytes)}",
        highlight=False,
    )
    for item in report.removed[:20]:
        console.print(f"  {item['file'][:16]}…  {format_bytes(item['bytes'])}  {item['why']}")
