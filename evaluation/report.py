"""Tables and charts of evaluation reports: the plain-text table `qa eval` prints, bar charts, reliability."""

from __future__ import annotations

from pathlib import Path


def table(headers: list[str], groups: dict[str, dict], columns: tuple[tuple[str, str], ...]) -> str:
    """A plain-text table, one line per group, numbers right-aligned; a figure that does not apply shows –."""
    cells = [headers] + [[name, *(_cell(row.get(key), key) for _, key in columns)] for name, row in groups.items()]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(_pad(c, w, i == 0) for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in cells]
    return "\n".join(lines[:1] + ["-" * len(lines[0])] + lines[1:])


def _pad(cell: str, width: int, left: bool) -> str:
    return cell.ljust(width) if left else cell.rjust(width)


def _cell(value, key: str) -> str:
    if value is None:
        return "–"
    if key.endswith("_ms"):
        return f"{value:.1f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def chart(groups: dict[str, dict], metrics: tuple[str, ...], title: str, path: Path) -> None:
    """Grouped bars, one group per row of the table and one bar per metric, labels in ASCII."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(groups)
    x = np.arange(len(names))
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2), 4.2))
    for i, metric in enumerate(metrics):
        values = [groups[n].get(metric) for n in names]  # None: the figure does not apply, so no bar
        bars = ax.bar(x + (i - (len(metrics) - 1) / 2) * width, [v or 0.0 for v in values], width, label=metric)
        ax.bar_label(bars, ["" if v is None else f"{v:.2f}" for v in values], fontsize=7)
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share of questions")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def reliability_chart(name: str, bins: list[dict], path: Path) -> None:
    """The reliability diagram: per confidence bin, how often the first quote was right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    used = [b for b in bins if b["questions"]]
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    ax.plot([b["confidence"] for b in used], [b["right"] for b in used], marker="o", label="this run")
    for b in used:
        ax.annotate(
            str(b["questions"]), (b["confidence"], b["right"]), fontsize=7, xytext=(3, -9), textcoords="offset points"
        )
    ax.set_xlabel("confidence the assistant reported")
    ax.set_ylabel("share whose first quote was right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    unknown = sum(b["unknown"] for b in bins)
    ax.set_title(
        f"{name}: reliability" + (f"\n({unknown} declined answerable: outcome unknown)" if unknown else ""), fontsize=9
    )
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
