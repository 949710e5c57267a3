#!/bin/sh
# Runs once, when the postgres service initialises an empty data directory (as the superuser):
# Temporal's databases and idflow's, each owned by its own user. Temporal's schema job
# (temporal-schema) and `idflow db migrate` (migrate) then create the tables as those users.
set -eu
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD}"
: "${IDFLOW_DB_PASSWORD:?set IDFLOW_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" -v idflow_password="$IDFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE ROLE idflow LOGIN PASSWORD :'idflow_password';
CREATE DATABASE idflow OWNER idflow;
-- Neither user reaches the other's databases.
REVOKE ALL ON DATABASE temporal, temporal_visibility, idflow FROM PUBLIC;
SQL
