-- A password reset ends the user's JWTs (CONTRACT §12 #6, §13.2): a JWT
-- whose iat is before floor(epoch of sessions_valid_after) is refused.
-- Full precision on purpose: timestamp(0) would round a reset at x.7 s up to
-- x+1 s and refuse a JWT issued just after it, in second x.
-- '-infinity' (never reset) keeps every existing session valid and, being a
-- constant default, adds the column without rewriting the table.
-- 'infinity' would end every session for good; the check keeps it out.
ALTER TABLE users ADD COLUMN IF NOT EXISTS sessions_valid_after
    timestamp with time zone NOT NULL DEFAULT '-infinity'
    CONSTRAINT users_sessions_valid_after_finite
        CHECK (sessions_valid_after < 'infinity');
