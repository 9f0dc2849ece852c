-- Issue 16: the request and worker roles beside this owner (rex_shared.db_roles). Their names
-- follow the migrating owner (<owner>_api, <owner>_worker), so every schema migrated by
-- rex_shared.db.provision's roles (tests' scratch schemas too) gets the same grants.
--   <owner>_api     HTTP requests: owns nothing, sees one organization (app.org_id) through the
--                   forced policies below; may append to the outbox but not read it.
--   <owner>_worker  consumers, sweepers, relays: every organization, through its own permissive
--                   policies, with only the privileges granted here.
-- Today's *_tenant policies (with the app.rls_bypass switch) now apply TO the owner only, so a
-- request role that sets app.rls_bypass sees nothing more; they go once the services connect
-- as these roles.
DO $roles$
DECLARE
    api text := current_user || '_api';
    worker text := current_user || '_worker';
    t text;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I, %I', current_schema(), api, worker);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I, %I',
                   current_schema(), api, worker);
    FOR t IN SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' LOOP
        IF t = ANY (ARRAY[]::text[]) THEN
            EXECUTE format('GRANT SELECT ON %I TO %I', t, worker);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I', t, worker);
        END IF;
        IF t = 'outbox' THEN
            EXECUTE format('GRANT INSERT ON %I TO %I', t, api);
        ELSIF t <> 'processed_events' THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I', t, api);
        END IF;
    END LOOP;
    -- Tables added later: the worker keeps working; a request grant is a deliberate choice.
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE'
                   ' ON TABLES TO %I', current_schema(), worker);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES'
                   ' TO %I, %I', current_schema(), api, worker);
    ALTER POLICY ledger_entries_tenant ON ledger_entries TO CURRENT_USER;
    EXECUTE format('CREATE POLICY ledger_entries_api ON ledger_entries TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY ledger_entries_worker ON ledger_entries TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY evaluation_costs_tenant ON evaluation_costs TO CURRENT_USER;
    EXECUTE format('CREATE POLICY evaluation_costs_api ON evaluation_costs TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY evaluation_costs_worker ON evaluation_costs TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY evaluation_metric_costs_tenant ON evaluation_metric_costs TO CURRENT_USER;
    EXECUTE format('CREATE POLICY evaluation_metric_costs_api ON evaluation_metric_costs TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY evaluation_metric_costs_worker ON evaluation_metric_costs TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY evaluation_rows_tenant ON evaluation_rows TO CURRENT_USER;
    EXECUTE format('CREATE POLICY evaluation_rows_api ON evaluation_rows TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY evaluation_rows_worker ON evaluation_rows TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY daily_costs_tenant ON daily_costs TO CURRENT_USER;
    EXECUTE format('CREATE POLICY daily_costs_api ON daily_costs TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY daily_costs_worker ON daily_costs TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY price_catalog_tenant ON price_catalog TO CURRENT_USER;
    EXECUTE format('CREATE POLICY price_catalog_api ON price_catalog TO %I USING (org_id IS NULL OR org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY price_catalog_worker ON price_catalog TO %I USING (true) WITH CHECK (true)', worker);
END
$roles$;
