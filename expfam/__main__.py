"""``python -m expfam``: the same command line as the ``expfam`` console script."""

from expfam._cli import main

raise SystemExit(main())
