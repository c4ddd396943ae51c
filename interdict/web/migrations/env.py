"""Alembic environment: always runs on the connection interdict.web.appdb_schema.upgrade hands over."""
from alembic import context

from interdict.web.appdb_schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
