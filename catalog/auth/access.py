"""Who may call what: the one table of authorization rules, checked before every request.

Every endpoint of the app must appear here (or in PUBLIC); an endpoint with no
rule is refused (fail closed) and the authorization matrix test fails, so a
new route cannot ship without a decision.
"""

from __future__ import annotations

VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"

PUBLIC = frozenset({"auth.login", "static", "health.healthz", "dashboard.favicon"})


def _rule(get: str | None = None, post: str | None = None, **others: str) -> dict[str, str]:
    rule = {m.upper(): role for m, role in others.items()}
    if get:
        rule["GET"] = get
    if post:
        rule["POST"] = post
    return rule


RULES: dict[str, dict[str, str]] = {
    # pages
    "dashboard.index": _rule(get=VIEWER),
    "vectors.index": _rule(get=VIEWER),
    "vectors.detail": _rule(get=VIEWER),
    "vectors.create": _rule(get=EDITOR, post=EDITOR),
    "vectors.edit": _rule(get=EDITOR, post=EDITOR),
    "vectors.archive": _rule(post=ADMIN),
    "vectors.delete": _rule(post=ADMIN),
    "vectors.confirm_delete": _rule(get=ADMIN),
    "releases.index": _rule(get=VIEWER),
    "releases.detail": _rule(get=VIEWER),
    "releases.create": _rule(get=EDITOR, post=EDITOR),
    "releases.edit": _rule(get=EDITOR, post=EDITOR),
    "releases.delete": _rule(post=ADMIN),
    "releases.confirm_delete": _rule(get=ADMIN),
    "releases.import_load_test": _rule(post=EDITOR),
    "releases.type_load_test": _rule(post=EDITOR),
    "releases.delete_load_test": _rule(post=EDITOR),
    "releases.canary": _rule(post=EDITOR),
    "releases.canary_chart": _rule(get=VIEWER),
    "releases.bars": _rule(get=VIEWER, post=EDITOR),
    "incidents.index": _rule(get=VIEWER),
    "incidents.detail": _rule(get=VIEWER),
    "incidents.export_csv": _rule(get=VIEWER),
    "incidents.create": _rule(get=EDITOR, post=EDITOR),
    "incidents.edit": _rule(get=EDITOR, post=EDITOR),
    "incidents.delete": _rule(post=ADMIN),
    "incidents.confirm_delete": _rule(get=ADMIN),
    "incidents.milestone": _rule(post=EDITOR),
    "incidents.reopen": _rule(post=EDITOR),
    "incidents.add_note": _rule(post=EDITOR),
    "postmortems.edit": _rule(get=EDITOR, post=EDITOR),
    "postmortems.overdue_items": _rule(get=VIEWER),
    "reports.index": _rule(get=VIEWER),
    "reports.chart": _rule(get=VIEWER),
    "reports.download": _rule(get=VIEWER),
    "exports.index": _rule(get=VIEWER),
    "exports.backup": _rule(get=VIEWER),
    "exports.dossier": _rule(get=VIEWER),
    "imports.upload": _rule(get=EDITOR, post=EDITOR),
    "imports.job": _rule(get=EDITOR),
    # accounts
    "auth.logout": _rule(post=VIEWER),
    "auth.account": _rule(get=VIEWER, post=VIEWER),
    "auth.password": _rule(get=VIEWER, post=VIEWER),
    "auth.create_token": _rule(post=VIEWER),
    "auth.revoke_token": _rule(post=VIEWER),
    "auth.confirm_revoke_token": _rule(get=VIEWER),
    "admin.users": _rule(get=ADMIN, post=ADMIN),
    "admin.user": _rule(get=ADMIN, post=ADMIN),
    "admin.confirm_deactivate": _rule(get=ADMIN),
    "admin.audit": _rule(get=ADMIN),
    # JSON API
    "api.list_vectors": _rule(get=VIEWER),
    "api.create_vector": _rule(post=EDITOR),
    "api.get_vector": _rule(get=VIEWER),
    "api.update_vector": _rule(patch=EDITOR),
    "api.delete_vector": _rule(delete=ADMIN),
    "api.list_releases": _rule(get=VIEWER),
    "api.create_release": _rule(post=EDITOR),
    "api.get_release": _rule(get=VIEWER),
    "api.update_release": _rule(patch=EDITOR),
    "api.delete_release": _rule(delete=ADMIN),
    "api.create_load_test": _rule(post=EDITOR),
    "api.import_load_test": _rule(post=EDITOR),
    "api.delete_load_test": _rule(delete=EDITOR),
    "api.analyse_canary": _rule(post=EDITOR),
    "api.get_bars": _rule(get=VIEWER),
    "api.change_metrics": _rule(get=VIEWER),
    "api.put_bars": _rule(put=EDITOR),
    "api.list_incidents": _rule(get=VIEWER),
    "api.export_incidents_csv": _rule(get=VIEWER),
    "api.export_backup": _rule(get=VIEWER),
    "api.export_dossier": _rule(get=VIEWER),
    "api.import_file": _rule(post=EDITOR),
    "api.create_incident": _rule(post=EDITOR),
    "api.get_incident": _rule(get=VIEWER),
    "api.update_incident": _rule(patch=EDITOR),
    "api.delete_incident": _rule(delete=ADMIN),
    "api.stamp_milestone": _rule(post=EDITOR),
    "api.list_updates": _rule(get=VIEWER),
    "api.add_update": _rule(post=EDITOR),
    "api.get_postmortem": _rule(get=VIEWER),
    "api.put_postmortem": _rule(put=EDITOR),
    "api.metrics": _rule(get=VIEWER),
    "api.alertmanager_hook": _rule(post=EDITOR),
    "api.openapi": _rule(get=VIEWER),
}


def required_role(endpoint: str, method: str) -> str | None:
    """The least role for this call; None when no rule exists (refused)."""
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    return RULES.get(endpoint, {}).get(method)
