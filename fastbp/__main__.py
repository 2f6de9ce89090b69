"""``python -m fastbp``: the ``fastbp`` command."""
import sys

from .cli import main

sys.exit(main())
