# Redlight — build, run, test, benchmark.
#
#   make run    install what is missing, build, start the private PostgreSQL
#               cluster under var/, migrate, seed demo data, create the demo
#               user, serve on :4000 (make run PORT=4100 ARGS='-env staging')
#   make test   the same set-up on a throw-away cluster, then every test
#               (C unit tests and black-box HTTP tests, under ASan + UBSan)
#
# Objects go to build/<variant>/ with -MMD -MP; binaries go to bin/.

SHELL := /bin/bash
.DEFAULT_GOAL := build

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Debian 12 packages, by purpose.  `make deps` installs the missing ones.
DEPS_BUILD := gcc make pkg-config git libmicrohttpd-dev libpq-dev \
	libjansson-dev libsodium-dev libcurl4-openssl-dev libhiredis-dev
DEPS_RUN   := postgresql postgresql-contrib curl ca-certificates procps jq
# make deb: dpkg-buildpackage with debhelper, the man page, lintian.
DEPS_DEB   := build-essential dpkg-dev debhelper help2man lintian
# chromium (about 120 MB) runs the browser CORS test, tests/test_cors_browser.py.
DEPS_TEST  := libcmocka-dev python3 python3-pytest python3-requests \
	python3-aiosmtpd python3-jsonschema systemd caddy dpkg-dev chromium \
	prometheus redis-server $(DEPS_DEB) debootstrap
# nodejs runs Prism for tests/test_openapi_prism.py (tests/tools/npm-tool.sh).
DEPS_TEST  += nodejs
# npm comes with NodeSource's nodejs (and conflicts with Debian's npm there);
# with Debian's nodejs it is a package of its own.
DEPS_TEST  += $(if $(shell command -v npm 2>/dev/null),,npm)
# redis-server: the Redis limiter comparison (tests/bench/limiter.sh);
# wamerican: the word list of make bench/scale's titles.
DEPS_BENCH := wrk nginx-light redis-server wamerican
# make fleet, tests/test_fleet.py and make bench/fleet: Caddy in front of
# several nodes sharing one rate limit in Redis.
DEPS_FLEET := caddy redis-server
DEPS_TEST  += $(filter-out $(DEPS_TEST),$(DEPS_FLEET))
# PgBouncer in transaction mode: tests/test_pgbouncer.py, make test's second
# pass of the movies/auth/users tests, make bench's get_by_id_pgbouncer.
DEPS_TEST  += pgbouncer
DEPS_BENCH += pgbouncer

# 1.0.0+git<commits>.<hash>[.dirty]: always increases (remote/deb/version.sh).
VERSION := $(shell remote/deb/version.sh)
$(if $(VERSION),,$(error remote/deb/version.sh printed no version))
# Where `migrate` looks when REDLIGHT_MIGRATIONS_DIR is unset; the package
# build sets /usr/share/redlight/migrations.
MIGRATIONS_DIR ?= migrations
PKGS    := libmicrohttpd libpq jansson libsodium libcurl hiredis
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wundef -fno-common
BASE_CFLAGS = -std=c17 $(WARN) -D_GNU_SOURCE -I. $(PKG_CFLAGS) -MMD -MP \
	-DRL_VERSION='"$(VERSION)"' -DRL_MIGRATIONS_DIR='"$(MIGRATIONS_DIR)"'
REL_CFLAGS  := -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
REL_LDFLAGS := -pie -Wl,-z,relro,-z,now
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
SAN_CFLAGS  := -O1 -g $(SAN_FLAGS)
LDLIBS = $(PKG_LIBS) -lpthread -lm

