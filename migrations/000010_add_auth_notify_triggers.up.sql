-- Every change that can end or narrow a user's authentication notifies
-- channel redlight_auth with the user's id, so each API process drops what
-- its authentication cache holds for that user (README "Authentication
-- cache"). pg_notify is delivered at commit and deduplicated within the
-- transaction; a rolled-back change notifies nobody. TRUNCATE has no rows:
-- it notifies '*', which empties every cache.
CREATE OR REPLACE FUNCTION redlight_auth_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('redlight_auth', '*');
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('redlight_auth', OLD.id::text);
    ELSE
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('redlight_auth', OLD.user_id::text);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('redlight_auth', NEW.user_id::text);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- Logout, a password reset's deletion of tokens, a user's deletion (cascade).
CREATE TRIGGER tokens_auth_notify AFTER DELETE OR UPDATE ON tokens
    FOR EACH ROW EXECUTE FUNCTION redlight_auth_notify();
-- Activation, a password reset (sessions_valid_after), deletion.
CREATE TRIGGER users_auth_notify AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION redlight_auth_notify();
-- Grant and revoke (`api users grant|revoke`, SQL).
CREATE TRIGGER users_permissions_auth_notify
    AFTER INSERT OR UPDATE OR DELETE ON users_permissions
    FOR EACH ROW EXECUTE FUNCTION redlight_auth_notify();
CREATE TRIGGER tokens_auth_notify_truncate AFTER TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION redlight_auth_notify();
CREATE TRIGGER users_auth_notify_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION redlight_auth_notify();
CREATE TRIGGER users_permissions_auth_notify_truncate
    AFTER TRUNCATE ON users_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION redlight_auth_notify();
