"""HAProxy's runtime API over the stack's unix socket: stats, hot certificate swap."""
