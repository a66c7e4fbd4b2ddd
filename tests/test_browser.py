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


# ------------------------------------------------ the interactive figures
# asctools.plots.interactive: each figure is a still that vega-embed (the
# book's own copy in _static/vega/) replaces by a Vega-Lite chart whose
# controls are labelled inputs. Each page with figures is opened at desktop
# and at phone size; each control is reached with Tab and moved with the
# keyboard, and the drawing must change. Screenshots of each figure before
# and after each move go to _build/screenshots/interactive/.
FIGURES = {
    doc: n
    for doc in PAGES
    if (src := ROOT / f"{doc}.md").exists()
    and (n := src.read_text().count("interactive.show("))
}
FIGURE_JS = r"""
window.__figures = {
  all() { return [...document.querySelectorAll(".asc-interactive")]; },
  drawn(i) {  // the chart's SVG as drawn now, or null
    const svg = this.all()[i].querySelector(".asc-chart svg");
    return svg && svg.getBoundingClientRect().width > 0 ? svg.outerHTML : null;
  },
  facts(i, screen) {
    const fig = this.all()[i];
    const still = fig.querySelector("img.asc-still");
    const seen = (el) => el && el.getBoundingClientRect().width > 0 &&
      getComputedStyle(el).visibility !== "hidden";
    const controls = [...fig.querySelectorAll(".vega-bindings input")]
      .filter((el) => el.type !== "radio" || el.checked)  // one per group
      .map((el) => {
        const bind = el.closest(".vega-bind");
        const name = bind.querySelector(".vega-bind-name");
        const group = el.closest("[role=radiogroup]");
        return {name: el.name, type: el.type,
          label: name && seen(name) ? name.textContent.trim() : "",
          group: el.type !== "radio" ||
            !!(group && group.getAttribute("aria-label").trim()),
          own: el.closest("label") ? el.closest("label").textContent : ""};
      });
    return {still: !!still && seen(still), chart: this.drawn(i) !== null,
      alt: still ? still.alt : "", controls,
      right: Math.max(...[fig, ...fig.querySelectorAll("*")].map(
        (el) => el.getBoundingClientRect().right)),
      pageWidth: document.scrollingElement.scrollWidth, screen};
  },
};
"""


@dataclass
class Figures:
    """One page's interactive figures at one size, and what moving each
    control did."""

    doc: str
    kind: str
    visit: Visit
    facts: list[dict] = field(default_factory=list)
    tabbed: list[list[str]] = field(default_factory=list)
    moves: list[dict] = field(default_factory=list)


def _key_for(page, name: str, kind: str) -> str:
    """The key a reader presses to move a control by one step."""
    if kind == "checkbox":
        return "Space"
    if kind == "radio":
        return "ArrowRight"
    at_max = page.evaluate(
        "(n) => { const el = document.activeElement;"
        " return Number(el.value) >= Number(el.max); }",
        name,
    )
    return "ArrowLeft" if at_max else "ArrowRight"


def _tab_through(page, i: int) -> list[str]:
    """Names of the controls that Tab reaches, in order, starting just
    before figure ``i`` and stopping when focus leaves it."""
    page.evaluate(
        "(i) => { const f = window.__figures.all()[i];"
        " f.tabIndex = -1; f.focus(); }",
        i,
    )
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        name = page.evaluate(
            "(i) => { const el = document.activeElement;"
            " const f = window.__figures.all()[i];"
            " return f.contains(el) ? el.name || el.tagName : null; }",
            i,
        )
        if name is None:
            break
        reached.append(name)
    return reached


