"""Sphinx configuration of the expfam documentation.

Build (from the repository root; warnings are errors)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Three things are written at build time, so that the docs cannot drift from the code:

* ``api.rst``: the API reference, one autosummary entry for every name in
  ``expfam.__all__``, grouped by kind (new exports appear without editing the docs);
* ``generated/cli/*.txt``: the output of ``expfam demo`` and of each ``--help``;
* ``generated/inventories/*.inv``: small offline intersphinx inventories of the
  numpy, scipy and Python objects these pages cite, so the build needs no network.
  Set ``EXPFAM_DOCS_ONLINE_INVENTORIES=1`` to use the projects' full online
  inventories instead.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import expfam

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "generated"
sys.path.insert(0, str(HERE))  # for _gallery_order

# -- project -----------------------------------------------------------------------------
project = "expfam"
author = "The expfam developers"
copyright = "2025, The expfam developers"
release = expfam.__version__
version = ".".join(release.split(".")[:2])

# -- extensions --------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    # MathJax 3 bundled into the built site (_static/mathjax/, fonts included), so that
    # pages, docstrings and the gallery show typeset math offline and from file://.
    "sphinx-mathjax-offline",
]
# textmacros: text-mode macros such as \_ inside \texttt{...}, as LaTeX reads them
# (loaded from the bundled copy, like every other MathJax component)
mathjax3_config = {
    "loader": {"load": ["[tex]/textmacros"]},
    "tex": {"packages": {"[+]": ["textmacros"]}},
}

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "generated/edge_cases.md", "generated/cli"]
templates_path = ["_templates"]
default_role = "autolink"  # `name` links to the object if it exists, else italics

# MyST Markdown: $...$ and $$...$$ math, ::: fences, definition lists, heading anchors
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# API reference: autosummary writes one page per public name into generated/
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False  # the class template lists members instead
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
toc_object_entries_show_parents = "hide"  # "On this page": `fit()`, not `Categorical.fit()`

# -- HTML --------------------------------------------------------------------------------
# The pydata theme, as numpy, scipy and pandas use. Everything it shows is served from
# _static/: no web fonts, analytics or CDN scripts, so the site works with no network.
html_theme = "pydata_sphinx_theme"
html_title = f"expfam {release}"
html_static_path = ["_static"]
html_css_files = ["expfam.css"]
html_theme_options = {
    "navbar_align": "left",
    "navbar_end": ["theme-switcher"],
    "navbar_persistent": ["search-button"],
    "header_links_before_dropdown": 5,  # later pages go under "More"
    # the left sidebar only where a page has sub-pages (API reference), not an empty one
    "sidebar_includehidden": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_center": [],
    "footer_end": ["sphinx-version", "theme-version"],
    "navigation_with_keys": False,
}
html_context = {"default_mode": "light"}
html_show_sourcelink = False

# Copy buttons copy the code, not the ">>> " / "$ " prompts nor the output lines.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True

# -- gallery -----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # execute every plot_*.py
    "within_subsection_order": "_gallery_order.ReadingOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {"expfam": None},
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
    # its timing pages load DataTables and jQuery from CDNs; the site must work offline
    "write_computation_times": False,
}

# -- intersphinx (offline by default) ----------------------------------------------------
#: The numpy, scipy and Python objects the pages cite: (name, role, path in their docs).
CITED = {
    "numpy": (
        "https://numpy.org/doc/stable/",
        "NumPy",
        [
            ("numpy.ndarray", "class", "reference/generated/numpy.ndarray.html"),
            ("numpy.float32", "attribute", "reference/arrays.scalars.html"),
            ("numpy.float64", "attribute", "reference/arrays.scalars.html"),
            ("numpy.errstate", "class", "reference/generated/numpy.errstate.html"),
            ("numpy.finfo", "class", "reference/generated/numpy.finfo.html"),
            ("numpy.log1p", "data", "reference/generated/numpy.log1p.html"),
            ("numpy.moveaxis", "function", "reference/generated/numpy.moveaxis.html"),
            ("numpy.bincount", "function", "reference/generated/numpy.bincount.html"),
            ("numpy.random.Generator", "class", "reference/random/generator.html"),
            ("numpy.random.default_rng", "function", "reference/random/generator.html"),
            (
                "numpy.random.Generator.geometric",
                "method",
                "reference/random/generated/numpy.random.Generator.geometric.html",
            ),
        ],
    ),
    "scipy": (
        "https://docs.scipy.org/doc/scipy/",
        "SciPy",
        [
            (f"scipy.special.{f}", "function", f"reference/generated/scipy.special.{f}.html")
            for f in ("logsumexp", "softmax", "log_softmax", "betaln")
        ]
        + [
            (f"scipy.special.{f}", "data", f"reference/generated/scipy.special.{f}.html")
            for f in ("entr", "rel_entr", "xlogy")
        ]
        + [
            ("scipy.stats.entropy", "function", "reference/generated/scipy.stats.entropy.html"),
            ("scipy.stats.geom", "data", "reference/generated/scipy.stats.geom.html"),
            ("scipy.stats", "module", "reference/stats.html"),
        ]
        + [
            (f"scipy.optimize.{f}", "function", f"reference/generated/scipy.optimize.{f}.html")
            for f in ("minimize", "root_scalar", "toms748", "linprog")
        ],
    ),
    "python": (
        "https://docs.python.org/3/",
        "Python",
        [
            (e, "exception", "library/exceptions.html")
            for e in ("ValueError", "TypeError", "RuntimeError")
        ]
        + [
            ("json", "module", "library/json.html"),
            ("argparse", "module", "library/argparse.html"),
        ],
    ),
}


def _write_inventory(path: Path, project_name: str, entries: list[tuple[str, str, str]]) -> None:
    """Write a Sphinx objects.inv (format 2) holding `entries`."""
    body = "".join(
        f"{name} py:{role} 1 {page}#{'module-' if role == 'module' else ''}{name} -\n"
        for name, role, page in entries
    )
    head = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project_name}\n"
        "# Version: \n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head.encode() + zlib.compress(body.encode()))


intersphinx_mapping: dict[str, tuple[str, str | None]]
if os.environ.get("EXPFAM_DOCS_ONLINE_INVENTORIES"):
    intersphinx_mapping = {key: (url, None) for key, (url, _, _) in CITED.items()}
else:
    intersphinx_mapping = {}
    for key, (url, name, entries) in CITED.items():
        inv = GENERATED / "inventories" / f"{key}.inv"
        _write_inventory(inv, name, entries)
        intersphinx_mapping[key] = (url, str(inv.relative_to(HERE)))

# -- the API page, from expfam.__all__ ----------------------------------------------------
#: Sections of the API page, in order: (title, intro, predicate on the object).
API_SECTIONS: list[tuple[str, str, Callable[[object], bool]]] = [
    (
        "Log-sum-exp kernels",
        (
            "Functions on arrays of logits and probability vectors. They reduce over "
            "``axis=-1`` by default and follow the :doc:`edge policy <conventions>`."
        ),
        lambda obj: inspect.isfunction(obj) and obj.__module__ == "expfam._kernels",
    ),
    (
        "Exponential families",
        (
            "Distributions as exponential families: natural parameters, log-partition, "
            "mean map, Fisher information, and the generic entropy, cross-entropy and KL "
            "written once in :class:`ExponentialFamily`."
        ),
        lambda obj: inspect.isclass(obj) and issubclass(obj, expfam.ExponentialFamily),
    ),
    (
        "Maximum entropy",
        "Maximum-entropy distributions from moment constraints, and their results.",
        lambda obj: any(k in getattr(obj, "__module__", "") for k in ("maxent", "boltzmann")),
    ),
    (
        "Conjugate priors",
        "Conjugate-prior updating helpers.",
        lambda obj: "conjug" in getattr(obj, "__module__", ""),
    ),
    (
        "Errors",
        (
            "Exceptions raised by the solvers (``ValueError`` and ``TypeError`` are used "
            "for bad arguments; see :doc:`conventions`)."
        ),
        lambda obj: inspect.isclass(obj) and issubclass(obj, BaseException),
    ),
    (
        "Other",
        "",
        lambda _obj: True,
    ),
]


#: Modules in reading order: within a section, names follow this order, then their
#: order in the source file.
MODULE_ORDER = [
    "expfam._kernels",
    "expfam._family",
    "expfam._categorical",
    "expfam._discrete",
    "expfam._continuous",
    "expfam._dirichlet",
    "expfam._boltzmann",
    "expfam._maxent",
]


def _reading_order(name: str) -> tuple[int, int, str]:
    obj = getattr(expfam, name)
    module = getattr(obj, "__module__", "")
    rank = MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)
    try:
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        line = 0
    return rank, line, name


def _api_page() -> str:
    names = sorted(
        (n for n in expfam.__all__ if not (n.startswith("__") and n.endswith("__"))),
        key=_reading_order,
    )
    placed: set[str] = set()
    out = [
        "API reference",
        "=============",
        "",
        ".. module:: expfam",
        "",
        (
            "Every public name of :mod:`expfam` (its ``__all__``), imported as "
            "``import expfam``. This page is generated from ``expfam.__all__`` when the "
            "docs are built. The version is ``expfam.__version__`` "
            f"(here ``{expfam.__version__}``)."
        ),
        "",
    ]
    for title, intro, pred in API_SECTIONS:
        members = [n for n in names if n not in placed and pred(getattr(expfam, n))]
        if not members:
            continue
        placed.update(members)
        out += [title, "-" * len(title), ""]
        if intro:
            out += [intro, ""]
        out += [".. autosummary::", "   :toctree: generated", "", *(f"   {n}" for n in members)]
        out.append("")
    return "\n".join(out)


def _write_if_changed(path: Path, text: str) -> None:
    """Write `text` unless the file already holds it (keeps incremental builds fast)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


