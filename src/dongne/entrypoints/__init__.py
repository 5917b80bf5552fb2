"""Entry points: they parse input, call a service and render its result, nothing more."""
