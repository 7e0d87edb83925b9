"""``python -m predictive_scoring``."""

import sys

from predictive_scoring.cli import main

sys.exit(main())
