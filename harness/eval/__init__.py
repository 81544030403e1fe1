"""Evaluation runs: ``evaluate_task`` (items -> decode -> verify -> records -> RunResult),
resumable on disk and sharded across processes; ``rescore_file`` grades generations made
elsewhere. The CLI front ends are ``rldf eval`` and ``rldf rescore``.
"""

from harness.eval.runner import DEFAULT_BATCH_SIZE, evaluate_task

__all__ = ["DEFAULT_BATCH_SIZE", "evaluate_task"]
