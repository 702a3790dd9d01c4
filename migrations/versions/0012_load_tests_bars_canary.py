"""A release's evidence: load-test tiers, the bars per service, the canary analysis.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 09:45:00
"""

import sqlalchemy as sa
from alembic import op

from catalog.db import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "load_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(40), nullable=False),
        sa.Column("multiplier", sa.Integer(), nullable=True),
        sa.Column("rps", sa.Float(), nullable=False),
        sa.Column("p50_ms", sa.Float(), nullable=False),
        sa.Column("p95_ms", sa.Float(), nullable=True),
        sa.Column("p99_ms", sa.Float(), nullable=False),
        sa.Column("error_rate", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "source IN ('typed','k6','wrk','locust')", name=op.f("ck_load_tests_load_test_source")
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_load_tests_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load_tests")),
    )
    op.create_index("uq_load_tests_release_tier", "load_tests", ["release_id", "tier"], unique=True)
    op.create_table(
        "readiness_bars",
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("p99_1x_ms", sa.Integer(), nullable=False),
        sa.Column("p99_5x_ms", sa.Integer(), nullable=False),
        sa.Column("error_rate_10x", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("service", name=op.f("pk_readiness_bars")),
    )
    op.create_table(
        "canary_analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("baseline_count", sa.Integer(), nullable=False),
        sa.Column("canary_count", sa.Integer(), nullable=False),
        sa.Column("ks_statistic", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("baseline_p99_ms", sa.Float(), nullable=False),
        sa.Column("canary_p99_ms", sa.Float(), nullable=False),
        sa.Column("baseline_error_rate", sa.Float(), nullable=True),
        sa.Column("canary_error_rate", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("baseline_quantiles", sa.Text(), nullable=False),
        sa.Column("canary_quantiles", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_canary_analyses_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canary_analyses")),
        sa.UniqueConstraint("release_id", name=op.f("uq_canary_analyses_release_id")),
    )


def downgrade() -> None:
    op.drop_table("canary_analyses")
    op.drop_table("readiness_bars")
    op.drop_index("uq_load_tests_release_tier", table_name="load_tests")
    op.drop_table("load_tests")
