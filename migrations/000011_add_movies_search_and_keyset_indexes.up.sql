-- Search (?q=) and keyset pagination (?cursor=) for GET /v1/movies.
--
-- pg_trgm is a trusted extension (PostgreSQL 13+), so the database owner
-- that runs the migrations may create it, as with citext.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- q: titles similar to the text (typos), through word_similarity's <%.
CREATE INDEX IF NOT EXISTS movies_title_trgm_idx
    ON movies USING GIN (title gin_trgm_ops);

-- Keyset pagination: one btree per sort, in the sort's exact order (ties by
-- id ascending), so a page starts at the cursor's row without an OFFSET.
-- Descending year and runtime are indexed as ascending negated values: the
-- cursor's condition is then one row comparison, ((-year), id) > (...).
CREATE INDEX IF NOT EXISTS movies_title_id_idx ON movies (title, id);
CREATE INDEX IF NOT EXISTS movies_title_desc_id_idx ON movies (title DESC, id);
CREATE INDEX IF NOT EXISTS movies_year_id_idx ON movies (year, id);
CREATE INDEX IF NOT EXISTS movies_year_desc_id_idx ON movies ((-year), id);
CREATE INDEX IF NOT EXISTS movies_runtime_id_idx ON movies (runtime, id);
CREATE INDEX IF NOT EXISTS movies_runtime_desc_id_idx
    ON movies ((-runtime), id);

-- (year, id) serves the year filter as well as (year) did.
DROP INDEX IF EXISTS movies_year_idx;
