"""dongne's HTTP service (FastAPI): for now the public read API of the verifiable log."""
