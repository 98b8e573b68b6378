/*
 * statements.c — the statement table. Immutable, shared by all threads.
 */
#include "internal/data/statements.h"

const struct rl_stmt_def rl_stmts[RL_STMT_COUNT_] = {
    [RL_STMT_PING] = {"ping", "SELECT 1", 0, true, RL_STMT_PING},
    [RL_STMT_MOVIE_INSERT] =
        {"movie_insert",
         "INSERT INTO movies (title, year, runtime, genres) "
         "VALUES ($1, $2, $3, $4) RETURNING id, version",
         4, false, RL_STMT_MOVIE_INSERT},
    [RL_STMT_MOVIE_GET] = {"movie_get",
                           "SELECT id, title, year, runtime, genres, version "
                           "FROM movies WHERE id = $1",
                           1, true, RL_STMT_MOVIE_GET},
    [RL_STMT_MOVIE_UPDATE] =
        {"movie_update",
         "UPDATE movies SET title = $3, year = $4, runtime = $5, genres = $6, "
         "version = version + 1 WHERE id = $1 AND version = $2 "
         "RETURNING version",
         6, false, RL_STMT_MOVIE_UPDATE},
    [RL_STMT_MOVIE_DELETE] = {"movie_delete",
                              "DELETE FROM movies WHERE id = $1", 1, false,
                              RL_STMT_MOVIE_DELETE},
    [RL_STMT_MOVIE_DELETE_VERSION] =
        {"movie_delete_version",
         "DELETE FROM movies WHERE id = $1 AND version = $2", 2, false,
         RL_STMT_MOVIE_DELETE_VERSION},
};
