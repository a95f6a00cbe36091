-- Demo schema of the embedded default, database "main". Runs at every start; creates and fills
-- tables only the first time.

-- Seed 000: user_connections (legacy) -> company_connections (new), both in this database.
CREATE TABLE IF NOT EXISTS user_connections (
    id                bigserial PRIMARY KEY,
    user_id           bigint      NOT NULL,
    connected_user_id bigint      NOT NULL,
    status            varchar(20) NOT NULL DEFAULT 'pending',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_user_connections_user ON user_connections (user_id);

-- The new table draws keys from a range far above the legacy one, so records created while the
-- new store is authoritative never collide with keys the legacy sequence hands out after a rollback.
CREATE SEQUENCE IF NOT EXISTS company_connections_id_seq START WITH 10000000000;
CREATE TABLE IF NOT EXISTS company_connections (
    id              bigint      PRIMARY KEY DEFAULT nextval('company_connections_id_seq'),
    company_id      bigint,
    user_id         bigint      NOT NULL,
    peer_user_id    bigint      NOT NULL,
    status          varchar(20) NOT NULL DEFAULT 'pending',
    connection_type varchar(20) NOT NULL DEFAULT 'direct',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_company_connections_user ON company_connections (user_id);

INSERT INTO user_connections (user_id, connected_user_id, status, created_at)
SELECT 1 + (g % 997), 1 + ((g * 31) % 1009),
       (ARRAY['pending', 'accepted', 'blocked'])[1 + g % 3],
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 minutes'
FROM generate_series(1, :demo_rows) AS g
WHERE NOT EXISTS (SELECT 1 FROM user_connections);

-- Seed 001, legacy side: direct_messages. The new "messages" table lives in database "messages".
CREATE TABLE IF NOT EXISTS direct_messages (
    id                  bigserial PRIMARY KEY,
    sender_id           integer   NOT NULL,
    receiver_id         integer   NOT NULL,
    body                text      NOT NULL,
    is_read             boolean   NOT NULL DEFAULT false,
    read_at             timestamp,
    deleted_by_sender   boolean   NOT NULL DEFAULT false,
    deleted_by_receiver boolean   NOT NULL DEFAULT false,
    parent_message_id   bigint    REFERENCES direct_messages (id) ON DELETE SET NULL,
    attachment_url      varchar(500),
    attachment_name     varchar(255),
    created_at          timestamp NOT NULL DEFAULT now(),
    updated_at          timestamp NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_direct_messages_pair ON direct_messages (sender_id, receiver_id);
CREATE INDEX IF NOT EXISTS idx_direct_messages_unread ON direct_messages (receiver_id, is_read);

INSERT INTO direct_messages (sender_id, receiver_id, body, is_read, read_at, deleted_by_sender,
                             deleted_by_receiver, parent_message_id, attachment_url, attachment_name,
                             created_at, updated_at)
SELECT 1 + (g % 499), 1 + ((g * 7) % 503),
       'demo message ' || g,
       g % 4 <> 0,
       CASE WHEN g % 4 <> 0 THEN timestamp '2024-01-01 00:05:00' + g * interval '3 minutes' END,
       g % 50 = 0, g % 70 = 0,
       CASE WHEN g > 10 AND g % 5 = 0 THEN g - 3 END,
       CASE WHEN g % 20 = 0 THEN 'https://files.example.com/' || g || '.pdf' END,
       CASE WHEN g % 20 = 0 THEN 'file-' || g || '.pdf' END,
       timestamp '2024-01-01 00:00:00' + g * interval '3 minutes',
       timestamp '2024-01-01 00:00:00' + g * interval '3 minutes'
FROM generate_series(1, :demo_rows) AS g
WHERE NOT EXISTS (SELECT 1 FROM direct_messages);

-- Seed 004: companies and contacts. PostgreSQL keeps every write; reads move to a search service
-- (Connectra-style) that indexes these tables on its own. One company per 10 contacts.
CREATE TABLE IF NOT EXISTS companies (
    uuid           uuid         PRIMARY KEY,
    name           varchar(255) NOT NULL,
    domain         varchar(255),
    industry       varchar(100),
    employee_count integer,
    founded_year   integer,
    keywords       text,
    technologies   text,
    linkedin_url   varchar(500),
    country        varchar(100),
    created_at     timestamptz  NOT NULL DEFAULT now(),
    updated_at     timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_companies_industry ON companies (industry);

CREATE TABLE IF NOT EXISTS contacts (
    uuid         uuid         PRIMARY KEY,
    first_name   varchar(100),
    last_name    varchar(100),
    email        varchar(255),
    title        varchar(255),
    department   varchar(100),
    seniority    varchar(50),
    company_uuid uuid         REFERENCES companies (uuid) ON DELETE SET NULL,
    linkedin_url varchar(500),
    country      varchar(100),
    created_at   timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_contacts_company ON contacts (company_uuid);
CREATE INDEX IF NOT EXISTS idx_contacts_linkedin ON contacts (linkedin_url);

INSERT INTO companies (uuid, name, domain, industry, employee_count, founded_year, keywords, technologies,
                       linkedin_url, country, created_at, updated_at)
SELECT md5('company-' || g)::uuid, 'Company ' || g, 'company' || g || '.example.com',
       (ARRAY['software', 'finance', 'health', 'retail', 'energy'])[1 + g % 5],
       10 * (1 + g % 500), 1950 + g % 75,
       (ARRAY['b2b,saas', 'payments', 'clinics,care', 'e-commerce', 'solar,grid'])[1 + g % 5],
       (ARRAY['java,postgresql', 'python', 'react,node', 'go,kafka', 'rust'])[1 + g % 5],
       'https://www.linkedin.com/company/company-' || g,
       (ARRAY['US', 'DE', 'IN', 'BR', 'FR'])[1 + g % 5],
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour',
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, greatest(1, :demo_rows / 100)) AS g
WHERE NOT EXISTS (SELECT 1 FROM companies);

INSERT INTO contacts (uuid, first_name, last_name, email, title, department, seniority, company_uuid,
                      linkedin_url, country, created_at, updated_at)
SELECT md5('contact-' || g)::uuid, 'First' || g, 'Last' || g, 'person' || g || '@example.com',
       (ARRAY['Engineer', 'Account Executive', 'Controller', 'Nurse', 'Buyer'])[1 + g % 5],
       (ARRAY['engineering', 'sales', 'finance', 'operations', 'marketing'])[1 + g % 5],
       (ARRAY['junior', 'senior', 'manager', 'director', 'vp'])[1 + g % 5],
       md5('company-' || (1 + g % greatest(1, :demo_rows / 100)))::uuid,
       'https://www.linkedin.com/in/person-' || g,
       (ARRAY['US', 'DE', 'IN', 'BR', 'FR'])[1 + g % 5],
       timestamptz '2024-01-01 00:00:00+00' + g * interval '10 minutes',
       timestamptz '2024-01-01 00:00:00+00' + g * interval '10 minutes'
FROM generate_series(1, greatest(1, :demo_rows / 10)) AS g
WHERE NOT EXISTS (SELECT 1 FROM contacts);

-- Seed 002, legacy side: one wide row per user, with the OAuth columns of every service it can link
-- (a service is linked when its linked_at is set). Rows whose auth code or scopes are set with no
-- token, client id or link are OAuth flows a user never finished: they are not integrations.
CREATE TABLE IF NOT EXISTS users (
    id           bigserial    PRIMARY KEY,
    email        varchar(255) NOT NULL UNIQUE,
    display_name varchar(255),
    created_at   timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz  NOT NULL DEFAULT now(),
    gmail_access_token    text,
    gmail_refresh_token   text,
    gmail_client_id       varchar(255),
    gmail_granted_scopes  text,
    gmail_auth_code       text,
    gmail_external_id     varchar(255),
    gmail_linked_at       timestamptz,
    calendar_access_token    text,
    calendar_refresh_token   text,
    calendar_client_id       varchar(255),
    calendar_granted_scopes  text,
    calendar_auth_code       text,
    calendar_external_id     varchar(255),
    calendar_linked_at       timestamptz,
    telegram_access_token    text,
    telegram_refresh_token   text,
    telegram_client_id       varchar(255),
    telegram_granted_scopes  text,
    telegram_auth_code       text,
    telegram_external_id     varchar(255),
    telegram_linked_at       timestamptz,
    signal_access_token    text,
    signal_refresh_token   text,
    signal_client_id       varchar(255),
    signal_granted_scopes  text,
    signal_auth_code       text,
    signal_external_id     varchar(255),
    signal_linked_at       timestamptz,
    whatsapp_access_token    text,
    whatsapp_refresh_token   text,
    whatsapp_client_id       varchar(255),
    whatsapp_granted_scopes  text,
    whatsapp_auth_code       text,
    whatsapp_external_id     varchar(255),
    whatsapp_linked_at       timestamptz
);

-- Seed 002, new side, in schema "accounts" of this database: a narrow users table and one row per
-- linked service. Unlinking keeps the row, deactivated (soft delete); a user has at most one active
-- link per service (NULLS NOT DISTINCT: the active row's deactivated_at is NULL), and an external
-- account is linked to at most one user at a time.
CREATE SCHEMA IF NOT EXISTS accounts;
CREATE SEQUENCE IF NOT EXISTS accounts.users_id_seq START WITH 10000000000;
CREATE TABLE IF NOT EXISTS accounts.users (
    id           bigint       PRIMARY KEY DEFAULT nextval('accounts.users_id_seq'),
    email        varchar(255) NOT NULL UNIQUE,
    display_name varchar(255),
    created_at   timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz  NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS accounts.user_integrations (
    id             bigserial    PRIMARY KEY,
    user_id        bigint       NOT NULL REFERENCES accounts.users (id) ON DELETE CASCADE,
    service_id     varchar(20)  NOT NULL CHECK (service_id IN ('gmail', 'calendar', 'telegram', 'signal', 'whatsapp')),
    access_token   text,
    refresh_token  text,
    client_id      varchar(255),
    granted_scopes text,
    auth_code      text,
    external_id    varchar(255),
    linked_at      timestamptz  NOT NULL DEFAULT now(),
    deactivated_at timestamptz,
    CONSTRAINT user_integrations_one_active UNIQUE NULLS NOT DISTINCT (user_id, service_id, deactivated_at)
);
CREATE UNIQUE INDEX IF NOT EXISTS user_integrations_external_account
    ON accounts.user_integrations (service_id, external_id) WHERE deactivated_at IS NULL AND external_id IS NOT NULL;

-- Demo users: gmail linked for a third, calendar a quarter, telegram a fifth, signal a seventh,
-- whatsapp an eleventh; one in thirteen started a gmail OAuth flow and never finished it.
INSERT INTO users (email, display_name, created_at, updated_at,
                   gmail_access_token, gmail_refresh_token, gmail_client_id, gmail_granted_scopes, gmail_auth_code, gmail_external_id, gmail_linked_at,
                   calendar_access_token, calendar_refresh_token, calendar_client_id, calendar_granted_scopes, calendar_external_id, calendar_linked_at,
                   telegram_external_id, telegram_linked_at, signal_external_id, signal_linked_at, whatsapp_external_id, whatsapp_linked_at)
SELECT 'user' || g || '@example.com', 'User ' || g,
       timestamptz '2023-06-01 00:00:00+00' + g * interval '7 minutes',
       timestamptz '2023-06-01 00:00:00+00' + g * interval '11 minutes',
       CASE WHEN g % 3 = 0 THEN 'ya29.gm-' || md5('a' || g) END,
       CASE WHEN g % 3 = 0 THEN '1//gm-' || md5('r' || g) END,
       CASE WHEN g % 3 = 0 THEN 'turnout-demo.apps.googleusercontent.com' END,
       CASE WHEN g % 3 = 0 OR g % 13 = 1 THEN 'https://www.googleapis.com/auth/gmail.readonly' END,
       CASE WHEN g % 13 = 1 AND g % 3 <> 0 THEN '4/0Ad-' || md5('c' || g) END,
       CASE WHEN g % 3 = 0 THEN 'user' || g || '@gmail.example.com' END,
       CASE WHEN g % 3 = 0 THEN timestamptz '2024-01-01 00:00:00+00' + g * interval '5 minutes' END,
       CASE WHEN g % 4 = 0 THEN 'ya29.cal-' || md5('ca' || g) END,
       CASE WHEN g % 4 = 0 THEN '1//cal-' || md5('cr' || g) END,
       CASE WHEN g % 4 = 0 THEN 'turnout-demo.apps.googleusercontent.com' END,
       CASE WHEN g % 4 = 0 THEN 'https://www.googleapis.com/auth/calendar' END,
       CASE WHEN g % 4 = 0 THEN 'user' || g || '@gmail.example.com' END,
       CASE WHEN g % 4 = 0 THEN timestamptz '2024-02-01 00:00:00+00' + g * interval '5 minutes' END,
       CASE WHEN g % 5 = 0 THEN (100000000 + g)::text END,
       CASE WHEN g % 5 = 0 THEN timestamptz '2024-03-01 00:00:00+00' + g * interval '5 minutes' END,
       CASE WHEN g % 7 = 0 THEN md5('s' || g)::uuid::text END,
       CASE WHEN g % 7 = 0 THEN timestamptz '2024-04-01 00:00:00+00' + g * interval '5 minutes' END,
       CASE WHEN g % 11 = 0 THEN '+1555' || lpad(g::text, 7, '0') END,
       CASE WHEN g % 11 = 0 THEN timestamptz '2024-05-01 00:00:00+00' + g * interval '5 minutes' END
FROM generate_series(1, greatest(1, :demo_rows / 4)) AS g
WHERE NOT EXISTS (SELECT 1 FROM users);

-- Seed 003: the original import tables (legacy) and the V3 tables (new) the remediation created
-- beside them, with pilot rows that exist only in the V3 tables. Children refer to their data
-- import by foreign key in both families.
CREATE TABLE IF NOT EXISTS data_imports (
    id           uuid         PRIMARY KEY,
    name         varchar(255) NOT NULL,
    source_type  varchar(50)  NOT NULL,
    status       varchar(30)  NOT NULL DEFAULT 'pending',
    record_count integer      NOT NULL DEFAULT 0,
    created_by   varchar(255),
    created_at   timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz  NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS import_field_mappings (
    id             uuid         PRIMARY KEY,
    data_import_id uuid         NOT NULL REFERENCES data_imports (id) ON DELETE CASCADE,
    source_field   varchar(255) NOT NULL,
    target_field   varchar(255) NOT NULL,
    confidence     integer      NOT NULL DEFAULT 0,
    status         varchar(30)  NOT NULL DEFAULT 'suggested',
    created_at     timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_import_field_mappings_import ON import_field_mappings (data_import_id);
CREATE TABLE IF NOT EXISTS discovery_flows (
    id               uuid         PRIMARY KEY,
    data_import_id   uuid         NOT NULL REFERENCES data_imports (id) ON DELETE CASCADE,
    flow_name        varchar(255) NOT NULL,
    current_phase    varchar(50)  NOT NULL DEFAULT 'field_mapping',
    status           varchar(30)  NOT NULL DEFAULT 'running',
    progress_percent integer      NOT NULL DEFAULT 0,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS raw_import_records (
    id             uuid        PRIMARY KEY,
    data_import_id uuid        NOT NULL REFERENCES data_imports (id) ON DELETE CASCADE,
    row_number     integer     NOT NULL,
    raw_data       text        NOT NULL,
    is_processed   boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_raw_import_records_import ON raw_import_records (data_import_id);

CREATE TABLE IF NOT EXISTS v3_data_imports (
    id            uuid         PRIMARY KEY,
    name          varchar(255) NOT NULL,
    source_type   varchar(50)  NOT NULL,
    status        varchar(30)  NOT NULL DEFAULT 'pending',
    total_records integer      NOT NULL DEFAULT 0,
    created_by    varchar(255),
    created_at    timestamptz  NOT NULL DEFAULT now(),
    updated_at    timestamptz  NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS v3_field_mappings (
    id               uuid         PRIMARY KEY,
    data_import_id   uuid         NOT NULL REFERENCES v3_data_imports (id) ON DELETE CASCADE,
    source_field     varchar(255) NOT NULL,
    target_field     varchar(255) NOT NULL,
    confidence_score integer      NOT NULL DEFAULT 0,
    status           varchar(30)  NOT NULL DEFAULT 'suggested',
    created_at       timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_v3_field_mappings_import ON v3_field_mappings (data_import_id);
CREATE TABLE IF NOT EXISTS v3_discovery_flows (
    id             uuid         PRIMARY KEY,
    data_import_id uuid         NOT NULL REFERENCES v3_data_imports (id) ON DELETE CASCADE,
    name           varchar(255) NOT NULL,
    phase          varchar(50)  NOT NULL DEFAULT 'field_mapping',
    status         varchar(30)  NOT NULL DEFAULT 'running',
    progress       integer      NOT NULL DEFAULT 0,
    created_at     timestamptz  NOT NULL DEFAULT now(),
    updated_at     timestamptz  NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS v3_raw_import_records (
    id             uuid        PRIMARY KEY,
    data_import_id uuid        NOT NULL REFERENCES v3_data_imports (id) ON DELETE CASCADE,
    row_number     integer     NOT NULL,
    raw_data       text        NOT NULL,
    is_processed   boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_v3_raw_import_records_import ON v3_raw_import_records (data_import_id);

-- The original tables: 23 imports (more with more demo rows), about ten field mappings each, a
-- discovery flow for four in five, and the raw records, spread over the imports.
INSERT INTO data_imports (id, name, source_type, status, record_count, created_by, created_at, updated_at)
SELECT md5('import' || g)::uuid, 'Import ' || g, (ARRAY['csv', 'cmdb', 'api'])[1 + g % 3],
       (ARRAY['completed', 'processing', 'failed'])[1 + g % 3], g * 40, 'analyst' || (g % 5) || '@example.com',
       timestamptz '2025-08-01 00:00:00+00' + g * interval '3 hours', timestamptz '2025-08-01 00:00:00+00' + g * interval '4 hours'
FROM generate_series(1, greatest(23, :demo_rows / 400)) AS g
WHERE NOT EXISTS (SELECT 1 FROM data_imports);
INSERT INTO import_field_mappings (id, data_import_id, source_field, target_field, confidence, status, created_at)
SELECT md5('mapping' || g)::uuid, md5('import' || (1 + g % greatest(23, :demo_rows / 400)))::uuid, 'column_' || (g % 37),
       (ARRAY['hostname', 'ip_address', 'os', 'owner', 'environment', 'application'])[1 + g % 6], 50 + g % 50,
       (ARRAY['suggested', 'approved', 'rejected'])[1 + g % 3], timestamptz '2025-08-02 00:00:00+00' + g * interval '20 minutes'
FROM generate_series(1, greatest(232, :demo_rows / 40)) AS g
WHERE NOT EXISTS (SELECT 1 FROM import_field_mappings);
INSERT INTO discovery_flows (id, data_import_id, flow_name, current_phase, status, progress_percent, created_at, updated_at)
SELECT md5('flow' || g)::uuid, md5('import' || g)::uuid, 'Discovery ' || g,
       (ARRAY['field_mapping', 'data_cleansing', 'asset_inventory', 'dependency_analysis'])[1 + g % 4],
       (ARRAY['running', 'completed', 'paused'])[1 + g % 3], (g * 13) % 101,
       timestamptz '2025-08-03 00:00:00+00' + g * interval '5 hours', timestamptz '2025-08-03 00:00:00+00' + g * interval '6 hours'
FROM generate_series(1, greatest(23, :demo_rows / 400)) AS g
WHERE g % 5 <> 0 AND NOT EXISTS (SELECT 1 FROM discovery_flows);
INSERT INTO raw_import_records (id, data_import_id, row_number, raw_data, is_processed, created_at)
SELECT md5('raw' || g)::uuid, md5('import' || (1 + g % greatest(23, :demo_rows / 400)))::uuid, g,
       '{"hostname": "srv-' || g || '", "ip": "10.0.' || (g % 250) || '.' || (g % 200) || '"}', g % 4 <> 0,
       timestamptz '2025-08-04 00:00:00+00' + g * interval '1 minute'
FROM generate_series(1, greatest(38, :demo_rows / 4)) AS g
WHERE NOT EXISTS (SELECT 1 FROM raw_import_records);

-- Pilot data in the V3 tables only: four imports (the first a re-import of original import 1 under
-- the same id, renamed: a collision), ten field mappings and four discovery flows, no raw records.
INSERT INTO v3_data_imports (id, name, source_type, status, total_records, created_by, created_at, updated_at)
SELECT CASE WHEN g = 1 THEN md5('import1')::uuid ELSE md5('pilot-import' || g)::uuid END,
       CASE WHEN g = 1 THEN 'Import 1 (V3 pilot re-run)' ELSE 'V3 pilot import ' || g END, 'csv', 'completed', 100 * g,
       'pilot@example.com', timestamptz '2025-10-01 00:00:00+00' + g * interval '1 day', timestamptz '2025-10-01 00:00:00+00' + g * interval '1 day'
FROM generate_series(1, 4) AS g
WHERE NOT EXISTS (SELECT 1 FROM v3_data_imports);
INSERT INTO v3_field_mappings (id, data_import_id, source_field, target_field, confidence_score, status, created_at)
SELECT md5('pilot-mapping' || g)::uuid, md5('pilot-import' || (2 + g % 3))::uuid, 'pilot_column_' || g, 'hostname', 90, 'approved',
       timestamptz '2025-10-05 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, 10) AS g
WHERE NOT EXISTS (SELECT 1 FROM v3_field_mappings);
INSERT INTO v3_discovery_flows (id, data_import_id, name, phase, status, progress, created_at, updated_at)
SELECT md5('pilot-flow' || g)::uuid, md5('pilot-import' || (2 + g % 3))::uuid, 'V3 pilot flow ' || g, 'field_mapping', 'running', 10 * g,
       timestamptz '2025-10-06 00:00:00+00' + g * interval '1 hour', timestamptz '2025-10-06 00:00:00+00' + g * interval '2 hours'
FROM generate_series(1, 4) AS g
WHERE NOT EXISTS (SELECT 1 FROM v3_discovery_flows);

-- Tables just filled have no statistics until autovacuum's next pass, up to a minute later; until
-- then the planner guesses, and a prepared list by user_id walks the whole primary key. Analyse
-- those the demo filled (a table once analysed has statistics and is not analysed again).
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
               AND c.relname NOT LIKE 'turnout\_%' AND NOT EXISTS (SELECT 1 FROM pg_statistic s WHERE s.starelid = c.oid)
    LOOP
        EXECUTE format('ANALYZE %s', t);
    END LOOP;
END $$;
