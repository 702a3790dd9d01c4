"""The app starts on a migrated database and its main pages answer."""

from __future__ import annotations


def test_home_lists_the_five_seeded_vectors(client):
    page = client.get("/").get_data(as_text=True)
    for name in (
        "Data drift",
        "Token-limit overflow",
        "Hardware throttling",
        "Dependency latency",
        "Model poisoning",
    ):
        assert name in page


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
