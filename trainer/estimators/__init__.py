"""Estimator registry: name -> module holding ``ESTIMATOR`` (imported on first use)."""

from __future__ import annotations

import importlib

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch, dummy_plan

ESTIMATORS = {
    "rldf": "trainer.estimators.rldf",
    "trace": "trainer.estimators.trace",
    "all_masking": "trainer.estimators.all_masking",
    "d1": "trainer.estimators.d1",
    "random_masking": "trainer.estimators.random_masking",
    "coupled": "trainer.estimators.coupled",
    "wd1": "trainer.estimators.wd1",
}


def get_estimator(name: str) -> Estimator:
    """The estimator registered as ``name`` (validated names come from ``TrainConfig``)."""
    if name not in ESTIMATORS:
        raise KeyError(f"unknown estimator {name!r}; choose one of {', '.join(ESTIMATORS)}")
    return importlib.import_module(ESTIMATORS[name]).ESTIMATOR


__all__ = ["ESTIMATORS", "Estimator", "ForwardPlan", "RowRNG", "TrainBatch", "dummy_plan", "get_estimator"]
