-- Detected languages (ISO 639-1; NULL = undetermined): a document's, and a segment's
-- own where it can differ from its document's (survey CSV rows, one segment per row).
ALTER TABLE documents ADD COLUMN language TEXT;
ALTER TABLE segments ADD COLUMN language TEXT;
