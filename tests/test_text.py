"""asctools.text against independent references: torch.nn's LSTM cell
stepped by hand, brute-force counts, np.corrcoef, Python's tokenizer on
hand-written snippets."""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from asctools.dataset.pysource import ALPHABET, encode
from asctools.text import (
    CharLM,
    KneserNey,
    Unigram,
    char_log2_probs,
    hidden_size_for,
    lstm_internals,
    n_params,
    ngram,
    probes,
    sample,
    syntax,
    train_char_lm,
)

torch.set_num_threads(1)
SNIPPET = (
    "def f(a, b=(1, 2)):\n"
    '    s = "not a ( bracket"\n'
    "    return [a,\n"
    "            {b: s}]  # ) in a comment\n"
)


# --- the n-gram baselines ------------------------------------------------


def test_unigram_is_add_one_frequencies():
    m = Unigram("abca", "abcd")
    assert m.prob("zz", "a") == pytest.approx(3 / 8)
    assert m.prob("", "d") == pytest.approx(1 / 8)


def _kn_by_hand(text, alphabet, context, w):
    """Interpolated Kneser-Ney of order 2, from its definition."""
    bigrams = [text[i : i + 2] for i in range(len(text) - 1)]
    distinct = set(bigrams)
    n1 = sum(1 for b in distinct if bigrams.count(b) == 1)
    n2 = sum(1 for b in distinct if bigrams.count(b) == 2)
    d2 = n1 / (n1 + 2 * n2)
    cont = Counter(b[1] for b in distinct)  # N1+(• w)
    m1 = sum(1 for c in cont.values() if c == 1)
    m2 = sum(1 for c in cont.values() if c == 2)
    d1 = m1 / (m1 + 2 * m2)
    total1 = sum(cont.values())
    p1 = (max(cont[w] - d1, 0) + d1 * len(cont) / len(alphabet)) / total1
    after = [b[1] for b in bigrams if b[0] == context]
    if not after:
        return p1
    c = after.count(w)
    return (max(c - d2, 0) + d2 * len(set(after)) * p1) / len(after)


@pytest.mark.parametrize("context", ["a", "b", "c", "d"])
def test_kneser_ney_order_2_matches_its_definition(context):
    text, alphabet = "abcabdabcaacbbd", "abcde"
    m = KneserNey(text, alphabet, order=2)
    for w in alphabet:
        assert m.prob(context, w) == pytest.approx(
            _kn_by_hand(text, alphabet, context, w), rel=1e-12
        )


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet="abcd\n ", min_size=5, max_size=60),
    st.text(alphabet="abcd\n ", max_size=6),
    st.integers(2, 5),
)
def test_every_kneser_ney_distribution_sums_to_one(text, context, order):
    m = KneserNey(text, "abcd\n ", order)
    p = m.distribution(context)
    assert (p > 0).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_char_probs_scores_each_character_after_its_context():
    m = KneserNey("abababab", "ab", order=3)
    got = m.char_probs("abba")
    assert got.tolist() == [m.prob("a", "b"), m.prob("ab", "b"),
                            m.prob("bb", "a")]  # fmt: skip
    assert ngram.bits_per_char([0.5, 0.25]) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="only the alphabet's characters"):
        m.char_probs("abc")


# --- the character model ---------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_hidden_size_for_gives_about_the_parameters(kind):
    h = hidden_size_for(kind, 130_000)
    assert abs(n_params(CharLM(kind, h)) - 130_000) < 0.01 * 130_000
    assert n_params(CharLM(kind, h + 2)) > n_params(CharLM(kind, h))


