"""Run every chapter's Colab twin top to bottom, as Colab would.

Each ``.ipynb`` twin of a chapter in ``_toc.yml`` runs

- in a virtual environment of its own (``_build/nbvenv``, reused while it
  is current) that holds only what the notebook's install cell gives it in
  Colab: the package, installed from a copy of the working tree (``pip
  install -c constraints-cpu.txt .``, not editable, so a file missing from
  the package shows up), and ipykernel to run it;
- in an empty temporary folder, so nothing relies on the repository layout;
- every cell, whatever its tags (Colab ignores them: the install cell runs
  and does nothing outside Colab), a cell tagged ``raises-exception`` being
  the only one allowed to fail;
- under a hard time limit per notebook (``--limit``; 90 s is the target).

The seconds each took go to ``_build/notebook_times.json`` ({name: s}).

``python book/_scripts/run_notebooks.py``               every twin
``python book/_scripts/run_notebooks.py ch02_vanishing``  some of them
Exit status 1 when a notebook fails or runs past the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "_build" / "nbvenv"
TIMES = ROOT / "_build" / "notebook_times.json"
TARGET_S = 90.0  # what a chapter should take on Colab's CPU
LIMIT_S = 300.0  # past this a notebook fails
KERNEL = "asctools-nbvenv"
RUNNER_PACKAGES = ["ipykernel"]  # to run the notebook, not to use it
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Result:
    """One notebook's run: its wall time and the error, if any."""

    name: str
    seconds: float
    error: str | None = None


def toc_files(root: Path = ROOT) -> list[str]:
    """Every document of ``_toc.yml`` in reading order, without suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def walk(entries: list[dict]):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            yield from walk(
                entry.get("chapters", []) + entry.get("sections", [])
            )

    keys = ("parts", "chapters", "sections")
    top = [entry for key in keys for entry in toc.get(key, [])]
    files = [toc["root"], *walk(top)]
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in files]


def twins(root: Path = ROOT) -> list[Path]:
    """The ``.ipynb`` twins beside the ``.md`` chapters of the toc."""
    paths = [root / f"{doc}.ipynb" for doc in toc_files(root)]
    return [p for p in paths if p.with_suffix(".md").exists() and p.exists()]


def _digest(root: Path, paths: list[Path]) -> str:
    """sha256 over the names and contents of ``paths``."""
    sha = hashlib.sha256()
    for path in paths:
        sha.update(str(path.relative_to(root)).encode() + b"\0")
        sha.update(path.read_bytes() + b"\0")
    return sha.hexdigest()


def _package_copy(root: Path, dest: Path) -> Path:
    """What ``pip install .`` needs, copied, so no build files land here."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(root / "asctools", dest / "asctools", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).exists():
            shutil.copy(root / name, dest / name)
    return dest


def _pip(python: Path, *args: str) -> None:
    cmd = [str(python), "-m", "pip", "install", "--quiet", *args]
    subprocess.run(cmd, check=True)


def _keys(root: Path) -> tuple[str, str, list[str]]:
    """(dependencies key, full key, pip's constraint arguments)."""
    deps = [root / "pyproject.toml", root / "constraints-cpu.txt"]
    deps = [d for d in deps if d.exists()]
    pins = [arg for d in deps[1:] for arg in ("-c", str(d))]
    deps_key = _digest(root, deps)
    files = sorted((root / "asctools").rglob("*"))
    code = [f for f in files if f.is_file() and "__pycache__" not in f.parts]
    return deps_key, deps_key + _digest(root, code), pins


def ensure_venv(venv: Path = VENV, root: Path = ROOT) -> Path:
    """Create or update ``venv``; return its python.

    The environment is made anew when ``pyproject.toml`` or the torch
    constraint changed, and the package is reinstalled when any file of
    it changed; otherwise it is reused as it is.
    """
    deps_key, key, pins = _keys(root)
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one writer at a time
        stamp = venv / ".key"
        old = stamp.read_text() if stamp.exists() else ""
        if old == key and python.exists():
            return python
        if not old.startswith(deps_key) or not python.exists():
            shutil.rmtree(venv, ignore_errors=True)
            cmd = [sys.executable, "-m", "venv", str(venv)]
            subprocess.run(cmd, check=True)
        with tempfile.TemporaryDirectory() as tmp:
            src = _package_copy(root, Path(tmp))
            _pip(python, *pins, str(src), *RUNNER_PACKAGES)
        stamp.write_text(key)
    return python


def _kernel_manager(python: Path, kernels: Path) -> AsyncKernelManager:
    """A kernel manager that starts ipykernel with ``python``."""
    spec = kernels / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f"]
    spec_json = {
        "argv": argv + ["{connection_file}"],
        "display_name": "Python 3 (asctools notebook check)",
        "language": "python",
    }
    (spec / "kernel.json").write_text(json.dumps(spec_json))
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    return AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def kernel_env(home: Path) -> dict[str, str]:
    """The kernel's environment: ours, one thread, no repo on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.pop("VIRTUAL_ENV", None)
    env.setdefault("ASCTOOLS_THREADS", "1")
    env["IPYTHONDIR"] = str(home / "ipython")  # no startup files of ours
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


async def _execute(client: NotebookClient, env: dict, limit: float):
    """Run ``client`` for at most ``limit`` s; always stop the kernel."""
    try:
        await asyncio.wait_for(client.async_execute(env=env), limit)
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
        if client.km is not None and client.km.has_kernel:
            await client.km.shutdown_kernel(now=True)


def run_notebook(path: Path, python: Path, limit: float = LIMIT_S) -> Result:
    """Execute ``path`` top to bottom with ``python``'s kernel."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbrun-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        client = NotebookClient(
            nb,
            km=_kernel_manager(python, Path(tmp) / "kernels"),
            timeout=int(limit),  # per cell; `limit` also bounds the whole
            startup_timeout=120,
            skip_cells_with_tag="colab-runs-every-cell",  # no such tag
            resources={"metadata": {"path": str(work)}},
        )
        error = None
        try:
            asyncio.run(_execute(client, kernel_env(Path(tmp)), limit))
        except Exception as exc:  # a failing cell: keep its traceback
            error = ANSI.sub("", f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    if seconds >= limit:  # stopped, whatever the kernel said then
        error = f"ran past the limit of {limit:.0f} s ({seconds:.0f} s)"
    return Result(path.stem, seconds, error)


def write_times(results: list[Result], out: Path = TIMES, merge=True):
    """Write the results' seconds to ``out`` as {name: seconds}.

    ``merge`` keeps the entries of notebooks that did not run this time.
    """
    old = json.loads(out.read_text()) if merge and out.exists() else {}
    times = {**old, **{r.name: round(r.seconds, 1) for r in results}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(sorted(times.items())), indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks (default: all)")
    parser.add_argument(
        "--limit", type=float, default=LIMIT_S, help="seconds per notebook"
    )
    parser.add_argument("--out", type=Path, default=TIMES)
    args = parser.parse_args(argv)
    paths = [p for p in twins() if not args.names or p.stem in args.names]
    unknown = set(args.names) - {p.stem for p in paths}
    if unknown:
        parser.error(f"no such notebook in _toc.yml: {sorted(unknown)}")
    python = ensure_venv()
    results = []
    for path in paths:
        results.append(run_notebook(path, python, args.limit))
        write_times(results, args.out, merge=bool(args.names))
        r = results[-1]
        slow = " (over the 90 s target)" if r.seconds > TARGET_S else ""
        print(f"{r.name}: {r.seconds:.1f} s{slow}", flush=True)
        if r.error:
            print(r.error, file=sys.stderr)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
