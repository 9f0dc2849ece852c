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
    ALTER POLICY budgets_tenant ON budgets TO CURRENT_USER;
    EXECUTE format('CREATE POLICY budgets_api ON budgets TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY budgets_worker ON budgets TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY budget_periods_tenant ON budget_periods TO CURRENT_USER;
    EXECUTE format('CREATE POLICY budget_periods_api ON budget_periods TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY budget_periods_worker ON budget_periods TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY threshold_firings_tenant ON threshold_firings TO CURRENT_USER;
    EXECUTE format('CREATE POLICY threshold_firings_api ON threshold_firings TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY threshold_firings_worker ON threshold_firings TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY cost_alerts_tenant ON cost_alerts TO CURRENT_USER;
    EXECUTE format('CREATE POLICY cost_alerts_api ON cost_alerts TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY cost_alerts_worker ON cost_alerts TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY period_closures_tenant ON period_closures TO CURRENT_USER;
    EXECUTE format('CREATE POLICY period_closures_api ON period_closures TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY period_closures_worker ON period_closures TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY reservations_tenant ON reservations TO CURRENT_USER;
    EXECUTE format('CREATE POLICY reservations_api ON reservations TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY reservations_worker ON reservations TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY reservation_holds_tenant ON reservation_holds TO CURRENT_USER;
    EXECUTE format('CREATE POLICY reservation_holds_api ON reservation_holds TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY reservation_holds_worker ON reservation_holds TO %I USING (true) WITH CHECK (true)', worker);
    ALTER POLICY budget_holds_tenant ON budget_holds TO CURRENT_USER;
    EXECUTE format('CREATE POLICY budget_holds_api ON budget_holds TO %I USING (org_id = current_setting(''app.org_id'', true))'
                   ' WITH CHECK (org_id = current_setting(''app.org_id'', true))', api);
    EXECUTE format('CREATE POLICY budget_holds_worker ON budget_holds TO %I USING (true) WITH CHECK (true)', worker);
END
$roles$;
