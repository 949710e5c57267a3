#!/bin/sh
# Temporal's schema job (the temporalio/admin-tools image), as in Temporal's samples-server
# compose layout: sets up or upgrades the schemas of the temporal and temporal_visibility
# databases, which deploy/postgres-init.sh created. Runs at every `docker compose up`; a schema
# already at the image's version is left as it is.
set -eu
for database in temporal temporal_visibility; do
  schema=$([ "$database" = temporal ] && echo temporal || echo visibility)
  tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -p $DB_PORT -u $POSTGRES_USER --db $database"
  $tool setup-schema -v 0.0
  $tool update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
