"""Rich renderables from data: the dashboard, pull progress, the probe report. Pure."""
