"""``python -m framework``: the same command line as the ``framework`` script."""
from .cli import main

raise SystemExit(main())
