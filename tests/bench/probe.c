/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * probe: the concurrent-probe attack of rule 11, as an ordinary caller
 * would run it, one attempt per name.
 *
 *   probe --address ADDR --known A,B,... --unknown X,Y,... [--forgot]
 *
 * For each name, in a shuffled order: a failed AccountLogin (wrong
 * password) — or with --forgot a ForgotPassword — and right after its
 * reply a Methods call, whose round trip is timed. The names whose Methods
 * took longest (as many as there are known names) are guessed to be the
 * real accounts; the share of names guessed right is the classification
 * rate: 0.5 is chance. Also reports the medians of the failed logins
 * themselves, known and unknown (rule 4: they must cost the same).
 *
 * Output: one line of key=value pairs. Exit 0 when every call was
 * answered as expected, 1 otherwise, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "sauth-names.h"

#define NAMES_MAX 1024

typedef struct Sample {
        const char *name;
        int known;
        double first_us;        /* the AccountLogin / ForgotPassword */
        double methods_us;      /* the Methods right after it */
} Sample;

static double now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int split(char *s, int known, Sample *v, size_t *n) {
        for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
                if (*n >= NAMES_MAX)
                        return -E2BIG;
                v[(*n)++] = (Sample) { .name = tok, .known = known };
        }
        return 0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
        if (n == 0)
                return 0;
        qsort(v, n, sizeof *v, cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int probe_one(sd_bus *bus, Sample *s, int forgot) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        double t0 = now_us();
        int r;

        if (forgot)
                r = sd_bus_call_method(bus, SAUTH_BUS_NAME, SAUTH_BUS_PATH, SAUTH_BUS_INTERFACE, "ForgotPassword",
                                       &error, &reply, "sss", "", s->name, "");
        else
                r = sd_bus_call_method(bus, SAUTH_BUS_NAME, SAUTH_BUS_PATH, SAUTH_BUS_INTERFACE, "AccountLogin",
                                       &error, &reply, "sssa{sv}", s->name, "wrong probe password", "local", 0);
        s->first_us = now_us() - t0;
        /* A login must fail, and fail as a wrong password; a reset answers. */
        if (forgot ? r < 0 : (r >= 0 || !sd_bus_error_has_name(&error, SAUTH_BUS_INTERFACE ".Error.InvalidCredentials"))) {
                fprintf(stderr, "probe: %s: unexpected answer: %s\n", forgot ? "ForgotPassword" : "AccountLogin",
                        r < 0 ? error.name : "success");
                sd_bus_error_free(&error);
                sd_bus_message_unref(reply);
                return -EPROTO;
        }
        sd_bus_error_free(&error);
        reply = sd_bus_message_unref(reply);

        t0 = now_us();
        r = sd_bus_call_method(bus, SAUTH_BUS_NAME, SAUTH_BUS_PATH, SAUTH_BUS_INTERFACE, "Methods",
                               &error, &reply, "");
        s->methods_us = now_us() - t0;
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 0;
}

static int cmp_methods(const void *a, const void *b) {
        const Sample *x = a, *y = b;

        return x->methods_us < y->methods_us ? 1 : x->methods_us > y->methods_us ? -1 : 0;
}

static void report(Sample *v, size_t n, size_t n_known) {
        double fk[NAMES_MAX], fu[NAMES_MAX], mk[NAMES_MAX], mu[NAMES_MAX];
        size_t nk = 0, nu = 0, right = 0;
        double k, u;

        for (size_t i = 0; i < n; i++) {
                if (v[i].known) {
                        fk[nk] = v[i].first_us;
                        mk[nk++] = v[i].methods_us;
                } else {
                        fu[nu] = v[i].first_us;
                        mu[nu++] = v[i].methods_us;
                }
        }
        /* The slowest Methods: guessed "known". */
        qsort(v, n, sizeof *v, cmp_methods);
        for (size_t i = 0; i < n; i++)
                right += (i < n_known) == !!v[i].known;
        k = median(fk, nk);
        u = median(fu, nu);
        printf("names=%zu known=%zu classified_right=%zu classification_rate=%.3f "
               "first_known_p50_us=%.0f first_unknown_p50_us=%.0f unknown_over_known=%.3f "
               "methods_known_p50_us=%.0f methods_unknown_p50_us=%.0f\n",
               n, n_known, right, (double) right / (double) n, k, u, k > 0 ? u / k : 0,
               median(mk, nk), median(mu, nu));
}

int main(int argc, char *argv[]) {
        static const struct option longopts[] = {
                { "address", required_argument, NULL, 'a' },
                { "known",   required_argument, NULL, 'k' },
                { "unknown", required_argument, NULL, 'u' },
                { "forgot",  no_argument,       NULL, 'f' },
                {}
        };
        static Sample v[NAMES_MAX];
        const char *address = NULL;
        char *known = NULL, *unknown = NULL;
        size_t n = 0, n_known;
        sd_bus *bus = NULL;
        int c, forgot = 0, r;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0)
                switch (c) {
                case 'a': address = optarg; break;
                case 'k': known = optarg; break;
                case 'u': unknown = optarg; break;
                case 'f': forgot = 1; break;
                default: return 2;
                }
        if (!address || !known || !unknown || optind != argc) {
                fprintf(stderr, "usage: probe --address ADDR --known A,B --unknown X,Y [--forgot]\n");
                return 2;
        }
        if (split(known, 1, v, &n) < 0)
                return 2;
        n_known = n;
        if (split(unknown, 0, v, &n) < 0 || n_known == 0 || n == n_known)
                return 2;

        /* A shuffled order, so that neither kind comes at a quieter time. */
        srand((unsigned) time(NULL) ^ (unsigned) getpid());
        for (size_t i = n - 1; i > 0; i--) {
                size_t j = (size_t) rand() % (i + 1);
                Sample t = v[i];

                v[i] = v[j];
                v[j] = t;
        }

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                fprintf(stderr, "probe: cannot connect to %s: %s\n", address, strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                r = probe_one(bus, &v[i], forgot);
                if (r < 0) {
                        sd_bus_flush_close_unref(bus);
                        return 1;
                }
        }
        sd_bus_flush_close_unref(bus);
        report(v, n, n_known);
        return 0;
}
