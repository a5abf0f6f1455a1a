"""``python -m portfolio_helpers``: same as the ``portfolio`` command."""

import sys

from portfolio_helpers.app.cli import main

sys.exit(main())
