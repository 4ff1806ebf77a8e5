"""``python -m sim`` is the ``rechallenge-sim`` command."""
import sys

from .cli import main

sys.exit(main())
