/*
 * test_migrate.c — unit tests for the pure part of internal/migrate (no
 * database): migration file names, pairing up/down files into a set and
 * refusing duplicates, finding versions, golang-migrate's advisory lock id
 * and the database name it derives from a DSN, error positions; and
 * rl_migrate_scan_dir on real directories under $TMPDIR.
 */
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal/migrate/migrate_int.h"

static void
filename_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        uint64_t version;
        bool up;
        const char *name;
    } ok[] = {
        {"1_init.up.sql", 1, true, "init"},
        {"000002_create_movies.down.sql", 2, false, "create_movies"},
        {"3_.up.sql", 3, true, ""}, /* the identifier may be empty */
        {"4_x.down.up.sql", 4, true, "x.down"},
        {"5_a_b.c.down.sql", 5, false, "a_b.c"},
        {"0000000000000000000000006_lead.up.sql", 6, true, "lead"},
        {"9223372036854775807_max.up.sql", INT64_MAX, true, "max"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t v = 0;
        bool up = !ok[i].up, overflow = true;
        size_t off = 0, len = 0;
        assert_true(rl_migrate_parse_filename(ok[i].file, &v, &up, &off, &len,
                                              &overflow));
        assert_false(overflow);
        assert_true(v == ok[i].version);
        assert_int_equal(up, ok[i].up);
        assert_int_equal(len, strlen(ok[i].name));
        assert_memory_equal(ok[i].file + off, ok[i].name, len);
    }
}

static void
filename_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",          "up.sql",           ".up.sql",     "_x.up.sql",
        "1.up.sql",  "1_x.UP.sql",       "1_x.up.SQL",  "1_x.up.sql.bak",
        "1_x.sql",   "a1_x.up.sql",      "-1_x.up.sql", "+1_x.up.sql",
        "1_up.sql",  "1x_y.up.sql",      " 1_x.up.sql", "1_x.upsql",
        "1_x.up.sq", "1_x.down.sql~",    "1_x.dn.sql",  "1 _x.up.sql",
        "README.md", "1_x.down.sql.txt",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 77;
        bool up, overflow = true;
        size_t off, len;
        assert_false(
            rl_migrate_parse_filename(bad[i], &v, &up, &off, &len, &overflow));
        assert_false(overflow); /* ignored, not an error */
    }
    /* A matching name whose version a bigint cannot hold is an error. */
    static const char *const huge[] = {
        "9223372036854775808_x.up.sql",
        "18446744073709551616_x.down.sql",
        "99999999999999999999999999_x.up.sql",
    };
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        uint64_t v;
        bool up, overflow = false;
        size_t off, len;
        assert_false(
            rl_migrate_parse_filename(huge[i], &v, &up, &off, &len, &overflow));
        assert_true(overflow);
    }
}

/* Adds dir/file to set as rl_migrate_scan_dir would. */
static enum rl_err
add(struct rl_migration_set *set, size_t *cap, const char *file, char *err,
    size_t errlen)
{
    uint64_t v;
    bool up, overflow;
    size_t off, len;
    assert_true(
        rl_migrate_parse_filename(file, &v, &up, &off, &len, &overflow));
    char path[256];
    snprintf(path, sizeof(path), "m/%s", file);
    char *p = strdup(path);
    assert_non_null(p);
    return rl_migrate_set_add(set, cap, v, up, file + off, len, p, err, errlen);
}

static void
set_pairs_up_and_down(void **state)
{
    (void)state;
    struct rl_migration_set set = {0};
    size_t cap = 0;
    char err[256] = "";
    /* Directory order is arbitrary: pairs form whatever the order. */
    static const char *const files[] = {
        "10_ten.down.sql",      "2_two.up.sql", "1_one.down.sql",
        "10_ten.up.sql",        "1_one.up.sql", "3_only_up.up.sql",
        "4_only_down.down.sql",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        assert_int_equal(add(&set, &cap, files[i], err, sizeof(err)), RL_OK);
    }
    rl_migrate_set_sort(&set);
    assert_int_equal(set.len, 5);
    static const uint64_t want[] = {1, 2, 3, 4, 10};
    for (size_t i = 0; i < set.len; i++) {
        assert_true(set.items[i].version == want[i]);
    }
    assert_string_equal(set.items[0].up_path, "m/1_one.up.sql");
    assert_string_equal(set.items[0].down_path, "m/1_one.down.sql");
    assert_string_equal(set.items[0].up_name, "one");
    assert_string_equal(set.items[0].down_name, "one");
    assert_null(set.items[1].down_path); /* 2: up only */
    assert_null(set.items[1].down_name);
    assert_string_equal(set.items[2].up_name, "only_up");
    assert_null(set.items[3].up_path); /* 4: down only */
    assert_string_equal(set.items[3].down_name, "only_down");
    assert_string_equal(set.items[4].down_path, "m/10_ten.down.sql");
    assert_string_equal(set.items[4].up_path, "m/10_ten.up.sql");
    rl_migrate_free_set(&set);
    assert_null(set.items);
    assert_int_equal(set.len, 0);
    rl_migrate_free_set(&set); /* twice, and NULL, are fine */
    rl_migrate_free_set(NULL);
}

