/*
 * templates.h — the mail templates, embedded at build time.
 *
 * The files internal/mailer/templates/<name>.tmpl are turned into a C
 * source (build/gen/mail_templates.c) by internal/mailer/embed.sh, so the
 * binary needs no template files at run time. Immutable; thread-safe.
 */
#ifndef REDLIGHT_INTERNAL_MAILER_TEMPLATES_H
#define REDLIGHT_INTERNAL_MAILER_TEMPLATES_H

#include <stddef.h>

struct rl_mail_template {
    const char *name;          /* file name without .tmpl */
    const unsigned char *text; /* NUL-terminated */
    size_t len;                /* without the NUL */
};

extern const struct rl_mail_template rl_mail_templates[];
extern const size_t rl_mail_ntemplates;

#endif
