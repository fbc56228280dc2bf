"""Reading order of the example gallery (used by ``sphinx_gallery_conf`` in conf.py).

The examples named here come first, in this order; any other ``plot_*.py`` (for
instance one added by another family's author) follows, by file name.
"""

from __future__ import annotations

from pathlib import Path

ORDER = (
    "plot_cross_entropy_identity.py",
    "plot_softmax_temperature.py",
    "plot_boltzmann.py",
    "plot_categorical_fit.py",
    "plot_conjugate_updating.py",
    "plot_maxent_families.py",
)
LAST = ("plot_accuracy.py",)


class ReadingOrder:
    """Sort key: :data:`ORDER` first, then other examples by name, then :data:`LAST`."""

    def __init__(self, src_dir: str | Path) -> None:
        self.src_dir = src_dir

    def __repr__(self) -> str:  # sphinx-gallery puts the key in its cache: make it stable
        return "ReadingOrder"

    def __call__(self, filename: str | Path) -> tuple[int, int, str]:
        name = Path(filename).name
        if name in ORDER:
            return (0, ORDER.index(name), name)
        if name in LAST:
            return (2, LAST.index(name), name)
        return (1, 0, name)
