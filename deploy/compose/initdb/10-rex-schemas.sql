-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as the
-- superuser, in the database POSTGRES_DB. Creates the REX database (if POSTGRES_DB named
-- another), and per service a login role rex_<schema> owning its schema, the same layout as
-- deploy/local/rexinfra.sh create-schemas. Passwords come from the container environment
-- (psql \getenv, PostgreSQL 15+), so they are set once in .env and never written here.
\set ON_ERROR_STOP on

\getenv rex_db POSTGRES_DB
\if :{?rex_db}
\else
  \set rex_db rex
\endif
SELECT format('CREATE DATABASE %I', :'rex_db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'rex_db') \gexec
\connect :"rex_db"

\getenv evaluator_password REX_EVALUATOR_DB_PASSWORD
\getenv ledger_password REX_LEDGER_DB_PASSWORD
\getenv budget_password REX_BUDGET_DB_PASSWORD
\getenv notifier_password REX_NOTIFIER_DB_PASSWORD

CREATE ROLE rex_evaluator LOGIN PASSWORD :'evaluator_password';
CREATE ROLE rex_ledger LOGIN PASSWORD :'ledger_password';
CREATE ROLE rex_budget LOGIN PASSWORD :'budget_password';
CREATE ROLE rex_notifier LOGIN PASSWORD :'notifier_password';

-- Per service also the request role (HTTP, under row-level security, owns nothing) and the
-- worker role (consumers, sweepers, relays); local passwords are the owner's.
CREATE ROLE rex_evaluator_api LOGIN PASSWORD :'evaluator_password';
CREATE ROLE rex_evaluator_worker LOGIN PASSWORD :'evaluator_password';
CREATE ROLE rex_ledger_api LOGIN PASSWORD :'ledger_password';
CREATE ROLE rex_ledger_worker LOGIN PASSWORD :'ledger_password';
CREATE ROLE rex_budget_api LOGIN PASSWORD :'budget_password';
CREATE ROLE rex_budget_worker LOGIN PASSWORD :'budget_password';
CREATE ROLE rex_notifier_api LOGIN PASSWORD :'notifier_password';
CREATE ROLE rex_notifier_worker LOGIN PASSWORD :'notifier_password';

-- Each service owns exactly its schema; no role can read another's (DESIGN.md section 1).
CREATE SCHEMA evaluator AUTHORIZATION rex_evaluator;
CREATE SCHEMA ledger AUTHORIZATION rex_ledger;
CREATE SCHEMA budget AUTHORIZATION rex_budget;
CREATE SCHEMA notifier AUTHORIZATION rex_notifier;

REVOKE ALL ON DATABASE :"rex_db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"rex_db" TO rex_evaluator, rex_ledger, rex_budget, rex_notifier;
GRANT CONNECT ON DATABASE :"rex_db" TO rex_evaluator_api, rex_evaluator_worker, rex_ledger_api,
  rex_ledger_worker, rex_budget_api, rex_budget_worker, rex_notifier_api, rex_notifier_worker;
