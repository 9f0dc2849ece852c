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
    -- evaluation_rows: no org_id of its own; a row is its evaluation's (itself under RLS).
    ALTER TABLE evaluation_rows ENABLE ROW LEVEL SECURITY;
    ALTER TABLE evaluation_rows FORCE ROW LEVEL SECURITY;
    CREATE POLICY evaluation_rows_owner ON evaluation_rows TO CURRENT_USER USING (true) WITH CHECK (true);
    EXECUTE format('CREATE POLICY evaluation_rows_api ON evaluation_rows TO %I'
                   ' USING (EXISTS (SELECT 1 FROM evaluations e WHERE e.id = evaluation_id))'
                   ' WITH CHECK (EXISTS (SELECT 1 FROM evaluations e WHERE e.id = evaluation_id))',
                   api);
    EXECUTE format('CREATE POLICY evaluation_rows_worker ON evaluation_rows TO %I USING (true) WITH CHECK (true)',
                   worker);
    -- metric_results: no org_id of its own; a row is its evaluation's (itself under RLS).
    ALTER TABLE metric_results ENABLE ROW LEVEL SECURITY;
    ALTER TABLE metric_results FORCE ROW LEVEL SECURITY;
    CREATE POLICY metric_results_owner ON metric_results TO CURRENT_USER USING (true) WITH CHECK (true);
    EXECUTE format('CREATE POLICY metric_results_api ON metric_results TO %I'
                   ' USING (EXISTS (SELECT 1 FROM evaluations e WHERE e.id = evaluation_id))'
                   ' WITH CHECK (EXISTS (SELECT 1 FROM evaluations e WHERE e.id = evaluation_id))',
                   api);
    EXECUTE format('CREATE POLICY metric_results_worker ON metric_results TO %I USING (true) WITH CHECK (true)',
                   worker);
    -- llm_calls: no org_id of its own; a row is its evaluation's (itself under RLS).
    ALTER TABLE llm_calls ENABLE ROW LEVEL SECURITY;
    ALTER TABLE llm_calls FORCE ROW LEVEL SECURITY;
    CREATE POLICY llm_calls_owner ON llm_calls TO CURRENT_USER USING (true) WITH CHECK (true);
    EXECUTE format('CREATE POLICY llm_calls_api ON llm_calls TO %I'
                   ' USING (EXISTS (SELECT 1 FROM evaluations e WHERE e.id = evaluation_id))'
                   ' WITH CHECK (EXISTS (SELECT 1 FROM evaluations e WHERE e.id = evaluation_id))',
                   api);
    EXECUTE format('CREATE POLICY llm_calls_worker ON llm_calls TO %I USING (true) WITH CHECK (true)',
                   worker);
    ALTER POLICY evaluations_tenant ON evaluations TO CURRENT_USER;
    EXECUTE format('CREATE POLICY evaluations_api ON evaluations TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY evaluations_worker ON evaluations TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY datasets_tenant ON datasets TO CURRENT_USER;
    EXECUTE format('CREATE POLICY datasets_api ON datasets TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY datasets_worker ON datasets TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY provider_keys_tenant ON provider_keys TO CURRENT_USER;
    EXECUTE format('CREATE POLICY provider_keys_api ON provider_keys TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY provider_keys_worker ON provider_keys TO %I USING (true) WITH CHECK (true)', worker);
END
$roles$;
