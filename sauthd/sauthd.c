/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "i18n.h"
#include "manager.h"
#include "sauth-config.h"
#include "util.h"

static void help(void) {
        printf("Usage: sauthd [OPTIONS]\n"
               "The SessionAuth daemon: credentials, password rules and logins over D-Bus.\n\n"
               "  --config FILE         configuration (default %s)\n"
               "  --address ADDRESS     bus address (default: the system bus)\n"
               "  --db FILE             SQLite store (overrides [store] path)\n"
               "  --verbose             log debug messages\n"
               "  --help, --version\n", SAUTH_CONFIG_FILE);
}

static int parse_args(int argc, char *argv[], ManagerOptions *o) {
        enum { ARG_CONFIG = 0x100, ARG_ADDRESS, ARG_DB, ARG_VERBOSE, ARG_VERSION };
        static const struct option options[] = {
                { "config",  required_argument, NULL, ARG_CONFIG },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "db",      required_argument, NULL, ARG_DB },
                { "verbose", no_argument,       NULL, ARG_VERBOSE },
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, ARG_VERSION },
                {}
        };
        int c;

        *o = (ManagerOptions) { .config_path = SAUTH_CONFIG_FILE };
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_CONFIG:
                        o->config_path = optarg;
                        o->config_required = true;
                        break;
                case ARG_ADDRESS:
                        o->bus_address = optarg;
                        break;
                case ARG_DB:
                        o->db_path = optarg;
                        break;
                case ARG_VERBOSE:
                        o->verbose = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("sauthd %s\n", SAUTH_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "sauthd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        ManagerOptions o;
        int r;

        r = parse_args(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        /* Secrets pass through this process: no core dumps, no ptrace by
         * others, nothing created readable by group or other. */
        (void) prctl(PR_SET_DUMPABLE, 0);
        (void) setrlimit(RLIMIT_CORE, &(struct rlimit) { 0, 0 });
        umask(0077);
        log_setup(o.verbose);

        /* Messages for people come in each caller's locale (uselocale per
         * call); the process itself stays in "C", and its logs in English.
         * LANGUAGE would override every caller's choice in gettext, so it
         * goes, before any thread starts. */
        (void) unsetenv("LANGUAGE");
        i18n_bind();

        r = manager_new(&o, &m);
        if (r < 0) {
                log_error("cannot start: %s", strerror(-r));
                return 1;
        }
        r = manager_run(m);
        if (r < 0) {
                /* The loss of the bus has been logged where it was seen. */
                if (r != -ECONNRESET)
                        log_error("event loop failed: %s", strerror(-r));
                return 1;
        }
        log_info("stopped");
        return 0;
}
