"""The verbs as sequences of steps (up, replace a certificate, generated files); edges come in as parameters."""
