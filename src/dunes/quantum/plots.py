"""Pictures of results and circuits: a histogram PNG and a circuit drawing (PNG or text)."""

from __future__ import annotations

from pathlib import Path

from dunes.errors import InvalidInputError
from dunes.quantum.circuit import CircuitSpec
from dunes.quantum.result import SimulationResult


def histogram_png(result: SimulationResult, path: Path, *, max_bars: int = 32) -> Path:
    """Bar chart of counts (when sampled) or probabilities, the most likely first.

    Uses matplotlib's object API (no pyplot state), so threads of a server can draw at once.
    """
    from matplotlib.figure import Figure

    over = "classical bits (c0 rightmost)"
    if result.counts:
        total = sum(result.counts.values())
        values = {k: v / total for k, v in result.counts.items()}
        title = f"{total} shots"
    elif result.probabilities:
        values = dict(result.probabilities)
        title = "exact probabilities"
        if result.probabilities_of != "clbits":
            over = "qubits (qubit 0 rightmost)"
    else:
        raise InvalidInputError(
            "nothing to plot: the result has neither counts nor probabilities; "
            "ask for shots (--shots N) or a statevector",
            field="plot",
        )
    top = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:max_bars]
    top.sort(key=lambda kv: kv[0])
    rotate = len(top) > 8
    # Fixed margins instead of tight_layout, which costs about half of the drawing time.
    label_room = 0.12 + (0.012 * min(result.num_qubits, 24) if rotate else 0.0)
    width = max(4.5, 0.45 * len(top) + 2)
    fig = Figure(figsize=(width, 3.8 + (1.0 if rotate else 0)), dpi=110)
    fig.subplots_adjust(
        left=0.8 / width, right=1 - 0.2 / width, top=0.84, bottom=min(label_room + 0.06, 0.45)
    )
    ax = fig.add_subplot()
    bars = ax.bar([_label(k) for k, _ in top], [v for _, v in top], color="#3b6ea8")
    ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_ylabel("probability")
    ax.set_title(
        f"{result.num_qubits}-qubit circuit, {title}\n{result.method} on {result.device}",
        fontsize=10,
    )
    ax.set_xlabel(f"outcome: {over}", fontsize=8)
    ax.tick_params(axis="x", labelrotation=90 if rotate else 0, labelsize=8)
    ax.set_ylim(0, min(1.0, max(v for _, v in top) * 1.2))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _label(bits: str, width: int = 24) -> str:
    """A bar label: whole up to ``width`` bits, else head…tail (a 1,000-qubit GHZ has two bars)."""
    return bits if len(bits) <= width else f"{bits[:8]}…{bits[-8:]}"


def circuit_text(spec: CircuitSpec) -> str:
    """The circuit drawn as text (Qiskit's text drawer)."""
    return str(spec.to_qiskit().draw(output="text", fold=100))


def circuit_png(spec: CircuitSpec, path: Path) -> Path:
    """The circuit drawn with Qiskit's matplotlib drawer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = spec.to_qiskit().draw(output="mpl", fold=40)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=110)
    plt.close(figure)
    return path


def sweep_png(
    parameters: dict[str, list[float]],
    values: dict[str, list[float]],
    path: Path,
) -> Path:
    """A sweep's expectation values: a line per observable over one parameter, or a heatmap
    (the first observable) over two parameters laid out as a grid.

    Raises:
        InvalidInputError: no observable, or more than two parameters to draw against.
    """
    import numpy as np
    from matplotlib.figure import Figure

    from dunes.errors import InvalidInputError

    if not values:
        raise InvalidInputError("a sweep plot draws expectation values: give -o OBSERVABLE")
    names = list(parameters)
    figure = Figure(figsize=(7, 4.5), layout="tight")
    axes = figure.add_subplot()
    if len(names) <= 1:
        xs = parameters[names[0]] if names else list(range(len(next(iter(values.values())))))
        for label, ys in values.items():
            axes.plot(xs, ys, marker="." if len(xs) <= 60 else None, label=f"<{label}>")
        axes.set_xlabel(names[0] if names else "binding")
        axes.set_ylabel("expectation value")
        axes.grid(alpha=0.3)
        axes.legend()
    elif len(names) == 2:
        a, b = (np.unique(np.asarray(parameters[n])) for n in names)
        label, ys = next(iter(values.items()))
        if a.size * b.size != len(ys):
            raise InvalidInputError(
                "a heatmap needs the two parameters on a full grid (--param a=... --param b=...)"
            )
        image = axes.imshow(
            np.asarray(ys).reshape(a.size, b.size),
            origin="lower",
            aspect="auto",
            extent=(float(b[0]), float(b[-1]), float(a[0]), float(a[-1])),
            cmap="viridis",
        )
        axes.set_xlabel(names[1])
        axes.set_ylabel(names[0])
        figure.colorbar(image, ax=axes, label=f"<{label}>")
    else:
        raise InvalidInputError(
            f"a sweep plot draws against one or two parameters; this sweep has {len(names)}"
        )
    figure.savefig(path, dpi=110)
    return path
