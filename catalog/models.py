"""Every model in one import, so Alembic and the tests see the whole schema."""

from catalog.audit.models import AuditEvent
from catalog.auth.models import ApiToken, LoginAttempt, User, UserSession
from catalog.data_versions import data_version, data_version_days, data_version_months
from catalog.db import Base
from catalog.incidents.models import Incident, IncidentUpdate, incident_vectors
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.releases.models import CanaryAnalysis, LoadTest, ReadinessBars, Release
from catalog.vectors.models import Vector

__all__ = [
    "ActionItem",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Incident",
    "IncidentUpdate",
    "LoginAttempt",
    "CanaryAnalysis",
    "LoadTest",
    "Postmortem",
    "ReadinessBars",
    "Release",
    "User",
    "UserSession",
    "Vector",
    "data_version",
    "data_version_days",
    "data_version_months",
    "incident_vectors",
]
