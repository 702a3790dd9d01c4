"""Incidents opened and closed by monitoring: the Alertmanager webhook."""
