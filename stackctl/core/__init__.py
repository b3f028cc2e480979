"""Errors with exit codes, atomic and bounded file I/O, time, names, strict YAML: what every layer
uses. Imports nothing else of stackctl."""