def test_charlm_is_a_one_hot_lstm_with_a_readout():
    torch.manual_seed(0)
    model = CharLM("lstm", 8, vocab_size=5).double()
    ids = torch.tensor([[0, 3, 4, 1, 2]])
    cell = torch.nn.LSTMCell(5, 8).double()
    rnn = model.net.rnn
    cell.load_state_dict({
        "weight_ih": rnn.weight_ih_l0, "weight_hh": rnn.weight_hh_l0,
        "bias_ih": rnn.bias_ih_l0, "bias_hh": rnn.bias_hh_l0,
    })  # fmt: skip
    h = c = torch.zeros(1, 8, dtype=torch.float64)
    want = []
    for t in range(5):
        x = torch.zeros(1, 5, dtype=torch.float64)
        x[0, ids[0, t]] = 1
        h, c = cell(x, (h, c))
        want.append(model.net.readout(h))
    logits, (h_n, c_n) = model(ids)
    torch.testing.assert_close(logits[0], torch.cat(want))
    torch.testing.assert_close(c_n[0], c)


def test_lstm_internals_recover_the_cell_state():
    """tanh(c_t) = h_t / o_t, against c_t from torch's cell stepped."""
    torch.manual_seed(1)
    model = CharLM("lstm", 6)
    ids = encode("x = [1, 'a']\n")
    got = lstm_internals(model, ids)
    rnn = model.net.rnn
    cell = torch.nn.LSTMCell(len(ALPHABET), 6)
    cell.load_state_dict({
        "weight_ih": rnn.weight_ih_l0, "weight_hh": rnn.weight_hh_l0,
        "bias_ih": rnn.bias_ih_l0, "bias_hh": rnn.bias_hh_l0,
    })  # fmt: skip
    h = c = torch.zeros(1, 6)
    for t, i in enumerate(ids.tolist()):
        x = torch.nn.functional.one_hot(torch.tensor([i]), len(ALPHABET))
        h, c = cell(x.float(), (h, c))
        torch.testing.assert_close(got["tanh_c"][t], torch.tanh(c[0]),
                                   rtol=1e-4, atol=1e-5)  # fmt: skip
        torch.testing.assert_close(got["h"][t], h[0])
    with pytest.raises(ValueError, match="kind 'lstm'"):
        lstm_internals(CharLM("gru", 4), ids)


def test_char_log2_probs_are_the_same_in_chunks_and_in_one_pass():
    torch.manual_seed(2)
    model = CharLM("gru", 7)
    ids = encode("def f(x):\n    return x * 2\n" * 3)
    whole = char_log2_probs(model, ids, chunk_len=10_000)
    chunked = char_log2_probs(model, ids, chunk_len=7)
    torch.testing.assert_close(whole, chunked)
    logits, _ = model(ids[None, :-1])
    direct = logits[0].double().log_softmax(-1).gather(1, ids[1:, None])
    torch.testing.assert_close(whole, direct[:, 0] / math.log(2))


def test_sampling_is_seeded_and_greedy_when_cold():
    torch.manual_seed(3)
    model = CharLM("lstm", 8)
    a = sample(model, "def ", 30, temperature=1.0, seed=5)
    assert a == sample(model, "def ", 30, temperature=1.0, seed=5)
    assert len(a) == 30 and set(a) <= set(ALPHABET)
    cold = sample(model, "d", 5, temperature=1e-4, seed=0)
    ids, greedy = encode("d"), ""
    logits, state = model(ids[None])
    for _ in range(5):
        nxt = logits[0, -1].argmax().item()
        greedy += ALPHABET[nxt]
        logits, state = model(torch.tensor([[nxt]]), state)
    assert cold == greedy
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sample(model, "d", 5, temperature=0)


def test_a_short_run_learns_a_repetitive_text():
    torch.manual_seed(4)
    model = CharLM("lstm", 16)
    ids = encode("for i in range(10):\n    print(i)\n" * 400)
    bits = train_char_lm(model, ids, batch_size=4, chunk_len=20,
                         updates=60, learning_rate=2e-2)  # fmt: skip
    assert len(bits) == 60
    assert np.mean(bits[-10:]) < 0.5 * np.mean(bits[:5])
    with pytest.raises(ValueError, match="ids must hold batch_size"):
        train_char_lm(model, ids[:100], batch_size=4, chunk_len=20)


