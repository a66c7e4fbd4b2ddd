"""From stored runs to the book's verdicts: k of n solved, medians, phrases.

A claim about who learns what is a claim about a distribution over seeds,
so the book reports each configuration as *k of n seeds solved within a
budget fixed in advance*, with the median number of training sequences the
solved seeds needed and its range. The functions here take a list of run
records (dicts with ``solved_at`` and ``budget``, as the results store
keeps them) and return numbers or sentences; a chapter glues the sentence
into its prose and its tests assert the story on the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Summary",
    "cell",
    "phrase",
    "solved",
    "success_curve",
    "success_steps",
    "summarise",
    "table",
]


def _budget(runs, budget):
    if not runs:
        raise ValueError("runs is empty: the selection matched no run")
    if budget is None:
        budgets = {r["budget"] for r in runs}
        if len(budgets) != 1:
            raise ValueError(
                f"the runs have several budgets {sorted(budgets)}: pass one"
            )
        budget = budgets.pop()
    return budget


def solved(runs, budget=None) -> tuple[int, int]:
    """``(k, n)``: k of the n runs reached the threshold within ``budget``
    sequences (default: the runs' own budget)."""
    budget = _budget(runs, budget)
    k = sum(r["solved_at"] is not None and r["solved_at"] <= budget
            for r in runs)  # fmt: skip
    return k, len(runs)


@dataclass(frozen=True)
class Summary:
    """k of n solved within ``budget``; median and range of the solved
    runs' sequences-to-solve (None when none solved)."""

    k: int
    n: int
    budget: int
    median: float | None
    low: int | None
    high: int | None

    @property
    def fraction(self) -> float:
        return self.k / self.n


def summarise(runs, budget=None) -> Summary:
    """The :class:`Summary` of ``runs`` within ``budget``."""
    budget = _budget(runs, budget)
    k, n = solved(runs, budget)
    times = sorted(
        r["solved_at"]
        for r in runs
        if r["solved_at"] is not None and r["solved_at"] <= budget
    )
    if not times:
        return Summary(k, n, budget, None, None, None)
    return Summary(k, n, budget, float(np.median(times)), times[0], times[-1])


def success_curve(runs, budgets) -> np.ndarray:
    """The fraction of ``runs`` solved within each of ``budgets``."""
    at = np.array([np.inf if r["solved_at"] is None else r["solved_at"]
                   for r in runs])  # fmt: skip
    return np.array([(at <= b).mean() for b in budgets])


def success_steps(runs) -> list[dict]:
    """The success curve of every (task, seq_len, init, kind) group of
    ``runs`` at the budgets where it steps: rows with those four fields,
    ``x`` (sequences: 0, each solved seed's ``solved_at``, the budget),
    ``y`` (the fraction solved within x) and ``n`` (seeds)."""
    groups = {}
    for r in runs:
        key = (r["task"], r["seq_len"], r["init"], r["kind"])
        groups.setdefault(key, []).append(r)
    rows = []
    for (task, seq_len, init, kind), group in groups.items():
        budget = max(r["budget"] for r in group)
        xs = {0, budget} | {r["solved_at"] for r in group}
        xs = sorted(x for x in xs if x is not None and x <= budget)
        for x, y in zip(xs, success_curve(group, xs), strict=True):
            rows.append({"task": task, "seq_len": seq_len, "init": init,
                         "kind": kind, "x": int(x), "y": float(y),
                         "n": len(group)})  # fmt: skip
    return rows


def _count(x) -> str:
    return f"{int(round(x)):,}"


def phrase(runs, budget=None, unit="seeds") -> str:
    """The verdict as a phrase: ``"5 of 5 seeds (median 3,200 sequences,
    range 2,560–4,480)"``, ``"1 of 5 seeds (after 12,800 sequences)"`` or
    ``"0 of 5 seeds within 20,000 sequences"``."""
    s = summarise(runs, budget)
    head = f"{s.k} of {s.n} {unit}"
    if s.k == 0:
        return f"{head} within {_count(s.budget)} sequences"
    if s.k == 1:
        return f"{head} (after {_count(s.low)} sequences)"
    return (
        f"{head} (median {_count(s.median)} sequences, range "
        f"{_count(s.low)}–{_count(s.high)})"
    )


def cell(runs, budget=None) -> str:
    """A table cell: ``"5/5 (3.2k)"`` = k/n solved and the median
    sequences-to-solve in thousands; ``"0/5"`` when none solved."""
    s = summarise(runs, budget)
    if s.k == 0:
        return f"0/{s.n}"
    return f"{s.k}/{s.n} ({s.median / 1000:.3g}k)"


def table(runs, row, col, rows=None, cols=None, labels=None, corner="") -> str:
    """A Markdown table of :func:`cell` for every ``row`` × ``col`` value.

    ``row``/``col``: field names (``"init"``, ``"seq_len"`` ...);
    ``rows``/``cols``: the values in order (default: as they come);
    ``labels``: {value: shown name}. Empty where no run matches.
    """
    labels = labels or {}
    rows = list(dict.fromkeys(r[row] for r in runs)) if rows is None else rows
    cols = list(dict.fromkeys(r[col] for r in runs)) if cols is None else cols
    head = [corner or row] + [str(labels.get(c, c)) for c in cols]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]  # fmt: skip
    for r_value in rows:
        cells = []
        for c_value in cols:
            group = [r for r in runs
                     if r[row] == r_value and r[col] == c_value]  # fmt: skip
            cells.append(cell(group) if group else "")
        name = str(labels.get(r_value, r_value))
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)
