-- Review workbench (`qualcode review`): every decision a reviewer takes, and memos.
-- Append-only: add a new file to change.

-- One row per decision. The reviewer's codes themselves are ordinary human codings
-- (codings.coder = the reviewer, run_id NULL, status 'accepted'); this table records
-- which AI coding was decided, how, and the segments the reviewer looked at (so that a
-- segment reviewed with no code counts as "no code applies" in agreement). Undo sets
-- undone_at (the row stays, as history) and removes the human coding it had made.
CREATE TABLE review_decisions (
    id               INTEGER PRIMARY KEY,
    coder            TEXT NOT NULL,
    source_run       TEXT REFERENCES runs (id),        -- the run under review
    segment_id       INTEGER NOT NULL REFERENCES segments (id),
    coding_id        INTEGER REFERENCES codings (id),  -- the AI coding decided (NULL: add, none)
    action           TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'change', 'add', 'none')),
    code             TEXT,                             -- the code the reviewer applied (NULL: reject, none)
    start            INTEGER,
    end              INTEGER,
    human_coding_id  INTEGER REFERENCES codings (id),  -- the human coding made (NULL once undone)
    prev_status      TEXT,                             -- the AI coding's status before (for undo)
    blind            INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    undone_at        TEXT
);
CREATE INDEX review_decisions_coder ON review_decisions (coder, undone_at);
CREATE INDEX review_decisions_segment ON review_decisions (segment_id);
CREATE INDEX review_decisions_coding ON review_decisions (coding_id);

-- Memos on codes, segments or documents, by a named author.
CREATE TABLE memos (
    id           INTEGER PRIMARY KEY,
    target       TEXT NOT NULL CHECK (target IN ('code', 'segment', 'document')),
    code         TEXT,
    segment_id   INTEGER REFERENCES segments (id),
    document_id  INTEGER REFERENCES documents (id),
    author       TEXT NOT NULL,
    text         TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX memos_target ON memos (target, code, segment_id);
