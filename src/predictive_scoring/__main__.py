"""``python -m predictive_scoring``."""

from predictive_scoring.cli import main
from predictive_scoring.console import end_process

end_process(main())
