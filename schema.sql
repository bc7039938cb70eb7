-- Roster's whole schema. Applied at start by src/db.rs; `PRAGMA user_version`
-- records which version a database is at, and later changes migrate forward.
--
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC); the API
-- renders them as ISO 8601 with milliseconds. Organizations have an internal
-- integer key (`org`) so that every per-organization index stays small; the
-- public organization id is the UUID in organizations.id.
--
-- A CHECK allowing one of several values is written `x = 'a' OR x = 'b' OR
-- ...`, not `x IN ('a', 'b', ...)`: SQLite builds a temporary table for an IN
-- list of more than two values each time the statement runs, which cost
-- about 2 us on every insert of a contact or a lookup job.

CREATE TABLE organizations (
    org             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL UNIQUE,
    webhook_secret  TEXT NOT NULL UNIQUE,
    twilio_auth_token TEXT,
    contact_count   INTEGER NOT NULL DEFAULT 0,  -- kept by the write path
    created_at      INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    org             INTEGER NOT NULL REFERENCES organizations(org),
    key_hash        TEXT NOT NULL UNIQUE,
    access          TEXT NOT NULL CHECK (access IN ('read', 'write')),
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    revoked_at      INTEGER,
    bootstrap       INTEGER NOT NULL DEFAULT 0   -- made by --bootstrap-key
);

-- A contact's `key` is its internal integer key: what every index of the
-- contacts and the tag index hold, four bytes or so where the text id takes
-- 37. Keys follow ids: the write path mints a new contact's id after every
-- id in the table (UUID v7, time-ordered; see store::contacts::rows), so
-- "time, then key" is the documented "time, then id" and each ordered
-- index below is (org, value, time) with the key SQLite appends to every
-- entry. Only the tag index refers to a key, and a contact's tag rows go
-- with it; a key may be used again after its contact is deleted.
CREATE TABLE contacts (
    key             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    org             INTEGER NOT NULL REFERENCES organizations(org),
    phone           TEXT,
    email           TEXT,
    email_key       TEXT,            -- the email lower-cased, when that differs from it
    first_name      TEXT,
    last_name       TEXT,
    address         TEXT,
    city            TEXT,
    state           TEXT,
    zip             TEXT,
    tags            TEXT NOT NULL DEFAULT '[]',   -- JSON array: the record
    custom_fields   TEXT NOT NULL DEFAULT '{}',   -- JSON object: the record
    is_textable     INTEGER,                      -- NULL until a lookup answers
    line_type       TEXT,
    lookup_status   TEXT CHECK (lookup_status = 'pending' OR lookup_status = 'done'
                                OR lookup_status = 'failed'),
    looked_up_at    INTEGER,
    is_opted_in     INTEGER NOT NULL DEFAULT 1,
    opted_out_at    INTEGER,
    timezone        TEXT,
    is_starred      INTEGER NOT NULL DEFAULT 0,
    is_archived     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- Keyset order for both documented sorts (each entry ends in the key).
-- Listings read them backwards (newest first); stored ascending, new rows
-- append at the end of the index instead of splitting its first pages.
CREATE INDEX contacts_org_updated ON contacts (org, updated_at);
CREATE INDEX contacts_org_created ON contacts (org, created_at);
-- One contact per phone and per email within an organization, enforced here.
-- An email's uniqueness key is the email lower-cased: most emails are
-- stored lower-case already, and their rows leave email_key NULL instead of
-- holding the same text twice.
CREATE UNIQUE INDEX contacts_org_phone ON contacts (org, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX contacts_org_email ON contacts (org, coalesce(email_key, email))
    WHERE email IS NOT NULL;
-- The list filters' own indexes, each in the default order (newest updated
-- first) within its value: a page of one state, one ZIP or the rare side
-- of a flag (opted out, not textable, no email, no phone) is one range scan
-- of as many entries as the page holds, however many contacts match. Email
-- and phone presence are read through the uniqueness indexes above.
CREATE INDEX contacts_org_state ON contacts (org, state, updated_at);
CREATE INDEX contacts_org_zip ON contacts (org, zip, updated_at);
CREATE INDEX contacts_org_opted_out ON contacts (org, updated_at) WHERE is_opted_in = 0;
CREATE INDEX contacts_org_not_textable ON contacts (org, updated_at) WHERE is_textable = 0;
CREATE INDEX contacts_org_no_email ON contacts (org, updated_at) WHERE email IS NULL;
CREATE INDEX contacts_org_no_phone ON contacts (org, updated_at) WHERE phone IS NULL;

-- The tag index: one row per (contact key, lower-cased tag), written in the
-- same transaction as the contact row. Tag filters read this, never the JSON.
-- Each row carries its contact's updated_at (kept by the trigger below), so
-- a page of one tag's contacts, newest updated first, is one range scan of
-- contact_tags_order.
CREATE TABLE contact_tags (
    org             INTEGER NOT NULL,
    contact         INTEGER NOT NULL,   -- contacts.key
    tag             TEXT NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (org, contact, tag)
) WITHOUT ROWID;
CREATE INDEX contact_tags_order ON contact_tags (org, tag, updated_at, contact);
CREATE TRIGGER contact_tags_updated_at AFTER UPDATE OF updated_at ON contacts
WHEN NEW.updated_at IS NOT OLD.updated_at
BEGIN
    UPDATE contact_tags SET updated_at = NEW.updated_at
     WHERE org = NEW.org AND contact = NEW.key;
END;

-- How many contacts carry each tag, kept with the tag index. It answers
-- /api/tags and tells the list planner how selective a tag filter is.
CREATE TABLE tag_counts (
    org             INTEGER NOT NULL,
    tag             TEXT NOT NULL,   -- the lower-cased key
    display         TEXT NOT NULL,   -- the first spelling seen
    count           INTEGER NOT NULL,
    PRIMARY KEY (org, tag)
) WITHOUT ROWID;

-- How many contacts carry each custom-field key, kept by the write path like
-- the tag counts. An export of everything takes its CSV columns from here.
CREATE TABLE field_counts (
    org             INTEGER NOT NULL,
    key             TEXT NOT NULL,
    count           INTEGER NOT NULL,
    PRIMARY KEY (org, key)
) WITHOUT ROWID;

-- Search outbox: "contact X changed or was deleted". The index writer applies
-- rows in order, commits the index, then deletes what it applied. An empty
-- contact_id stands for every contact of the org (the org was deleted).
CREATE TABLE search_outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    org             INTEGER NOT NULL,
    contact_id      TEXT NOT NULL,
    new             INTEGER NOT NULL DEFAULT 0   -- 1: the contact was created here
);

