"""What an import did (or, in a dry run, would do): the same report for every format."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class ImportSummary:
    source: str  # "statuspage", "backup" or "csv"
    records: int = 0
    created: int = 0
    already_imported: int = 0
    skipped_maintenance: int = 0
    postmortems_created: int = 0
    vectors_created: int = 0
    vectors_updated: int = 0
    releases_created: int = 0
    releases_linked: int = 0
    dry_run: bool = False

    def describe(self) -> str:
        verb = "Would create" if self.dry_run else "Created"
        text = f"{verb} {self.created} incidents from {self.records} records; "
        text += f"{self.already_imported} already imported"
        if self.source == "statuspage":
            text += f", {self.skipped_maintenance} maintenance records skipped"
            if self.releases_linked:
                text += f", {self.releases_linked} linked to the release that caused them"
        if self.source == "backup":
            would = "would be " if self.dry_run else ""
            text += (
                f"; {self.postmortems_created} post-mortems with them; vectors: "
                f"{self.vectors_created} {would}created, {self.vectors_updated} {would}updated"
            )
            if self.releases_created:
                text += f"; {self.releases_created} releases {would}created"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.describe()}
