"""What a dashboard or report view shows, read from its URL.

Every view is a GET with its whole state in the query string, so any view
can be bookmarked or pasted into a chat and shows the same thing to the next
person (the same figures, until the data changes). The dashboard, the reports
page, their charts and their CSV downloads all read the URL through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo

from catalog.errors import FieldErrors, ValidationError
from catalog.incidents.service import IncidentFilters, check_filters
from catalog.settings import Settings

# Presets a manager picks from; any other range is given with since/until.
RANGES = {"7d": 7, "30d": 30, "90d": 90, "180d": 180, "365d": 365, "730d": 730}
DEFAULT_RANGE = "90d"
PERIODS = ("week", "month")
BREAKDOWNS = ("vector", "severity", "service", "team")
FILTER_NAMES = ("vector", "severity", "service", "team")
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
MAX_WEEKS = 520  # ten years of weekly points is already more than a chart can show


@dataclass(frozen=True)
class ReportQuery:
    """A range of whole local days (both ends included), a period and filters."""

    first_day: date
    last_day: date
    period: str
    vector: str | None = None
    severity: str | None = None
    service: str | None = None
    team: str | None = None
    range_key: str | None = DEFAULT_RANGE  # None when since/until were given

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def filters(self, settings: Settings) -> IncidentFilters:
        """Incidents that started within the range, in the display zone."""
        zone = settings.zone
        return IncidentFilters(
            vector=self.vector,
            severity=self.severity,
            service=self.service,
            team=self.team,
            since=day_start(self.first_day, zone),
            until=day_start(self.last_day + timedelta(days=1), zone),
        )

    def previous(self) -> ReportQuery:
        """The range of equal length just before this one, for period-over-period change."""
        return replace(
            self,
            first_day=self.first_day - timedelta(days=self.days),
            last_day=self.first_day - timedelta(days=1),
            range_key=None,
        )

    def args(self, **changes: str | None) -> dict[str, str]:
        """The query string of this view (with `changes`), for links, charts and CSV."""
        out: dict[str, str | None] = {}
        if self.range_key:
            out["range"] = self.range_key
        else:
            out["since"] = self.first_day.isoformat()
            out["until"] = self.last_day.isoformat()
        out["period"] = self.period
        for name in FILTER_NAMES:
            out[name] = getattr(self, name)
        out.update(changes)
        return {k: v for k, v in out.items() if v}

    @property
    def has_filters(self) -> bool:
        return any(getattr(self, name) for name in FILTER_NAMES)

    def describe_length(self) -> str:
        """'90 days', '6 months'-style words for 'vs previous …'."""
        named = {7: "week", 30: "30 days", 90: "90 days", 365: "year"}
        return named.get(self.days) or f"{self.days} days"


def parse_report_query(args: Mapping[str, str], settings: Settings, *, today: date) -> ReportQuery:
    """The view a URL asks for, or ValidationError naming each bad parameter.

    `today` is the local date in the display zone: presets end today.
    """
    errors = FieldErrors()
    since = read_day(args, "since", errors)
    until = read_day(args, "until", errors)
    range_key: str | None = args.get("range") or None
    if since or until:
        range_key = None
        first, last = since or (until or today), until or today
        if since and not until and since > today:
            last = since
        if first > last:
            errors.add("until", "The end date cannot be before the start date.")
    else:
        range_key = range_key or DEFAULT_RANGE
        if range_key not in RANGES:
            errors.add("range", f"Range must be one of: {', '.join(RANGES)}.")
            range_key = DEFAULT_RANGE
        last = today
        first = today - timedelta(days=RANGES[range_key] - 1)
    period = args.get("period") or ("week" if (last - first).days < 190 else "month")
    if period not in PERIODS:
        errors.add("period", "Period must be week or month.")
        period = "week"
    if period == "week" and (last - first).days > MAX_WEEKS * 7:
        errors.add("period", "Over ten years, choose month: that many weeks cannot be drawn.")
    query = ReportQuery(
        first_day=first,
        last_day=last,
        period=period,
        range_key=range_key,
        **{name: (args.get(name) or None) for name in FILTER_NAMES},
    )
    if not errors:
        try:
            check_filters(query.filters(settings))
        except ValidationError as exc:
            errors.merge(exc.fields)
    errors.raise_if_any()
    return query


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant of a local day: where a range of whole days begins or ends."""
    return datetime.combine(day, time(), zone)


def read_day(args: Mapping[str, str], name: str, errors: FieldErrors) -> date | None:
    """A date parameter (YYYY-MM-DD), or None when blank; a bad one is added to `errors`."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors.add(name, "Use a date like 2026-03-01.")
        return None
    if not EARLIEST <= day <= LATEST:
        errors.add(name, f"Pick a date between {EARLIEST} and {LATEST}.")
        return None
    return day
