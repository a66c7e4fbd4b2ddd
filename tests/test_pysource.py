"""The Python-source corpus: fixed, small, split by file, its licence kept,
and made by the script that says how."""

from __future__ import annotations

import json
import lzma

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asctools.dataset import make_pysource, pysource


def test_the_snapshot_is_small_and_keeps_its_licence():
    data = pysource.DATA
    assert (data / "pysource.txt.xz").stat().st_size <= 1_000_000
    licence = (data / "PSF-LICENSE.txt").read_text()
    assert "PYTHON SOFTWARE FOUNDATION LICENSE" in licence


def test_the_splits_are_disjoint_files_covering_the_snapshot():
    names = {s: [f.name for f in pysource.python_source(s)]
             for s in pysource.SPLITS}  # fmt: skip
    every = [f.name for f in pysource.python_source()]
    assert sorted(sum(names.values(), [])) == sorted(every)
    assert len(set(every)) == len(every)
    assert len(names["test"]) >= 10 and len(names["validation"]) >= 10
    # the test is unseen code: no test file's text appears in training
    train = pysource.split_text("train")
    for f in pysource.python_source("test"):
        assert f.text[:2000] not in train


def test_split_text_is_the_files_after_their_headers():
    text = pysource.split_text("validation")
    files = pysource.python_source("validation")
    assert text.startswith(pysource.HEADER.format(name=files[0].name))
    assert len(text) == sum(
        len(pysource.HEADER.format(name=f.name)) + len(f.text) for f in files
    )
    assert set(text) <= set(pysource.ALPHABET)


@given(st.text(alphabet=pysource.ALPHABET, max_size=200))
def test_encode_decode_round_trip(text):
    ids = pysource.encode(text)
    assert ids.dtype.is_floating_point is False
    assert pysource.decode(ids) == text


def test_bad_input_says_what_was_wrong():
    with pytest.raises(ValueError, match="ALPHABET.*'é'"):
        pysource.encode("café")
    with pytest.raises(ValueError, match=r"ids must be ints in \[0, 97\)"):
        pysource.decode([3, 97])
    with pytest.raises(ValueError, match="split must be one of"):
        pysource.python_source("dev")


def test_the_script_makes_a_snapshot_the_loader_reads(tmp_path):
    """make_pysource on a small made-up library: files in name order,
    the split rule, replaced characters counted, the licence copied."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "LICENSE.txt").write_text("PSF licence text\n")
    for i in range(12):
        (lib / f"mod{i:02d}.py").write_text(f"x = {i}  # caf\u00e9\n")
    (lib / "big.py").write_text("#" * (make_pysource.MAX_BYTES + 1))
    (lib / "_sysconfigdata_x.py").write_text("build = {}\n")
    out = tmp_path / "data"
    manifest = make_pysource.make(lib, out)
    files = manifest["files"]
    assert [f["name"] for f in files] == [f"mod{i:02d}.py" for i in range(12)]
    assert [f["split"] for f in files].count("test") == 1
    assert files[3]["split"] == "test" and files[7]["split"] == "validation"
    assert all(f["replaced"] == 1 for f in files)
    text = lzma.decompress((out / "pysource.txt.xz").read_bytes()).decode()
    assert text.startswith("# ==== mod00.py ====\nx = 0  # caf?\n")
    assert json.loads((out / "pysource.json").read_text()) == manifest
    assert (out / "PSF-LICENSE.txt").read_text() == "PSF licence text\n"


def test_split_files_are_the_pieces_of_split_text():
    pieces = pysource.split_files("test")
    assert "".join(pieces) == pysource.split_text("test")
    assert len(pieces) == len(pysource.python_source("test"))
    assert all(p.startswith("# ==== ") for p in pieces)
