"""Certificates: a local CA, imported certificates, inspection and the on-disk store."""