def _move(page, figure, i: int, control: dict, shots: Path, stem: str):
    """Focus ``control`` of figure ``i``, press its key, and record the
    value and the drawing before and after (with screenshots)."""
    sel = f'.vega-bindings input[name="{control["name"]}"]'
    if control["type"] == "radio":
        sel += ":checked"
    box = figure.locator(".asc-chart")
    before = page.evaluate("(i) => window.__figures.drawn(i)", i)
    figure.screenshot(path=shots / f"{stem}-before.png")
    value = figure.locator(sel).evaluate("(el) => el.value + el.checked")
    figure.locator(sel).focus()
    key = _key_for(page, control["name"], control["type"])
    page.keyboard.press(key)
    after = before
    for _ in range(50):  # Vega redraws on the next frames
        page.wait_for_timeout(100)
        after = page.evaluate("(i) => window.__figures.drawn(i)", i)
        if after != before:
            break
    moved = page.evaluate(
        "(n) => { const el = document.activeElement;"
        " return el.name === n ? el.value + el.checked : null; }",
        control["name"],
    )
    box.scroll_into_view_if_needed()
    figure.screenshot(path=shots / f"{stem}-after.png")
    return {"figure": i, "control": control["name"], "key": key,
            "value": (value, moved), "changed": after != before}  # fmt: skip


@pytest.fixture(
    scope="module",
    params=[(d, k) for d in FIGURES for k in ("desktop", "phone")],
    ids=lambda p: f"{p[0].removeprefix('book/')}-{p[1]}",
)
def figures(request, contexts, site, site_url) -> Figures:
    """Every interactive figure of one page, rendered and moved."""
    doc, kind = request.param
    visit = Visit(doc, f"{site_url}{doc}.html", {})
    page = contexts[kind].new_page()
    page.add_init_script(CHECKS_JS + FIGURE_JS)
    _listen(page, site_url, visit)
    page.goto(visit.url, wait_until="load")
    page.evaluate("() => window.__book.settle()")
    found = Figures(doc, kind, visit)
    shots = SHOTS / "interactive"
    shots.mkdir(parents=True, exist_ok=True)
    name = doc.removeprefix("book/")
    try:
        count = page.locator(".asc-interactive").count()
        for i in range(count):
            figure = page.locator(".asc-interactive").nth(i)
            figure.scroll_into_view_if_needed()
            for _ in range(100):  # up to 10 s for the chart to be drawn
                if page.evaluate("(i) => window.__figures.drawn(i)", i):
                    break
                page.wait_for_timeout(100)
            width = page.viewport_size["width"]
            facts = page.evaluate(
                "([i, w]) => window.__figures.facts(i, w)", [i, width]
            )
            found.facts.append(facts)
            found.tabbed.append(_tab_through(page, i))
            for control in facts["controls"] if facts["chart"] else []:
                stem = f"{name}-fig{i + 1}-{control['name']}-{kind}"
                found.moves.append(
                    _move(page, figure, i, control, shots, stem)
                )
    finally:
        page.close()
    return found


def test_each_chapter_shows_its_interactive_figures(figures):
    n = FIGURES[figures.doc]
    assert len(figures.facts) == n, (
        f"{figures.doc}: {n} interactive.show() cells in the source, "
        f"{len(figures.facts)} figures on the page"
    )


def test_interactive_figures_render_over_their_still(figures):
    for i, facts in enumerate(figures.facts, 1):
        assert facts["alt"], f"{figures.doc} figure {i}: a still without alt"
        assert facts["chart"], (
            f"{figures.doc} figure {i} ({figures.kind}): no chart drawn "
            "(is _static/vega/ missing?)"
        )
        assert not facts["still"], f"{figures.doc} figure {i}: still shown"


def test_interactive_controls_are_labelled(figures):
    for i, facts in enumerate(figures.facts, 1):
        assert facts["controls"], f"{figures.doc} figure {i}: no controls"
        for c in facts["controls"]:
            assert c["label"] and c["group"] and c["own"].strip(), (
                f"{figures.doc} figure {i}: control {c} has no visible label"
            )


def test_interactive_controls_are_reached_by_tab(figures):
    for i, (facts, tabbed) in enumerate(
        zip(figures.facts, figures.tabbed, strict=True), 1
    ):
        names = [c["name"] for c in facts["controls"]]
        assert names and tabbed[: len(names)] == names, (
            f"{figures.doc} figure {i}: Tab reached {tabbed}, not {names}"
        )


