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
    A maximum-likelihood fit of any exported family (``expfam fit poisson FILE``);
    without a family, a categorical fitted to integer labels.
``expfam glm``
    A generalized linear model fitted to a CSV table (see :func:`expfam.glm`).

Every computing command prints a table and a summary, or with ``--json`` one JSON
object. Non-finite numbers are written as the strings ``"inf"``, ``"-inf"`` and
``"nan"`` so that the output is always valid JSON.

Bad input (text where a number is expected, an empty file, an infeasible target)
prints one line ``expfam CMD: error: ...`` on stderr (with ``--json``, one JSON
object) and exits with status 2; a solver that does not converge exits with status
1. No traceback is shown unless the environment variable ``EXPFAM_DEBUG`` is set.
Echoed user text (file names, cells) has its unprintable characters escaped.

Input files are read line by line by :func:`read_table` (named float columns) and
:func:`read_values` (every number in order), with the limits `MAX_VALUES`,
`MAX_LINE_CHARS` and `MAX_INPUT_CHARS`.

Examples
--------
>>> from expfam._cli import main
>>> status = main(["fit", "--labels", "0 0 1 2", "--json"])  # doctest: +ELLIPSIS
{"command": "fit", "family": "Categorical", "num_categories": 3, "num_observations": 4, ...}
>>> status
0
>>> main(["fit", "poisson", "--values", "0 2 3 1", "--json"])  # doctest: +ELLIPSIS
{"command": "fit", "family": "Poisson", ..., "parameters": {"rate": 1.5...}, ...}
0
"""

from __future__ import annotations

import argparse
import array
import bisect
import contextlib
import csv
import inspect
import io
import itertools
import json
import math
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

import expfam

__all__ = ["CLIError", "main", "read_table", "read_values", "to_jsonable"]

PROG = "expfam"

#: Jaynes' dice (1957): faces 1..6 as energies, observed mean 4.5.
DICE_ENERGIES = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
DICE_MEAN = 4.5

#: `expfam fit` refuses more categories than this (a stray huge label would otherwise
#: ask for an enormous count vector).
MAX_CATEGORIES = 10**7

F64Array = np.ndarray[Any, np.dtype[np.float64]]

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


#: Long arrays are converted, formatted and written this many numbers at a time, so
#: that the output for a large input needs little memory beyond the input's numbers.
_CHUNK = 65536


class _Indices(Sequence[str]):
    """The row names ``"0"``, ``"1"``, ... of `n` rows, made only when read."""

    def __init__(self, n: int) -> None:
        self._n = n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        rows = range(self._n)[i]
        return [str(k) for k in rows] if isinstance(rows, range) else str(rows)


def _dump_json(obj: dict[str, Any], out: TextIO) -> None:
    """Write `obj` as one line of strict JSON, a long array a chunk at a time.

    The text is that of ``json.dumps(to_jsonable(obj), allow_nan=False)``.
    """
    out.write("{")
    for i, (key, value) in enumerate(obj.items()):
        out.write(("" if i == 0 else ", ") + json.dumps(str(key)) + ": ")
        listlike = isinstance(value, (list, tuple)) or (
            isinstance(value, np.ndarray) and value.ndim == 1
        )
        if isinstance(value, _Indices) or (listlike and len(value) > _CHUNK):
            out.write("[")
            for start in range(0, len(value), _CHUNK):
                text = _json_items(value[start : start + _CHUNK])
                out.write(text if start == 0 else ", " + text)
            out.write("]")
        else:
            out.write(json.dumps(to_jsonable(value), allow_nan=False))
    out.write("}\n")


def _json_items(chunk: Any) -> str:
    """Return the JSON text of the items of a list or 1-d array, without the brackets."""
    if (  # the common case needs no Python call per number: finite, no negative zero
        isinstance(chunk, np.ndarray)
        and chunk.dtype.kind == "f"
        and np.all(np.isfinite(chunk))
        and not np.any(np.signbit(chunk) & (chunk == 0))
    ):
        return json.dumps(chunk.tolist(), allow_nan=False)[1:-1]
    return json.dumps(to_jsonable(chunk), allow_nan=False)[1:-1]


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


class _Column:
    """The cells of a column of numbers, formatted alike, a slice at a time.

    Integers print as integers; with `fixed`, values print with six decimals when
    that shows every one of them (probabilities); otherwise six significant digits.
    """

    def __init__(self, values: ArrayLike, *, fixed: bool = False) -> None:
        v = np.asarray(values, dtype=np.float64)
        fin = v[np.isfinite(v)]
        nonzero = np.abs(fin[fin != 0])
        self._values = v
        if fin.size and np.all(fin == np.round(fin)) and np.all(np.abs(fin) < 1e15):
            self._cell = self._integer
        elif fixed and (nonzero.size == 0 or (nonzero.min() >= 1e-4 and nonzero.max() < 1e6)):
            self._cell = self._fixed
        else:
            self._cell = _num

    @staticmethod
    def _integer(x: float) -> str:
        return _num(x) if not math.isfinite(x) else str(int(x))

    @staticmethod
    def _fixed(x: float) -> str:
        # `+ 0.0` turns a negative zero into 0.0, which prints without a sign
        return _num(x) if not math.isfinite(x) else f"{x + 0.0:.6f}"

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, i: slice) -> list[str]:
        return [self._cell(x) for x in self._values[i].tolist()]


def _column(values: Any, *, fixed: bool = False) -> list[str]:
    """Format a column of numbers alike (see `_Column`)."""
    return _Column(values, fixed=fixed)[:]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Print an aligned table: the first column left-aligned, the others right-aligned."""
    columns = [[r[i] for r in rows] for i in range(len(header))]
    _table_columns(header, columns, out)