def test_charlm_says_what_input_it_needs():
    model = CharLM("rnn", 4)
    with pytest.raises(ValueError, match=r"ids must be a \(B, T\) int64"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="ids must hold integers"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="dropout must be <= 1"):
        CharLM("lstm", 4, dropout=1.5)


# --- syntax: where code opens and closes --------------------------------


def test_closers_of_a_snippet():
    s = syntax.annotate(SNIPPET)
    got = [(SNIPPET[c.pos], c.distance, c.kind) for c in s.closers]
    o = SNIPPET.index
    # the ( in the string and the ) in the comment are not brackets
    assert got == [
        (")", o("2)") + 1 - o("(1"), "bracket"),
        (")", o("):") - o("(a"), "bracket"),
        ('"', len('"not a ( bracket'), "quote"),
        ("}", o("}]") - o("{b"), "bracket"),
        ("]", o("]  #") - o("[a"), "bracket"),
    ]
    assert all(SNIPPET[c.pos - c.distance] in "([{\"'" for c in s.closers)


def test_features_of_a_snippet():
    f = syntax.annotate(SNIPPET).features
    o = SNIPPET.index
    assert f["in_string"][o("not")] == 1 and f["in_string"][o('"not')] == 0
    assert f["in_comment"][o(") in a")] == 1
    assert f["bracket_depth"][o("{b") + 1] == 2  # inside [ and {
    assert f["bracket_depth"][o("s = ")] == 0
    assert f["indent"][o("{b")] == 12 and f["indent"][0] == 0
    assert f["column"][o("return")] == 4


def test_an_fstring_and_triple_quotes_are_one_string_each():
    src = 'x = f"{a[0]}!"\ny = """a\n(b"""\n'
    s = syntax.annotate(src)
    assert [(c.kind, src[c.pos]) for c in s.closers] == [
        ("quote", '"'),
        ("quote", '"'),
    ]
    assert s.closers[1].distance == src.rindex('"""') - src.index('"""')


SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("syntax", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
s = m.annotate(open(sys.argv[2]).read())
print(json.dumps([s.closers, s.features]))
"""


def _other_pythons():
    """Other Pythons 3.10-3.13: on PATH, or beside this one (pyenv)."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = {}
    for v in ("3.10", "3.11", "3.12", "3.13"):
        beside = sorted(Path(sys.base_prefix).parent.glob(f"{v}*/bin/python3"))
        for exe in [shutil.which(f"python{v}")] + [str(p) for p in beside]:
            if v == here or v in found or not exe:
                continue
            ok = subprocess.run([exe, "-c", "pass"], capture_output=True)
            if ok.returncode == 0:
                found[v] = exe
    return list(found.values())


def test_annotations_are_the_same_on_every_python_found(tmp_path):
    """3.12 tokenizes f-strings differently; the results must not."""
    pythons = _other_pythons()
    if not pythons:
        pytest.skip("no other Python 3.10-3.13 on PATH to compare with")
    src = tmp_path / "src.py"
    src.write_text(SNIPPET + "z = f\"{x!r:>{w}} {d['k']}\"  # (\n")
    here = syntax.annotate(src.read_text())
    want = [[list(c) for c in here.closers], here.features]
    for exe in pythons:
        out = subprocess.run(
            [exe, "-c", SCRIPT, str(Path(syntax.__file__)), str(src)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert json.loads(out.stdout) == want, exe


# --- probes ------------------------------------------------------------------


def test_by_distance_against_a_loop():
    rng = np.random.default_rng(0)
    d = rng.integers(1, 3000, 500)
    v = rng.random(500)
    got = probes.by_distance(v, d)
    edges = list(probes.DISTANCE_EDGES) + [np.inf]
    for j in range(len(probes.DISTANCE_EDGES)):
        sel = [x for x, e in zip(v, d, strict=True)
               if edges[j] <= e < edges[j + 1]]  # fmt: skip
        assert got["count"][j] == len(sel)
        if sel:
            assert got["mean"][j] == pytest.approx(np.mean(sel))


def test_unit_correlations_equal_corrcoef():
    rng = np.random.default_rng(1)
    acts = rng.normal(size=(300, 5))
    feat = acts[:, 2] * 3 + rng.normal(size=300)
    r = probes.unit_correlations(acts, {"f": feat, "flat": np.ones(300)})
    for j in range(5):
        assert r["f"][j] == pytest.approx(np.corrcoef(acts[:, j], feat)[0, 1])
    assert (r["flat"] == 0).all()
    assert probes.best_units(r)[0]["unit"] == 2
    with pytest.raises(ValueError, match="must hold 300 values"):
        probes.unit_correlations(acts, {"f": feat[:10]})


def test_context_bits_reset_the_state_k_back():
    torch.manual_seed(5)
    model = CharLM("rnn", 6)
    ids = encode("abcdefghij" * 5)
    pos = [20, 33]
    got = probes.charlm_context_bits(model, ids, pos, k=4)
    want = []
    for p in pos:
        logits, _ = model(ids[None, p - 4 : p])
        want.append(-logits[0, -1].log_softmax(-1)[ids[p]].item())
    assert got == pytest.approx(np.mean(want) / math.log(2), rel=1e-5)
    kn = KneserNey("abcdefghij" * 5, ALPHABET, order=3)
    assert probes.ngram_context_bits(kn, "abcdefghij" * 5, pos, 8) == (
        pytest.approx(-np.mean([math.log2(kn.prob("ij", "a")),
                                math.log2(kn.prob("bc", "d"))]))
    )  # fmt: skip


def test_closer_probs_read_the_closer_character():
    log2p = np.log2(np.array([0.1, 0.2, 0.3, 0.4]))  # P(t[1..4])
    c = [syntax.Closer(pos=2, distance=1, char=")", kind="bracket")]
    assert probes.closer_probs(log2p, c) == pytest.approx([0.2])
    with pytest.raises(ValueError, match="closers must lie in"):
        probes.closer_probs(log2p, [c[0]._replace(pos=9)])


# --- the coloured text ------------------------------------------------------


def test_coloured_text_escapes_and_colours_every_character():
    from asctools.plots.text import coloured_text

    text = 'if a < b:\n    s = "<b>"\n'
    values = np.linspace(-1, 1, len(text))
    out = coloured_text(text, values, title="unit 3")
    span = r'<span style="background:rgb\(([\d,]+)\)">(.*?)</span>'
    spans = re.findall(span, out, flags=re.S)
    assert "".join(html.unescape(s) for _, s in spans) == text
    assert "<b>" not in out.replace("<b>unit 3</b>", "")
    assert spans[0][0].startswith("64,64,255")  # -1: full blue
    assert spans[-1][0] == "255,64,64"  # +1: full red
    assert "white-space:pre-wrap" in out
    with pytest.raises(ValueError, match="one value per character"):
        coloured_text(text, values[:-1])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_short_context_gives_the_lower_order_model(k):
    """An order-5 model that is given k < 4 characters is the order-(k+1)
    model: its top level is raw counts of (k+1)-grams."""
    text = "def f(a):\n    return a + 1\n" * 5 + "class B:\n    pass\n"
    alphabet = "".join(sorted(set(text)))
    five = KneserNey(text, alphabet, order=5)
    lower = KneserNey(text, alphabet, order=k + 1)
    for context in ("n a + 1\n"[-k:], "ss B:"[-k:], "+ 1("[-k:]):
        np.testing.assert_allclose(
            five.distribution(context), lower.distribution(context), rtol=1e-12
        )
