"""Exception types raised by expfam's solvers."""

from __future__ import annotations

from typing import Any

__all__ = ["ConvergenceError", "InfeasibleError"]


class InfeasibleError(ValueError):
    """The requested constraints cannot be met by any probability distribution.

    Raised, for example, when a target mean energy lies outside ``[min E, max E]`` or
    target moments lie outside the convex hull of the feature vectors. It is a
    :class:`ValueError`, so ``except ValueError`` also catches it.

    Examples
    --------
    No distribution on energies 1, 2, 3 has mean energy 5:

    >>> import expfam
    >>> try:
    ...     expfam.boltzmann([1.0, 2.0, 3.0], 5.0)
    ... except expfam.InfeasibleError as err:
    ...     print(type(err).__name__, isinstance(err, ValueError))
    InfeasibleError True
    """


class ConvergenceError(RuntimeError):
    """An iterative solve did not reach its tolerance.

    Parameters
    ----------
    message : str
        What failed.
    **diagnostics
        Solver diagnostics (e.g. ``iterations``, ``residual``, ``multipliers``), kept
        in :attr:`diagnostics` for inspection.

    Attributes
    ----------
    diagnostics : dict
        The solver's diagnostics at the point of failure.

    Examples
    --------
    What a caller sees when a solve gives up:

    >>> from expfam import ConvergenceError
    >>> err = ConvergenceError("residual above tolerance", iterations=50, residual=1e-3)
    >>> isinstance(err, RuntimeError), err.diagnostics
    (True, {'iterations': 50, 'residual': 0.001})
    """

    def __init__(self, message: str, **diagnostics: Any) -> None:
        super().__init__(message)
        self.diagnostics: dict[str, Any] = diagnostics
