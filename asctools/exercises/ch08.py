"""Exercises of chapter 8, *Reading real code*.

``temperature_probs`` (implement), ``closer_model`` (predict, then
look), ``quote_unit`` (explore).
"""

from __future__ import annotations

import numpy as np
import torch

from asctools._validate import is_int
from asctools.exercises import checks
from asctools.exercises.core import Incorrect, exercise

__all__ = ["closer_model", "quote_data", "quote_unit", "temperature_probs"]


# --- 1. Temperature ---


def _solution_temperature_probs(logits, temperature):
    z = logits / temperature  # T < 1 sharpens, T > 1 flattens
    z = z - z.max(dim=-1, keepdim=True).values  # exp cannot overflow
    p = z.exp()
    return p / p.sum(dim=-1, keepdim=True)  # (..., V), rows sum to 1


def _times_t(logits, temperature):
    return torch.softmax(logits * temperature, dim=-1)


def _unnormalised(logits, temperature):
    return (logits / temperature).exp()


def _temperature_cases():
    g = torch.Generator().manual_seed(8)
    return [
        {"logits": torch.randn(97, generator=g, dtype=torch.float64),
         "temperature": 1.0},
        {"logits": torch.randn(4, 97, generator=g, dtype=torch.float64),
         "temperature": 0.5},
        {"logits": 3 * torch.randn(2, 97, generator=g, dtype=torch.float64),
         "temperature": 2.0},
        # large logits: exp(1000) overflows unless the maximum goes first
        {"logits": torch.tensor([1000.0, 999.0, 990.0], dtype=torch.float64),
         "temperature": 0.8},
    ]  # fmt: skip


@exercise(
    label="ch08-ex-temperature",
    title="Sampling at a temperature",
    kind="implement",
    solution=_solution_temperature_probs,
    hints=[
        "Divide the logits by the temperature, then take the softmax over "
        "the last dimension: p_i = exp(z_i / T) / sum_j exp(z_j / T).",
        "exp(1000) is inf in floating point. Subtracting the largest "
        "logit of each row first changes nothing in p (it cancels in the "
        "ratio) and keeps every exponent <= 0.",
    ],
)
def temperature_probs(answer):
    """temperature_probs(logits (..., V), T) -> probabilities (..., V)."""
    mistakes = {
        "the logits are multiplied by T instead of divided": _times_t,
        "the exponentials are not divided by their sum": _unnormalised,
    }
    return checks.compare_functions(
        answer, _solution_temperature_probs, _temperature_cases(),
        name="temperature_probs", grad=False, rtol=1e-9, atol=1e-12,
        mistakes=mistakes,
    )  # fmt: skip


# --- 2. Predict: which model closes a bracket opened 200 characters back ---

_CHOICES = {"a": "rnn", "b": "lstm", "c": "gru", "d": "kn5"}
_NAMES = {"rnn": "the tanh RNN", "lstm": "the LSTM", "gru": "the GRU",
          "kn5": "the 5-gram model"}  # fmt: skip


def _closer_medians(distance=200) -> dict[str, float]:
    """Each kind's median (over seeds) P(bracket closer) in the bin that
    holds ``distance``, from the stored experiment ``char_lm``."""
    from asctools.experiments.store import load

    out = {}
    for kind in _CHOICES.values():
        runs = load("char_lm").select(kind=kind)
        curves = [r["closers"]["bracket"] for r in runs]
        edges = curves[0]["edges"]
        j = int(np.searchsorted(edges, distance, side="right")) - 1
        out[kind] = float(np.median([c["mean"][j] for c in curves]))
    return out


def _solution_closer_model():
    medians = _closer_medians(200)
    best = max(medians, key=medians.get)  # read from the stored runs
    return next(k for k, v in _CHOICES.items() if v == best)


