"""``python -m fastbp.bench``: what ``fastbp bench`` runs in its child process."""
import sys

from .command import main

sys.exit(main())
