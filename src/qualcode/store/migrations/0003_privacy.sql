-- Privacy: classification approvals, the outbound audit trail, de-identification
-- mappings and offset maps. Append-only: add a new file to change.

-- Every change of the data classification, with who approved it and why. The latest row
-- is the classification in force (it must agree with qualcode.toml for external calls).
CREATE TABLE privacy_approvals (
    id              INTEGER PRIMARY KEY,
    classification  TEXT NOT NULL CHECK (classification IN ('confidential', 'deidentified', 'public')),
    previous        TEXT,
    approval        TEXT NOT NULL DEFAULT '',
    recorded_by     TEXT,
    documents       TEXT NOT NULL DEFAULT '[]',   -- content hashes of the current documents when approved (JSON)
    created_at      TEXT NOT NULL
);

-- One row per batch of texts sent to a backend: where, when, under which classification.
CREATE TABLE privacy_outbound (
    id              INTEGER PRIMARY KEY,
    step            TEXT NOT NULL,
    run_id          TEXT,
    backend         TEXT,
    model           TEXT,
    endpoint        TEXT,
    locality        TEXT NOT NULL CHECK (locality IN ('local', 'external')),
    classification  TEXT NOT NULL,
    approval_id     INTEGER REFERENCES privacy_approvals (id),
    n_segments      INTEGER NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX privacy_outbound_time ON privacy_outbound (created_at);

CREATE TABLE privacy_outbound_segments (
    outbound_id   INTEGER NOT NULL REFERENCES privacy_outbound (id),
    segment_hash  TEXT NOT NULL,
    PRIMARY KEY (outbound_id, segment_hash)
) WITHOUT ROWID;
CREATE INDEX privacy_outbound_segments_hash ON privacy_outbound_segments (segment_hash);

-- The pseudonym mapping (original value -> pseudonym), JSON or an encrypted envelope.
CREATE TABLE deid_mappings (
    id          INTEGER PRIMARY KEY,
    encrypted   INTEGER NOT NULL DEFAULT 0,
    payload     BLOB NOT NULL,
    n_entities  INTEGER NOT NULL DEFAULT 0,
    names_hash  TEXT,
    run_id      TEXT,
    created_at  TEXT NOT NULL
);

-- A de-identified document version and the version it was made from.
CREATE TABLE deid_documents (
    document_id           INTEGER PRIMARY KEY REFERENCES documents (id),
    original_document_id  INTEGER NOT NULL REFERENCES documents (id),
    mapping_id            INTEGER REFERENCES deid_mappings (id),
    run_id                TEXT,
    n_replacements        INTEGER NOT NULL DEFAULT 0,
    created_at            TEXT NOT NULL
);
CREATE INDEX deid_documents_original ON deid_documents (original_document_id);

-- The offset map: each replaced span in the original and in the de-identified text.
-- Original values are not kept here (they are in the original version and the mapping).
CREATE TABLE deid_replacements (
    document_id  INTEGER NOT NULL REFERENCES documents (id),
    ordinal      INTEGER NOT NULL,
    orig_start   INTEGER NOT NULL,
    orig_end     INTEGER NOT NULL,
    new_start    INTEGER NOT NULL,
    new_end      INTEGER NOT NULL,
    type         TEXT NOT NULL,
    pseudonym    TEXT NOT NULL,
    source       TEXT NOT NULL,
    PRIMARY KEY (document_id, ordinal)
) WITHOUT ROWID;
