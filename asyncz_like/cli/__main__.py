"""``python -m asyncz_like.cli``: the ``asyncz-like`` command without its script."""

import sys

from asyncz_like.cli import main

sys.exit(main())