# Mail templates are embedded at build time (internal/mailer/templates.h):
# embed.sh turns them into a C source under build/, compiled like the rest.
MAIL_TMPL    := $(sort $(wildcard internal/mailer/templates/*.tmpl))
GEN_SRC      := build/gen/mail_templates.c
INTERNAL_SRC := $(sort $(wildcard internal/*/*.c)) $(GEN_SRC)
# The OpenAPI document is embedded the same way (cmd/api/embed.sh).
OPENAPI_GEN  := build/gen/openapi_json.c
API_SRC      := $(sort $(wildcard cmd/api/*.c)) $(OPENAPI_GEN)
UNIT_SRC     := $(sort $(wildcard tests/unit/test_*.c))

REL_INTERNAL_OBJ := $(INTERNAL_SRC:%.c=build/rel/%.o)
REL_API_OBJ      := $(API_SRC:%.c=build/rel/%.o)
SAN_INTERNAL_OBJ := $(INTERNAL_SRC:%.c=build/san/%.o)
SAN_API_OBJ      := $(API_SRC:%.c=build/san/%.o)
UNIT_BIN         := $(UNIT_SRC:tests/unit/%.c=bin/tests/%)

# The version string and the migrations directory are baked into the
# objects; rebuild them whenever either changes.
build/version.stamp: FORCE
	@mkdir -p build
	@echo '$(VERSION) $(MIGRATIONS_DIR)' | cmp -s - $@ || \
		echo '$(VERSION) $(MIGRATIONS_DIR)' > $@

build/rel/%.o: %.c build/version.stamp
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(REL_CFLAGS) -c $< -o $@

build/san/%.o: %.c build/version.stamp
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) -c $< -o $@

$(GEN_SRC): $(MAIL_TMPL) internal/mailer/embed.sh
	internal/mailer/embed.sh $@ $(MAIL_TMPL)

# The committed document says "version": "0.0.0-source"; the one served (and
# linted) carries the build's $(VERSION), as bin/api -version prints it.
OPENAPI_DOC  := build/gen/openapi.json
$(OPENAPI_DOC): cmd/api/openapi.json build/version.stamp
	@mkdir -p $(dir $@)
	@test "$$(grep -c '"version": "0.0.0-source"' $<)" = 1 || \
		{ echo '$<: needs exactly one "version": "0.0.0-source" (info.version)'; exit 1; }
	sed 's|"version": "0\.0\.0-source"|"version": "$(VERSION)"|' $< > $@.tmp
	mv $@.tmp $@

$(OPENAPI_GEN): $(OPENAPI_DOC) cmd/api/embed.sh
	cmd/api/embed.sh $@ api_openapi_json $(OPENAPI_DOC)

## build: compile the release binary bin/api
.PHONY: build
build: bin/api

bin/api: $(REL_API_OBJ) $(REL_INTERNAL_OBJ)
	@mkdir -p bin
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(LDLIBS)

## build/sanitize: the ASan + UBSan binary used by the tests
.PHONY: build/sanitize
build/sanitize: bin/api-sanitize

bin/api-sanitize: $(SAN_API_OBJ) $(SAN_INTERNAL_OBJ)
	@mkdir -p bin
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

bin/tests/%: build/san/tests/unit/%.o $(SAN_INTERNAL_OBJ)
	@mkdir -p bin/tests
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The reply helpers of cmd/api, tested with an exhausted request arena.
bin/tests/test_reply: build/san/cmd/api/reply.o build/san/cmd/api/helpers.o \
	build/san/cmd/api/errors.o
# Connection deadlines and work queues of cmd/api (no socket, no MHD).
bin/tests/test_edge: build/san/cmd/api/conns.o build/san/cmd/api/workq.o \
	build/san/cmd/api/httpsyntax.o build/san/cmd/api/body.o
# The subcommands' flag parser (flags after positional arguments).
bin/tests/test_cli_args: build/san/cmd/api/cli_args.o
# Flags and REDLIGHT_* variables of cmd/api (config.c).
bin/tests/test_config: build/san/cmd/api/config.o \
	build/san/cmd/api/config_redact.o build/san/cmd/api/config_lists.o
# The request accessors and head checks over the fake source (fakereq.c).
bin/tests/test_request: build/san/cmd/api/request.o \
	build/san/cmd/api/headcheck.o build/san/cmd/api/httpsyntax.o \
	build/san/cmd/api/errors.o build/san/cmd/api/helpers.o build/san/cmd/api/reply.o \
	build/san/tests/unit/fakereq.o
# The router and the handlers' checks before the database (fakereq.c).
bin/tests/test_routes: build/san/tests/unit/fakereq.o \
	$(filter-out build/san/cmd/api/main.o build/san/cmd/api/server.o,$(SAN_API_OBJ))

## unit: build and run the C unit tests (sanitized)
.PHONY: unit
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

## bench-bin: the bare libmicrohttpd ceiling program used by make bench
bin/bench-bare: tests/bench/bare_mhd.c
	@mkdir -p bin
	$(CC) -std=c17 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror $(PKG_CFLAGS) -o $@ $< $(LDLIBS)

# The rate limiter at a million clients (release objects, no database).
bin/bench-ratelimit: build/rel/tests/bench/ratelimit_bench.o \
		build/rel/internal/ratelimit/ratelimit.o
	@mkdir -p bin
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(LDLIBS)

## bench/ratelimit: VmRSS and ns/call of the rate limiter at 1M clients
.PHONY: bench/ratelimit
bench/ratelimit: bin/bench-ratelimit
	bin/bench-ratelimit

## deps: install the missing Debian packages needed to build, run and test
.PHONY: deps deps/bench
deps:
	@tests/tools/deps.sh $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_TEST)
deps/bench:
	@tests/tools/deps.sh $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_BENCH)
deps/run:
	@tests/tools/deps.sh $(DEPS_BUILD) $(DEPS_RUN)

# The private development cluster: var/pgdata, port 54320, role/db redlight.
DEV_PGPORT ?= 54320
export REDLIGHT_DB_DSN ?= postgres://redlight:redlight@127.0.0.1:$(DEV_PGPORT)/redlight?sslmode=disable

## db/start: create (once) and start the private PostgreSQL cluster in var/
.PHONY: db/start db/stop db/psql db/setup
db/start:
	@tests/tools/pgcluster.sh start var/pgdata $(DEV_PGPORT)
## db/stop: stop the private cluster
db/stop:
	@tests/tools/pgcluster.sh stop var/pgdata $(DEV_PGPORT)
## db/dsn: print the private cluster's DSN (export REDLIGHT_DB_DSN=$(make -s db/dsn))
.PHONY: db/dsn
db/dsn:
	@echo '$(REDLIGHT_DB_DSN)'
## db/psql: open psql on the private cluster
db/psql:
	psql '$(REDLIGHT_DB_DSN)'
## db/setup: migrate up and load the demo movies (idempotent)
db/setup: bin/api
	bin/api migrate up
	psql -q -v ON_ERROR_STOP=1 '$(REDLIGHT_DB_DSN)' -f tests/fixtures/demo_movies.sql

## db/demo-user: create (once) the activated demo user demo@redlight.local / pa55word
.PHONY: db/demo-user
db/demo-user: bin/api
	@PORT='$(PORT)' tests/tools/demo-user.sh bin/api

## db/migrations/new name=NAME: create the next numbered migration pair
.PHONY: db/migrations/new db/migrations/up
db/migrations/new:
	@test -n "$(name)" || { echo 'usage: make db/migrations/new name=NAME'; exit 2; }
	@n=$$(ls migrations | sed -n 's/^\([0-9]\{6\}\)_.*/\1/p' | sort -n | tail -1); \
	n=$$(printf '%06d' $$((10#$${n:-0} + 1))); \
	touch migrations/$${n}_$(name).up.sql migrations/$${n}_$(name).down.sql; \
	echo "created migrations/$${n}_$(name).up.sql and .down.sql"
db/migrations/up: bin/api
	bin/api migrate up

# make run's port and extra server flags: make run PORT=4100 ARGS='-env staging'
PORT ?= 4000
ARGS ?=
# Development only: a limiter a person pasting the README's commands does not
# hit (the server's defaults, -limiter-rps 2 -limiter-burst 4, stay the
# contract's); ARGS come after, so ARGS='-limiter-burst 4' wins.
DEV_RUN_FLAGS := -limiter-rps 50 -limiter-burst 100

## run [PORT=4000] [ARGS=...]: install, build, start the private cluster, migrate, seed, create the demo user, serve
.PHONY: run
run: deps/run
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory db/start db/setup db/demo-user
	exec bin/api -db-dsn '$(REDLIGHT_DB_DSN)' -port '$(PORT)' $(DEV_RUN_FLAGS) $(ARGS)

## fleet [PORT=4000] [ARGS=...]: make run's database, Redis, three nodes on PORT+1..PORT+3 and Caddy on PORT (README Fleet); Ctrl-C stops them
.PHONY: fleet
fleet: deps/run
	@tests/tools/deps.sh $(DEPS_FLEET)
	@$(MAKE) --no-print-directory build
	@started=0; tests/tools/pgcluster.sh status var/pgdata '$(DEV_PGPORT)' >/dev/null 2>&1 || started=1; \
	$(MAKE) --no-print-directory db/start db/setup db/demo-user && \
	DEV_PGPORT='$(DEV_PGPORT)' FLEET_STARTED_DB=$$started ARGS='$(ARGS)' \
		exec tests/tools/fleet.sh '$(PORT)'

## test: everything, on a throw-away cluster, sanitized
.PHONY: test
test: deps
	@$(MAKE) --no-print-directory build bin/api-sanitize $(UNIT_BIN)
	@# Prism (tests/test_openapi_prism.py) from the npm registry, before the
	@# clock of any test starts: the first install takes a minute. Where it
	@# fails, that test fails and says why; the others run.
	@tests/tools/npm-tool.sh prism --version >/dev/null || \
		echo 'make test: could not install Prism from the npm registry (tests/tools/npm-tool.sh prism)'
	tests/tools/run-tests.sh

## fuzz/http SECONDS=N [SEED=S CASES=C]: the HTTP fuzzer for N s (default 300) on a throw-away cluster; findings in build/fuzz-http/
.PHONY: fuzz/http
fuzz/http: deps
	@$(MAKE) --no-print-directory build bin/api-sanitize
	REDLIGHT_FUZZ_ONLY=1 REDLIGHT_FUZZ_SECONDS='$(or $(SECONDS),300)' \
		REDLIGHT_FUZZ_CASES='$(or $(CASES),1000000000)' \
		REDLIGHT_FUZZ_SEED='$(or $(SEED),$(shell od -An -N3 -tu4 /dev/urandom | tr -d " "))' \
		REDLIGHT_FUZZ_FINDINGS='$(CURDIR)/build/fuzz-http/$(shell date +%Y%m%d-%H%M%S)' \
		tests/tools/run-tests.sh

## bench: release build against nginx and a bare libmicrohttpd program
.PHONY: bench
bench: deps/bench
	@$(MAKE) --no-print-directory build bin/bench-bare
	tests/bench/run.sh

## bench/fleet: 1 node direct vs 1 and 3 nodes behind Caddy (+ the Redis limiter), healthcheck and GET by id, ratios in one run
.PHONY: bench/fleet
bench/fleet: deps/bench
	@tests/tools/deps.sh $(DEPS_FLEET)
	@$(MAKE) --no-print-directory build
	python3 tests/bench/fleet.py

## bench/scale: GET /v1/movies scenarios on 1,000,000 movies beside the same SQL in pgbench (median, p99, ratio)
.PHONY: bench/scale
bench/scale: deps/bench
	@$(MAKE) --no-print-directory build
	/usr/bin/python3 tests/bench/scale.py

## bench/compare: make bench with the build of BASE=<commit> beside this one
# BASE is built from `git archive` under var/bench/base-<commit>/ (kept for
# the next run); each bin/api scenario then runs against both, back to back
# in every round, and the report adds this build over the base.
.PHONY: bench/compare
bench/compare: deps/bench
	@test -n '$(BASE)' || { echo 'usage: make bench/compare BASE=<commit>' >&2; exit 2; }
	@$(MAKE) --no-print-directory build bin/bench-bare
	@set -e; rev=$$(git rev-parse --verify -q '$(BASE)^{commit}') || \
		{ echo "bench/compare: $(BASE) is not a commit" >&2; exit 2; }; \
	dir=var/bench/base-$$rev; \
	if [ ! -x $$dir/bin/api ]; then \
		rm -rf $$dir; mkdir -p $$dir; \
		git archive $$rev | tar -x -C $$dir; \
		$(MAKE) --no-print-directory -C $$dir build VERSION=base-$$(git rev-parse --short $$rev) >$$dir.build.log 2>&1 || \
			{ echo "bench/compare: building $(BASE) failed, see $$dir.build.log" >&2; exit 1; }; \
	fi; \
	BENCH_BASE_BIN=$(CURDIR)/$$dir/bin/api BENCH_BASE_LABEL="$(BASE) ($$(git rev-parse --short $$rev))" \
		tests/bench/run.sh

# --- audit -------------------------------------------------------------------
# Static checks with zero findings allowed, over every C file of cmd/api,
# internal/* and tests/unit: clang-format, cppcheck, clang-tidy with
# .clang-tidy, a gcc -fanalyzer build; shellcheck on every script; the
# banned-calls grep of STYLE.md; the OpenAPI document through Redocly's
# linter (recommended-strict).
DEPS_AUDIT := clang-format clang-tidy cppcheck shellcheck gcc
# Node.js runs the pinned OpenAPI linter (tests/tools/npm-tool.sh redocly).
# Not "npm": the machine's nodejs package brings npm and conflicts with
# Debian's; npm-tool.sh installs Debian's npm where nodejs lacks it.
DEPS_AUDIT += nodejs
AUDIT_DIRS := cmd/api $(sort $(dir $(wildcard internal/*/*.c)))
AUDIT_C    := $(sort $(foreach d,$(AUDIT_DIRS),$(wildcard $(d)/*.c)))
AUDIT_H    := $(sort $(foreach d,$(AUDIT_DIRS),$(wildcard $(d)/*.h)))
AUDIT_UNIT := $(wildcard tests/unit/*.c)
AUDIT_SH    = $(shell find . -path ./build -prune -o -path ./var -prune -o \
	-name '*.sh' -print) .ci/run
# Calls STYLE.md bans; _r variants (gmtime_r, localtime_r, rand_r ...) and
# snprintf are words of their own, so -w leaves them alone.
# No dependency files from the checks (-o /dev/null would write /dev/null.d).
AUDIT_CFLAGS = $(filter-out -MMD -MP,$(BASE_CFLAGS))
BANNED := atoi atol sprintf strcpy strcat strtok gmtime localtime rand

## audit: static checks (clang-format, cppcheck, clang-tidy, shellcheck, -fanalyzer, banned calls, redocly lint)
.PHONY: audit deps/audit
deps/audit:
	@tests/tools/deps.sh $(DEPS_BUILD) $(DEPS_AUDIT)
audit: deps/audit $(GEN_SRC) $(OPENAPI_GEN) $(OPENAPI_DOC)
	@echo '== clang-format'
	clang-format --dry-run -Werror $(AUDIT_C) $(AUDIT_H) $(AUDIT_UNIT)
	@echo '== cppcheck'
	cppcheck --quiet --error-exitcode=1 --inline-suppr \
		--enable=warning,portability,performance --std=c11 \
		-I. -D_GNU_SOURCE --suppress=missingIncludeSystem \
		--suppress=varFuncNullUB $(AUDIT_C) $(AUDIT_UNIT)
	@# varFuncNullUB: rl_log(..., NULL) is a sentinel list checked by
	@# __attribute__((sentinel)); glibc's NULL is (void *)0.
	@echo '== clang-tidy'
	@set -e; for f in $(AUDIT_C); do \
		clang-tidy --quiet "$$f" -- $(AUDIT_CFLAGS) 2>/dev/null; done
	@echo '== gcc -fanalyzer'
	@set -e; for f in $(AUDIT_C); do \
		$(CC) $(AUDIT_CFLAGS) -O1 -fanalyzer -c "$$f" -o /dev/null; done
	@echo '== shellcheck'
	shellcheck $(AUDIT_SH)
	@echo '== openapi (redocly lint, recommended-strict)'
	tests/tools/npm-tool.sh redocly lint --extends recommended-strict \
		--format stylish $(OPENAPI_DOC)
	@echo '== libpq stays in internal/data (pool.h is public, pg_int.h private)'
	@set -e; for f in $(wildcard cmd/api/*.c); do \
		if $(CC) $(AUDIT_CFLAGS) -MM "$$f" | grep -q 'libpq-fe\.h'; then \
			echo "$$f: sees libpq-fe.h"; exit 1; fi; done
	@echo '== banned calls'
	@! grep -rnwE '$(subst $() ,|,$(BANNED))' --include='*.[ch]' \
		cmd internal tests/unit | grep -vE ':[0-9]+:\s*(/?\*|//)' || \
		{ echo 'banned calls above (STYLE.md)'; exit 1; }
	@echo 'audit: no findings'

# --- packaging and deployment ------------------------------------------------
DEB_VERSION := $(VERSION)
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_FILE    := build/redlight_$(DEB_VERSION)_$(DEB_ARCH).deb

## deb: build/redlight_VERSION_ARCH.deb with dpkg-buildpackage (remote/deb/debian), then lintian
.PHONY: deb
deb:
	@tests/tools/deps.sh $(DEPS_BUILD) $(DEPS_DEB)
	remote/deb/build.sh build '$(DEB_VERSION)'
	lintian --fail-on error $(DEB_FILE)

# The production host (an ssh destination: user@host, with sudo there).
PRODUCTION_HOST ?=
## production/deploy: build, copy binary + migrations + units + Caddyfile to $(PRODUCTION_HOST), migrate, restart
.PHONY: production/deploy
production/deploy: build
	@test -n '$(PRODUCTION_HOST)' || { echo 'usage: make production/deploy PRODUCTION_HOST=user@host'; exit 2; }
	rsync -rlpcz --delete --mkpath bin/api migrations remote/production/redlight.service \
		remote/production/redlight.socket remote/production/Caddyfile \
		'$(PRODUCTION_HOST)':redlight-deploy/
	ssh -t '$(PRODUCTION_HOST)' 'set -e; cd redlight-deploy; \
		sudo install -m 0755 api /usr/bin/redlight-api; \
		sudo rsync -r --delete migrations/ /usr/share/redlight/migrations/; \
		sudo install -m 0644 redlight.service redlight.socket /etc/systemd/system/; \
		sudo install -m 0644 Caddyfile /etc/caddy/Caddyfile; \
		sudo systemctl daemon-reload; \
		sudo env "$$(sudo grep ^REDLIGHT_DB_DSN= /etc/redlight/redlight.env)" \
			REDLIGHT_MIGRATIONS_DIR=/usr/share/redlight/migrations \
			/usr/bin/redlight-api migrate up; \
		sudo systemctl enable --now redlight.socket; \
		sudo systemctl restart redlight.service; \
		sudo systemctl reload caddy'

## test/remote: run remote/setup/01.sh twice in a Debian 12 chroot (root; minutes of downloads)
.PHONY: test/remote
test/remote:
	@tests/tools/deps.sh debootstrap
	tests/remote/run.sh

.PHONY: clean
clean:
	rm -rf build bin/api bin/api-sanitize bin/tests bin/bench-bare \
		bin/bench-ratelimit

.PHONY: help
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

.PHONY: FORCE
FORCE:

-include $(shell find build -name '*.d' 2>/dev/null)
