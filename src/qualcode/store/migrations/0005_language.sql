-- Detected languages (ISO 639-1; NULL = undetermined): a document's, and a segment's
-- own where it can differ from its document's (survey CSV rows, one segment per row).
ALTER TABLE documents ADD COLUMN language TEXT;
ALTER TABLE segments ADD COLUMN language TEXT;
-- Detected languages of other texts a step embeds (codebooks, research questions), by
-- text hash, so that a re-run does not load the detector again.
CREATE TABLE text_languages (
    text_hash  TEXT PRIMARY KEY,
    language   TEXT,            -- NULL: undetermined
    confidence REAL NOT NULL
) WITHOUT ROWID;
