DROP INDEX IF EXISTS movies_year_idx;
DROP INDEX IF EXISTS movies_genres_idx;
DROP INDEX IF EXISTS movies_title_idx;
