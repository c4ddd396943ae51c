"""The app database as it was before Alembic: users, sessions, API tokens, saved searches, login attempts,
alert rules and deliveries.

An app.db made by the pre-Alembic code already holds these tables: they are kept with their rows (only missing
ones are created) and the file is stamped, so it upgrades in place.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _tables() -> list[tuple]:
    """(name, columns, table options) in creation order (foreign keys point backwards)."""
    text, fk = sa.Text, sa.ForeignKey
    autoinc = {"sqlite_autoincrement": True}
    return [
        ("users", [sa.Column("username", text, primary_key=True),
                   sa.Column("password_hash", text, nullable=False),
                   sa.Column("role", text, nullable=False),
                   sa.Column("tenants", text, nullable=False, server_default="[]"),
                   sa.Column("disabled", sa.Integer, nullable=False, server_default="0"),
                   sa.Column("created_at", text, nullable=False)], {}),
        ("sessions", [sa.Column("id_hash", text, primary_key=True),
                      sa.Column("username", text, fk("users.username", ondelete="CASCADE"), nullable=False),
                      sa.Column("created_at", text, nullable=False),
                      sa.Column("expires_at", text, nullable=False)], {}),
        ("api_tokens", [sa.Column("id", ROW_ID, primary_key=True),
                        sa.Column("token_hash", text, unique=True, nullable=False),
                        sa.Column("username", text, fk("users.username", ondelete="CASCADE"), nullable=False),
                        sa.Column("name", text, nullable=False),
                        sa.Column("created_at", text, nullable=False),
                        sa.Column("last_used", text),
                        sa.Column("revoked", sa.Integer, nullable=False, server_default="0")], autoinc),
        ("saved_searches", [sa.Column("id", ROW_ID, primary_key=True),
                            sa.Column("username", text, fk("users.username", ondelete="CASCADE"), nullable=False),
                            sa.Column("name", text, nullable=False),
                            sa.Column("params", text, nullable=False),
                            sa.Column("created_at", text, nullable=False)], autoinc),
        ("login_attempts", [sa.Column("scope", text, nullable=False),
                            sa.Column("at", sa.Float, nullable=False),
                            sa.Column("attempt", text, nullable=False)], {}),
        ("alert_rules", [sa.Column("id", ROW_ID, primary_key=True),
                         sa.Column("name", text, nullable=False),
                         sa.Column("event", text, nullable=False),
                         sa.Column("params", text, nullable=False, server_default="{}"),
                         sa.Column("channel", text, nullable=False),
                         sa.Column("target", text, nullable=False),
                         sa.Column("secret_env", text),
                         sa.Column("created_by", text, nullable=False),
                         sa.Column("created_at", text, nullable=False)], autoinc),
        ("alert_deliveries", [sa.Column("idem_key", text, primary_key=True),
                              sa.Column("rule_id", ROW_ID, fk("alert_rules.id", ondelete="CASCADE"), nullable=False),
                              sa.Column("subject", text, nullable=False),
                              sa.Column("event", text, nullable=False),
                              sa.Column("status", text, nullable=False),
                              sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
                              sa.Column("payload", text, nullable=False),
                              sa.Column("last_error", text),
                              sa.Column("updated_at", text, nullable=False)], {}),
    ]


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns, options in _tables():
        if name not in existing:
            op.create_table(name, *columns, **options)
    if "login_attempts" not in existing:
        op.create_index("login_attempts_scope", "login_attempts", ["scope", "at"])
    if "login_failures" in existing:          # replaced by login_attempts before Alembic
        op.drop_table("login_failures")


def downgrade() -> None:
    for name, _, _ in reversed(_tables()):
        op.drop_table(name)