_write_if_changed(HERE / "api.rst", _api_page())


# -- the command line's own output, for the getting-started and CLI pages ----------------
#: Files the CLI examples read, written next to their transcripts.
CLI_FILES = {
    "levels.csv": "state,energy\nground,0\nfirst,1.5\nsecond,1.5\nthird,4\n",
    "states.csv": "state,energy,spin,q\na,0,1,0.4\nb,1,-1,0.3\nc,2,1,0.2\nd,3,-1,0.1\n",
}
LABELS = "0 2 1 2 2 0 2 1 2 2"
#: name -> commands, each (argv, standard input or None). A single command is written
#: as its bare output; several are written as a terminal transcript.
CLI_SESSIONS: dict[str, list[tuple[list[str], str | None]]] = {
    "demo": [(["demo"], None)],
    "help": [(["--help"], None)],
    "boltzmann-help": [(["boltzmann", "--help"], None)],
    "maxent-help": [(["maxent", "--help"], None)],
    "fit-help": [(["fit", "--help"], None)],
    "boltzmann": [(["boltzmann"], None)],
    "boltzmann-json": [(["boltzmann", "--json"], None)],
    "boltzmann-file": [(["boltzmann", "--file", "levels.csv", "--temperature", "2"], None)],
    "maxent": [
        (
            [
                *("maxent", "states.csv", "--features", "energy", "spin"),
                *("--moments", "1.2", "0.1", "--prior", "q"),
            ],
            None,
        )
    ],
    "fit": [(["fit", "--labels", LABELS, "--num-categories", "4"], None)],
    "fit-smoothed": [
        (["fit", "--labels", LABELS, "--num-categories", "4", "--pseudocount", "1"], None)
    ],
    "errors": [
        (["boltzmann", "1", "2", "x", "--beta", "1"], None),
        (["boltzmann", "1", "2", "3", "--mean-energy", "7"], None),
        (["fit", "--num-categories", "3"], "0 1 2 3\n"),
        (["fit"], ""),
        (["maxent", "states.csv", "--moments", "1.0"], None),
    ],
}