static void
set_refuses_duplicate_version_and_direction(void **state)
{
    (void)state;
    struct rl_migration_set set = {0};
    size_t cap = 0;
    char err[256] = "";
    assert_int_equal(add(&set, &cap, "1_a.up.sql", err, sizeof(err)), RL_OK);
    assert_int_equal(add(&set, &cap, "1_a.down.sql", err, sizeof(err)), RL_OK);
    /* Same version and direction, other name or leading zeros: refused,
     * and the set keeps the first file. */
    assert_int_equal(add(&set, &cap, "001_b.up.sql", err, sizeof(err)),
                     RL_ERR_INVALID);
    assert_string_equal(err, "duplicate migration file: m/1_a.up.sql and "
                             "m/001_b.up.sql are both version 1 up");
    assert_int_equal(add(&set, &cap, "1_c.down.sql", err, sizeof(err)),
                     RL_ERR_INVALID);
    assert_string_equal(err, "duplicate migration file: m/1_a.down.sql and "
                             "m/1_c.down.sql are both version 1 down");
    assert_int_equal(set.len, 1);
    assert_string_equal(set.items[0].up_path, "m/1_a.up.sql");
    assert_string_equal(set.items[0].down_name, "a");
    rl_migrate_free_set(&set);
}

static void
set_grows_past_its_first_capacity(void **state)
{
    (void)state;
    struct rl_migration_set set = {0};
    size_t cap = 0;
    char err[64];
    for (int v = 100; v > 0; v--) {
        char file[32];
        snprintf(file, sizeof(file), "%d_m.up.sql", v);
        assert_int_equal(add(&set, &cap, file, err, sizeof(err)), RL_OK);
    }
    rl_migrate_set_sort(&set);
    assert_int_equal(set.len, 100);
    for (size_t i = 0; i < set.len; i++) {
        assert_true(set.items[i].version == i + 1);
        assert_int_equal(rl_migrate_set_find(&set, (int64_t)i + 1), (long)i);
    }
    assert_int_equal(rl_migrate_set_find(&set, 0), -1);
    assert_int_equal(rl_migrate_set_find(&set, 101), -1);
    assert_int_equal(rl_migrate_set_find(&set, RL_MIGRATE_NIL_VERSION), -1);
    assert_int_equal(rl_migrate_set_find(&set, INT64_MIN), -1);
    rl_migrate_free_set(&set);
    assert_int_equal(rl_migrate_set_find(&set, 1), -1); /* empty */
}

static void
lock_id_matches_golang_migrate(void **state)
{
    (void)state;
    /* golang-migrate v4 database/util_test.go */
    const char *s1[] = {"schema_name_1"};
    const char *s2[] = {"schema_name_2"};
    const char *s12[] = {"schema_name_1", "schema_name_2"};
    assert_int_equal(rl_migrate_lock_id("database_name", NULL, 0), 1764327054u);
    assert_int_equal(rl_migrate_lock_id("database_name", s1, 1), 2453313553u);
    assert_int_equal(rl_migrate_lock_id("database_name", s2, 1), 235207038u);
    assert_int_equal(rl_migrate_lock_id("database_name", s12, 2), 3743845847u);
}

static void
dsn_database_name(void **state)
{
    (void)state;
    static const struct {
        const char *dsn;
        const char *want; /* NULL: not a URL */
    } cases[] = {
        {"postgres://u:p@127.0.0.1:5432/greenlight?sslmode=disable",
         "/greenlight"},
        {"postgresql://h/db#frag", "/db"},
        {"POSTGRES://h/x", "/x"}, /* the scheme is case-insensitive */
        {"PostgreSQL://h/y", "/y"},
        {"postgres://h", ""}, /* no path: ask the server */
        {"postgres://h/", "/"},
        {"postgres://h?opt=/not/path", ""}, /* query before any '/' */
        {"postgres://h#/frag", ""},
        {"postgres://h/a%20b%2Fc", "/a b/c"}, /* percent-decoded */
        {"postgres://h/db/extra?x=1#y", "/db/extra"},
        {"postgres://[::1]:5432/v6", "/v6"},
        {"host=127.0.0.1 dbname=greenlight", NULL},
        {"dbname=postgres://h/x", NULL},
        {"postgres:/h/x", NULL},
        {"mysql://h/x", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool nomem = true;
        char *got = rl_migrate_dsn_dbname(cases[i].dsn, &nomem);
        assert_false(nomem);
        if (cases[i].want == NULL) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_string_equal(got, cases[i].want);
        }
        free(got);
    }
}

