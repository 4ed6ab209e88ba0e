-- LLM call log (which is also the LLM cache), HICode labels, clustering iterations,
-- themes with definitions and exemplar quotes. Append-only: add a new file to change.

CREATE TABLE llm_calls (
    id              INTEGER PRIMARY KEY,
    request_hash    TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'call',
    attempt         INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL,
    model           TEXT NOT NULL,
    resolved_model  TEXT,
    backend         TEXT,
    template        TEXT,
    template_hash   TEXT,
    step            TEXT,
    run_id          TEXT,
    http_status     INTEGER,
    error           TEXT,
    request         TEXT,
    response        TEXT,
    data            TEXT,
    tokens_in       INTEGER,
    tokens_out      INTEGER,
    duration_s      REAL,
    created_at      TEXT NOT NULL
);
CREATE INDEX llm_calls_hash ON llm_calls (request_hash, status);
CREATE INDEX llm_calls_run ON llm_calls (run_id);

CREATE TABLE hicode_labels (
    run_id      TEXT NOT NULL REFERENCES runs (id),
    segment_id  INTEGER NOT NULL REFERENCES segments (id),
    ordinal     INTEGER NOT NULL,
    label       TEXT,
    norm_label  TEXT,
    irrelevant  INTEGER NOT NULL DEFAULT 0,
    theme       TEXT,
    PRIMARY KEY (run_id, segment_id, ordinal)
);
CREATE INDEX hicode_labels_theme ON hicode_labels (run_id, theme);

CREATE TABLE theme_iterations (
    run_id       TEXT NOT NULL REFERENCES runs (id),
    iteration    INTEGER NOT NULL,
    seed         INTEGER,
    n_inputs     INTEGER NOT NULL,
    n_themes     INTEGER NOT NULL,
    n_batches    INTEGER NOT NULL,
    stats        TEXT NOT NULL DEFAULT '{}',
    stop_reason  TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (run_id, iteration)
);

CREATE TABLE theme_members (
    run_id     TEXT NOT NULL REFERENCES runs (id),
    iteration  INTEGER NOT NULL,
    theme      TEXT NOT NULL,
    member     TEXT NOT NULL,
    batch      INTEGER NOT NULL DEFAULT 0,
    how        TEXT NOT NULL DEFAULT 'llm',
    PRIMARY KEY (run_id, iteration, member)
);
CREATE INDEX theme_members_theme ON theme_members (run_id, iteration, theme);

CREATE TABLE themes (
    run_id      TEXT NOT NULL REFERENCES runs (id),
    ordinal     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL DEFAULT '',
    parent      TEXT,
    n_labels    INTEGER NOT NULL DEFAULT 0,
    n_segments  INTEGER NOT NULL DEFAULT 0,
    method      TEXT NOT NULL DEFAULT 'hicode',
    PRIMARY KEY (run_id, name)
);

CREATE TABLE theme_exemplars (
    run_id      TEXT NOT NULL REFERENCES runs (id),
    theme       TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,
    segment_id  INTEGER REFERENCES segments (id),
    document_id INTEGER REFERENCES documents (id),
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    quote       TEXT NOT NULL,
    match       TEXT NOT NULL DEFAULT 'exact',
    PRIMARY KEY (run_id, theme, ordinal)
);