def _capture(argv: list[str], stdin: str | None) -> tuple[str, int]:
    from expfam._cli import main  # noqa: PLC0415 - only needed here

    buf = io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            status = main(argv)
    finally:
        sys.stdin = old_stdin
    return buf.getvalue(), status


def _shell_quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./=" for c in arg) else f'"{arg}"'


def _cli_transcripts() -> None:
    workdir = GENERATED / "cli"
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in CLI_FILES.items():
        _write_if_changed(workdir / name, text)
    cwd = Path.cwd()
    os.chdir(workdir)  # so that the transcripts show relative file names
    old_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps --help to the terminal width
    try:
        for key, commands in CLI_SESSIONS.items():
            if len(commands) == 1:
                text = _capture(*commands[0])[0]
            else:
                parts = []
                for argv, stdin in commands:
                    line = "$ " + " ".join(["expfam", *map(_shell_quote, argv)])
                    if stdin is not None:
                        line = f"$ printf {stdin!r} | " + line[2:]
                    out, status = _capture(argv, stdin)
                    parts.append(f"{line}\n{out}$ echo $?\n{status}\n")
                text = "".join(parts)
            _write_if_changed(workdir / f"{key}.txt", text)
    finally:
        os.chdir(cwd)
        if old_columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old_columns


