"""Tenure: customer lifecycle management and retention for telecom operators."""

__version__ = "0.1.0"
