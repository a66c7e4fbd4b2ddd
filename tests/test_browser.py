"""The built book as a reader sees it: every page of _toc.yml in Chromium.

Debian's ``chromium`` (``make test`` installs it as root) is driven by
Playwright (``conftest.py``) over the site served from ``_build/html`` on
127.0.0.1; nothing outside that server is fetched. Each page is opened
once at desktop and once at phone size; the screenshots go to
``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import html
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import run_notebooks
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots"
PAGES = run_notebooks.toc_files()
# Console errors that come from upstream code, each with what it is. A
# message that matches none of these fails the page.
KNOWN_CONSOLE_ERRORS = [
    (
        r"^uncaught Identifier 'THEBE_JS_URL' has already been declared",
        "sphinx-thebe 0.3's inline `const THEBE_JS_URL = ...` script is "
        "written twice into every page's <head> by the Jupyter Book 1.x "
        "build; the second copy throws. Thebe is unused here (the launch "
        "button opens Colab).",
    ),
    (
        r"^Got invalid theme mode: \. Resetting to auto\.",
        "pydata-sphinx-theme on a first visit (empty localStorage) with no "
        "html_context default_mode: it logs this, then uses 'auto' "
        "(pydata/pydata-sphinx-theme#1635).",
    ),
]
# Error outputs as myst-nb renders them (a traceback: "output traceback").
ERROR_OUTPUT = ".cell_output .traceback, .cell_output .error, .output.error"
# In-page helpers, installed before the page's own scripts run.
CHECKS_JS = r"""
window.__book = {
  async settle() {  // MathJax typeset, fonts and images in (or 30 s)
    const mj = window.MathJax;
    const imgs = [...document.images];
    imgs.forEach((img) => { img.loading = "eager"; });
    const all = Promise.all([
      mj && mj.startup && mj.startup.promise,
      document.fonts.ready,
      ...imgs.map((img) => img.decode().catch(() => null)),
    ]);
    await Promise.race([all, new Promise((ok) => setTimeout(ok, 30000))]);
  },
  rawTex(main) {  // text outside code that still holds TeX delimiters
    const walk = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
    const skip = "pre, code, script, style, textarea, mjx-container";
    const found = [];
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest(skip)) continue;
      const t = n.textContent;
      if (/\$\$|\\\(|\\\[|\\begin\{/.test(t))
        found.push(t.trim().slice(0, 120));
    }
    return found;
  },
  errors(selector) {  // error outputs of cells not tagged raises-exception
    const tb = /Traceback \(most recent call last\)/;
    const hits = [...document.querySelectorAll(selector)].concat(
      [...document.querySelectorAll(".cell_output")].filter(
        (el) => tb.test(el.textContent)));
    const texts = hits.filter((el) => !el.closest(".tag_raises-exception"))
      .map((el) => el.textContent.trim().slice(0, 300));
    return [...new Set(texts)];
  },
  facts(selector) {
    const main = document.querySelector("article.bd-article") || document.body;
    const all = (sel) => [...document.querySelectorAll(sel)];
    return {
      errors: this.errors(selector),
      images: all("img").map((img) => ({src: img.currentSrc || img.src,
        ok: img.complete && img.naturalWidth > 0})),
      rawTex: this.rawTex(main),
      math: all("span.math, div.math").length,
      mathjax: (window.MathJax && window.MathJax.version) || null,
      mathjaxSrc: all("script[src*=mathjax]").map((s) => s.src),
      merrors: all("mjx-merror").map((e) => e.getAttribute("data-mjx-error")),
      links: all("a[href]").map((a) => a.href),
      ids: all("[id]").map((e) => e.id),
    };
  },
  async solutions() {  // [id, folded before a click, open after it]
    const body = (sol) => [...sol.children].filter(
      (c) => !c.matches(".admonition-title"));
    const seen = (c) => c.getBoundingClientRect().height > 0 &&
      c.checkVisibility({visibilityProperty: true, opacityProperty: true});
    const found = [];
    for (const sol of document.querySelectorAll(".solution.admonition")) {
      const folded = !body(sol).some(seen);
      const button = sol.querySelector("button.toggle-button");
      let open = false;
      if (button) button.click();  // the reader's click on the chevron
      for (let i = 0; button && !open && i < 100; i++) {
        await new Promise((ok) => setTimeout(ok, 30));
        open = body(sol).every(seen);
      }
      found.push([sol.id, folded, open]);
    }
    return found;
  },
  overflow(width) {  // the page's width, and what sticks out past `width`
    const main = document.querySelector("article.bd-article") || document.body;
    const scrolls = (el) => ["auto", "scroll", "hidden"].includes(
      getComputedStyle(el).overflowX);
    const out = [...main.querySelectorAll("*")].filter((el) => {
      if (el.getBoundingClientRect().right <= width + 1) return false;
      for (let p = el.parentElement; p && p !== main; p = p.parentElement)
        if (scrolls(p)) return false;
      return true;
    });
    return {width: document.scrollingElement.scrollWidth,
      wide: out.filter((el) => !out.includes(el.parentElement)).slice(0, 5)
        .map((el) => el.tagName.toLowerCase() + "." +
             [...el.classList].join("."))};
  },
};
"""


@dataclass
class Visit:
    """What one page showed: facts from the page's own DOM, and events."""

    doc: str
    url: str
    facts: dict
    console: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    solutions: list[tuple[str, bool, bool]] = field(default_factory=list)
    phone: dict = field(default_factory=dict)


def _listen(page, site_url: str, visit: Visit) -> None:
    """Block and record fetches from outside ``site_url``; record console
    errors and uncaught exceptions."""

    def block(route):
        visit.blocked.append(route.request.url)
        route.abort("blockedbyclient")

    def on_console(msg):
        where = msg.location.get("url", "")
        if msg.type == "error" and where not in visit.blocked:
            visit.console.append(f"{msg.text} ({where})")

    page.route(re.compile("^(?!" + re.escape(site_url) + ")"), block)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: visit.console.append(f"uncaught {exc}"))