@exercise(
    label="ch08-ex-closer",
    title="Who closes a bracket opened 200 characters back?",
    kind="predict",
    solution=_solution_closer_model,
    hints=[
        "The 5-gram model sees four characters. What can it know about a "
        "bracket opened 200 characters back?",
        "Chapter 4's parentheses task asked the same of a tanh RNN and an "
        "LSTM. Which of the three networks keeps a count for 200 steps?",
    ],
)
def closer_model(answer):
    """The reader's choice: "a" RNN, "b" LSTM, "c" GRU, "d" 5-gram."""
    medians = _closer_medians(200)
    said = {
        k: f"In the stored runs {_NAMES[v]} gives such a closer "
        f"P = {medians[v]:.2f} (median over its runs; "
        + ", ".join(
            f"{_NAMES[o]} {medians[o]:.2f}" for o in medians if o != v
        )  # fmt: skip
        + ")."
        for k, v in _CHOICES.items()
    }
    return checks.check_choice(
        answer, "abcd", _solution_closer_model(), feedback=said
    )


# --- 3. Explore: a unit that tracks a quote ---


def quote_data(split="validation", n_chars=20_000):
    """``(text, tanh_c, inside)``: the first ``n_chars`` characters of a
    split, the shipped LSTM's ``tanh(c_t)`` after each (N, H), and 1 where
    the character lies inside a string literal or a comment (N,)."""
    from asctools.dataset.pysource import encode, split_files
    from asctools.experiments.char_lm import shipped_model
    from asctools.text import lstm_internals
    from asctools.text.syntax import annotate_texts

    texts = split_files(split)
    text = "".join(texts)[:n_chars]
    features = annotate_texts(texts).features
    inside = np.array(features["in_string_or_comment"][:n_chars])
    acts = lstm_internals(shipped_model("lstm"), encode(text))["tanh_c"]
    return text, acts.numpy(), inside


def _abs_r(acts, inside) -> np.ndarray:
    a = acts - acts.mean(0)
    f = inside - inside.mean()
    return np.abs(f @ a) / np.sqrt((a**2).sum(0) * (f**2).sum())


def _solution_quote_unit(tanh_c, inside):
    # Pearson's r of every unit with the inside-a-quote-or-comment signal
    a = tanh_c - tanh_c.mean(axis=0)  # (N, H)
    f = inside - inside.mean()  # (N,)
    r = (f @ a) / np.sqrt((a**2).sum(axis=0) * (f**2).sum())  # (H,)
    return int(np.abs(r).argmax())


@exercise(
    label="ch08-ex-quote",
    title="Find a unit that knows it is inside a quote",
    kind="explore",
    solution=_solution_quote_unit,
    hints=[
        "Plot a few units' tanh_c[:, j] under `inside` for the first 500 "
        "characters; or score every unit at once by its correlation with "
        "`inside`.",
        "Centre both sides (subtract their means) and compute Pearson's "
        "r = (f @ a) / sqrt(sum(a^2) * sum(f^2)) for every column of a at "
        "once; return the unit with the largest |r|.",
    ],
)
def quote_unit(answer):
    """find(tanh_c (N, H), inside (N,)) -> a unit index; judged on other
    text: the test files, which the function never saw."""
    _, acts, inside = quote_data("validation")
    unit = checks.call_answer(answer, acts, inside, name="your function")
    if not is_int(unit) or not 0 <= int(unit) < acts.shape[1]:
        raise Incorrect(
            f"return a unit index, an int in [0, {acts.shape[1]}), got "
            f"{unit!r}"
        )
    _, test_acts, test_inside = quote_data("test")
    r = _abs_r(test_acts, test_inside)
    best = int(r.argmax())
    if r[int(unit)] < 0.8 * r[best]:
        raise Incorrect(
            f"unit {int(unit)} has |r| = {r[int(unit)]:.2f} with 'inside "
            f"a quote or comment' on the test files; unit {best} reaches "
            f"{r[best]:.2f}. Look for a unit that is on (or off) for the "
            "whole inside of a string, not one that fires at the quote."
        )
    return (
        f"Unit {int(unit)} tracks 'inside a quote or comment' on the "
        f"held-out test "
        f"files too: |r| = {r[int(unit)]:.2f} (the best unit: "
        f"{r[best]:.2f})."
    )
