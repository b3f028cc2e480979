"""The Swarm engine: the stack as services on the Swarm the local Docker engine manages."""
