"""The single-host engine: the Docker SDK behind typed operations; the one place Docker's errors are translated."""
