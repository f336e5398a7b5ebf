-- The PostgreSQL twin of migrations/sqlite: the same tables, columns and
-- indexes, so src/db/schema.rs describes both. Timestamps and JSON stay TEXT,
-- written by the control plane, so both backends return identical strings.

-- Synergos documents: one row per record, keyed by kind and composite key
-- (unused identifiers are ''), the record's fields as a JSON object in body.
CREATE TABLE records (
    doc_id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    collab_id TEXT NOT NULL DEFAULT '',
    project_id TEXT NOT NULL DEFAULT '',
    expt_id TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL DEFAULT '',
    participant_id TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, collab_id, project_id, expt_id, run_id, participant_id)
);

CREATE INDEX records_by_participant ON records (kind, participant_id);

-- Long-running operations (align, train, validate) started through REST.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    collab_id TEXT NOT NULL DEFAULT '',
    project_id TEXT NOT NULL DEFAULT '',
    expt_id TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL DEFAULT '',
    participant_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    progress TEXT NOT NULL,
    error TEXT,
    result TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX jobs_by_state ON jobs (state);
