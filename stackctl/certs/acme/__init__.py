"""ACME (RFC 8555) with certbot's `acme` library: account, orders, HTTP-01 answered by HAProxy, renewal info."""
