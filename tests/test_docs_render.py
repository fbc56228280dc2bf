"""The built docs show typeset math in a browser with the network off.

Pages of the built site (``docs/_build/html``, written by ``sphinx-build``) are opened
from ``file://`` in headless Chromium run inside a network namespace that has no
interface but an unconfigured loopback (``unshare -n``), so nothing can be fetched from
anywhere. MathJax is bundled into the site; the tests check, in the DOM after the
scripts ran, that every formula became MathJax output (no ``\\(`` source left, no TeX
error), and that no page asks for a script, style sheet, font or image from another
host. Screenshots of the four pages are saved to ``docs/_build/screenshots/`` (kept by
CI as artefacts, and worth a look after changing the theme).

The tests need the built docs and Debian's ``chromium``. When either is missing they
fail if ``CI`` is set (``.ci/run`` provides both) and are skipped otherwise, saying what
to do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest
from matplotlib import image

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "docs" / "_build" / "html"
SCREENSHOTS = ROOT / "docs" / "_build" / "screenshots"
BUILD_COMMAND = (
    "PYTHONPATH=. MPLBACKEND=Agg sphinx-build -W --keep-going -b html docs docs/_build/html"
)

#: name -> page of the built site. Each has inline and display math.
PAGES = {
    "home": "index.html",
    "theory": "theory.html",
    "gallery": "auto_examples/plot_boltzmann.html",
    "api": "generated/expfam.logsumexp.html",
}

WINDOW = (1280, 1600)  # width, height of the screenshots in pixels

#: Headless Chromium as root, with no background traffic of its own (update checks,
#: sync, field trials) and no waiting in real time: the virtual-time budget lets the
#: page's scripts (MathJax) run to completion, then the DOM and screenshot are taken.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
    "--virtual-time-budget=30000",
]


def _unavailable(reason: str) -> NoReturn:
    """Fail under CI, where `.ci/run` provides everything; skip on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run should have provided it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site() -> Path:
    if not (HTML / "index.html").is_file():
        _unavailable(f"the docs are not built; build them first with `{BUILD_COMMAND}`")
    missing = [page for page in PAGES.values() if not (HTML / page).is_file()]
    assert not missing, f"the built docs lack pages this test opens: {missing}"
    return HTML


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = shutil.which("chromium")
    if exe is None:
        _unavailable("Debian's `chromium` is not installed (`apt-get install chromium`)")
    return exe


@pytest.fixture(scope="module")
def offline() -> list[str]:
    """A command prefix that runs a program in a new network namespace (no network)."""
    unshare = shutil.which("unshare")
    if unshare is not None:
        # -n as root; -rn maps an ordinary user to root in a new user namespace
        for prefix in ([unshare, "-n"], [unshare, "-rn"]):
            probe = subprocess.run(  # noqa: S603 - util-linux's unshare running `true`
                [*prefix, "true"], capture_output=True, check=False
            )
            if probe.returncode == 0:
                return prefix
    _unavailable("`unshare -n` is not available here, so the browser cannot be taken offline")


@pytest.fixture(scope="module")
def rendered(
    site: Path, chromium: str, offline: list[str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Each page's DOM after its scripts ran, offline; its screenshot is saved on the way."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    doms = {}
    for name, page in PAGES.items():
        shot = SCREENSHOTS / f"{name}.png"
        shot.unlink(missing_ok=True)
        profile = tmp_path_factory.mktemp(f"chromium-profile-{name}")  # fresh every run
        command = [
            *offline,
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--dump-dom",
            (site / page).as_uri(),
        ]
        done = subprocess.run(  # noqa: S603 - the system's chromium on our own built pages
            command, capture_output=True, text=True, timeout=180, check=False
        )
        assert done.returncode == 0, f"chromium failed on {page}:\n{done.stderr[-3000:]}"
        doms[name] = done.stdout
    return doms


def test_browser_namespace_has_no_network(offline: list[str]) -> None:
    # Read, not probed with a connection: the namespace has only the loopback interface
    # (down) and no route anywhere, so nothing the browser asks for can leave the machine.
    dev = subprocess.run(  # noqa: S603 - cat of a /proc file, offline
        [*offline, "cat", "/proc/net/dev"], capture_output=True, text=True, check=True
    )
    interfaces = [line.split(":")[0].strip() for line in dev.stdout.splitlines() if ":" in line]
    assert interfaces == ["lo"], interfaces
    route = subprocess.run(  # noqa: S603 - same
        [*offline, "cat", "/proc/net/route"], capture_output=True, text=True, check=True
    )
    assert route.stdout.splitlines()[1:] == [], route.stdout


@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset_offline(rendered: dict[str, str], name: str) -> None:
    dom = rendered[name]
    # Sphinx writes each formula as <span class="math ...">\(...\)</span> (inline) or
    # <div class="math ...">\[...\]</div> (display); MathJax replaces the TeX inside.
    formulas = re.findall(r'<(?:span|div) class="math[^"]*">\s*(<mjx-container)?', dom)
    assert formulas, f"no math found on {PAGES[name]}: is it still a page with formulas?"
    raw = formulas.count("")
    assert raw == 0, f"{raw} of {len(formulas)} formulas on {PAGES[name]} are not typeset"
    assert "\\(" not in dom, f"raw TeX \\( remains on {PAGES[name]}"
    assert "<mjx-c " in dom or "<mjx-c>" in dom, "MathJax produced no glyphs"
    assert "<mjx-merror" not in dom, f"MathJax reports a TeX error on {PAGES[name]}"


@pytest.mark.parametrize("name", PAGES)
def test_screenshot_saved(rendered: dict[str, str], name: str) -> None:
    assert name in rendered
    pixels = image.imread(SCREENSHOTS / f"{name}.png")
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert float(np.std(pixels)) > 0.05, "the screenshot is blank"


def test_code_has_copy_buttons(rendered: dict[str, str]) -> None:
    # sphinx-copybutton adds its buttons from JavaScript, so look in the rendered DOM.
    assert 'class="copybtn' in rendered["gallery"]


#: Elements that make the browser fetch a resource (not links the reader may follow).
FETCHING_HTML = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed|input)\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//"
    r"|<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//",
    re.IGNORECASE,
)
FETCHING_CSS = re.compile(r"(?:url\(|@import)\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def test_no_page_fetches_from_another_host(site: Path) -> None:
    # Scripts, style sheets, fonts and images all come from the site itself; a CDN
    # reference would leave a page unstyled or its math raw for a reader offline.
    # (MathJax's own files are left out: they load their parts by relative paths.)
    offenders = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in {".html", ".css"} or "mathjax" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        pattern = FETCHING_HTML if path.suffix == ".html" else FETCHING_CSS
        offenders += [f"{path.relative_to(site)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not offenders, "\n".join(offenders[:20])
