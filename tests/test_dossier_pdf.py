"""The dossier ready to attach: a PDF made on the server, the candidate's own words, redaction.

The PDF is read back with pypdf: page numbers and the running header on every
page, a last page that holds more than the footer, and, redacted, not one
service, team or incident title from the database in its text (nor in the HTML
or the Markdown).
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from factories import make_incident
from pypdf import PdfReader
from sqlalchemy import select

from catalog.db import utcnow
from catalog.demo import load_demo
from catalog.exports.dossier import TAG_REDACTED_FROM
from catalog.incidents.models import Incident
from catalog.incidents.timeline import add_note
from catalog.postmortems.service import save_postmortem
from catalog.releases.models import Release
from catalog.releases.service import create_release, record_load_test
from catalog.vectors.models import Vector

SECRET_SERVICE = "zephyr-billing-gateway"
SECRET_TEAM = "Team Obsidian"
SECRET_TITLE = "Quasar ledger desync in the nightly batch"
SECRET_RELEASE_SERVICE = "nebula-deploy-orchestrator"
SECRET_TAG = "quasar-rc7"


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


@pytest.fixture
def named(session):  # type: ignore[no-untyped-def]
    """A year of demo incidents, plus names a candidate may not disclose, in every place
    a name can reach the dossier: a published post-mortem's incident, its timeline
    notes, and a vector's own description and playbook."""
    load_demo(session, count=60, seed=5, days=300)
    now = utcnow()
    detected = now - timedelta(days=20)
    incident = make_incident(
        session,
        title=SECRET_TITLE,
        service=SECRET_SERVICE,
        team=SECRET_TEAM,
        severity="SEV1",
        started_at=detected - timedelta(minutes=4),
        detected_at=detected,
        recovered_at=detected + timedelta(minutes=50),
    )
    add_note(
        session,
        incident,
        {"body": f"{SECRET_SERVICE} paged {SECRET_TEAM}; rolling back"},
        now=detected + timedelta(minutes=10),
    )
    save_postmortem(
        session,
        incident,
        {
            "status": "published",
            "root_cause_at": detected + timedelta(hours=3),
            "root_cause": f"A schema change in {SECRET_SERVICE}.",
            "body": "## Summary\nA ledger desync.\n\n## Impact\nInvoices late.\n\n"
            "## Contributing factors\n- No check.\n\n## What went well\n- Paging.\n\n"
            "## What went wrong\n- Late alert.\n\n## Action items\nBelow.\n",
        },
        now=now,
    )
    release = create_release(
        session,
        {
            "service": SECRET_RELEASE_SERVICE,
            "tag": SECRET_TAG,
            "team": SECRET_TEAM,
            "deployed_at": now - timedelta(days=3),
            "canary_percent": 5,
            "guard_p99_ms": 300,
            "rollback_window_seconds": 120,
            "outcome": "rolled_back",
            "rollback_started_at": now - timedelta(days=3) + timedelta(minutes=30),
            "rolled_back_at": now - timedelta(days=3) + timedelta(minutes=33),
            "notes": f"Rolled back {SECRET_TAG} of {SECRET_RELEASE_SERVICE}.",
        },
    )
    for tier, p99, errors in (("1x", 95, 0), ("5x", 420, 0.01), ("10x", 900, 0.1)):
        record_load_test(
            session,
            release,
            {
                "tier": tier,
                "rps": 100,
                "p50_ms": 20,
                "p99_ms": p99,
                "error_rate": errors,
                "requests": 6000,
            },
            source="k6",
        )
    vector = session.scalar(select(Vector).where(Vector.slug == "data-drift"))
    vector.description = f"Seen on {SECRET_SERVICE} when {SECRET_TEAM.lower()} ships a schema."
    vector.mitigation = f"Page {SECRET_TEAM}; pin the {SECRET_SERVICE} schema."
    session.commit()
    return session


def _every_name(session) -> set[str]:  # type: ignore[no-untyped-def]
    names = set()
    for incident in session.scalars(select(Incident)):
        names.update({incident.service, incident.title})
        if incident.team:
            names.add(incident.team)
    for release in session.scalars(select(Release)):
        names.update({release.service, release.team})
        if len(release.tag) >= TAG_REDACTED_FROM:
            names.add(release.tag)
    return names - {""}