def _start(context, site_url: str, visit: Visit):
    """Start loading ``visit.url`` in a new page; return at once."""
    page = context.new_page()
    page.add_init_script(CHECKS_JS)
    _listen(page, site_url, visit)
    page.goto(visit.url, wait_until="commit")
    return page


def _ready(page):
    """``page`` once loaded, with MathJax, fonts and images in."""
    page.wait_for_load_state("load")
    page.evaluate("() => window.__book.settle()")
    return page


def _shot(page, doc: str, kind: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = doc.removeprefix("book/").replace("/", "__")
    page.screenshot(path=SHOTS / f"{name}-{kind}.png", full_page=True)


@pytest.fixture(scope="module", params=PAGES)
def visit(request, contexts, site, site_url) -> Visit:
    """One page at desktop and at phone size (loading side by side)."""
    doc = request.param
    assert (site / f"{doc}.html").exists(), f"{doc}.html was not built"
    visit = Visit(doc, f"{site_url}{doc}.html", {})
    pages = [
        _start(contexts[k], site_url, visit) for k in ("desktop", "phone")
    ]
    try:
        desktop, phone = _ready(pages[0]), pages[1]
        _shot(desktop, doc, "desktop")
        visit.facts = desktop.evaluate(
            "(sel) => window.__book.facts(sel)", ERROR_OUTPUT
        )
        visit.solutions = desktop.evaluate("() => window.__book.solutions()")
        _shot(_ready(phone), doc, "phone")
        screen = phone.viewport_size["width"]
        visit.phone = phone.evaluate(
            "(w) => window.__book.overflow(w)", screen
        )
        visit.phone["screen"] = screen
    finally:
        for page in pages:
            page.close()
    return visit


def test_no_cell_shows_an_error(visit):
    errors = visit.facts["errors"]
    assert not errors, (
        f"{visit.doc}: error output (a cell meant to fail needs the tag "
        f"raises-exception): {errors}"
    )


def test_every_image_loaded(visit):
    broken = [img["src"] for img in visit.facts["images"] if not img["ok"]]
    assert not broken, f"{visit.doc}: images that did not load: {broken}"


def test_math_is_typeset_by_the_local_mathjax(visit, site_url):
    facts = visit.facts
    assert not facts["rawTex"], f"{visit.doc}: raw TeX: {facts['rawTex']}"
    assert not facts["merrors"], f"{visit.doc}: TeX errors {facts['merrors']}"
    outside = [s for s in facts["mathjaxSrc"] if not s.startswith(site_url)]
    assert not outside, f"MathJax not served by the site: {outside}"
    if facts["math"]:
        assert str(facts["mathjax"]).startswith("3."), "MathJax 3 not loaded"


@functools.cache
def _ids(path: Path) -> frozenset[str]:
    """The ``id`` attributes of the HTML file ``path``."""
    found = re.findall(r'\sid="([^"]*)"', path.read_text(errors="replace"))
    return frozenset(html.unescape(i) for i in found)


def test_internal_links_resolve(visit, site, site_url):
    broken = []
    for href in sorted(set(visit.facts["links"])):
        if not href.startswith(site_url):
            continue  # another site, mailto: or javascript:
        url = urlsplit(href)
        target = site / unquote(url.path).lstrip("/")
        target = target / "index.html" if target.is_dir() else target
        if not target.is_file():
            broken.append(href)
        elif url.fragment:
            same = href.split("#")[0] == visit.url
            ids = set(visit.facts["ids"]) if same else _ids(target)
            if unquote(url.fragment) not in ids:
                broken.append(href)
    assert not broken, f"{visit.doc}: links to nothing: {broken}"


def _colab_link(doc: str) -> tuple[str, Path]:
    """The Colab address of ``doc``'s twin, and the twin's path here."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    book = repo.get("path_to_book", "").strip("/")
    path = f"{book}/{doc}.ipynb" if book else f"{doc}.ipynb"
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    org_repo = urlsplit(repo["url"]).path.strip("/")
    branch = repo.get("branch", "main")
    return f"{colab}/github/{org_repo}/blob/{branch}/{path}", ROOT / path


def _git_ignored(path: Path) -> bool:
    if not shutil.which("git") or not (ROOT / ".git").exists():
        return False
    check = ["git", "check-ignore", "-q", str(path)]
    return subprocess.run(check, cwd=ROOT).returncode == 0


def test_chapter_opens_in_colab(visit):
    links = [h for h in visit.facts["links"] if "colab.research" in h]
    expected, twin = _colab_link(visit.doc)
    if not (ROOT / f"{visit.doc}.md").exists() or not twin.exists():
        assert not links, f"{visit.doc} has no .ipynb twin for {links}"
        pytest.skip("not a chapter with a notebook twin")
    assert expected in links, f"{visit.doc}: Colab link {links} != {expected}"
    assert not _git_ignored(twin), f"{twin} is git-ignored"


def test_solutions_are_folded_until_clicked(visit):
    if not visit.solutions:
        pytest.skip("no solutions on this page")
    for ident, folded, opened in visit.solutions:
        assert folded, f"{visit.doc}: solution {ident} is not folded"
        assert opened, f"{visit.doc}: solution {ident} did not open"


def test_no_console_errors(visit):
    unknown = [
        msg
        for msg in visit.console
        if not any(re.search(p, msg) for p, _ in KNOWN_CONSOLE_ERRORS)
    ]
    assert not unknown, f"{visit.doc}: console errors: {set(unknown)}"


def test_nothing_is_fetched_from_outside(visit):
    blocked = set(visit.blocked)
    assert not blocked, f"{visit.doc} fetched from outside: {blocked}"


def test_fits_a_phone_screen(visit):
    width, wide = visit.phone["width"], visit.phone["wide"]
    assert width <= visit.phone["screen"] + 1, (
        f"{visit.doc} scrolls sideways on a phone ({width} px): {wide}"
    )