_cli_transcripts()


# -- the edge-case table of the Conventions page, evaluated live -------------------------
EDGE_CASES = {
    "Masked categories and zeros": [
        "softmax([0.0, 0.0, -inf])",
        "log_softmax([0.0, 0.0, -inf])",
        "logsumexp([0.0, -inf])",
        "entropy([0.5, 0.5, 0.0])",
        "kl_divergence([1.0, 0.0], [0.5, 0.5])",
        "kl_divergence([0.5, 0.5], [1.0, 0.0])",
        "cross_entropy([0.0, 1.0], [1.0, 0.0])",
        "cross_entropy_with_logits([1.0, 0.0], [0.0, -inf])",
        "cross_entropy_with_logits([0.0, 1.0], [0.0, -inf])",
    ],
    "Infinities and nan": [
        "logsumexp([1000.0, 1000.0])",
        "logsumexp([-inf, -inf])",
        "logsumexp([1.0, inf])",
        "logsumexp([inf, nan])",
        "softmax([-inf, -inf])",
        "softmax([1.0, inf])",
        "softmax([[0.0, nan], [0.0, 0.0]])",
        "entropy([0.5, nan])",
        "cross_entropy_with_logits([0.5, 0.5], [nan, 0.0])",
    ],
    "Empty axes": [
        "logsumexp([])",
        "softmax(np.empty((2, 0)))",
        "entropy([])",
        "cross_entropy_with_logits([], [])",
    ],
    "Axes and dtypes": [
        "softmax([[1.0, 2.0], [3.0, 4.0]], axis=0)",
        "logsumexp(np.float32([1, 2])).dtype",
        "softmax([1, 2]).dtype",
    ],
    "Errors": [
        "entropy([0.5, -0.1])",
        "kl_divergence([0.5, 0.5], [0.5, 0.5, 0.0])",
        "softmax([0.0, 1.0], axis=1)",
        "logsumexp(5.0)",
        "logsumexp([1 + 2j])",
    ],
}


def _edge_result(expr: str) -> str:
    import warnings  # noqa: PLC0415 - only needed here

    import numpy as np  # noqa: PLC0415

    namespace = {"np": np, "inf": np.inf, "nan": np.nan}
    namespace.update({n: getattr(expfam, n) for n in expfam.__all__})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a RuntimeWarning escaping would break the policy
            value = eval(expr, namespace)  # noqa: S307 - fixed expressions written above
    except Exception as exc:  # noqa: BLE001 - the table shows what is raised
        return f"raises `{type(exc).__name__}`: {exc}".replace("|", "\\|")
    if isinstance(value, np.dtype):
        return f"`{value}`"
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"`{float(arr)!r}`"
    if arr.size == 0:
        return f"empty, shape `{arr.shape}`"
    text = np.array2string(arr, precision=6, separator=", ", suppress_small=False)
    return "`" + " ".join(text.split()) + "`"


def _edge_table() -> str:
    out = []
    for title, exprs in EDGE_CASES.items():
        out += [f"#### {title}", "", "| call | result |", "|---|---|"]
        out += [f"| `{e}` | {_edge_result(e)} |" for e in exprs]
        out.append("")
    return "\n".join(out)


_write_if_changed(GENERATED / "edge_cases.md", _edge_table())
