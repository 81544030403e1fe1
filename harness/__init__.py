"""rldf harness: models, diffusion decoding, evaluation runs, results, lm-eval bridge and the CLI.

Importing this package loads no model and touches no disk; see ``harness.models.load_model``.
"""

__version__ = "0.1.0"
