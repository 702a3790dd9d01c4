"""Every model in one import, so Alembic and the tests see the whole schema."""

from catalog.db import Base
from catalog.incidents.models import Incident, incident_vectors
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.vectors.models import Vector

__all__ = ["ActionItem", "Base", "Incident", "Postmortem", "Vector", "incident_vectors"]