def test_the_matrix_is_in_every_format_with_the_readiness_check(client, named):
    html = client.get("/exports/dossier").get_data(as_text=True)
    md = client.get("/exports/dossier", query_string={"format": "md"}).get_data(as_text=True)
    pdf = " ".join(
        " ".join(
            _pdf_text(client.get("/exports/dossier", query_string={"format": "pdf"}).data)
        ).split()
    )
    for document in (html, md, pdf):
        assert "Deployment Readiness Matrix" in document
        assert "Change metrics, 12 months" in document
        assert "rollbacks within their window" in document
        assert (
            f"{SECRET_RELEASE_SERVICE}: 5× over its bar (p99 ≤ 300 ms), 1 rollback past the window"
            in document
        )
    assert "420 ms (errors 0.01 %): **missed**" in md and "95 ms (errors 0.00 %): met" in md
    assert "0 of 1 within 120 s, longest 3m" in md
    assert "5 % canary; roll back at p99 > 300 ms" in md


def test_the_pdf_has_page_numbers_a_running_header_and_a_full_last_page(client, named):
    response = client.get(
        "/exports/dossier", query_string={"format": "pdf", "name": "Sam Rivera", "role": "SRE"}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    pages = _pdf_text(response.data)
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert "Failure-mode catalog and incident record" in text
        assert "Sam Rivera" in text
    footer = "Failure Catalog dossier of Sam Rivera"
    last = pages[-1]
    assert footer in last
    body = last.replace(footer, "")
    assert len(body.split()) >= 60, "the last page holds more than a row and the footer"


def test_the_candidates_name_role_and_context_head_every_format(client, named):
    args = {
        "name": "Sam Rivera",
        "role": "Senior SRE",
        "context": "Ran the ML platform.\nOn call 2024-26.",
    }
    html = client.get("/exports/dossier", query_string=args).get_data(as_text=True)
    assert "Prepared by <strong>Sam Rivera</strong>, Senior SRE" in html
    assert "Ran the ML platform.\nOn call 2024-26." in html
    assert "format=pdf" in html and "name=Sam" in html  # downloads keep the options
    md = client.get("/exports/dossier", query_string={**args, "format": "md"}).get_data(
        as_text=True
    )
    assert "Prepared by **Sam Rivera**, Senior SRE" in md


def test_a_redacted_dossier_names_no_service_team_or_incident(client, named):
    names = _every_name(named)
    assert SECRET_SERVICE in names and len(names) > 20
    query = {"redact": "1", "name": "Sam Rivera"}
    html = client.get("/exports/dossier", query_string=query).get_data(as_text=True)
    md = client.get("/exports/dossier", query_string={**query, "format": "md"}).get_data(
        as_text=True
    )
    pdf = " ".join(
        _pdf_text(client.get("/exports/dossier", query_string={**query, "format": "pdf"}).data)
    )
    pdf = " ".join(pdf.split())  # pypdf breaks lines where the page does
    for document in (html, md, pdf):
        lowered = document.lower()
        leaked = sorted(n for n in names if n.lower() in lowered)
        assert leaked == [], leaked
        assert "incident, 20" in document  # "SEV1 data-drift incident, 2026-11": the label
        assert re.search(r"service [A-Z]+\b", document) and re.search(r"team [A-Z]+\b", document)
    full = client.get("/exports/dossier").get_data(as_text=True)
    assert SECRET_TITLE in full and SECRET_SERVICE in full, "unredacted, names stay"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"name": "x" * 101}, "name"),
        ({"role": "a\nb"}, "role"),
        ({"context": "y" * 1201}, "context"),
        ({"name": "bell\x07"}, "name"),
        ({"redact": "perhaps"}, "redact"),
    ],
)
def test_bad_options_are_refused_by_name(client, query, field):
    for fmt in ("html", "md", "pdf"):
        response = client.get("/exports/dossier", query_string={**query, "format": fmt})
        assert response.status_code == 400
        assert field in response.get_data(as_text=True)


def test_cli_writes_a_redacted_pdf(runner, named, tmp_path):
    out = tmp_path / "dossier.pdf"
    result = runner.invoke(
        args=["export", "--format", "pdf", "--redact", "--name", "Sam", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(_pdf_text(out.read_bytes()))
    assert "Sam" in text and SECRET_SERVICE not in text
    refused = runner.invoke(args=["export", "--format", "csv", "--redact"])
    assert refused.exit_code == 2 and "apply to the dossier" in refused.output


def test_redaction_labels_names_and_leaves_out_what_it_cannot_check(monkeypatch):
    from catalog.exports import redact

    r = redact.Redactor.of(["chat-api", "chat-api-v2"], ["Search"], ["Ranker outage"])
    text = "chat-api-v2 and chat-api paged search about the ranker outage; chat-apis stay."
    assert r.scrub(text) == (
        "service B and service A paged team A about the incident A; chat-apis stay."
    )
    monkeypatch.setattr(redact, "SCRUB_SECONDS", 1e-9)
    assert r.scrub("x" * 100_000 + " chat-api") == redact.UNCHECKED
