/*
 * bare_mhd — the ceiling of libmicrohttpd itself, for `make bench`.
 *
 *     bin/bench-bare PORT [BODY_FILE|- [THREADS|- [MEMORY_KIB|- [epoll|poll]]]]
 *
 * Answers every request, whatever its method or path, with 200, the bytes of
 * BODY_FILE (tests/bench/run.sh passes the body that the real server sent for
 * GET /v1/healthcheck, so both send byte-identical responses) and
 * "Content-Type: application/json".  Without BODY_FILE (or with "-") it sends
 * a built-in healthcheck body.  It listens on 127.0.0.1:PORT only and runs
 * until SIGINT or SIGTERM, then stops the daemon and exits 0.  A bad argument
 * prints the usage and exits 2; a daemon that cannot start exits 1.
 *
 * The daemon: internal polling thread, ITC, error log, a 60 s connection
 * timeout, at most 10000 connections and a listen backlog of 1024, as bin/api
 * (cmd/api/server.c); and three knobs, each "-" or left out for its default:
 *   THREADS     the thread pool, 1..1024 (1: the polling thread alone);
 *               default 4 per online CPU, bin/api's default -http-threads
 *   MEMORY_KIB  libmicrohttpd's memory per connection in KiB, 4..65536;
 *               default 64
 *   epoll|poll  the event loop; default epoll, poll where epoll is missing
 * run.sh sweeps these and takes the fastest combination as the ceiling, so
 * the ratio to bin/api also shows what bin/api's own configuration costs.
 * What it leaves out: bin/api's URI-log and request-completed callbacks, and
 * a response built per request; here one response object is shared by every
 * request, the least work libmicrohttpd allows.  The gap between this
 * program and bin/api is the cost of everything the server does on top of
 * the library.
 *
 * The response is queued on the SECOND call of the access handler, after the
 * first has only set *con_cls.  Measured with libmicrohttpd 0.9.75: queueing
 * on the first call makes the library close the connection after each
 * response, which costs about 6x in requests per second under keep-alive.
 */

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>

/* What bin/api prints (JSON_INDENT(4), then a newline), version "bench". */
#define DEFAULT_BODY                                                         \
	"{\n    \"status\": \"available\",\n    \"system_info\": {\n"        \
	"        \"environment\": \"development\",\n"                          \
	"        \"version\": \"bench\"\n    }\n}\n"

#define MAX_BODY (1024 * 1024)
#define DEFAULT_MEMORY_KIB 64

/* Any non-NULL address will do: it only marks "first call seen". */
static int first_call_marker;

static enum MHD_Result handler(void *cls, struct MHD_Connection *connection,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;

	if (*con_cls == NULL) {
		*con_cls = &first_call_marker;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* discard any request body */
		return MHD_YES;
	}
	return MHD_queue_response(connection, MHD_HTTP_OK,
	                          (struct MHD_Response *)cls);
}

static char *read_body(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "bench-bare: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_BODY + 1);
	if (buf == NULL) {
		fclose(f);
		fprintf(stderr, "bench-bare: out of memory\n");
		return NULL;
	}
	size_t n = fread(buf, 1, MAX_BODY + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "bench-bare: %s: read error\n", path);
		free(buf);
		return NULL;
	}
	if (n > MAX_BODY) {
		fprintf(stderr, "bench-bare: %s: larger than %d bytes\n", path,
		        MAX_BODY);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 ||
	    v > max)
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-bare PORT [BODY_FILE|- [THREADS|- "
	                "[MEMORY_KIB|- [epoll|poll]]]]\n"
	                "  THREADS 1..1024 (default 4 per CPU), MEMORY_KIB "
	                "4..65536 (default %d), epoll|poll (default epoll)\n",
	        DEFAULT_MEMORY_KIB);
}

/* Is argv[i] given, and not "-" (the default)? */
static int given(int argc, char **argv, int i)
{
	return argc > i && strcmp(argv[i], "-") != 0;
}

int main(int argc, char **argv)
{
	unsigned long port, threads, memory_kib = DEFAULT_MEMORY_KIB;
	int use_epoll = MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES;

	if (argc < 2 || argc > 6 || parse_uint(argv[1], 65535, &port) != 0) {
		usage();
		return 2;
	}
	if (given(argc, argv, 3)) {
		if (parse_uint(argv[3], 1024, &threads) != 0) {
			usage();
			return 2;
		}
	} else {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = (unsigned long)(ncpu > 0 ? ncpu : 1) * 4;
	}
	if (given(argc, argv, 4) &&
	    (parse_uint(argv[4], 65536, &memory_kib) != 0 || memory_kib < 4)) {
		usage();
		return 2;
	}
	if (given(argc, argv, 5)) {
		if (strcmp(argv[5], "poll") == 0) {
			use_epoll = 0;
		} else if (strcmp(argv[5], "epoll") == 0) {
			if (!use_epoll) {
				fprintf(stderr, "bench-bare: this libmicrohttpd "
				                "has no epoll\n");
				return 1;
			}
		} else {
			usage();
			return 2;
		}
	}

	char *body = NULL;
	size_t body_len = strlen(DEFAULT_BODY);
	if (given(argc, argv, 2)) {
		body = read_body(argv[2], &body_len);
		if (body == NULL)
			return 1;
	}

	struct MHD_Response *resp = MHD_create_response_from_buffer(
		body_len, body != NULL ? body : (void *)DEFAULT_BODY,
		MHD_RESPMEM_PERSISTENT);
	if (resp == NULL ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                            "application/json") != MHD_YES) {
		fprintf(stderr, "bench-bare: cannot build the response\n");
		if (resp != NULL)
			MHD_destroy_response(resp);
		free(body);
		return 1;
	}

	/* Block the stop signals before any thread exists, so that every MHD
	 * thread inherits the mask and only sigwait() below receives them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
		fprintf(stderr, "bench-bare: cannot block signals\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	unsigned int flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	flags |= use_epoll ? MHD_USE_EPOLL : MHD_USE_POLL;

	struct MHD_Daemon *d = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, handler, resp,
		MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)10000,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)memory_kib * 1024,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
		/* Last: 1 thread is the polling thread alone, no pool (MHD
		 * warns about a pool size of 0 or 1), so the list ends here. */
		threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
		(unsigned int)threads, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bench-bare: cannot start the daemon on "
		                "127.0.0.1:%lu\n", port);
		MHD_destroy_response(resp);
		free(body);
		return 1;
	}
	fprintf(stderr, "bench-bare: listening on 127.0.0.1:%lu, %lu threads, "
	                "%lu KiB per connection, %s, %zu-byte body\n", port,
	        threads, memory_kib, use_epoll ? "epoll" : "poll", body_len);

	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;

	MHD_stop_daemon(d);
	MHD_destroy_response(resp);
	free(body);
	fprintf(stderr, "bench-bare: stopped by signal %d\n", sig);
	return 0;
}
