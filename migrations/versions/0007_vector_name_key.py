"""Vector names compared as a reader sees them: a stored, unique `name_key`.

`name_key` is the name after NFKC normalisation, case folding and collapsing
runs of whitespace (catalog.rules.name_key, the one definition: this
migration imports it, so existing rows get exactly the key the app computes).
A UNIQUE index on it lets the database, not a check in Python, refuse
"cache  miss" next to "Cache Miss" when two requests race.

If two existing vectors share a key, the later one (higher id) is renamed with
a suffix, " (2)", " (3)"..., so the index can be built; nothing else changes,
and the rename is visible in the catalog for an editor to settle.

The column is nullable: SQLite cannot add a NOT NULL column without a
default, and a batch rebuild of `vectors` would drop the data-version
triggers of 0004. The app fills it on every write (Vector's name validator).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29 19:00:00
"""

import sqlalchemy as sa
from alembic import op

from catalog.rules import NAME_KEY_MAX, TITLE_MAX, name_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

vectors = sa.table(
    "vectors",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
)


def upgrade() -> None:
    op.add_column("vectors", sa.Column("name_key", sa.String(NAME_KEY_MAX), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(vectors.c.id, vectors.c.name).order_by(vectors.c.id)).all()
    reserved = {name_key(name) for _, name in rows}  # a new name takes no one else's key
    taken: set[str] = set()
    for vector_id, name in rows:
        new_name, key = _unclaimed(name, taken, reserved)
        taken.add(key)
        conn.execute(
            vectors.update()
            .where(vectors.c.id == vector_id)
            .values(name=new_name, name_key=key[:NAME_KEY_MAX])
        )
    op.create_index("uq_vectors_name_key", "vectors", ["name_key"], unique=True)


def _unclaimed(name: str, taken: set[str], reserved: set[str]) -> tuple[str, str]:
    """The name itself if no earlier vector holds its key, else the first free "name (n)"."""
    candidate, key, n = name, name_key(name), 1
    while key in taken or (candidate != name and key in reserved):
        n += 1
        suffix = f" ({n})"
        candidate = name[: TITLE_MAX - len(suffix)] + suffix
        key = name_key(candidate)
    return candidate, key


def downgrade() -> None:
    op.drop_index("uq_vectors_name_key", table_name="vectors")
    # Plain DROP COLUMN on SQLite too (3.35+): a batch rebuild would drop 0004's triggers.
    op.execute("ALTER TABLE vectors DROP COLUMN name_key")
