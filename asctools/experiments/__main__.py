"""``python -m asctools.experiments``: see :mod:`.runner`."""

import sys

from asctools.experiments.runner import main

sys.exit(main())
