"""Scheduler entry point: `python pipelines/score.py --data SRC ...` = `predictive-scoring score`.

Same options and exit codes (0 success, 2 usage, 3 unusable input, 4 model or registry, 1 other),
so cron or an Airflow BashOperator can act on the exit code alone.
"""

import sys

from predictive_scoring.cli import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