def _table_columns(
    header: Sequence[str], columns: Sequence[Sequence[str] | _Column], out: TextIO
) -> None:
    """Print an aligned table given by its columns, formatting a chunk of rows at a time.

    A `_Column` is formatted twice (once for the widths, once for printing) rather than
    held whole, so a table of millions of rows prints in little memory.
    """
    n = len(columns[0])
    widths = [len(h) for h in header]
    for start in range(0, n, _CHUNK):
        for j, col in enumerate(columns):
            cells = col[start : start + _CHUNK]
            widths[j] = max(widths[j], max(map(len, cells), default=0))

    def line(cells: Sequence[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    print(line(header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for start in range(0, n, _CHUNK):
        chunk = [col[start : start + _CHUNK] for col in columns]
        out.write("".join(line(r) + "\n" for r in zip(*chunk, strict=True)))


def _summary(items: Sequence[tuple[str, str]], out: TextIO) -> None:
    w = max(len(k) for k, _ in items)
    for k, v in items:
        print(f"{k.ljust(w)}  {v}", file=out)


# ---------------------------------------------------------------------------- input helpers
#: Limits of the input reader, stated in ``--help`` and docs/cli.md. The input is read
#: line by line, so memory grows with the numbers kept (8 bytes each), not the text.
MAX_LINE_CHARS = 1_000_000
MAX_VALUES = 100_000_000
MAX_INPUT_CHARS = 4_000_000_000

_LIMITS_HELP = (
    f"Inputs are read line by line, up to {MAX_VALUES:,} numbers, lines of up to\n"
    f"{MAX_LINE_CHARS:,} characters and {MAX_INPUT_CHARS:,} characters in all."
)

_UNICODE_BOM = "\ufeff"


# ---------------------------------------------------------------------------- progress
def _size(n: float) -> str:
    """``512 B``, ``12.3 kB``, ``210.3 MB``: a number of bytes for a person.

    Examples
    --------
    >>> _size(512), _size(12_345), _size(210_300_000), _size(4.2e9)
    ('512 B', '12.3 kB', '210.3 MB', '4.2 GB')
    """
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def _seconds(t: float) -> str:
    return f"{t:.2f} s"


class _Progress:
    r"""What a command is doing, on stderr (``--progress``); without a stream, nothing.

    While an input file is read, its status line says the fraction of its bytes read
    (of a pipe: the characters read) and the time so far. On a terminal the line is
    rewritten in place (carriage return) at most every `TTY_INTERVAL` seconds;
    otherwise a plain line is written at most every `LOG_INTERVAL` seconds. The clock
    is read only once per `CHECK_CHARS` characters of input, so the cost per line is
    one comparison. Then each phase (``solving``, ``fitting``) is one line with its
    time, and a last line gives the total. Every line is ended with a newline before
    anything else is written to stderr (`end_line`), so an error message starts on a
    line of its own.

    Examples
    --------
    >>> import io
    >>> stream = io.StringIO()
    >>> progress = _Progress(stream, "expfam fit")
    >>> with progress.phase("fitting"):
    ...     pass
    >>> progress.done()
    >>> print(re.sub(r"\d+\.\d+ s", "T s", stream.getvalue()), end="")
    expfam fit: fitting ... T s
    expfam fit: done, T s in all
    >>> _Progress(None, "expfam fit").done()  # without --progress: nothing
    """

    TTY_INTERVAL = 0.2
    LOG_INTERVAL = 5.0
    CHECK_CHARS = 1 << 18
    _clock = staticmethod(time.monotonic)  # replaced by a fake clock in tests

    def __init__(self, stream: TextIO | None, prog: str) -> None:
        self._stream = stream
        self._prog = prog
        try:
            self._tty = stream is not None and stream.isatty()
        except (AttributeError, ValueError):  # a closed or minimal stream
            self._tty = False
        self._interval = self.TTY_INTERVAL if self._tty else self.LOG_INTERVAL
        self._start = self._clock()
        self._partial = 0  # length of the unfinished line on the stream; 0: none
        # the input being read
        self._name = ""
        self._buffer: Any = None  # its byte stream, when it can tell its position
        self._bytes: int | None = None  # its size in bytes, when known
        self._opened = self._last = 0.0
        self._chars = 0

    def _write(self, text: str) -> None:
        if self._stream is not None:
            self._stream.write(text)
            self._stream.flush()

    def end_line(self) -> None:
        """End an unfinished line (a status line or a phase) with a newline."""
        if self._partial:
            self._write("\n")
            self._partial = 0

    def _line(self, text: str) -> None:
        self.end_line()
        self._write(f"{self._prog}: {text}\n")

    def open_input(self, name: str, f: TextIO) -> float:
        """Start reporting on the input `f` named `name`.

        Returns the count of characters read at which to call `read` next (infinity
        when disabled).
        """
        if self._stream is None:
            return math.inf
        self.end_line()
        self._name, self._buffer, self._bytes, self._chars = name, None, None, 0
        buffer = getattr(f, "buffer", None)
        try:
            if buffer is not None and buffer.seekable():
                self._buffer = buffer
                info = os.fstat(buffer.fileno())
                if stat.S_ISREG(info.st_mode):
                    self._bytes = info.st_size
        except (OSError, ValueError):  # not a file: count the characters instead
            self._buffer = None
        self._opened = self._last = self._clock()
        if self._tty:
            self._status(self._opened)
        return self.CHECK_CHARS

    def read(self, chars: int) -> float:
        """Note that `chars` characters have been read; report if it is time to.

        Returns the count of characters at which to call again.
        """
        now = self._clock()
        self._chars = chars
        if now - self._last >= self._interval:
            self._last = now
            self._status(now)
        return chars + self.CHECK_CHARS

    def _position(self) -> str:
        """How much of the input has been read, in words."""
        if self._buffer is not None:
            try:
                pos = self._buffer.tell()
            except (OSError, ValueError):
                self._buffer = None
            else:
                if self._bytes:
                    percent = min(100.0, 100.0 * pos / self._bytes)
                    return f"{percent:.0f}% of {_size(self._bytes)}"
                return _size(pos)
        return f"{self._chars:,} characters"

    def _status(self, now: float) -> None:
        elapsed = _seconds(now - self._opened)
        text = f"{self._prog}: reading {self._name}: {self._position()}, {elapsed}"
        if self._tty:
            pad = " " * max(0, self._partial - len(text))
            self._write(f"\r{text}{pad}")
            self._partial = len(text)
        else:
            self._write(text + "\n")

    def close_input(self, chars: int, *, complete: bool) -> None:
        """Report the input read, `chars` characters (if reading stopped early, end the line)."""
        if self._stream is None:
            return
        self._chars = chars
        if not complete:
            self.end_line()
            return
        elapsed = _seconds(self._clock() - self._opened)
        size = _size(self._bytes) if self._bytes else f"{self._chars:,} characters"  # /proc: 0
        text = f"{self._prog}: read {self._name}: {size} in {elapsed}"
        if self._tty and self._partial:
            pad = " " * max(0, self._partial - len(text))
            self._write(f"\r{text}{pad}\n")
            self._partial = 0
        else:
            self._write(text + "\n")

    @contextlib.contextmanager
    def phase(self, what: str) -> Iterator[None]:
        """Report `what` is being done (``fitting ...``), then how long it took."""
        if self._stream is None:
            yield
            return
        self.end_line()
        text = f"{self._prog}: {what} ..."
        self._write(text)
        self._partial = len(text)
        start = self._clock()
        outcome = "stopped after "
        try:
            yield
            outcome = ""
        finally:
            elapsed = outcome + _seconds(self._clock() - start)
            if self._partial:
                self._write(f" {elapsed}\n")
                self._partial = 0
            else:
                self._line(f"{what}: {elapsed}")

    def done(self) -> None:
        """Report the command's total time."""
        if self._stream is not None:
            self._line(f"done, {_seconds(self._clock() - self._start)} in all")


_QUIET = _Progress(None, PROG)


def _progress(args: argparse.Namespace) -> _Progress:
    """Return the progress reporter of a command (set by `main`); quiet if there is none."""
    reporter = getattr(args, "reporter", None)
    return reporter if isinstance(reporter, _Progress) else _QUIET


_PROGRESS_HELP = (
    "report progress on stderr: the fraction of the input file read, then each phase "
    "with its time (stdout is unchanged)"
)


def _shown(text: str) -> str:
    r"""`text` with every unprintable character escaped, safe to echo to a terminal.

    Control characters (an escape sequence in a file name, a NUL, a bidi override) are
    written as Python escapes; printable text, including non-ASCII letters, is unchanged.

    Examples
    --------
    >>> _shown("evil\x1b[31mred.csv")
    'evil\\x1b[31mred.csv'
    >>> _shown("naïve data.csv")
    'naïve data.csv'
    """
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
        for c in text
    )


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """``1 value``, ``2 values``: `n` with `word` in the right number.

    Examples
    --------
    >>> _plural(1, "feature"), _plural(2, "feature"), _plural(0, "entry", "entries")
    ('1 feature', '2 features', '0 entries')
    """
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _semicolon_hint(*texts: str) -> str:
    """Return a hint for a file that looks ``;``-separated (as spreadsheets often save)."""
    if any(";" in t for t in texts):
        return (
            " (the file looks ';'-separated: expfam reads values separated by commas, tabs "
            "or spaces, with '.' as the decimal point; save it as CSV with those settings)"
        )
    return ""


def _not_a_number(text: str, where: str) -> CLIError:
    if not text:
        return CLIError(f"{where}: an empty value where a number is expected (a missing value?)")
    return CLIError(f"{where}: {text!r} is not a number{_semicolon_hint(text)}")


def _parse_float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _not_a_number(text, where) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _source_name(path: str) -> str:
    """How messages name an input: ``<stdin>`` for ``-``, else the path, escaped."""
    return "<stdin>" if path == "-" else _shown(path)


def _open_text(path: str) -> TextIO:
    """Open a UTF-8 text file (``-``: standard input) with a clear error if it cannot be."""
    name = _source_name(path)
    if path == "-":
        if sys.stdin is None:
            raise CLIError("no standard input to read from; give a file")
        return sys.stdin
    try:
        return Path(path).open(encoding="utf-8")
    except FileNotFoundError:
        hint = (
            " (to give the data on the command line: --values '...')" if _is_number(path) else ""
        )
        raise CLIError(f"{name}: no such file{hint}") from None
    except IsADirectoryError:
        raise CLIError(f"{name}: is a directory, not a file") from None
    except OSError as exc:
        raise CLIError(f"{name}: cannot read ({exc.strerror})") from None


def _text_lines(  # noqa: C901 - one pass, each check where it applies
    path: str, text: str | None = None, progress: _Progress = _QUIET
) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, stripped line)`` of the data lines of a file, one at a time.

    Blank lines and lines starting with ``#`` are skipped; a UTF-8 byte-order mark at
    the start (as spreadsheets write it) is dropped. With `text`, its lines are read
    instead of the file `path` (which then only names the source). Lines longer than
    `MAX_LINE_CHARS` and inputs longer than `MAX_INPUT_CHARS` end the reading with an
    error, so an endless input (``/dev/zero``) cannot exhaust the memory. A file's
    reading is reported to `progress`.
    """
    name = path if text is not None else _source_name(path)
    f: TextIO = io.StringIO(text) if text is not None else _open_text(path)
    if text is not None:
        progress = _QUIET
    total = 0
    check = progress.open_input(name, f)  # report when `total` reaches it
    complete = False
    try:
        for n in itertools.count(1):
            try:
                line = f.readline(MAX_LINE_CHARS + 1)
            except UnicodeDecodeError:
                raise CLIError(
                    f"{name}, line {n}: not UTF-8 text (save the file as CSV in UTF-8)"
                ) from None
            if not line:
                complete = True
                return
            total += len(line)
            if total >= check:
                check = progress.read(total)
            if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
                raise CLIError(
                    f"{name}, line {n}: longer than {MAX_LINE_CHARS:,} characters, the limit "
                    "of one line (is it a text file of numbers?)"
                )
            if total > MAX_INPUT_CHARS:
                raise CLIError(
                    f"{name}: longer than {MAX_INPUT_CHARS:,} characters, the limit of an input"
                )
            if n == 1 and line.startswith(_UNICODE_BOM):
                line = line[1:]
            s = line.strip()
            if s and not s.startswith("#"):
                yield n, s
    finally:
        progress.close_input(total, complete=complete)
        if f is not sys.stdin:
            f.close()


def _splitter(first: str) -> Callable[[str], list[str]]:
    """Cell splitter for a table whose first data line is `first`: comma, tab or spaces."""
    if "," in first:

        def split_commas(line: str) -> list[str]:
            cells = next(csv.reader([line])) if '"' in line else line.split(",")
            return [c.strip() for c in cells]

        return split_commas
    if "\t" in first:
        return lambda line: [c.strip() for c in line.split("\t")]
    return str.split


class _LineMap:
    """The file's line number of each row (or value), stored as runs of consecutive lines."""

    def __init__(self) -> None:
        self._starts = array.array("q")  # index of the first row of each run
        self._lines = array.array("q")  # its line number
        self.count = 0

    def add(self, line: int) -> None:
        i = self.count
        if not self._lines or line != self._lines[-1] + (i - self._starts[-1]):
            self._starts.append(i)
            self._lines.append(line)
        self.count = i + 1

    def line(self, i: int) -> int:
        k = bisect.bisect_right(self._starts, i) - 1
        return self._lines[k] + (i - self._starts[k])


def _as_array(buffer: array.array[float]) -> F64Array:
    """Return a float64 view of `buffer` (no copy)."""
    return np.frombuffer(buffer, dtype=np.float64) if len(buffer) else np.zeros(0)


def _too_many(source: str) -> CLIError:
    return CLIError(
        f"{source}: more than {MAX_VALUES:,} numbers, the limit of an input of this command"
    )


@dataclass
class _Table:
    """A numeric table read from a text file: named float64 columns.

    Rows are observations or states. An optional header row names the columns, and an
    optional first column of text names the rows (`labels`).
    """

    source: str  # how messages name the file (escaped)
    names: list[str]  # column names (of the numeric columns)
    data: list[F64Array]  # each numeric column
    linemap: _LineMap  # the file's line number of each row
    labels: list[str] | None = None

    @property
    def num_rows(self) -> int:
        return self.linemap.count

    def line(self, i: int) -> int:
        """Return the file's line number of row `i`."""
        return self.linemap.line(i)

    def index(self, spec: str, option: str) -> int:
        """Column index of `spec`: a header name, or a 0-based index among the numeric columns."""
        if spec in self.names:
            return self.names.index(spec)
        if spec.isdigit() and int(spec) < len(self.names):
            return int(spec)
        raise CLIError(
            f"{option} {_shown(spec)}: {self.source} has no such column "
            f"(columns: {_shown(', '.join(self.names))}; or a 0-based index)"
            f"{_semicolon_hint(*self.names)}"
        )

    def values(self, j: int) -> F64Array:
        """Column `j` as a float64 array."""
        return self.data[j]

    def column(self, spec: str, option: str) -> F64Array:
        """Return the column named (or indexed) by `spec`; `option` is named in errors."""
        return self.data[self.index(spec, option)]


def read_table(path: str, *, text: str | None = None, progress: _Progress = _QUIET) -> _Table:  # noqa: C901 - one pass, each check where it applies
    r"""Read a CSV file (or `text`) into named float columns, streaming it.

    The file is comma-, tab- or space-separated (decided by its first data line), with an
    optional header row (detected when the first row has fewer numbers than the second)
    and an optional first column of row names (detected when it is not numeric). Blank
    lines and ``#`` comments are skipped, a UTF-8 byte-order mark is dropped, and the
    limits `MAX_VALUES`, `MAX_LINE_CHARS` and `MAX_INPUT_CHARS` hold. Every error is a
    `CLIError` naming the file, line and column, with a hint for a ``;``-separated file.
    The reading of a file is reported to `progress` (``--progress``).

    Examples
    --------
    >>> t = read_table("<text>", text="\ufeffname,x,w\na,1,2\nb,3,4\n")
    >>> t.names, t.column("x", "--column").tolist(), t.labels
    (['x', 'w'], [1.0, 3.0], ['a', 'b'])
    """
    source = path if text is not None else _source_name(path)
    lines = _text_lines(path, text, progress)
    first = next(lines, None)
    if first is None:
        raise CLIError(f"{source}: no data (the file is empty)")
    split = _splitter(first[1])
    second = next(lines, None)
    row0 = split(first[1])
    row1 = split(second[1]) if second is not None else None
    n0 = sum(map(_is_number, row0))
    has_header = n0 < sum(map(_is_number, row1)) if row1 is not None else n0 == 0
    rows: list[tuple[int, list[str]]] = [] if has_header else [(first[0], row0)]
    if second is not None and row1 is not None:
        rows.append((second[0], row1))
    if not rows:
        raise CLIError(f"{source}: no data rows after the header line")
    width = len(rows[0][1])
    if has_header and len(row0) != width:
        raise CLIError(
            f"{source}, line {first[0]}: the header has {_plural(len(row0), 'name')}, "
            f"the rows have {_plural(width, 'value')}{_semicolon_hint(*row0)}"
        )
    first_numeric = 1 if width >= 2 and not _is_number(rows[0][1][0]) else 0
    names = (
        [_shown(c) for c in row0[first_numeric:]]
        if has_header
        else [str(j) for j in range(width - first_numeric)]
    )
    buffers = [array.array("d") for _ in names]
    labels: list[str] | None = [] if first_numeric else None
    linemap = _LineMap()
    max_rows = MAX_VALUES // width
    for n, cells in itertools.chain(rows, ((n, split(s)) for n, s in lines)):
        if len(cells) != width:
            raise CLIError(
                f"{source}, line {n}: {_plural(len(cells), 'value')}, expected {width}"
                f"{_semicolon_hint(*cells)}"
            )
        if linemap.count >= max_rows:
            raise _too_many(source)
        for buf, name, cell in zip(buffers, names, cells[first_numeric:], strict=True):
            try:
                buf.append(float(cell))
            except ValueError:  # noqa: PERF203 - only on the way out
                raise _not_a_number(cell, f"{source}, line {n}, column '{name}'") from None
        if labels is not None:
            labels.append(_shown(cells[0]))
        linemap.add(n)
    return _Table(source, names, [_as_array(b) for b in buffers], linemap, labels)


_read_table = read_table  # the name the commands use

_SEPARATORS = re.compile(r"\s*,\s*|\s+")  # "1,,2" holds an empty value


def read_values(
    path: str, *, text: str | None = None, header: bool = True, progress: _Progress = _QUIET
) -> tuple[F64Array, _LineMap, str]:
    r"""Read every number of a file (or `text`) in order, any number per line, streaming it.

    Values are separated by commas, tabs, spaces or newlines. With `header`, a first line
    without any number is a header: with one name it is skipped; with several the file
    is a table and a column must be chosen. Returns the values, their line numbers and the name of
    the source. The limits, checks and `progress` of :func:`read_table` hold.

    Examples
    --------
    >>> x, lines, name = read_values("--values", text="x\n1, 2\n3")
    >>> x.tolist(), [lines.line(i) for i in range(3)]
    ([1.0, 2.0, 3.0], [2, 2, 3])
    """
    source = path if text is not None else _source_name(path)
    buf = array.array("d")
    linemap = _LineMap()
    first = header
    for n, s in _text_lines(path, text, progress):
        cells = _SEPARATORS.split(s)
        if first and not any(map(_is_number, cells)) and s.isprintable():
            if len(cells) > 1:
                raise CLIError(
                    f"{source} has columns {_shown(', '.join(cells))}: choose one with "
                    f"--column{_semicolon_hint(*cells)}"
                )
            first = False
            continue  # a one-column header
        first = False
        if linemap.count + len(cells) > MAX_VALUES:
            raise _too_many(source)
        for cell in cells:
            try:
                buf.append(float(cell))
            except ValueError:
                raise _not_a_number(cell, f"{source}, line {n}") from None
            linemap.add(n)
    return _as_array(buf), linemap, source


def _require_api(name: str, command: str) -> Any:
    """Return ``expfam.<name>`` or raise `_Unavailable` naming it."""
    obj = getattr(expfam, name, None)
    if obj is None:
        raise _Unavailable(
            f"`expfam {command}` needs expfam.{name}, which this build of expfam does not have"
        )
    return obj


def _check_finite(values: ArrayLike, what: str) -> None:
    v = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        i = int(bad[0])
        raise CLIError(f"{what}: entry {i} is {_num(v[i])}; values must be finite")


#: How the library's argument names (in backticks in its messages) read on the command
#: line of each command. Names not listed are left as they are.
_CLI_NAMES: dict[str, dict[str, str]] = {
    "boltzmann": {"mean_energy": "--mean-energy", "beta": "--beta", "energies": "the energies"},
    "maxent": {"moments": "--moments", "features": "the --features columns", "prior": "the prior"},
    "fit": {
        "pseudocount": "--pseudocount",
        "counts": "the label counts",
        "x": "the data",
        "weights": "the weights",
        "num_categories": "--num-categories",
    },
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
def _energy_column(table: _Table, spec: str | None) -> int:
    """Return the column of `table` holding the energies (`spec`, or the obvious one)."""
    if spec is not None:
        return table.index(spec, "--column")
    if len(table.names) == 1:
        return 0
    if "energy" in table.names:
        return table.names.index("energy")
    raise CLIError(
        f"{table.source} has {_plural(len(table.names), 'numeric column')} "
        f"({', '.join(table.names)}); choose the energies with --column"
    )


def _boltzmann_energies(args: argparse.Namespace) -> tuple[F64Array, Sequence[str], str]:
    """Energies, state names and a description of where they came from."""
    if args.energies and args.file is not None:
        raise CLIError("give energies either as arguments or with --file, not both")
    if args.column is not None and args.file is None:
        raise CLIError("--column needs --file")
    if args.file is not None:
        table = _read_table(args.file, progress=_progress(args))
        energies = table.values(_energy_column(table, args.column))
        states = table.labels or _Indices(table.num_rows)
        source = f"energies from {table.source}"
    elif args.energies:
        for e in args.energies:
            if e.startswith("-") and not _NEGATIVE_NUMBER.match(e):  # only after `--`
                raise CLIError(
                    f"energy: {e!r} is not a number (every argument after `--` is an "
                    "energy; put options before it; negative energies need no `--`)"
                )
        energies = np.array([_parse_float(e, "energy") for e in args.energies])
        states = _Indices(len(energies))
        source = "energies from the command line"
    else:
        energies = np.array(DICE_ENERGIES)
        states = [str(int(e)) for e in DICE_ENERGIES]
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
    what = "solving for beta" if "mean_energy" in target else "computing the distribution"
    try:
        with _progress(args).phase(what):
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
    print(
        f"Boltzmann distribution p_i = exp(-beta E_i) / Z over {_plural(len(e), 'state')}",
        file=out,
    )
    print(f"({source})\n", file=out)
    _table_columns(
        ["state", "energy", "probability"], [states, _Column(e), _Column(probs, fixed=True)], out
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
        ptab = _read_table(args.prior_file, progress=_progress(args))
        if len(ptab.names) != 1:
            raise CLIError(f"--prior-file {ptab.source}: expected one column of prior weights")
        if ptab.num_rows != table.num_rows:
            raise CLIError(
                f"--prior-file {ptab.source} has {_plural(ptab.num_rows, 'value')}, "
                f"but {table.source} has {_plural(table.num_rows, 'state')}"
            )
        prior = np.asarray(ptab.values(0))
        name = "prior"
    else:
        return None, None, None
    _check_finite(prior, "prior")
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
            f"--moments has {_plural(len(moments), 'value')} for {_plural(len(cols), 'feature')} "
            f"({', '.join(names)}); give one target mean per feature"
        )
    _check_finite(moments, "--moments")
    feats = np.column_stack([np.asarray(table.values(j)) for j in cols])
    return feats, names, moments


def _cmd_maxent(args: argparse.Namespace, out: TextIO) -> int:
    max_entropy = _require_api("max_entropy", "maxent")
    table = _read_table(args.features, progress=_progress(args))
    prior, prior_name, prior_column = _maxent_prior(args, table)
    feats, names, moments = _maxent_features(args, table, prior_column)
    try:
        with _progress(args).phase("solving for the multipliers"):
            res = max_entropy(feats, np.asarray(moments), prior=prior)
    except ValueError as exc:
        raise CLIError(_in_cli_terms(str(exc), "maxent", names)) from exc
    probs = np.asarray(res.distribution.probs)
    states = table.labels or _Indices(table.num_rows)
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
        f"Maximum-entropy distribution over {_plural(table.num_rows, 'state')} "
        f"of {table.source}{rel}",
        file=out,
    )
    targets = ", ".join(f"E[{n}] = {_num(m)}" for n, m in zip(names, moments, strict=True))
    print(f"with {targets}\n", file=out)
    header = ["state", *names] + (["prior"] if prior is not None else []) + ["probability"]
    cells: list[Sequence[str] | _Column] = [states]
    cells += [_Column(feats[:, j]) for j in range(feats.shape[1])]
    if prior is not None:
        cells.append(_Column(prior, fixed=True))
    cells.append(_Column(probs, fixed=True))
    _table_columns(header, cells, out)
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
def _kebab(name: str) -> str:
    """``NegativeBinomial`` -> ``negative-binomial``: a family's name on the command line."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def _families() -> dict[str, type[expfam.ExponentialFamily]]:
    """Every exponential family that expfam exports, by its command-line name.

    Derived from ``expfam.__all__``, so a family added to the library is a family of
    ``expfam fit`` with no change here.
    """
    found = {}
    for name in expfam.__all__:
        obj = getattr(expfam, name, None)
        if (
            isinstance(obj, type)
            and issubclass(obj, expfam.ExponentialFamily)
            and obj is not expfam.ExponentialFamily
            and not inspect.isabstract(obj)
        ):
            found[_kebab(name)] = obj
    return dict(sorted(found.items()))


def _family_named(text: str) -> type[expfam.ExponentialFamily] | None:
    """Return the family `text` names (any case; dashes, underscores optional), or None."""
    key = re.sub(r"[-_]", "", text).lower()
    for name, cls in _families().items():
        if name.replace("-", "") == key:
            return cls
    return None


def _known_parameters(cls: type[expfam.ExponentialFamily]) -> list[str]:
    """Names of the parameters `cls.fit` does not estimate and must be given (``--fixed``).

    Read from the public signatures: the required parameters of ``fit`` after the data
    (a categorical's ``num_categories``), and the required constructor parameters before
    a keyword-only parameterisation (a binomial's ``n`` in ``Binomial(n, *, probs)``).
    """
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    fit = list(inspect.signature(cls.fit).parameters.values())[1:]
    known = [p.name for p in fit if p.kind in kinds and p.default is p.empty]
    init = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.KEYWORD_ONLY for p in init):
        known += [
            p.name
            for p in init
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is p.empty
        ]
    return known


def _family_parameters(cls: type[expfam.ExponentialFamily]) -> list[str]:
    """Return the parameters a fitted distribution shows: its constructor's, in order."""
    return list(inspect.signature(cls).parameters)


_INTEGER = re.compile(r"[+-]?\d+")


def _fixed_values(specs: Sequence[str] | None) -> dict[str, int | float]:
    """Parse ``--fixed NAME=VALUE`` options: integers stay integers, other numbers floats."""
    fixed: dict[str, int | float] = {}
    for spec in specs or ():
        name, eq, value = spec.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name.isidentifier():
            raise CLIError(f"--fixed expects NAME=VALUE, e.g. --fixed n=10; got {spec!r}")
        if name in fixed:
            raise CLIError(f"--fixed {name} is given twice")
        fixed[name] = int(value) if _INTEGER.fullmatch(value) else _parse_float(value, "--fixed")
    return fixed


@dataclass
class _FitData:
    """Observations for `expfam fit`: values (n,) or rows (n, d), weights, their lines."""

    x: F64Array
    weights: F64Array | None
    weights_name: str | None
    columns: list[str]
    source: str
    linemap: _LineMap


def _fit_data(args: argparse.Namespace, cls: type[expfam.ExponentialFamily]) -> _FitData:
    """Read the observations of `expfam fit` from --values, a file or standard input."""
    if args.values is not None and args.file is not None:
        raise CLIError("give the data either with --values or as a file, not both")
    vector = cls.event_ndim == 1
    if args.values is None:
        path = args.file if args.file is not None else "-"
        if path == "-" and sys.stdin is not None and sys.stdin.isatty():
            print(  # noqa: T201 - a prompt for a person at a terminal
                "reading data from standard input (end with Ctrl-D; see `expfam fit --help`)",
                file=sys.stderr,
            )
        text = None
    else:
        path, text = args.values_option, args.values
    if args.column is None and args.weights is None and not vector:
        x, linemap, source = read_values(
            path, text=text, header=text is None, progress=_progress(args)
        )
        return _FitData(x, None, None, [], source, linemap)
    table = read_table(path, text=text, progress=_progress(args))
    if args.column is not None and not vector and len(args.column) != 1:
        raise CLIError(f"--column: {cls.__name__} observations are single numbers; give one")
    w_index = table.index(args.weights, "--weights") if args.weights is not None else None
    if args.column is not None:
        cols = [table.index(c, "--column") for c in args.column]
    else:
        cols = [j for j in range(len(table.names)) if j != w_index]
        if not vector and len(cols) != 1:
            raise CLIError(
                f"{table.source} has {_plural(len(cols), 'numeric column')} "
                f"({', '.join(table.names[j] for j in cols)}); choose one with --column"
            )
    names = [table.names[j] for j in cols]
    x = np.column_stack([table.data[j] for j in cols]) if vector else table.data[cols[0]]
    w = table.data[w_index] if w_index is not None else None
    if w is not None:
        bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
        if bad.size:
            raise CLIError(
                f"{table.source}, line {table.line(int(bad[0]))}: weight {_num(w[bad[0]])} "
                f"(--weights {args.weights}); weights must be finite and non-negative"
            )
    weights_name = table.names[w_index] if w_index is not None else None
    return _FitData(x, w, weights_name, names, table.source, table.linemap)


def _category_labels(data: _FitData, K: int | None) -> tuple[NDArray[np.intp], int]:
    """Return the labels as integers (1.0 is the label 1) and the number of categories.

    An error about a label names its line (the first such label's).
    """
    x = data.x

    def where(i: int) -> str:
        return f"{data.source}, line {data.linemap.line(i)}"

    if x.size == 0:
        raise CLIError(f"{data.source}: no labels (the input is empty)")
    bad = np.flatnonzero(~np.isfinite(x) | (x != np.floor(x)) | (x < 0))
    if bad.size:
        v = x[bad[0]]
        what = "is negative; labels are 0, 1, ..." if v < 0 else "is not an integer label"
        raise CLIError(f"{where(int(bad[0]))}: label {_num(v, 17)} {what}")
    if K is None:
        i = int(np.argmax(x))  # the first largest label
        if x[i] >= MAX_CATEGORIES:
            raise CLIError(
                f"{where(i)}: label {_num(x[i], 17)} asks for {_num(x[i] + 1, 17)} categories, "
                f"more than this command handles ({MAX_CATEGORIES}); labels must be 0, 1, ..., K-1"
            )
        K = int(x[i]) + 1
    elif K < 1:
        raise CLIError(f"--num-categories must be at least 1; got {K}")
    elif K > MAX_CATEGORIES:
        raise CLIError(
            f"--num-categories {K} is more than this command handles ({MAX_CATEGORIES})"
        )
    else:
        out = np.flatnonzero(x >= K)
        if out.size:
            v = int(x[out[0]])
            raise CLIError(
                f"{where(int(out[0]))}: label {v} is outside 0..{K - 1} (--num-categories {K})"
            )
    return x.astype(np.intp), K


def _num_categories_option(args: argparse.Namespace, fixed: dict[str, int | float]) -> int | None:
    K = fixed.pop("num_categories", None)
    if K is not None and args.num_categories is not None and args.num_categories != K:
        raise CLIError("--num-categories and --fixed num_categories= disagree")
    K = args.num_categories if K is None else K
    if K is not None and not isinstance(K, int):
        raise CLIError(f"--fixed num_categories must be an integer; got {_num(K)}")
    return K


def _fit_categorical(
    args: argparse.Namespace, data: _FitData, fixed: dict[str, int | float], out: TextIO
) -> int:
    categorical = expfam.Categorical
    K_option = _num_categories_option(args, fixed)
    if fixed:
        raise CLIError(
            f"--fixed {', '.join(fixed)}: categorical takes only num_categories "
            "(or --num-categories)"
        )
    labels, K = _category_labels(data, K_option)
    a = args.pseudocount
    if not (math.isfinite(a) and a >= 0):
        raise CLIError(f"--pseudocount must be finite and non-negative; got {_num(a)}")
    try:
        with _progress(args).phase("fitting"):
            counts = np.bincount(labels, weights=data.weights, minlength=K).astype(np.float64)
            dist = categorical.fit(labels, K, weights=data.weights, pseudocount=a)
    except ValueError as exc:
        raise CLIError(_in_cli_terms(str(exc), "fit")) from exc
    probs = np.asarray(dist.probs)
    log_probs = np.asarray(dist.log_probs)
    h = float(dist.entropy())
    loglik = -float(expfam.cross_entropy(counts, probs))
    result = {
        "command": "fit",
        "family": "Categorical",
        "num_categories": K,
        "num_observations": int(labels.size),
        "weights": data.weights_name,
        "pseudocount": a,
        "counts": counts if data.weights is not None else counts.astype(np.int64),
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
    weighted = f", weighted by {data.weights_name!r}" if data.weights_name else ""
    print(
        f"Categorical fit ({how}) to {_plural(labels.size, 'label')} from {data.source}"
        f"{weighted}, {_plural(K, 'category', 'categories')}\n",
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


def _fit_family(
    args: argparse.Namespace,
    cls: type[expfam.ExponentialFamily],
    data: _FitData,
    fixed: dict[str, int | float],
    out: TextIO,
) -> int:
    name = _kebab(cls.__name__)
    if args.num_categories is not None or args.pseudocount != 0:
        raise CLIError("--num-categories and --pseudocount apply to the categorical family only")
    if data.x.shape[0] == 0:
        raise CLIError(f"{data.source}: no data (the input is empty)")
    known = _known_parameters(cls)
    try:
        with _progress(args).phase("fitting"):
            dist = cls.fit(data.x, weights=data.weights, **fixed)
    except TypeError as exc:
        message = _fit_message(exc, [*known, *fixed])
        missing = [k for k in known if k not in fixed]
        want = (
            f"{name} needs {' '.join(f'--fixed {k}=VALUE' for k in missing)}"
            if missing
            else f"{name} takes "
            + (f"only {', '.join(f'--fixed {k}=' for k in known)}" if known else "no --fixed")
        )
        raise CLIError(f"{want} ({message})") from exc
    except ValueError as exc:
        raise CLIError(f"{name}: {_fit_message(exc, [*known, *fixed])}") from exc
    with np.errstate(all="ignore"):  # 0 * -inf for a zero-weight point outside the support
        lp = np.asarray(dist.log_prob(data.x), dtype=np.float64)
        loglik = float(
            lp.sum()
            if data.weights is None
            else np.where(data.weights == 0, 0.0, data.weights * lp).sum()
        )
    params = {
        p: np.asarray(getattr(dist, p))
        for p in _family_parameters(cls)
        if getattr(dist, p, None) is not None
    }
    h = float(dist.entropy())
    result = {
        "command": "fit",
        "family": cls.__name__,
        "num_observations": int(data.x.shape[0]),
        "columns": data.columns,
        "weights": data.weights_name,
        "fixed": fixed,
        "parameters": params,
        "natural_params": np.asarray(dist.natural_params),
        "mean_params": np.asarray(dist.mean_params),
        "entropy": h,
        "log_likelihood": loglik,
    }
    if args.json:
        _dump_json(result, out)
        return EXIT_OK
    weighted = f", weighted by {data.weights_name!r}" if data.weights_name else ""
    cols = f" (columns {', '.join(data.columns)})" if len(data.columns) > 1 else ""
    print(
        f"{cls.__name__} fit (maximum likelihood) to {_plural(data.x.shape[0], 'observation')} "
        f"from {data.source}{cols}{weighted}\n",
        file=out,
    )
    _table(
        ["parameter", "value"],
        [[p, _vector(v)] for p, v in params.items()],
        out,
    )
    print(file=out)
    _summary(
        [
            ("natural parameters", _vector(dist.natural_params)),
            ("mean parameters", _vector(dist.mean_params)),
            ("entropy", f"{_num(h, 10)} nats"),
            ("log-likelihood", f"{_num(loglik, 10)} nats" + (" (weighted)" if weighted else "")),
        ],
        out,
    )
    return EXIT_OK


def _fit_message(exc: Exception, fixed: Sequence[str]) -> str:
    """Return the library's message in the command line's words (`n` -> ``--fixed n``)."""
    message = _in_cli_terms(str(exc), "fit")
    for k in fixed:
        message = message.replace(f"`{k}`", f"--fixed {k}")
    return message


def _vector(values: Any) -> str:
    """One number, or a bracketed list of numbers."""
    v = np.ravel(np.asarray(values, dtype=np.float64))
    cells = _column(v)
    return cells[0] if v.size == 1 and np.ndim(values) <= 1 else "[" + ", ".join(cells) + "]"


def _fit_target(args: argparse.Namespace) -> type[expfam.ExponentialFamily]:
    """Resolve ``expfam fit [FAMILY] [FILE]``: without a family name, a categorical.

    The original form ``expfam fit [FILE]`` (categorical labels) keeps working: a first
    argument that names no family is the file.
    """
    if args.family is None:
        return expfam.Categorical
    cls = _family_named(args.family)
    if cls is not None:
        return cls
    families = ", ".join(_families())
    if args.file is not None:
        raise CLIError(f"{_shown(args.family)!r} is not a family; families: {families}")
    if re.fullmatch(r"[A-Za-z][\w-]*", args.family) and not Path(args.family).exists():
        raise CLIError(f"{args.family!r} is neither a family nor a file; families: {families}")
    args.file = args.family  # `expfam fit labels.txt`: the original categorical form
    return expfam.Categorical


_FIT_DESCRIPTION = (
    "Fit a distribution of an exponential family to data by maximum likelihood\n"
    "(weighted with --weights) and print its parameters, natural and mean parameters,\n"
    "entropy and log-likelihood. The categorical family (integer labels 0..K-1, the\n"
    "default) also prints the counts, logits and the entropy in bits, and may be\n"
    "smoothed by a pseudocount."
)


def _fit_epilog() -> str:
    """Return the families (from expfam's exports) with their known parameters, and examples."""
    entries = []
    for name, cls in _families().items():
        known = _known_parameters(cls)
        note = f" (known: {', '.join(known)})" if known else ""
        if cls.event_ndim == 1:
            note = " (rows: one column per component)"
        entries.append(name + note)
    lines, line = [], " "
    for entry in entries:
        if len(line) + len(entry) + 2 > 78:
            lines.append(line.rstrip())
            line = " "
        line += f" {entry},"
    lines.append(line.rstrip(","))
    return (
        "families (FAMILY, in any case; every family that expfam exports):\n"
        + "\n".join(lines)
        + "\nKnown parameters are given with --fixed NAME=VALUE; the fit estimates the rest.\n\n"
        "examples:\n"
        "  expfam fit poisson counts.txt\n"
        "  expfam fit binomial trials.csv --column successes --fixed n=10\n"
        "  expfam fit normal heights.csv --column height --weights w --json\n"
        "  expfam fit dirichlet shares.csv\n"
        "  expfam fit categorical labels.txt --num-categories 4\n"
        "  expfam fit labels.txt --num-categories 4       # the same: categorical is the default\n"
        "  seq 0 3 | expfam fit --pseudocount 0.5 --json\n"
        "  expfam fit --labels '0 1 1 2 2 2'\n"
        "  expfam fit poisson counts.txt --progress --json  # progress on stderr\n\n"
        "Without --column and --weights every number of the input is one observation,\n"
        "separated by spaces, commas, tabs or newlines (a first line holding one name is\n"
        "a header and skipped). With --column or --weights, and for dirichlet, the file\n"
        "is a table with an optional header row, as for boltzmann. A number such as 1.0\n"
        "is the integer 1. Lines starting with # are ignored; a UTF-8 byte-order mark is\n"
        "dropped. A file named like a family is given as ./NAME.\n" + _LIMITS_HELP
    )


def _cmd_fit(args: argparse.Namespace, out: TextIO) -> int:
    cls = _fit_target(args)
    fixed = _fixed_values(args.fixed)
    data = _fit_data(args, cls)
    if cls is expfam.Categorical:
        return _fit_categorical(args, data, fixed, out)
    return _fit_family(args, cls, data, fixed, out)


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
            "  expfam glm binomial doses.csv --response dead --trials total\n"
            "  expfam glm poisson big.csv --response n --progress  # progress on stderr\n\n"
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
    p.add_argument("--progress", action="store_true", help=_PROGRESS_HELP)
    p.set_defaults(func=_cmd_glm)


def _cmd_glm(args: argparse.Namespace, out: TextIO) -> int:  # noqa: C901, PLR0912 - one check per option
    """Fit and print a GLM (``expfam glm``)."""
    glm = _require_api("glm", "glm")
    table = read_table(args.data, progress=_progress(args))
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
        with _progress(args).phase("fitting"):
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

    #: Report usage errors as one JSON object (``--json`` was given).
    json_errors = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A private attribute, but argparse has read it in `_parse_optional` (as
        # `self._negative_number_matcher.match(arg_string)`) since Python 2.7;
        # tests/test_cli.py checks every numeric position with such values.
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        _report(self.prog, "error", f"{message} (see `{self.prog} --help`)", self.json_errors)
        self.exit(EXIT_USAGE)


class _StoreNamed(argparse.Action):
    """Store the value and, in ``<dest>_option``, the option string the user typed."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,  # noqa: ARG002 - argparse's signature
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_option", option_string)


def _formatter(prog: str) -> argparse.HelpFormatter:
    """Keep the hand-wrapped descriptions; align option help a little further right."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28)


_JSON_HELP = (
    "print one JSON object instead of the table; inf, -inf and nan are written as the "
    'strings "inf", "-inf" and "nan"; an error is then one JSON object on stderr'
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
            "  expfam boltzmann --file levels.csv --column energy --mean-energy 1.2 --json\n"
            "  expfam boltzmann --file levels.csv --beta 0.5 --progress  # progress on stderr\n\n"
            "A file holds one energy per line, or is a CSV table (comma, tab or space\n"
            "separated) with an optional header row and an optional first column of\n"
            "state names; lines starting with # are ignored. `--file -` reads stdin.\n"
            + _LIMITS_HELP
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
    p.add_argument("--progress", action="store_true", help=_PROGRESS_HELP)
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
            "--features every numeric column except the prior is a feature.\n" + _LIMITS_HELP
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
    p.add_argument("--progress", action="store_true", help=_PROGRESS_HELP)
    p.set_defaults(func=_cmd_maxent)

    p = sub.add_parser(
        "fit",
        help="fit a family (poisson, normal, ..., categorical) by maximum likelihood",
        formatter_class=fmt,
        description=_FIT_DESCRIPTION,
        epilog=_fit_epilog(),
    )
    p.add_argument(
        "family",
        nargs="?",
        metavar="FAMILY",
        help="the family to fit (see below); default: categorical",
    )
    p.add_argument(
        "file", nargs="?", metavar="FILE", help="data file; '-' or none: standard input"
    )
    p.add_argument(
        "-l",
        "--values",
        "--labels",
        dest="values",
        action=_StoreNamed,
        metavar="TEXT",
        help="the data themselves instead of a file, e.g. '0 1 1 2'",
    )
    p.add_argument(
        "-c",
        "--column",
        nargs="+",
        metavar="COL",
        help="column(s) of a table holding the data: header name or 0-based index "
        "(dirichlet: one column per component; default: all but --weights)",
    )
    p.add_argument(
        "-w",
        "--weights",
        metavar="COL",
        help="column of the same table holding non-negative weights of the observations",
    )
    p.add_argument(
        "-x",
        "--fixed",
        action="append",
        metavar="NAME=VALUE",
        help="a known parameter the fit does not estimate, e.g. --fixed n=10 for a "
        "binomial (see 'known' below); repeat for several",
    )
    p.add_argument(
        "-k",
        "--num-categories",
        type=int,
        metavar="K",
        help="categorical: number of categories (default: largest label + 1); "
        "the same as --fixed num_categories=K",
    )
    p.add_argument(
        "-a",
        "--pseudocount",
        type=float,
        default=0.0,
        metavar="A",
        help="categorical: added to every category's count (default 0: the plain MLE; 1: Laplace)",
    )
    p.add_argument("--json", action="store_true", help=_JSON_HELP)
    p.add_argument("--progress", action="store_true", help=_PROGRESS_HELP)
    p.set_defaults(func=_cmd_fit)
    _add_glm_parser(sub, fmt)
    return parser, dict(sub.choices)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace | int:
    """Return the parsed arguments, or the exit status once help or an error is printed."""
    parser, commands = _build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in words[: words.index("--") if "--" in words else len(words)]
    for p in (parser, *commands.values()):
        p.json_errors = wants_json
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # reported by the command's own parser: "expfam boltzmann: error: ..."
            hint = ""
            # `expfam fit gamma 1 2 3` (the first number taken as the FILE) or
            # `--values 1 2 3` (unquoted: only the first one taken)
            data = [getattr(args, "values", None), getattr(args, "file", None), *extras]
            if args.command == "fit" and all(_is_number(w) for w in data[1:] if w is not None):
                shown = " ".join(w for w in data if w is not None)
                hint = f" (to give the data on the command line: --values '{shown}')"
            commands.get(args.command, parser).error(
                f"unrecognized arguments: {' '.join(extras)}{hint}"
            )
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
    as_json = bool(getattr(args, "json", False))
    args.reporter = _Progress(sys.stderr if getattr(args, "progress", False) else None, prog)
    try:
        return _run(func, args)
    except CLIError as exc:
        _fail(prog, "error", exc, as_json=as_json)
        return EXIT_USAGE
    except ValueError as exc:  # expfam's errors name the bad argument, in Python's words
        _fail(prog, "error", exc, _in_cli_terms(str(exc), args.command), as_json=as_json)
        return EXIT_USAGE
    except expfam.ConvergenceError as exc:
        _fail(prog, "did not converge", exc, as_json=as_json, status=EXIT_FAILURE)
        return EXIT_FAILURE
    except _Unavailable as exc:
        _fail(prog, "unavailable", exc, as_json=as_json, status=EXIT_FAILURE)
        return EXIT_FAILURE
    except MemoryError as exc:  # the input limits should prevent it; say so, not a traceback
        text = f"out of memory; {_LIMITS_HELP}"
        _fail(prog, "error", exc, text, as_json=as_json, status=EXIT_FAILURE)
        return EXIT_FAILURE
    except BrokenPipeError:  # e.g. `expfam demo | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises no tracebacks
        kind = "internal error (please report it)"
        _fail(prog, kind, exc, as_json=as_json, status=EXIT_FAILURE)
        return EXIT_FAILURE


def _run(func: Callable[[argparse.Namespace, TextIO], int], args: argparse.Namespace) -> int:
    """Run a command; with ``--progress``, end its last progress line, then say it is done."""
    reporter = _progress(args)
    try:
        status = func(args, sys.stdout)
    finally:  # an error message then starts on a line of its own
        reporter.end_line()
    reporter.done()
    return status


def _fail(
    prog: str,
    kind: str,
    exc: BaseException,
    text: str | None = None,
    *,
    as_json: bool = False,
    status: int = EXIT_USAGE,
) -> None:
    if os.environ.get("EXPFAM_DEBUG"):
        raise exc
    message = str(exc) if text is None else text
    _report(prog, kind, message or type(exc).__name__, as_json, status)


def _report(prog: str, kind: str, message: str, as_json: bool, status: int = EXIT_USAGE) -> None:
    """Print an error: one line ``PROG: KIND: MESSAGE`` or, with --json, one JSON object.

    The message's whitespace is collapsed to single spaces and unprintable characters
    (say, an escape sequence in a file name) are escaped, so nothing reaches the
    terminal raw.
    """
    message = _shown(" ".join(message.split()))
    if as_json:
        words = prog.split()
        obj = {
            "command": words[1] if len(words) > 1 else None,
            "status": status,
            "kind": kind,
            "error": message,
        }
        print(json.dumps(obj), file=sys.stderr)  # noqa: T201 - the CLI's error object
    else:
        print(f"{prog}: {kind}: {message}", file=sys.stderr)  # noqa: T201 - the CLI's error line
