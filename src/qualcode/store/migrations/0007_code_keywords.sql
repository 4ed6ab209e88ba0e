-- Keyword codebooks (issue 12 item 6): a code's `keywords:` list (words, phrases,
-- /regex/), as a JSON array. Append-only: add a new file to change.

ALTER TABLE codes ADD COLUMN keywords TEXT NOT NULL DEFAULT '[]';