-- Textability lookups. A job belongs to one phone value of one contact,
-- which it names by key (contacts.key), like the tag index: a contact's
-- jobs and timeline events are deleted with it, so a key given again to a
-- later contact never finds an older contact's rows.
CREATE TABLE lookup_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org             INTEGER NOT NULL,
    contact         INTEGER NOT NULL,   -- contacts.key
    phone           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status = 'pending' OR status = 'running' OR status = 'done'
                                     OR status = 'failed' OR status = 'cancelled'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    run_after       INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- Only unfinished jobs: finished ones stay as history and need no place here.
CREATE INDEX lookup_jobs_ready ON lookup_jobs (status, run_after)
    WHERE status IN ('pending', 'running');
CREATE INDEX lookup_jobs_contact ON lookup_jobs (contact);
CREATE INDEX lookup_jobs_org_status ON lookup_jobs (org, status);

-- Per-contact history, newest first by seq.
CREATE TABLE timeline_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    org             INTEGER NOT NULL,
    contact         INTEGER NOT NULL,   -- contacts.key
    type            TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL
);
CREATE INDEX timeline_contact ON timeline_events (contact, seq DESC);

CREATE TABLE notes (
    id              TEXT PRIMARY KEY,
    org             INTEGER NOT NULL,
    contact_id      TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX notes_contact ON notes (contact_id, created_at DESC);

CREATE TABLE segments (
    id              TEXT PRIMARY KEY,
    org             INTEGER NOT NULL,
    name            TEXT NOT NULL,
    filters         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (org, name)
);

CREATE TABLE imports (
    id              TEXT PRIMARY KEY,
    org             INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status = 'queued' OR status = 'running' OR status = 'completed'
                                     OR status = 'failed' OR status = 'cancelled'),
    options         TEXT NOT NULL DEFAULT '{}',
    source_path     TEXT,
    total_rows      INTEGER,
    processed       INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL DEFAULT 0,
    merged          INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    errors          TEXT NOT NULL DEFAULT '[]',
    message         TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX imports_org ON imports (org, created_at DESC);

-- Outbound webhooks: endpoints, and one delivery row per event and endpoint,
-- written in the transaction of the change that caused the event. The
-- delivery worker sends them (claim, call, settle, back off) and keeps each
-- attempt. Kept last, with IF NOT EXISTS: the version 4 migration applies
-- this section as it stands.
CREATE TABLE IF NOT EXISTS webhooks (
    id              TEXT PRIMARY KEY,
    org             INTEGER NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,              -- JSON array of event types, or ["*"]
    description     TEXT NOT NULL DEFAULT '',
    enabled         INTEGER NOT NULL DEFAULT 1,
    secret          TEXT NOT NULL,              -- whsec_<base64>: the signing key
    disabled_reason TEXT,
    failing_since   INTEGER,                    -- first failure of the current streak
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_org ON webhooks (org, enabled);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    org             INTEGER NOT NULL,
    webhook_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,              -- the webhook-id header: the same on every retry
    event_type      TEXT NOT NULL,
    ordering_key    TEXT NOT NULL,              -- a contact's deliveries go in order
    payload         TEXT NOT NULL,              -- the exact body sent
    status          TEXT NOT NULL CHECK (status = 'pending' OR status = 'delivered' OR status = 'failed'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_order ON webhook_deliveries (webhook_id, ordering_key, seq)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq);
CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery_seq    INTEGER NOT NULL,
    webhook_id      TEXT NOT NULL,
    at              INTEGER NOT NULL,
    status_code     INTEGER,
    error           TEXT,
    duration_ms     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_attempts_delivery ON webhook_attempts (delivery_seq);
CREATE INDEX IF NOT EXISTS webhook_attempts_webhook ON webhook_attempts (webhook_id);