static void
lock_database_name(void **state)
{
    (void)state;
    static const struct {
        const char *dsn;
        const char *want;
    } cases[] = {
        {"postgres://h/greenlight", "/greenlight"},
        {"postgres://h", "current"}, /* golang-migrate asks the server */
        {"postgres://h?sslmode=disable", "current"},
        {"host=h dbname=greenlight", "/current"}, /* what its URL says */
        {"", "/current"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = rl_migrate_lock_dbname(cases[i].dsn, "current");
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

static void
line_and_column(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        long pos, line, col;
    } cases[] = {
        {"SELECT 1;", 1, 1, 1},
        {"SELECT 1;", 8, 1, 8},
        {"ab\ncd", 3, 1, 3}, /* the newline itself */
        {"ab\ncd", 4, 2, 1},
        {"ab\ncd", 5, 2, 2},
        {"\n\n\nx", 4, 4, 1},
        {"é\nxé y", 3, 2, 1}, /* positions count characters, not bytes */
        {"é\nxé y", 6, 2, 4},
        {"ab", 99, 1, 3}, /* past the end: just after the text */
        {"", 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long line = 0, col = 0;
        rl_migrate_line_col(cases[i].text, cases[i].pos, &line, &col);
        assert_int_equal(line, cases[i].line);
        assert_int_equal(col, cases[i].col);
    }
}

/* ---- rl_migrate_scan_dir on real directories ------------------------------
 */

static void
touch(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
remove_tree(const char *dir)
{
    assert_int_equal(nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static char *
make_dir(char *tmpl, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpl, len, "%s/test_migrate.XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return d;
}

static void
scan_dir_reads_a_directory(void **state)
{
    (void)state;
    char tmpl[PATH_MAX];
    char *dir = make_dir(tmpl, sizeof(tmpl));
    touch(dir, "2_b.up.sql");
    touch(dir, "1_a.down.sql");
    touch(dir, "1_a.up.sql");
    touch(dir, "README.md");
    touch(dir, "3_c.up.sql.orig");
    char sub[PATH_MAX + 32], link[PATH_MAX + 32];
    snprintf(sub, sizeof(sub), "%s/4_dir.up.sql", dir);
    assert_int_equal(mkdir(sub, 0700), 0); /* a directory is not a file */
    snprintf(link, sizeof(link), "%s/5_dangling.up.sql", dir);
    assert_int_equal(symlink("nowhere", link), 0);

    struct rl_migration_set set;
    char err[512] = "";
    assert_int_equal(rl_migrate_scan_dir(dir, &set, err, sizeof(err)), RL_OK);
    assert_int_equal(set.len, 2);
    assert_true(set.items[0].version == 1 && set.items[1].version == 2);
    assert_non_null(set.items[0].up_path);
    assert_non_null(set.items[0].down_path);
    assert_null(set.items[1].down_path);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof(want), "%s/2_b.up.sql", dir);
    assert_string_equal(set.items[1].up_path, want);
    rl_migrate_free_set(&set);

    /* The same version and direction twice is an error, not a choice. */
    touch(dir, "02_other.up.sql");
    assert_int_equal(rl_migrate_scan_dir(dir, &set, err, sizeof(err)),
                     RL_ERR_INVALID);
    assert_non_null(strstr(err, "duplicate migration file: "));
    assert_non_null(strstr(err, " are both version 2 up"));
    rl_migrate_free_set(&set);
    remove_tree(dir);
}

static void
scan_dir_errors(void **state)
{
    (void)state;
    char tmpl[PATH_MAX];
    char *dir = make_dir(tmpl, sizeof(tmpl));
    struct rl_migration_set set;
    char err[512] = "";

    assert_int_equal(rl_migrate_scan_dir(dir, &set, err, sizeof(err)), RL_OK);
    assert_int_equal(set.len, 0); /* empty is fine here; up says why */
    rl_migrate_free_set(&set);

    touch(dir, "9223372036854775808_big.up.sql");
    assert_int_equal(rl_migrate_scan_dir(dir, &set, err, sizeof(err)),
                     RL_ERR_INVALID);
    char want[PATH_MAX + 96];
    snprintf(want, sizeof(want),
             "migration file %s/9223372036854775808_big.up.sql: version does "
             "not fit in a bigint",
             dir);
    assert_string_equal(err, want);
    rl_migrate_free_set(&set);
    remove_tree(dir);

    assert_int_equal(rl_migrate_scan_dir(dir, &set, err, sizeof(err)),
                     RL_ERR_IO);
    snprintf(want, sizeof(want),
             "cannot open migrations directory %s: No such file or directory",
             dir);
    assert_string_equal(err, want);
    assert_int_equal(set.len, 0);
    rl_migrate_free_set(&set);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(filename_accepted),
        cmocka_unit_test(filename_refused),
        cmocka_unit_test(set_pairs_up_and_down),
        cmocka_unit_test(set_refuses_duplicate_version_and_direction),
        cmocka_unit_test(set_grows_past_its_first_capacity),
        cmocka_unit_test(lock_id_matches_golang_migrate),
        cmocka_unit_test(dsn_database_name),
        cmocka_unit_test(lock_database_name),
        cmocka_unit_test(line_and_column),
        cmocka_unit_test(scan_dir_reads_a_directory),
        cmocka_unit_test(scan_dir_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
