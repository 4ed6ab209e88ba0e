-- qualcode core schema. Migrations are append-only: never edit a released file,
-- add a new numbered one.

CREATE TABLE documents (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    is_current    INTEGER NOT NULL DEFAULT 1,
    text          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    source_path   TEXT,
    format        TEXT NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}',
    parse         TEXT NOT NULL DEFAULT '{}',   -- turns and units found by the reader (JSON)
    created_at    TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX documents_current ON documents (name, is_current);

CREATE TABLE segmentations (
    id           INTEGER PRIMARY KEY,
    document_id  INTEGER NOT NULL REFERENCES documents (id),
    strategy     TEXT NOT NULL,
    params       TEXT NOT NULL DEFAULT '{}',
    is_current   INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL
);
CREATE INDEX segmentations_doc ON segmentations (document_id, is_current);

CREATE TABLE segments (
    id               INTEGER PRIMARY KEY,
    segmentation_id  INTEGER NOT NULL REFERENCES segmentations (id),
    document_id      INTEGER NOT NULL REFERENCES documents (id),
    idx              INTEGER NOT NULL,
    start            INTEGER NOT NULL,
    end              INTEGER NOT NULL,
    text             TEXT NOT NULL,
    text_hash        TEXT NOT NULL,
    speakers         TEXT NOT NULL DEFAULT '[]',
    turn_start       INTEGER,
    turn_end         INTEGER,
    time_start       REAL,
    time_end         REAL,
    key              TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    CHECK (end > start)
);
CREATE INDEX segments_seg ON segments (segmentation_id, idx);
CREATE INDEX segments_doc ON segments (document_id);

CREATE TABLE embeddings (
    model      TEXT NOT NULL,
    text_hash  TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BLOB NOT NULL,          -- float32, little endian
    created_at TEXT NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;

CREATE TABLE codebooks (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    source_path  TEXT,
    origin       TEXT NOT NULL DEFAULT 'file',   -- file | induced | import
    created_at   TEXT NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE codes (
    id           INTEGER PRIMARY KEY,
    codebook_id  INTEGER NOT NULL REFERENCES codebooks (id),
    ordinal      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL DEFAULT '',
    include      TEXT NOT NULL DEFAULT '',
    exclude      TEXT NOT NULL DEFAULT '',
    examples     TEXT NOT NULL DEFAULT '[]',
    parent       TEXT,
    color        TEXT,
    threshold    REAL,
    UNIQUE (codebook_id, name)
);

CREATE TABLE runs (
    id                TEXT PRIMARY KEY,
    step              TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'running',   -- running | finished | failed
    params            TEXT NOT NULL DEFAULT '{}',
    backend           TEXT,
    model             TEXT,
    model_version     TEXT,
    qualcode_version  TEXT NOT NULL,
    seed              INTEGER,
    input_hash        TEXT,
    prompt_hash       TEXT,
    tokens_in         INTEGER,
    tokens_out        INTEGER,
    environment       TEXT NOT NULL DEFAULT '{}',
    summary           TEXT NOT NULL DEFAULT '{}',
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    duration_s        REAL
);

CREATE TABLE codings (
    id           INTEGER PRIMARY KEY,
    segment_id   INTEGER REFERENCES segments (id),
    document_id  INTEGER NOT NULL REFERENCES documents (id),
    start        INTEGER NOT NULL,
    end          INTEGER NOT NULL,
    code         TEXT NOT NULL,
    codebook_id  INTEGER REFERENCES codebooks (id),
    score        REAL,
    evidence     TEXT NOT NULL DEFAULT '{}',
    coder        TEXT NOT NULL,              -- 'run:<id>' or a human coder's name
    run_id       TEXT REFERENCES runs (id),
    status       TEXT NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'accepted', 'rejected')),
    created_at   TEXT NOT NULL,
    CHECK (end >= start)
);
CREATE INDEX codings_run ON codings (run_id);
CREATE INDEX codings_segment ON codings (segment_id);
CREATE INDEX codings_coder ON codings (coder);

CREATE TABLE relevance (
    run_id      TEXT NOT NULL REFERENCES runs (id),
    segment_id  INTEGER NOT NULL REFERENCES segments (id),
    score       REAL NOT NULL,
    rank        INTEGER NOT NULL,
    PRIMARY KEY (run_id, segment_id)
);
