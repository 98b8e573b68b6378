/*
 * metrics_access.c — who may read the metrics endpoints: the clients in
 * -metrics-allow (app->metrics_allow, built once before the server starts,
 * freed after it stops, read-only in between). Everyone else gets the 404
 * of an unknown path, so the endpoints cannot be discovered.
 */
#include <stddef.h>
#include <string.h>

#include "cmd/api/metrics.h"
#include "cmd/api/metrics_private.h"

enum rl_err
api_metrics_access_init(struct api_app *app)
{
    return rl_ipset_parse(app->cfg.metrics_allow, &app->metrics_allow, NULL,
                          NULL);
}

void
api_metrics_access_free(struct api_app *app)
{
    rl_ipset_free(app->metrics_allow);
    app->metrics_allow = NULL;
}

bool
api_metrics_hidden(struct api_app *app, struct api_req *req)
{
    static const char *const paths[] = {"/debug/vars", "/debug/vars/",
                                        "/metrics", "/metrics/"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (strlen(paths[i]) == req->path_len &&
            memcmp(req->path, paths[i], req->path_len) == 0) {
            return !rl_ipset_contains(app->metrics_allow, &req->client);
        }
    }
    return false;
}
