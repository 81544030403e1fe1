"""The estimator lab (``rldf lab estimators``): bias, noise, cost and first-order usefulness of
each policy-gradient estimator, measured on one fixed rollout batch against the full-trajectory
gradient. ``run`` reads top to bottom; ``batch``, ``gradients``, ``sums``, ``metrics`` and
``usefulness`` are its steps, ``report`` turns a record into a board table and plots.
"""
