DROP TRIGGER IF EXISTS users_permissions_auth_notify_truncate ON users_permissions;
DROP TRIGGER IF EXISTS users_auth_notify_truncate ON users;
DROP TRIGGER IF EXISTS tokens_auth_notify_truncate ON tokens;
DROP TRIGGER IF EXISTS users_permissions_auth_notify ON users_permissions;
DROP TRIGGER IF EXISTS users_auth_notify ON users;
DROP TRIGGER IF EXISTS tokens_auth_notify ON tokens;
DROP FUNCTION IF EXISTS redlight_auth_notify();
