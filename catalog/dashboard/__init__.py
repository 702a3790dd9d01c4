"""The dashboard: the home page of a signed-in user."""
