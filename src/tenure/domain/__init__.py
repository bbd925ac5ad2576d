"""Pure domain code: no imports from the rest of Tenure, no engines, no I/O."""
