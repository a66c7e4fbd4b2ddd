"""Shared fixtures: the built book served on 127.0.0.1, Chromium, and for
the exercise tests non-strict checks and ``verdict``; the Hypothesis
settings profiles.

``book/_scripts`` goes on ``sys.path`` so that tests import the scripts the
Makefile runs (``run_notebooks``) instead of copies of their logic.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
# the built book; ASCTOOLS_SITE points the browser tests at another copy
# (tests/test_browser.py's interactive figures fail on one without their
# JavaScript, _static/vega/)
SITE = Path(os.environ.get("ASCTOOLS_SITE", ROOT / "_build" / "html"))
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, not a download
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
sys.path.insert(0, str(ROOT / "book" / "_scripts"))

# Hypothesis (tests/test_properties_*.py): "ci", the default, is bounded
# and derandomized, so CI runs the same examples every time in well under
# a minute; HYPOTHESIS_PROFILE=dev searches further with fresh examples.
settings.register_profile(
    "ci",
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=200, deadline=None, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _not_strict(request, monkeypatch):
    """In the exercise tests, checks report and never raise unless a test
    sets strict mode itself (``make book`` exports
    ASCTOOLS_STRICT_CHECKS=1); the other tests keep the environment."""
    if request.path.name.startswith("test_exercises_"):
        monkeypatch.delenv("ASCTOOLS_STRICT_CHECKS", raising=False)


@pytest.fixture
def verdict():
    """``verdict(exercise, answer)``: check ``answer``, return the
    verdict's ``(status, message)``."""

    def check(exercise, answer) -> tuple[str, str]:
        result = exercise.check(answer)
        return result.status, result.message

    return check


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without a log line per request."""

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site() -> Path:
    """``_build/html``; the tests that need it skip when it is not built."""
    if not (SITE / "index.html").exists():
        pytest.skip("no built book in _build/html: run `make book` first")
    return SITE


@pytest.fixture(scope="session")
def site_url(site: Path):
    """The site served by a local HTTP server on a free port."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def contexts():
    """One Chromium per module: a desktop and a phone browser context.

    Module scope: Playwright's loop must be gone before a later module
    runs one of its own (tests/test_notebooks.py does).
    """
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: `apt-get install chromium` as root "
            "(`make test` does it when run as root)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield {
            "desktop": chromium.new_context(viewport=DESKTOP),
            "phone": chromium.new_context(
                viewport=PHONE, is_mobile=True, has_touch=True
            ),
        }
        chromium.close()
