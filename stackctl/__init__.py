"""stackctl: PhotoPrism behind a TLS-terminating HAProxy on Docker."""

__version__ = "0.1.0"
