CREATE INDEX IF NOT EXISTS movies_year_idx ON movies (year);
DROP INDEX IF EXISTS movies_runtime_desc_id_idx;
DROP INDEX IF EXISTS movies_runtime_id_idx;
DROP INDEX IF EXISTS movies_year_desc_id_idx;
DROP INDEX IF EXISTS movies_year_id_idx;
DROP INDEX IF EXISTS movies_title_desc_id_idx;
DROP INDEX IF EXISTS movies_title_id_idx;
DROP INDEX IF EXISTS movies_title_trgm_idx;
DROP EXTENSION IF EXISTS pg_trgm;
