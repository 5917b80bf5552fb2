"""The ``dongne`` command (Typer + Rich)."""
