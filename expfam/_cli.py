"""The ``expfam`` command line (also ``python -m expfam``).

Sub-commands:

``expfam demo``
    The library's story end to end on built-in data (see :mod:`expfam._demo`).
``expfam boltzmann``
    The Boltzmann (maximum-entropy) distribution over energy levels, for a target
    mean energy or a given inverse temperature.
``expfam maxent``
    The maximum-entropy distribution over the rows of a feature table with given
    feature means, optionally relative to a prior.
``expfam fit``
    A maximum-likelihood categorical fitted to integer labels.
``expfam glm``
    A generalized linear model fitted to a CSV table (see :func:`expfam.glm`).

Every computing command prints a table and a summary, or with ``--json`` one JSON
object. Non-finite numbers are written as the strings ``"inf"``, ``"-inf"`` and
``"nan"`` so that the output is always valid JSON.

Bad input (text where a number is expected, an empty file, an infeasible target)
prints one line ``expfam CMD: error: ...`` on stderr and exits with status 2; a
solver that does not converge exits with status 1. No traceback is shown unless
the environment variable ``EXPFAM_DEBUG`` is set.

Examples
--------
>>> from expfam._cli import main
>>> status = main(["fit", "--labels", "0 0 1 2", "--json"])  # doctest: +ELLIPSIS
{"command": "fit", "num_categories": 3, "num_observations": 4, ...}
>>> status
0
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

import numpy as np

import expfam

__all__ = ["CLIError", "main", "to_jsonable"]

PROG = "expfam"

#: Jaynes' dice (1957): faces 1..6 as energies, observed mean 4.5.
DICE_ENERGIES = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
DICE_MEAN = 4.5

#: `expfam fit` refuses more categories than this (a stray huge label would otherwise
#: ask for an enormous count vector).
MAX_CATEGORIES = 10**7

EXIT_OK = 0
EXIT_FAILURE = 1  # a solver did not converge, or an internal error
EXIT_USAGE = 2  # bad input


class CLIError(Exception):
    """Bad input on the command line; reported as one line, exit status 2."""


class _Unavailable(Exception):  # noqa: N818 - a state, not an error of the user's
    """The installed expfam lacks an API a command needs; exit status 1."""


# ---------------------------------------------------------------------------- output helpers
def to_jsonable(x: Any) -> Any:  # noqa: PLR0911 - one return per JSON type
    """Convert numbers, arrays and containers to JSON-ready Python objects.

    Finite floats stay floats, except that ``-0.0`` becomes ``0.0`` (a negative zero
    from, say, ``-sum(0 * log 1)`` says nothing a reader should see); ``inf``, ``-inf``
    and ``nan`` become the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (plain JSON has
    no such numbers).

    Parameters
    ----------
    x : object
        A number, numpy array or scalar, string, bool, None, or a list, tuple or
        dict of those.

    Returns
    -------
    object
        The same structure made of dicts, lists, str, int, float, bool and None.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"p": np.array([0.5, 0.5]), "log_p": [-np.inf, -0.0], "n": np.int64(2)})
    {'p': [0.5, 0.5], 'log_p': ['-inf', 0.0], 'n': 2}
    """
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v if v != 0 else 0.0  # no negative zeros
    if x is None or isinstance(x, str):
        return x
    raise TypeError(f"cannot convert {type(x).__name__} to JSON")


def _dump_json(obj: dict[str, Any], out: TextIO) -> None:
    print(json.dumps(to_jsonable(obj), allow_nan=False), file=out)


def _num(x: Any, digits: int = 6) -> str:
    """Format a number for the tables: ``g`` format, ``inf``/``nan`` spelled out."""
    v = float(x)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    return format(v, f".{digits}g")


def _column(values: Any, *, fixed: bool = False) -> list[str]:
    """Format a column of numbers alike.

    Integers print as integers; with `fixed`, values print with six decimals when
    that shows every one of them (probabilities); otherwise six significant digits.
    """
    v = np.asarray(values, dtype=np.float64)
    fin = v[np.isfinite(v)]
    if fin.size and np.all(fin == np.round(fin)) and np.all(np.abs(fin) < 1e15):
        return [_num(x) if not math.isfinite(x) else str(int(x)) for x in v.tolist()]
    nonzero = np.abs(fin[fin != 0])
    if fixed and (nonzero.size == 0 or (nonzero.min() >= 1e-4 and nonzero.max() < 1e6)):
        # `+ 0.0` turns a negative zero into 0.0, which prints without a sign
        return [_num(x) if not math.isfinite(x) else f"{x + 0.0:.6f}" for x in v.tolist()]
    return [_num(x) for x in v.tolist()]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Print an aligned table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    print(line(header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        print(line(r), file=out)


def _summary(items: Sequence[tuple[str, str]], out: TextIO) -> None:
    w = max(len(k) for k, _ in items)
    for k, v in items:
        print(f"{k.ljust(w)}  {v}", file=out)


# ---------------------------------------------------------------------------- input helpers
def _parse_float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CLIError(f"{where}: {text!r} is not a number") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_text(path: str) -> tuple[str, str]:
    """Return ``(text, display name)`` of a file, ``-`` meaning standard input."""
    if path == "-":
        if sys.stdin is None:
            raise CLIError("no standard input to read from; give a file")
        return sys.stdin.read(), "<stdin>"
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), path
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CLIError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise CLIError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise CLIError(f"{path}: cannot read ({exc.strerror})") from None


@dataclass
class _Table:
    """A small numeric table read from a text file.

    Rows are states. An optional header row names the columns, and an optional
    first column of text names the states.
    """

    source: str
    names: list[str]  # column names (of the numeric columns)
    columns: list[list[str]]  # cells of each numeric column, as text
    lines: list[int]  # the file's line number of each row
    labels: list[str] | None = None
    _cache: dict[int, list[float]] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return len(self.lines)

    def index(self, spec: str, option: str) -> int:
        """Column index of `spec`: a header name, or a 0-based index among the numeric columns."""
        if spec in self.names:
            return self.names.index(spec)
        if spec.isdigit() and int(spec) < len(self.names):
            return int(spec)
        raise CLIError(
            f"{option} {spec}: {self.source} has no such column "
            f"(columns: {', '.join(self.names)}; or a 0-based index)"
        )

    def values(self, j: int) -> list[float]:
        """Column `j` as floats, with an error naming the line of a bad cell."""
        if j not in self._cache:
            self._cache[j] = [
                _parse_float(c, f"{self.source}, line {n}, column {self.names[j]!r}")
                for c, n in zip(self.columns[j], self.lines, strict=True)
            ]
        return self._cache[j]


def _split_rows(text: str) -> tuple[list[list[str]], list[int]]:
    """Non-empty, non-comment lines split into cells (comma, tab or whitespace)."""
    raw = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if any("," in line for _, line in raw):
        cells = [
            [c.strip() for c in row]
            for row in csv.reader(io.StringIO("\n".join(s for _, s in raw)))
        ]
    else:
        cells = [line.split() for _, line in raw]
    return cells, [n for n, _ in raw]


def _read_table(path: str) -> _Table:
    """Read a table of numbers with an optional header row and an optional label column."""
    text, source = _read_text(path)
    rows, lines = _split_rows(text)
    if not rows:
        raise CLIError(f"{source}: no data (the file is empty)")
    numeric = [sum(_is_number(c) for c in r) for r in rows]
    has_header = (len(rows) >= 2 and numeric[0] < numeric[1]) or (
        len(rows) == 1 and numeric[0] == 0 and len(rows[0]) > 0
    )
    header = rows[0] if has_header else None
    data, data_lines = (rows[1:], lines[1:]) if has_header else (rows, lines)
    if not data:
        raise CLIError(f"{source}: no data rows after the header line")
    width = len(data[0])
    for r, n in zip(data, data_lines, strict=True):
        if len(r) != width:
            raise CLIError(f"{source}, line {n}: {len(r)} values, expected {width}")
    if header is not None and len(header) != width:
        raise CLIError(
            f"{source}, line {lines[0]}: header has {len(header)} names, rows have {width}"
        )
    has_labels = width >= 2 and not _is_number(data[0][0])
    first = 1 if has_labels else 0
    names = header[first:] if header is not None else [str(i) for i in range(width - first)]
    columns = [[r[j] for r in data] for j in range(first, width)]
    labels = [r[0] for r in data] if has_labels else None
    return _Table(source, names, columns, data_lines, labels)


def _require_api(name: str, command: str) -> Any:
    """Return ``expfam.<name>`` or raise `_Unavailable` naming it."""
    obj = getattr(expfam, name, None)
    if obj is None:
        raise _Unavailable(
            f"`expfam {command}` needs expfam.{name}, which this build of expfam does not have"
        )
    return obj


def _check_finite(values: Sequence[float], what: str) -> None:
    for i, v in enumerate(values):
        if not math.isfinite(v):
            raise CLIError(f"{what}: entry {i} is {_num(v)}; values must be finite")


#: How the library's argument names (in backticks in its messages) read on the command
#: line of each command. Names not listed are left as they are.
_CLI_NAMES: dict[str, dict[str, str]] = {
    "boltzmann": {"mean_energy": "--mean-energy", "beta": "--beta", "energies": "the energies"},
    "maxent": {"moments": "--moments", "features": "the --features columns", "prior": "the prior"},
    "fit": {"pseudocount": "--pseudocount", "counts": "the label counts"},
    "glm": {
        "y": "the --response column",
        "X": "the covariate columns",
        "weights": "the --weights column",
        "offset": "the --offset column",
        "l2": "--l2",
        "n": "--trials",
    },
}


def _in_cli_terms(message: str, command: str, columns: Sequence[str] = ()) -> str:
    """Rewrite a library error message in the words of the command line.

    `` `mean_energy`=7.0 `` becomes ``--mean-energy=7.0``, `` `energies` `` becomes
    ``the energies``; with the feature `columns` of ``maxent``, `` `moments`[1]=2.0 ``
    becomes ``--moments value 2.0 (for 'spin')`` and `` `features`[:, 1] `` becomes
    ``feature column 'spin'``.

    Examples
    --------
    >>> _in_cli_terms("`mean_energy`=7.0 is outside [1.0, 3.0] of `energies`", "boltzmann")
    '--mean-energy=7.0 is outside [1.0, 3.0] of the energies'
    >>> _in_cli_terms("`moments`[1]=2.0 is outside [-1.0, 1.0] of `features`[:, 1]",
    ...               "maxent", ["energy", "spin"])
    "--moments value 2.0 (for 'spin') is outside [-1.0, 1.0] of feature column 'spin'"
    """
    names = _CLI_NAMES.get(command, {})

    def column(i: str) -> str | None:
        return repr(columns[int(i)]) if int(i) < len(columns) else None

    def indexed_moment(m: re.Match[str]) -> str:
        col = column(m[1])
        return m[0] if col is None else f"--moments value {m[2]} (for {col})"

    def feature_column(m: re.Match[str]) -> str:
        col = column(m[1])
        return m[0] if col is None else f"feature column {col}"

    if command == "maxent":
        message = re.sub(r"`moments`\[(\d+)\]=([^\s,;]+)", indexed_moment, message)
        message = re.sub(r"`features`\[:, ?(\d+)\]", feature_column, message)
    return re.sub(r"`(\w+)`", lambda m: names.get(m[1], m[0]), message)


#: Tokens argparse must read as (negative) numbers, not as options: "-" then a digit or
#: "." and a digit (-1, -.5, -1e-3, -2.5E+10; a typo such as -1x then fails as "not a
#: number"), or -inf, -infinity or -nan in any case. Python's own pattern accepts only
#: -1 and -1.5, so -1e-3 and -inf would be taken for unknown options. No option of
#: this command line looks like a number, so nothing is shadowed.
_NEGATIVE_NUMBER = re.compile(r"^-(?:\.?\d|(?:inf|infinity|nan)$)", re.IGNORECASE)


# ---------------------------------------------------------------------------- boltzmann
def _indices(n: int) -> list[str]:
    return [str(i) for i in range(n)]


def _energy_column(table: _Table, spec: str | None) -> int:
    """Return the column of `table` holding the energies (`spec`, or the obvious one)."""
    if spec is not None:
        return table.index(spec, "--column")
    if len(table.names) == 1:
        return 0
    if "energy" in table.names:
        return table.names.index("energy")
    raise CLIError(
        f"{table.source} has {len(table.names)} numeric columns "
        f"({', '.join(table.names)}); choose the energies with --column"
    )


def _boltzmann_energies(args: argparse.Namespace) -> tuple[list[float], list[str], str]:
    """Energies, state names and a description of where they came from."""
    if args.energies and args.file is not None:
        raise CLIError("give energies either as arguments or with --file, not both")
    if args.column is not None and args.file is None:
        raise CLIError("--column needs --file")
    if args.file is not None:
        table = _read_table(args.file)
        energies = table.values(_energy_column(table, args.column))
        states = table.labels or _indices(table.num_rows)
        source = f"energies from {table.source}"
    elif args.energies:
        for e in args.energies:
            if e.startswith("-") and not _NEGATIVE_NUMBER.match(e):  # only after `--`
                raise CLIError(
                    f"energy: {e!r} is not a number (every argument after `--` is an "
                    "energy; put options before it; negative energies need no `--`)"
                )
        energies = [_parse_float(e, "energy") for e in args.energies]
        states = _indices(len(energies))
        source = "energies from the command line"
    else:
        energies = list(DICE_ENERGIES)
        states = [str(int(e)) for e in energies]
        source = "built-in example: Jaynes' dice, faces 1..6 as energies"
        if args.mean_energy is None and args.beta is None and args.temperature is None:
            source += f", mean {DICE_MEAN}"
    _check_finite(energies, "energies")
    return energies, states, source


def _boltzmann_target(args: argparse.Namespace) -> dict[str, float]:
    """Return the one keyword argument of :func:`expfam.boltzmann` fixing the distribution."""
    if args.mean_energy is None and args.beta is None and args.temperature is None:
        if args.file is not None or args.energies:
            raise CLIError("give a target: --mean-energy E, --beta B or --temperature T")
        return {"mean_energy": DICE_MEAN}
    if args.mean_energy is not None and not math.isfinite(args.mean_energy):
        raise CLIError(f"--mean-energy must be finite; got {_num(args.mean_energy)}")
    for name, v in (("--beta", args.beta), ("--temperature", args.temperature)):
        if v is not None and math.isnan(v):
            raise CLIError(f"{name} must be a number or inf or -inf; got nan")
    given = {"mean_energy": args.mean_energy, "beta": args.beta, "temperature": args.temperature}
    return {k: v for k, v in given.items() if v is not None}


def _cmd_boltzmann(args: argparse.Namespace, out: TextIO) -> int:
    boltzmann = _require_api("boltzmann", "boltzmann")
    energies, states, source = _boltzmann_energies(args)
    target = _boltzmann_target(args)
    e = np.asarray(energies, dtype=np.float64)
    try:
        res = boltzmann(e, **target)
    except ValueError as exc:
        raise CLIError(_in_cli_terms(str(exc), "boltzmann")) from exc
    probs = np.asarray(res.distribution.probs)
    if args.json:
        _dump_json(
            {
                "command": "boltzmann",
                "states": states,
                "energies": e,
                "probabilities": probs,
                "beta": res.beta,
                "temperature": res.temperature,
                "log_partition": res.log_partition,
                "free_energy": res.free_energy,
                "entropy": res.entropy,
                "mean_energy": res.mean_energy,
                "variance": res.variance,
                "converged": res.converged,
                "iterations": res.iterations,
            },
            out,
        )
        return EXIT_OK
    print(f"Boltzmann distribution p_i = exp(-beta E_i) / Z over {len(e)} states", file=out)
    print(f"({source})\n", file=out)
    _table(
        ["state", "energy", "probability"],
        [list(r) for r in zip(states, _column(e), _column(probs, fixed=True), strict=True)],
        out,
    )
    print(file=out)
    _summary(
        [
            ("beta = 1/T", _num(res.beta, 10)),
            ("temperature T", _num(res.temperature, 10)),
            ("log Z", _num(res.log_partition, 10)),
            ("free energy F = -T log Z", _num(res.free_energy, 10)),
            ("entropy S (nats)", _num(res.entropy, 10)),
            ("mean energy <E>", _num(res.mean_energy, 10)),
            ("variance Var(E)", _num(res.variance, 10)),
            ("solver", _solver_note(res, beta_given="mean_energy" not in target)),
        ],
        out,
    )
    return EXIT_OK


def _solver_note(res: Any, *, beta_given: bool = False) -> str:
    if beta_given:
        return "none needed (beta given)"
    state = "converged" if res.converged else "did not converge"
    return f"{state} in {res.iterations} iterations"


# ---------------------------------------------------------------------------- maxent
F64Array = np.ndarray[Any, np.dtype[np.float64]]


def _maxent_prior(
    args: argparse.Namespace, table: _Table
) -> tuple[F64Array | None, str | None, int | None]:
    """Return the normalised prior, its name, and its column of `table` (if it is one)."""
    if args.prior is not None and args.prior_file is not None:
        raise CLIError("give --prior (a column) or --prior-file, not both")
    column: int | None = None
    if args.prior is not None:
        column = table.index(args.prior, "--prior")
        prior = np.asarray(table.values(column))
        name = table.names[column]
    elif args.prior_file is not None:
        ptab = _read_table(args.prior_file)
        if len(ptab.names) != 1:
            raise CLIError(f"--prior-file {ptab.source}: expected one column of prior weights")
        if ptab.num_rows != table.num_rows:
            raise CLIError(
                f"--prior-file {ptab.source} has {ptab.num_rows} values, "
                f"but {table.source} has {table.num_rows} states"
            )
        prior = np.asarray(ptab.values(0))
        name = "prior"
    else:
        return None, None, None
    _check_finite(list(prior), "prior")
    if np.any(prior < 0) or not np.sum(prior) > 0:
        option = "--prior" if args.prior is not None else "--prior-file"
        raise CLIError(f"{option}: prior weights must be non-negative and not all zero")
    return prior / np.sum(prior), name, column


def _maxent_features(
    args: argparse.Namespace, table: _Table, exclude: int | None
) -> tuple[F64Array, list[str], list[float]]:
    """Return the feature matrix (states x features), the feature names and the moments."""
    if args.feature_columns:
        cols = [table.index(c, "--features") for c in args.feature_columns]
    else:
        cols = [j for j in range(len(table.names)) if j != exclude]
    if not cols:
        raise CLIError(f"{table.source}: no feature columns")
    names = [table.names[j] for j in cols]
    moments = [_parse_float(m, "--moments") for m in args.moments]
    if len(moments) != len(cols):
        raise CLIError(
            f"--moments has {len(moments)} values for {len(cols)} features "
            f"({', '.join(names)}); give one target mean per feature"
        )
    _check_finite(moments, "--moments")
    feats = np.column_stack([np.asarray(table.values(j)) for j in cols])
    return feats, names, moments


def _cmd_maxent(args: argparse.Namespace, out: TextIO) -> int:
    max_entropy = _require_api("max_entropy", "maxent")
    table = _read_table(args.features)
    prior, prior_name, prior_column = _maxent_prior(args, table)
    feats, names, moments = _maxent_features(args, table, prior_column)
    try:
        res = max_entropy(feats, np.asarray(moments), prior=prior)
    except ValueError as exc:
        raise CLIError(_in_cli_terms(str(exc), "maxent", names)) from exc
    probs = np.asarray(res.distribution.probs)
    states = table.labels or _indices(table.num_rows)
    if args.json:
        _dump_json(
            {
                "command": "maxent",
                "features": names,
                "moments": moments,
                "states": states,
                "probabilities": probs,
                "multipliers": np.asarray(res.multipliers),
                "entropy": res.entropy,
                "kl_to_prior": res.kl_to_prior,
                "residual": np.asarray(res.residual),
                "converged": res.converged,
                "iterations": res.iterations,
            },
            out,
        )
        return EXIT_OK
    rel = f", relative to the prior {prior_name!r}" if prior is not None else ""
    print(
        f"Maximum-entropy distribution over {table.num_rows} states of {table.source}{rel}",
        file=out,
    )
    targets = ", ".join(f"E[{n}] = {_num(m)}" for n, m in zip(names, moments, strict=True))
    print(f"with {targets}\n", file=out)
    header = ["state", *names] + (["prior"] if prior is not None else []) + ["probability"]
    cells = [_column(feats[:, j]) for j in range(feats.shape[1])]
    if prior is not None:
        cells.append(_column(prior, fixed=True))
    cells.append(_column(probs, fixed=True))
    _table(header, [[s, *(c[i] for c in cells)] for i, s in enumerate(states)], out)
    print(file=out)
    multipliers = np.ravel(res.multipliers)
    items = [(f"multiplier of {n}", _num(v, 10)) for n, v in zip(names, multipliers, strict=True)]
    items.append(("entropy (nats)", _num(res.entropy, 10)))
    if res.kl_to_prior is not None:
        items.append(("KL to prior (nats)", _num(res.kl_to_prior, 10)))
    items.append(("max |moment residual|", _num(np.max(np.abs(res.residual)), 3)))
    items.append(("solver", _solver_note(res)))
    _summary(items, out)
    return EXIT_OK


# ---------------------------------------------------------------------------- fit
def _parse_labels(text: str, source: str) -> tuple[list[int], list[int]]:
    """Return the labels in `text` and the line number of each."""
    labels: list[int] = []
    lines: list[int] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for tok in line.replace(",", " ").split():
            try:
                v = int(tok)
            except ValueError:
                raise CLIError(f"{source}, line {n}: {tok!r} is not an integer label") from None
            if v < 0:
                raise CLIError(f"{source}, line {n}: label {v} is negative; labels are 0, 1, ...")
            labels.append(v)
            lines.append(n)
    if not labels:
        raise CLIError(f"{source}: no labels (the input is empty)")
    return labels, lines


def _fit_labels(args: argparse.Namespace) -> tuple[list[int], list[int], str]:
    """Return the labels (from --labels, a file or stdin), their lines and their source."""
    if args.labels is not None and args.file is not None:
        raise CLIError("give labels either with --labels or as a file, not both")
    if args.labels is not None:
        return (*_parse_labels(args.labels, "--labels"), "--labels")
    path = args.file if args.file is not None else "-"
    if path == "-" and sys.stdin is not None and sys.stdin.isatty():
        print(  # noqa: T201 - a prompt for a person at a terminal
            "reading labels from standard input (end with Ctrl-D; see `expfam fit --help`)",
            file=sys.stderr,
        )
    text, source = _read_text(path)
    return (*_parse_labels(text, source), source)


def _num_categories(K: int | None, labels: list[int], lines: list[int], source: str) -> int:
    """Return the number of categories: `K` checked against the labels, or max + 1.

    An error about a label names its line (the first such label's).
    """
    if K is None:
        i = max(range(len(labels)), key=labels.__getitem__)  # the first largest label
        if labels[i] >= MAX_CATEGORIES:
            raise CLIError(
                f"{source}, line {lines[i]}: label {labels[i]} asks for {labels[i] + 1} "
                f"categories, more than this command handles ({MAX_CATEGORIES}); "
                "labels must be 0, 1, ..., K-1"
            )
        return labels[i] + 1
    if K < 1:
        raise CLIError(f"--num-categories must be at least 1; got {K}")
    if K > MAX_CATEGORIES:
        raise CLIError(
            f"--num-categories {K} is more than this command handles ({MAX_CATEGORIES})"
        )
    for v, n in zip(labels, lines, strict=True):
        if v >= K:
            raise CLIError(
                f"{source}, line {n}: label {v} is outside 0..{K - 1} (--num-categories {K})"
            )
    return K


def _cmd_fit(args: argparse.Namespace, out: TextIO) -> int:
    categorical = expfam.Categorical
    if not hasattr(categorical, "fit_counts"):
        raise _Unavailable(
            "`expfam fit` needs Categorical.fit_counts, which this build of expfam does not have"
        )
    labels, lines, source = _fit_labels(args)
    K = _num_categories(args.num_categories, labels, lines, source)
    a = args.pseudocount
    if not (math.isfinite(a) and a >= 0):
        raise CLIError(f"--pseudocount must be finite and non-negative; got {_num(a)}")
    x = np.asarray(labels, dtype=np.intp)
    counts = np.bincount(x, minlength=K)
    try:
        dist = categorical.fit_counts(counts.astype(np.float64), pseudocount=a)
    except ValueError as exc:
        raise CLIError(_in_cli_terms(str(exc), "fit")) from exc
    probs = np.asarray(dist.probs)
    log_probs = np.asarray(dist.log_probs)
    h = float(dist.entropy())
    loglik = -float(expfam.cross_entropy(counts.astype(np.float64), probs))
    result = {
        "command": "fit",
        "num_categories": K,
        "num_observations": len(labels),
        "pseudocount": a,
        "counts": counts,
        "probabilities": probs,
        "logits": log_probs,
        "entropy_nats": h,
        "entropy_bits": h / math.log(2),
        "log_likelihood": loglik,
    }
    if args.json:
        _dump_json(result, out)
        return EXIT_OK
    how = "maximum likelihood" if a == 0 else f"smoothed with pseudocount {_num(a)}"
    print(
        f"Categorical fit ({how}) to {len(labels)} labels from {source}, {K} categories\n",
        file=out,
    )
    _table(
        ["category", "count", "probability", "logit (log p)"],
        [
            [str(k), *row]
            for k, row in enumerate(
                zip(
                    _column(counts),
                    _column(probs, fixed=True),
                    _column(log_probs, fixed=True),
                    strict=True,
                )
            )
        ],
        out,
    )
    print(file=out)
    _summary(
        [
            ("entropy", f"{_num(h, 10)} nats = {_num(h / math.log(2), 10)} bits"),
            ("log-likelihood", f"{_num(loglik, 10)} nats"),
        ],
        out,
    )
    return EXIT_OK


# ---------------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:  # noqa: ARG001 - uniform signature
    from expfam._demo import run_demo  # noqa: PLC0415 - only this command needs it

    run_demo(out)
    return EXIT_OK


# ---------------------------------------------------------------------------- glm
_GLM_FAMILIES = (
    "bernoulli",
    "binomial",
    "poisson",
    "geometric",
    "exponential",
    "normal",
    "gamma",
    "categorical",
)


def _add_glm_parser(sub: Any, fmt: Callable[[str], argparse.HelpFormatter]) -> None:
    """Register ``expfam glm`` (a generalized linear model fitted to a CSV table)."""
    p = sub.add_parser(
        "glm",
        help="fit a generalized linear model to a CSV table",
        formatter_class=fmt,
        description=(
            "Fit a generalized linear model of FAMILY by maximum likelihood: the natural\n"
            "parameter of each row is intercept + coefficients . covariates (+ offset).\n"
            "Prints R-style inference: coefficients, standard errors, z (or t), p-values\n"
            "and confidence intervals, the deviance, log-likelihood, AIC and BIC. When\n"
            "the MLE does not exist (separation), the limit model is fitted and said so."
        ),
        epilog=(
            "examples:\n"
            "  expfam glm poisson claims.csv --response n --offset log_exposure\n"
            "  expfam glm bernoulli trial.csv --response cured --columns dose age --json\n"
            "  expfam glm binomial doses.csv --response dead --trials total\n\n"
            "FILE is a CSV table (comma, tab or space separated) with a header row; a\n"
            "first column of text names the rows. Without --columns every numeric column\n"
            "other than the response, weights, offset and trials is a covariate."
        ),
    )
    p.add_argument(
        "family", choices=_GLM_FAMILIES, metavar="FAMILY", help=", ".join(_GLM_FAMILIES)
    )
    p.add_argument("data", metavar="FILE", help="CSV table, one row per observation; '-' is stdin")
    p.add_argument("-r", "--response", required=True, metavar="COL", help="response column")
    p.add_argument("--columns", nargs="+", metavar="COL", help="covariate columns (default: all)")
    p.add_argument("-w", "--weights", metavar="COL", help="column of prior weights")
    p.add_argument("-o", "--offset", metavar="COL", help="column of offsets (e.g. log exposure)")
    p.add_argument("--trials", metavar="COL|N", help="binomial trials: a column or a number")
    p.add_argument("--l2", type=float, default=0.0, metavar="X", help="ridge penalty (default 0)")
    p.add_argument("--link", choices=("canonical", "log"), default="canonical", help="link")
    p.add_argument("--no-intercept", action="store_true", help="no intercept column")
    p.add_argument("--robust", action="store_true", help="sandwich (HC0) standard errors")
    p.add_argument("--json", action="store_true", help=_JSON_HELP)
    p.set_defaults(func=_cmd_glm)


def _cmd_glm(args: argparse.Namespace, out: TextIO) -> int:  # noqa: C901, PLR0912 - one check per option
    """Fit and print a GLM (``expfam glm``)."""
    glm = _require_api("glm", "glm")
    table = _read_table(args.data)
    used: dict[str, int] = {"--response": table.index(args.response, "--response")}
    for option, spec in (("--weights", args.weights), ("--offset", args.offset)):
        if spec is not None:
            used[option] = table.index(spec, option)
    fixed: dict[str, Any] = {}
    if args.trials is not None:
        if args.family != "binomial":
            raise CLIError("--trials is for the binomial family only")
        if _is_number(args.trials) and args.trials not in table.names:
            fixed["n"] = _parse_float(args.trials, "--trials")
        else:
            used["--trials"] = table.index(args.trials, "--trials")
            fixed["n"] = np.asarray(table.values(used["--trials"]))
    elif args.family == "binomial":
        raise CLIError("the binomial family needs --trials (a column or a number)")
    if args.columns is not None:
        cols = [table.index(c, "--columns") for c in args.columns]
    else:
        cols = [j for j in range(len(table.names)) if j not in used.values()]
    clash = sorted(set(cols) & set(used.values()))
    if clash:
        raise CLIError(f"column {table.names[clash[0]]!r} is both a covariate and another role")
    names = [table.names[j] for j in cols]
    X = np.column_stack([table.values(j) for j in cols]) if cols else None
    y = np.asarray(table.values(used["--response"]))
    weights = np.asarray(table.values(used["--weights"])) if "--weights" in used else None
    offset = np.asarray(table.values(used["--offset"])) if "--offset" in used else None
    if X is None and args.no_intercept:
        raise CLIError("no covariates and --no-intercept: nothing to fit")
    if X is None:
        X = np.zeros((table.num_rows, 0))
    family = getattr(expfam, args.family.capitalize())
    try:
        res = glm(
            family,
            _NamedColumns(X, names),
            y,
            weights=weights,
            offset=offset,
            l2=args.l2,
            intercept=not args.no_intercept,
            link=args.link,
            cov_type="robust" if args.robust else "model",
            **fixed,
        )
    except TypeError as exc:  # a family's fixed parameters: still the user's input
        raise CLIError(str(exc)) from exc
    if args.json:
        _dump_json(
            {
                "command": "glm",
                "family": family.__name__,
                "link": res.link,
                "names": res.names,
                "coef": res.coef,
                "stderr": res.stderr,
                "z": res.z,
                "p_values": res.p_values,
                "conf_int": res.conf_int(),
                "loglik": res.loglik,
                "deviance": res.deviance,
                "null_deviance": res.null_deviance,
                "aic": res.aic,
                "bic": res.bic,
                "dispersion": res.dispersion,
                "df_resid": res.df_resid,
                "nobs": res.nobs,
                "iterations": res.iterations,
                "converged": res.converged,
                "mle_exists": res.mle_exists,
            },
            out,
        )
        return EXIT_OK
    print(f"{table.source}: response {args.response!r}", file=out)
    print(res.summary(), file=out)
    return EXIT_OK


class _NamedColumns:
    """A 2-d array with column names, which ``expfam.glm`` reads like a DataFrame's."""

    def __init__(self, values: np.ndarray[Any, Any], names: list[str]) -> None:
        self.values = values
        self.columns = names

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        del copy
        return self.values if dtype is None else self.values.astype(dtype)


# ---------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, exit status 2.

    It reads any negative float literal (``-1e-3``, ``-inf``) as a value, where
    argparse itself would take it for an unknown option (see `_NEGATIVE_NUMBER`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A private attribute, but argparse has read it in `_parse_optional` (as
        # `self._negative_number_matcher.match(arg_string)`) since Python 2.7;
        # tests/test_cli.py checks every numeric position with such values.
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_USAGE,
            f"{self.prog}: error: {message} (see `{self.prog} --help`)\n",
        )


def _formatter(prog: str) -> argparse.HelpFormatter:
    """Keep the hand-wrapped descriptions; align option help a little further right."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28)


_JSON_HELP = (
    "print one JSON object instead of the table; inf, -inf and nan are written as the "
    'strings "inf", "-inf" and "nan"'
)


def _build_parser() -> tuple[_Parser, dict[str, _Parser]]:
    """Return the parser and the parser of each command."""
    fmt = _formatter
    parser = _Parser(
        prog=PROG,
        description=(
            "expfam: exponential-family statistics on numpy and scipy.\n"
            "Start with `expfam demo`; each command has --help."
        ),
        epilog=(
            "Bad input prints one line on stderr and exits with status 2;\n"
            "a solver that does not converge exits with status 1."
        ),
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {expfam.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "demo",
        help="the story of expfam on built-in data (start here)",
        description="Kernels at the edges, the cross-entropy identity, a categorical fit "
        "and Jaynes' dice, narrated on built-in data.",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "boltzmann",
        help="Boltzmann distribution for a mean energy or a temperature",
        formatter_class=fmt,
        description=(
            "The maximum-entropy distribution p_i = exp(-beta E_i) / Z over states with\n"
            "energies E_i: for a target mean energy (beta is solved for), or for a given\n"
            "beta or temperature T = 1/beta. Prints the states with their probabilities\n"
            "and beta, T, log Z, the free energy F = -T log Z and the entropy S.\n\n"
            "With no energies and no target it solves Jaynes' dice: faces 1..6, mean 4.5."
        ),
        epilog=(
            "examples:\n"
            "  expfam boltzmann                                 # Jaynes' dice\n"
            "  expfam boltzmann 0 1 1 2 --beta 0.5\n"
            "  expfam boltzmann -1e-3 0 2.5e-3 --temperature 1e-4\n"
            "  expfam boltzmann --file levels.csv --column energy --mean-energy 1.2 --json\n\n"
            "A file holds one energy per line, or is a CSV table (comma, tab or space\n"
            "separated) with an optional header row and an optional first column of\n"
            "state names; lines starting with # are ignored. `--file -` reads stdin."
        ),
    )
    p.add_argument("energies", nargs="*", metavar="ENERGY", help="energy of each state")
    p.add_argument("-f", "--file", metavar="PATH", help="read the energies from a file")
    p.add_argument(
        "-c",
        "--column",
        metavar="COL",
        help="column of the file holding the energies: header name or 0-based index "
        "(default: the only numeric column, or the one named 'energy')",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("-m", "--mean-energy", type=float, metavar="E", help="target mean energy")
    g.add_argument(
        "-b",
        "--beta",
        type=float,
        metavar="B",
        help="inverse temperature; inf: all mass on the lowest energy, -inf: on the highest",
    )
    g.add_argument(
        "-t",
        "--temperature",
        type=float,
        metavar="T",
        help="temperature 1/beta; 0 is the limit T -> 0+ (beta = inf)",
    )
    p.add_argument("--json", action="store_true", help=_JSON_HELP)
    p.set_defaults(func=_cmd_boltzmann)

    p = sub.add_parser(
        "maxent",
        help="maximum-entropy distribution with given feature means",
        formatter_class=fmt,
        description=(
            "The distribution over the rows (states) of a feature table that has the\n"
            "largest entropy (or the smallest KL divergence to a prior) among those whose\n"
            "feature means equal the targets: p_i proportional to prior_i exp(<lambda, f_i>)."
        ),
        epilog=(
            "examples:\n"
            "  expfam maxent states.csv --features energy --moments 1.5\n"
            "  expfam maxent states.csv --features energy spin --moments 1.0 0.2 --prior q\n\n"
            "FILE is a CSV table (comma, tab or space separated), one row per state, with\n"
            "an optional header row and an optional first column of state names. Without\n"
            "--features every numeric column except the prior is a feature."
        ),
    )
    p.add_argument("features", metavar="FILE", help="CSV table of features, one row per state")
    p.add_argument(
        "-m",
        "--moments",
        nargs="+",
        required=True,
        metavar="M",
        help="target mean of each feature, in the order of the features",
    )
    p.add_argument(
        "--features",
        dest="feature_columns",
        nargs="+",
        metavar="COL",
        help="feature columns (header names or 0-based indices); default: all",
    )
    p.add_argument(
        "--prior",
        metavar="COL",
        help="column of FILE holding prior weights (normalised to sum to 1)",
    )
    p.add_argument(
        "--prior-file",
        metavar="PATH",
        help="file with one prior weight per state (normalised to sum to 1)",
    )
    p.add_argument("--json", action="store_true", help=_JSON_HELP)
    p.set_defaults(func=_cmd_maxent)

    p = sub.add_parser(
        "fit",
        help="fit a categorical to integer labels",
        formatter_class=fmt,
        description=(
            "Fit a categorical distribution to integer labels 0..K-1 by maximum likelihood,\n"
            "optionally smoothed by a pseudocount added to every category. Prints the\n"
            "probabilities, the logits (log-probabilities), the entropy in nats and bits\n"
            "and the log-likelihood of the labels under the fit."
        ),
        epilog=(
            "examples:\n"
            "  expfam fit labels.txt --num-categories 4\n"
            "  seq 0 3 | expfam fit --pseudocount 0.5 --json\n"
            "  expfam fit --labels '0 1 1 2 2 2'\n\n"
            "Labels are separated by spaces, commas or newlines; lines starting with #\n"
            "are ignored. Without FILE and --labels they are read from standard input."
        ),
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="file of labels; '-' is stdin")
    p.add_argument("-l", "--labels", metavar="TEXT", help="the labels themselves, e.g. '0 1 1 2'")
    p.add_argument(
        "-k",
        "--num-categories",
        type=int,
        metavar="K",
        help="number of categories (default: largest label + 1)",
    )
    p.add_argument(
        "-a",
        "--pseudocount",
        type=float,
        default=0.0,
        metavar="A",
        help="added to every category's count (default 0: the plain MLE; 1: Laplace)",
    )
    p.add_argument("--json", action="store_true", help=_JSON_HELP)
    p.set_defaults(func=_cmd_fit)
    _add_glm_parser(sub, fmt)
    return parser, dict(sub.choices)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace | int:
    """Return the parsed arguments, or the exit status once help or an error is printed."""
    parser, commands = _build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # reported by the command's own parser: "expfam boltzmann: error: ..."
            commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extras)}")
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stdout)
        return EXIT_OK
    return args


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one status per outcome
    """Run the ``expfam`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input, 1 when a solver does not
        converge or the installed expfam lacks a needed function.
    """
    args = _parse_args(argv)
    if isinstance(args, int):
        return args
    func: Callable[[argparse.Namespace, TextIO], int] = args.func
    prog = f"{PROG} {args.command}"
    try:
        return func(args, sys.stdout)
    except CLIError as exc:
        _fail(prog, "error", exc)
        return EXIT_USAGE
    except ValueError as exc:  # expfam's errors name the bad argument, in Python's words
        _fail(prog, "error", exc, _in_cli_terms(str(exc), args.command))
        return EXIT_USAGE
    except expfam.ConvergenceError as exc:
        _fail(prog, "did not converge", exc)
        return EXIT_FAILURE
    except _Unavailable as exc:
        _fail(prog, "unavailable", exc)
        return EXIT_FAILURE
    except BrokenPipeError:  # e.g. `expfam demo | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises no tracebacks
        _fail(prog, "internal error (please report it)", exc)
        return EXIT_FAILURE


def _fail(prog: str, kind: str, exc: BaseException, text: str | None = None) -> None:
    if os.environ.get("EXPFAM_DEBUG"):
        raise exc
    message = " ".join((str(exc) if text is None else text).split()) or type(exc).__name__
    print(f"{prog}: {kind}: {message}", file=sys.stderr)  # noqa: T201 - the CLI's error line
