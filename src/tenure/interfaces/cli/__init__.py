"""The ``tenure`` command line (Typer)."""
