"""What is true now: the status snapshot, its typed model and verdict, the HTTPS probe."""
