"""Churn models around LightGBM, their metrics, the benchmark runner and the model registry.

- ``churn``: ``ChurnModel``, the calibrated estimator (scikit-learn contract)
- ``metrics``: ROC AUC, PR AUC, top-decile lift, Brier, calibration table, intervals
- ``tabular``: column detection and encoding for one-row-per-customer tables
- ``benchmark``: cross-validated / held-out comparison with a logistic baseline
- ``monthly``: training on monthly snapshots (newest month held out)
- ``registry``: versioned model storage under ``<home>/models``
"""
