"""Chapter 8's exercises: realistic wrong answers get the right diagnostic.
The contract every exercise keeps is in test_exercises_contract.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asctools.exercises import CheckFailed
from asctools.exercises import ch08 as ex

torch.set_num_threads(1)


def test_the_temperature_reference_is_torchs_softmax():
    for case in ex._temperature_cases():
        want = torch.softmax(case["logits"] / case["temperature"], dim=-1)
        got = ex._solution_temperature_probs(**case)
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda z, t: torch.softmax(z * t, -1), "multiplied by T"),
        (lambda z, t: (z / t).exp(), "not divided by their sum"),
        (lambda z, t: (z / t).exp() / (z / t).exp().sum(-1, keepdim=True),
         "nan|inf"),
    ],
    ids=["times-T", "unnormalised", "overflows"],
)  # fmt: skip
def test_temperature_mistakes_are_named(verdict, answer, message):
    status, text = verdict(ex.temperature_probs, answer)
    assert status == "incorrect"
    assert any(w in text for w in message.split("|")), text


def test_the_closer_answer_comes_from_the_store(monkeypatch):
    medians = ex._closer_medians(200)
    best = max(medians, key=medians.get)
    assert ex._CHOICES[ex._solution_closer_model()] == best
    wrong = next(k for k, v in ex._CHOICES.items() if v != best)
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="is not right.*stored runs"):
        ex.closer_model.check(wrong)


def test_a_unit_that_fires_elsewhere_is_not_a_quote_unit(verdict):
    _, acts, inside = ex.quote_data()
    r = ex._abs_r(acts, inside)
    worst = int(r.argmin())
    status, text = verdict(ex.quote_unit, lambda a, f: worst)
    assert status == "incorrect" and f"unit {worst}" in text
    status, text = verdict(ex.quote_unit, lambda a, f: np.float64(3.0))
    assert status == "incorrect" and "unit index" in text
