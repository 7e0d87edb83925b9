"""The jobs: validate, train, score, report, explain a lead, demo, performance, backtest.  One path for everyone.

The command line (and so ``pipelines/``, its entry points for schedulers), the notebook and the
benchmarks call these functions; each returns a typed result.  ``*_job`` functions start from a
source; ``train_validated``/``score_loaded`` from data already validated (``load``), and
``score_validated`` from a served model in hand.  A job tells the person running it what is happening through a
:class:`Reporter` (silent by default; the command line passes one that writes to the terminal).
Expected failures raise :class:`~predictive_scoring.errors.ScoringError` subclasses.
"""

from __future__ import annotations

from predictive_scoring.jobs.common import (
    Reporter,
    Silent,
    load,
    parse_as_of,
    resolve_as_of,
    resolve_source,
)
from predictive_scoring.jobs.demo import DemoRun, demo_job
from predictive_scoring.jobs.history import (
    BacktestRun,
    PerformanceRun,
    backtest_job,
    performance_job,
)
from predictive_scoring.jobs.read import lead_row, report_job
from predictive_scoring.jobs.score import (
    ScoreRun,
    score_job,
    score_loaded,
    score_validated,
    score_with_rules_file,
)
from predictive_scoring.jobs.several import ModelRun, train_job, train_validated
from predictive_scoring.jobs.spark_engine import score_on_spark
from predictive_scoring.jobs.train import Registration, TrainRun

__all__ = [
    "BacktestRun",
    "DemoRun",
    "ModelRun",
    "PerformanceRun",
    "Registration",
    "Reporter",
    "ScoreRun",
    "Silent",
    "TrainRun",
    "backtest_job",
    "demo_job",
    "lead_row",
    "load",
    "parse_as_of",
    "performance_job",
    "report_job",
    "resolve_as_of",
    "resolve_source",
    "score_job",
    "score_loaded",
    "score_on_spark",
    "score_validated",
    "score_with_rules_file",
    "train_job",
    "train_validated",
]
