"""``python -m amt_helpers``: see :mod:`amt_helpers.cli`."""

from amt_helpers.cli import main

raise SystemExit(main())
