"""Where containers run. `docker` is the single-host engine on the Docker SDK."""
