"""The Docker edge: apply the compose model with the Docker SDK, wait for health, talk to HAProxy."""
