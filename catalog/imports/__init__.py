"""Bringing history in: other tools' exports to incidents, all or nothing."""
