"""``python -m fastbp.cli``: the ``fastbp`` command."""
import sys

from . import main

sys.exit(main())
