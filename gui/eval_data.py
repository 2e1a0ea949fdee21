"""The slices of a run's data that the insight views keep: built with the run's
description in rnnviz/run_info.py (where the trainer lives); re-exported here."""

from rnnviz.run_info import MAX_VAL_ROWS, SAMPLE_ROWS, EvalData, eval_data  # noqa: F401
