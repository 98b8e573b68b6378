-- Mirror the API's validation rules so that no other writer can store what
-- the API would refuse. The upper bound on year is checked by the API (it
-- moves with the calendar); the database only refuses the absurd.
ALTER TABLE movies ADD CONSTRAINT movies_title_check
    CHECK (octet_length(title) BETWEEN 1 AND 500);
ALTER TABLE movies ADD CONSTRAINT movies_runtime_check CHECK (runtime > 0);
ALTER TABLE movies ADD CONSTRAINT movies_year_check
    CHECK (year BETWEEN 1888 AND 2200);
ALTER TABLE movies ADD CONSTRAINT genres_length_check
    CHECK (array_length(genres, 1) BETWEEN 1 AND 5);
ALTER TABLE movies ADD CONSTRAINT movies_version_check CHECK (version >= 1);