def test_interactive_controls_move_the_figure(figures):
    moved = {m["figure"] for m in figures.moves}
    for i in range(len(figures.facts)):
        assert i in moved, f"{figures.doc} figure {i + 1}: nothing to move"
    for move in figures.moves:
        before, after = move["value"]
        where = f"{figures.doc} figure {move['figure'] + 1} ({figures.kind})"
        assert after is not None and after != before, (
            f"{where}: {move['key']} left {move['control']} at {before}"
        )
        assert move["changed"], (
            f"{where}: moving {move['control']} ({move['key']}) did not "
            "change the drawing"
        )


def test_interactive_figures_log_no_console_errors(figures):
    unknown = [
        msg
        for msg in figures.visit.console
        if not any(re.search(p, msg) for p, _ in KNOWN_CONSOLE_ERRORS)
    ]
    assert not unknown, f"{figures.doc}: console errors: {set(unknown)}"


def test_interactive_figures_fetch_nothing_from_outside(figures):
    blocked = set(figures.visit.blocked)
    assert not blocked, f"{figures.doc} fetched from outside: {blocked}"


def test_interactive_figures_fit_the_screen(figures):
    for i, facts in enumerate(figures.facts, 1):
        assert facts["right"] <= facts["screen"] + 1, (
            f"{figures.doc} figure {i} sticks out to {facts['right']:.0f} px "
            f"on a {facts['screen']} px screen"
        )
        assert facts["pageWidth"] <= facts["screen"] + 1


# ------------------------------------------- chapter 8's coloured source text
# asctools.plots.text.coloured_text: static HTML, one background colour per
# character; it must be there in the published book, wrap at phone width
# (no sideways scrolling inside it either) and be screenshot for a look.
UNIT_TEXT_JS = r"""
(width) => [...document.querySelectorAll(".asc-unit-text pre")].map((pre) => {
  const spans = [...pre.querySelectorAll("span")];
  const box = pre.getBoundingClientRect();
  return {spans: spans.length,
    coloured: spans.filter((s) => s.style.background).length,
    right: box.right, scroll: pre.scrollWidth - pre.clientWidth,
    width: width};
})
"""


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_coloured_source_text_is_shown_and_wraps(contexts, site, site_url,
                                                 size):  # fmt: skip
    doc = "book/ch08_text"
    assert (site / f"{doc}.html").exists(), f"{doc}.html was not built"
    visit = Visit(doc, f"{site_url}{doc}.html", {})
    page = _ready(_start(contexts[size], site_url, visit))
    try:
        width = page.viewport_size["width"]
        boxes = page.evaluate(UNIT_TEXT_JS, width)
        first = page.locator(".asc-unit-text").first
        first.scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        first.screenshot(path=SHOTS / f"ch08_text-unit-{size}.png")
    finally:
        page.close()
    assert len(boxes) >= 3, "chapter 8 shows fewer than 3 coloured texts"
    for i, b in enumerate(boxes, 1):
        assert b["coloured"] == b["spans"] >= 20, b
        assert b["right"] <= width + 1 and b["scroll"] <= 1, (
            f"coloured text {i} does not fit a {width} px screen: {b}"
        )
    assert not visit.blocked  # console errors: test_no_console_errors


@pytest.mark.parametrize("doc", PAGES)
def test_no_markdown_table_is_left_as_text(site, doc):
    """A cell's displayed Markdown table (evidence.table) renders as a
    table, not as rows of pipes (CommonMark has no tables: the build uses
    GitHub's Markdown for outputs, _config.yml nb_render_markdown_format)."""
    page = (site / f"{doc}.html").read_text()
    rows = re.findall(r"^\|[-—–|: ]+\|$", page, flags=re.M)
    assert not rows, f"{doc} shows a Markdown table as text: {rows[:2]}"
