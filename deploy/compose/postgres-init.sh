#!/bin/sh
# A role and a database per service, as in production: a service reaches only its own data.
# Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d/).
set -eu
for service in auth accounts readings payments documents requests; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE $service LOGIN PASSWORD '$service';
CREATE DATABASE $service OWNER $service;
REVOKE ALL ON DATABASE $service FROM PUBLIC;
SQL
done
