/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The password rules. Our own checks first (UTF-8, control characters,
 * length in characters, name parts), then libpwquality with the system's
 * pwquality.conf, then zxcvbn's guess estimate. Every problem found is
 * reported, in that order, so a dialog can show them all at once.
 *
 * The password is never logged and never copied into the message; the
 * copies made here (decoded, case-folded) are wiped before they are freed.
 */

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <wchar.h>
#include <wctype.h>

#include <pwquality.h>
#include <zxcvbn.h>

#include "i18n.h"
#include "policy.h"
#include "sauth-names.h"
#include "log.h"
#include "util.h"

/* Debian's cracklib-runtime puts the dictionary here; pwquality uses it when
 * pwquality.conf sets no dictpath. */
#define POLICY_CRACKLIB_DEFAULT "/var/cache/cracklib/cracklib_dict"

/* Names and e-mail parts shorter than this match too many passwords by
 * accident to be worth refusing. */
#define POLICY_PART_MIN 3

/* Each problem code is reported at most once, and "reused" comes later. */
#define POLICY_PROBLEMS_MAX 10

struct Policy {
        pwquality_settings_t *pwq;
        locale_t utf8;                  /* (locale_t) 0: fold ASCII only */
        unsigned max_length;
        double min_guesses_log10;
};

/* cracklib, which pwquality's dictcheck calls, keeps its dictionary reader
 * state in static variables, so a lock per Policy would not be enough: all
 * pwquality checks of the process go through this one. */
static pthread_mutex_t policy_pwquality_lock = PTHREAD_MUTEX_INITIALIZER;

/* A decoded string: code points, wiped when freed as it may be a password. */
typedef struct PolicyText {
        wchar_t *v;
        size_t n;
} PolicyText;

static void policy_text_done(PolicyText *t) {
        if (t->v) {
                explicit_bzero(t->v, t->n * sizeof(wchar_t));
                free(t->v);
        }
        *t = (PolicyText) {};
}

/* A part of the user's identity the password must not contain. */
typedef struct PolicyPart {
        const char *code;
        char *word;                     /* folded, UTF-8: for zxcvbn */
        PolicyText folded;
} PolicyPart;

typedef struct PolicyParts {
        PolicyPart *v;
        size_t n;
} PolicyParts;

static void policy_parts_done(PolicyParts *pp) {
        for (size_t i = 0; i < pp->n; i++) {
                free(pp->v[i].word);
                policy_text_done(&pp->v[i].folded);
        }
        free(pp->v);
        *pp = (PolicyParts) {};
}

/* The problems found so far; texts are owned. */
typedef struct PolicyProblems {
        const char *codes[POLICY_PROBLEMS_MAX];
        char *texts[POLICY_PROBLEMS_MAX];
        size_t n;
        bool oom;
} PolicyProblems;

static void policy_problems_done(PolicyProblems *pr) {
        for (size_t i = 0; i < pr->n; i++)
                erase_and_free(pr->texts[i]);
        *pr = (PolicyProblems) {};
}

_printf_(3, 4)
static void policy_problem(PolicyProblems *pr, const char *code, const char *fmt, ...) {
        va_list ap;
        char *text;

        for (size_t i = 0; i < pr->n; i++)
                if (streq(pr->codes[i], code))
                        return;
        if (pr->n >= POLICY_PROBLEMS_MAX)
                return;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0) {
                /* Remembered and turned into -ENOMEM at the end: a verdict
                 * missing a problem must never be returned. */
                pr->oom = true;
                text = NULL;
        }
        va_end(ap);
        if (!text)
                return;

        pr->codes[pr->n] = code;
        pr->texts[pr->n++] = text;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
 * Returns the number of code points or -EILSEQ; stores them in out if not
 * NULL (out must have room for n code points). */
static ssize_t policy_utf8_decode(const char *s, size_t n, wchar_t *out) {
        static const uint32_t min_for_length[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        size_t count = 0;

        for (size_t i = 0; i < n; count++) {
                unsigned char b = (unsigned char) s[i];
                size_t len;
                uint32_t c;

                if (b < 0x80)
                        len = 1, c = b;
                else if ((b & 0xE0) == 0xC0)
                        len = 2, c = b & 0x1F;
                else if ((b & 0xF0) == 0xE0)
                        len = 3, c = b & 0x0F;
                else if ((b & 0xF8) == 0xF0)
                        len = 4, c = b & 0x07;
                else
                        return -EILSEQ;
                if (len > n - i)
                        return -EILSEQ;
                for (size_t k = 1; k < len; k++) {
                        unsigned char t = (unsigned char) s[i + k];
                        if ((t & 0xC0) != 0x80)
                                return -EILSEQ;
                        c = (c << 6) | (t & 0x3F);
                }
                if (c < min_for_length[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                        return -EILSEQ;
                if (out)
                        out[count] = (wchar_t) c;
                i += len;
        }
        return (ssize_t) count;
}

static wchar_t policy_fold(const Policy *p, wchar_t c) {
        if (p->utf8)
                return (wchar_t) towlower_l((wint_t) c, p->utf8);
        return c >= L'A' && c <= L'Z' ? c - L'A' + L'a' : c;
}

/* Decodes and case-folds s. Returns -EILSEQ for invalid UTF-8. */
static int policy_text_fold(const Policy *p, const char *s, size_t n, PolicyText *ret) {
        ssize_t count = policy_utf8_decode(s, n, NULL);
        wchar_t *v;

        if (count < 0)
                return (int) count;
        v = calloc((size_t) count + 1, sizeof(wchar_t));
        if (!v)
                return -ENOMEM;
        (void) policy_utf8_decode(s, n, v);
        for (ssize_t i = 0; i < count; i++)
                v[i] = policy_fold(p, v[i]);
        *ret = (PolicyText) { .v = v, .n = (size_t) count };
        return 0;
}

static bool policy_text_contains(const PolicyText *hay, const PolicyText *needle) {
        if (needle->n == 0 || needle->n > hay->n)
                return false;
        for (size_t i = 0; i + needle->n <= hay->n; i++)
                if (wmemcmp(hay->v + i, needle->v, needle->n) == 0)
                        return true;
        return false;
}

/* zxcvbn folds ASCII only, so it gets the words already folded. */
static char *policy_text_to_utf8(const PolicyText *t) {
        char *s = malloc(t->n * 4 + 1), *o = s;

        if (!s)
                return NULL;
        for (size_t i = 0; i < t->n; i++) {
                uint32_t c = (uint32_t) t->v[i];

                if (c < 0x80)
                        *o++ = (char) c;
                else if (c < 0x800) {
                        *o++ = (char) (0xC0 | (c >> 6));
                        *o++ = (char) (0x80 | (c & 0x3F));
                } else if (c < 0x10000) {
                        *o++ = (char) (0xE0 | (c >> 12));
                        *o++ = (char) (0x80 | ((c >> 6) & 0x3F));
                        *o++ = (char) (0x80 | (c & 0x3F));
                } else {
                        *o++ = (char) (0xF0 | (c >> 18));
                        *o++ = (char) (0x80 | ((c >> 12) & 0x3F));
                        *o++ = (char) (0x80 | ((c >> 6) & 0x3F));
                        *o++ = (char) (0x80 | (c & 0x3F));
                }
        }
        *o = '\0';
        return s;
}

/* Adds word (n bytes) as a part if it is valid UTF-8 of at least
 * POLICY_PART_MIN characters; anything else is not worth checking. */
static int policy_parts_add(const Policy *p, PolicyParts *pp, const char *code, const char *word, size_t n) {
        PolicyText folded = {};
        PolicyPart *v;
        char *copy;
        int r;

        r = policy_text_fold(p, word, n, &folded);
        if (r == -EILSEQ)
                return 0;
        if (r < 0)
                return r;
        if (folded.n < POLICY_PART_MIN) {
                policy_text_done(&folded);
                return 0;
        }

        copy = policy_text_to_utf8(&folded);
        v = copy ? reallocarray(pp->v, pp->n + 1, sizeof(PolicyPart)) : NULL;
        if (!v) {
                free(copy);
                policy_text_done(&folded);
                return -ENOMEM;
        }
        pp->v = v;
        pp->v[pp->n++] = (PolicyPart) { .code = code, .word = copy, .folded = folded };
        return 0;
}

/* Words of a display name: runs of letters and digits. Bytes >= 0x80 count
 * as letters, so names in any script stay whole words. */
static bool policy_is_separator(char c) {
        unsigned char b = (unsigned char) c;
        return b < 0x80 && !(b >= '0' && b <= '9') && !((b | 0x20) >= 'a' && (b | 0x20) <= 'z');
}

static int policy_parts_add_name(const Policy *p, PolicyParts *pp, const char *name) {
        const char *s = name;

        while (*s) {
                size_t n;
                int r;

                while (*s && policy_is_separator(*s))
                        s++;
                for (n = 0; s[n] && !policy_is_separator(s[n]); n++)
                        ;
                if (n == 0)
                        break;
                r = policy_parts_add(p, pp, POLICY_CONTAINS_NAME, s, n);
                if (r < 0)
                        return r;
                s += n;
        }
        return 0;
}

/* Username, name words and the e-mail's local part, in the order their
 * problems are reported. */
static int policy_parts_collect(const Policy *p, const PolicyUser *u, PolicyParts *pp) {
        int r;

        if (!u)
                return 0;
        if (!isempty(u->username)) {
                r = policy_parts_add(p, pp, POLICY_CONTAINS_USER, u->username, strlen(u->username));
                if (r < 0)
                        return r;
        }
        if (!isempty(u->name)) {
                r = policy_parts_add_name(p, pp, u->name);
                if (r < 0)
                        return r;
        }
        if (!isempty(u->identity)) {
                const char *at = strrchr(u->identity, '@');
                size_t n = at ? (size_t) (at - u->identity) : strlen(u->identity);

                r = policy_parts_add(p, pp, POLICY_CONTAINS_ID, u->identity, n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void policy_check_parts(const PolicyParts *pp, const PolicyText *password, PolicyProblems *pr) {
        static const struct {
                const char *code;
                const char *text;
        } texts[] = {
                { POLICY_CONTAINS_USER, N_("The password contains the user name.") },
                { POLICY_CONTAINS_NAME, N_("The password contains a part of the name.") },
                { POLICY_CONTAINS_ID,   N_("The password contains the first part of the e-mail address.") },
        };

        for (size_t i = 0; i < pp->n; i++) {
                if (!policy_text_contains(password, &pp->v[i].folded))
                        continue;
                for (size_t k = 0; k < ELEMENTSOF(texts); k++)
                        if (streq(texts[k].code, pp->v[i].code))
                                policy_problem(pr, texts[k].code, "%s", _(texts[k].text));
        }
}

/* C0, DEL and C1 control characters. */
static bool policy_has_control(const PolicyText *t) {
        for (size_t i = 0; i < t->n; i++)
                if (t->v[i] < 0x20 || (t->v[i] >= 0x7F && t->v[i] <= 0x9F))
                        return true;
        return false;
}

/* pwquality's reasons, each with a problem code of its own. `same` names a
 * problem of our own checks that says the same: pwquality's sentence is
 * then left out, so that the message does not say it twice. Anything not
 * listed (a reason of a newer libpwquality) is POLICY_PWQUALITY. */
static const struct {
        int error;
        const char *code;
        const char *same;
} policy_pwquality_codes[] = {
        { PWQ_ERROR_TOO_SIMILAR,       "pwquality-too-similar",      NULL },
        { PWQ_ERROR_MIN_DIGITS,        "pwquality-min-digits",       NULL },
        { PWQ_ERROR_MIN_UPPERS,        "pwquality-min-uppers",       NULL },
        { PWQ_ERROR_MIN_LOWERS,        "pwquality-min-lowers",       NULL },
        { PWQ_ERROR_MIN_OTHERS,        "pwquality-min-others",       NULL },
        { PWQ_ERROR_MIN_LENGTH,        "pwquality-min-length",       NULL },
        { PWQ_ERROR_PALINDROME,        "pwquality-palindrome",       NULL },
        { PWQ_ERROR_CASE_CHANGES_ONLY, "pwquality-case-changes-only", NULL },
        { PWQ_ERROR_ROTATED,           "pwquality-rotated",          NULL },
        { PWQ_ERROR_MIN_CLASSES,       "pwquality-min-classes",      NULL },
        { PWQ_ERROR_MAX_CONSECUTIVE,   "pwquality-max-consecutive",  NULL },
        { PWQ_ERROR_EMPTY_PASSWORD,    "pwquality-empty",            POLICY_EMPTY },
        { PWQ_ERROR_SAME_PASSWORD,     "pwquality-same",             NULL },
        { PWQ_ERROR_CRACKLIB_CHECK,    "pwquality-dictionary",       NULL },
        { PWQ_ERROR_USER_CHECK,        "pwquality-username",         POLICY_CONTAINS_USER },
        { PWQ_ERROR_GECOS_CHECK,       "pwquality-gecos",            POLICY_CONTAINS_NAME },
        { PWQ_ERROR_MAX_CLASS_REPEAT,  "pwquality-max-class-repeat", NULL },
        { PWQ_ERROR_BAD_WORDS,         "pwquality-bad-words",        NULL },
        { PWQ_ERROR_MAX_SEQUENCE,      "pwquality-max-sequence",     NULL },
};

static bool policy_problems_have(const PolicyProblems *pr, const char *code) {
        for (size_t i = 0; i < pr->n; i++)
                if (streq(pr->codes[i], code))
                        return true;
        return false;
}

/* pwquality's reason for error r, as a problem code, or NULL when one of
 * our own problems already says it. */
static const char *policy_pwquality_code(const PolicyProblems *pr, int r) {
        for (size_t i = 0; i < ELEMENTSOF(policy_pwquality_codes); i++) {
                if (policy_pwquality_codes[i].error != r)
                        continue;
                if (policy_pwquality_codes[i].same && policy_problems_have(pr, policy_pwquality_codes[i].same))
                        return NULL;
                return policy_pwquality_codes[i].code;
        }
        return POLICY_PWQUALITY;
}

/* pwquality's reason comes in the calling thread's locale: libpwquality
 * translates it with its own catalog (and cracklib's). */
static void policy_check_pwquality(Policy *p, const char *password, const PolicyUser *u, PolicyProblems *pr) {
        char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
        const char *user = u && !isempty(u->username) ? u->username : NULL;
        const char *text = NULL, *code;
        void *auxerror = NULL;
        size_t len;
        int r;

        pthread_mutex_lock(&policy_pwquality_lock);
        r = pwquality_check(p->pwq, password, NULL, user, &auxerror);
        if (r < 0)
                /* Also frees auxerror. */
                text = pwquality_strerror(buf, sizeof buf, r, auxerror);
        pthread_mutex_unlock(&policy_pwquality_lock);

        if (r >= 0)
                return;
        code = policy_pwquality_code(pr, r);
        if (!code)
                return;
        if (!text)
                text = _("The password does not meet the system's password quality rules");
        /* pwquality's reasons are sentences without the full stop. */
        len = strlen(text);
        while (len > 0 && text[len - 1] == '.')
                len--;
        policy_problem(pr, code, "%.*s.", (int) len, text);
}

static unsigned policy_score(double guesses_log10) {
        return guesses_log10 < 3 ? 0 :
               guesses_log10 < 6 ? 1 :
               guesses_log10 < 8 ? 2 :
               guesses_log10 < 10 ? 3 : 4;
}

/* One feedback sentence from the kinds of pattern zxcvbn found. */
static void policy_zxcvbn_feedback(const ZxcMatch_t *info, PolicyProblems *pr) {
        static const struct {
                unsigned mask;
                const char *text;
        } kinds[] = {
                /* TRANSLATORS: parts of the list in "it uses %s." */
                { 1u << DICTIONARY_MATCH,                         N_("a common word or password") },
                { 1u << DICT_LEET_MATCH,                          N_("a common word with predictable substitutions like '@' for 'a'") },
                { (1u << USER_MATCH) | (1u << USER_LEET_MATCH),   N_("your name or user name") },
                { 1u << REPEATS_MATCH,                            N_("repeated characters") },
                { 1u << SEQUENCE_MATCH,                           N_("a sequence like abc or 123") },
                { 1u << SPATIAL_MATCH,                            N_("a keyboard pattern") },
                { (1u << DATE_MATCH) | (1u << YEAR_MATCH),        N_("a date or a year") },
        };
        char list[512] = "";
        unsigned seen = 0;
        size_t n = 0, total = 0;

        for (const ZxcMatch_t *m = info; m; m = m->Next) {
                unsigned type = (unsigned) m->Type & ~(unsigned) MULTIPLE_MATCH;
                if (type < 32)
                        seen |= 1u << type;
                /* A part used more than once is a repeat, whatever it is. */
                if ((unsigned) m->Type & MULTIPLE_MATCH)
                        seen |= 1u << REPEATS_MATCH;
        }
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                total += !!(seen & kinds[i].mask);

        /* "a, b and c". The texts are short, but translations are not
         * ours to count: whatever does not fit is left out. */
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                if (!(seen & kinds[i].mask))
                        continue;
                if (n > 0)
                        /* TRANSLATORS: " and " joins the last two parts of the list. */
                        (void) strncat(list, n + 1 == total ? _(" and ") : _(", "), sizeof list - strlen(list) - 1);
                (void) strncat(list, _(kinds[i].text), sizeof list - strlen(list) - 1);
                n++;
        }

        if (n == 0)
                policy_problem(pr, POLICY_TOO_GUESSABLE,
                               _("The password is too easy to guess: it is too short. Make it longer."));
        else
                policy_problem(pr, POLICY_TOO_GUESSABLE,
                               _("The password is too easy to guess: it uses %s. "
                                 "Add more words or characters that follow no pattern."), list);
}

/* Returns the estimate (log10 of guesses); adds the problem below the floor. */
static int policy_check_zxcvbn(Policy *p, const char *password, const PolicyParts *pp,
                               PolicyProblems *pr, double *ret_guesses_log10) {
        _cleanup_free_ const char **dict = NULL;
        ZxcMatch_t *info = NULL;
        double bits, guesses_log10;

        dict = calloc(pp->n + 1, sizeof(char *));
        if (!dict)
                return -ENOMEM;
        for (size_t i = 0; i < pp->n; i++)
                dict[i] = pp->v[i].word;

        bits = ZxcvbnMatch(password, dict, &info);
        guesses_log10 = bits > 0 ? bits * log10(2.0) : 0;
        if (p->min_guesses_log10 > 0 && guesses_log10 < p->min_guesses_log10)
                policy_zxcvbn_feedback(info, pr);
        ZxcvbnFreeInfo(info);

        *ret_guesses_log10 = guesses_log10;
        return 0;
}

/* Our own checks. Returns whether the password is worth the expensive
 * checks: valid UTF-8, not empty, not too long. */
static int policy_check_own(Policy *p, const char *password, size_t bytes, const PolicyParts *pp,
                            PolicyProblems *pr, bool *ret_judge) {
        PolicyText text = {};
        bool too_long;
        int r;

        /* A string this long cannot be max_length characters of UTF-8:
         * refuse it without decoding, so the work stays bounded. */
        if (bytes > SAUTH_PASSWORD_BYTES) {
                policy_problem(pr, POLICY_TOO_LONG, _("The password is longer than %u characters."), p->max_length);
                *ret_judge = false;
                return 0;
        }

        r = policy_text_fold(p, password, bytes, &text);
        if (r == -EILSEQ) {
                /* Characters cannot be counted, so no too-long here; ASCII
                 * control bytes are still recognisable. */
                policy_problem(pr, POLICY_INVALID_UTF8, _("The password is not valid UTF-8 text."));
                for (size_t i = 0; i < bytes; i++)
                        if ((unsigned char) password[i] < 0x20 || password[i] == 0x7F)
                                policy_problem(pr, POLICY_CONTROL_CHAR, _("The password contains a control character."));
                *ret_judge = false;
                return 0;
        }
        if (r < 0)
                return r;

        if (policy_has_control(&text))
                policy_problem(pr, POLICY_CONTROL_CHAR, _("The password contains a control character."));
        if (text.n == 0)
                policy_problem(pr, POLICY_EMPTY, _("The password is empty."));
        too_long = text.n > p->max_length;
        if (too_long)
                policy_problem(pr, POLICY_TOO_LONG, _("The password is longer than %u characters."), p->max_length);
        policy_check_parts(pp, &text, pr);
        policy_text_done(&text);

        *ret_judge = !too_long && bytes > 0;
        return 0;
}

/* Codes and message from the problems; the message is their texts joined. */
static int policy_verdict_fill(PolicyProblems *pr, PolicyVerdict *v) {
        _cleanup_strv_free_ char **codes = NULL;
        _cleanup_erase_ char *message = NULL;
        size_t len = 0;

        codes = calloc(pr->n + 1, sizeof(char *));
        if (!codes)
                return -ENOMEM;
        for (size_t i = 0; i < pr->n; i++) {
                codes[i] = strdup(pr->codes[i]);
                if (!codes[i])
                        return -ENOMEM;
                len += strlen(pr->texts[i]) + 1;
        }

        message = calloc(len + 1, 1);
        if (!message)
                return -ENOMEM;
        for (size_t i = 0; i < pr->n; i++) {
                if (i > 0)
                        strcat(message, " ");
                strcat(message, pr->texts[i]);
        }

        v->ok = pr->n == 0;
        v->problems = TAKE_PTR(codes);          /* owned by the verdict now */
        v->message = TAKE_PTR(message);
        return 0;
}

static int policy_judge(Policy *p, const char *password, const PolicyUser *user,
                        PolicyParts *pp, PolicyProblems *pr, PolicyVerdict *v) {
        size_t bytes = strnlen(password, SAUTH_PASSWORD_BYTES + 1);
        bool judge = false;
        int r;

        r = policy_parts_collect(p, user, pp);
        if (r < 0)
                return r;
        r = policy_check_own(p, password, bytes, pp, pr, &judge);
        if (r < 0)
                return r;

        /* Invalid, empty or too long: pwquality and zxcvbn would only add
         * noise (and work) to a verdict that already says no. */
        if (judge) {
                policy_check_pwquality(p, password, user, pr);
                r = policy_check_zxcvbn(p, password, pp, pr, &v->guesses_log10);
                if (r < 0)
                        return r;
        }
        if (pr->oom)
                return -ENOMEM;

        v->score = policy_score(v->guesses_log10);
        return policy_verdict_fill(pr, v);
}

int policy_check(Policy *p, const char *password, const PolicyUser *user, PolicyVerdict *ret) {
        PolicyParts parts = {};
        PolicyProblems problems = {};
        PolicyVerdict v = {};
        int r;

        if (!p || !password || !ret)
                return -EINVAL;

        r = policy_judge(p, password, user, &parts, &problems, &v);
        policy_parts_done(&parts);
        policy_problems_done(&problems);
        if (r < 0) {
                policy_verdict_done(&v);
                return r;
        }

        *ret = v;
        return 0;
}

int policy_verdict_add_reused(PolicyVerdict *v) {
        const char *text = _("This password was used recently.");
        size_t n = 0;
        char **codes, *message;

        if (!v)
                return -EINVAL;
        for (; v->problems && v->problems[n]; n++)
                if (streq(v->problems[n], POLICY_REUSED))
                        return 0;

        /* Build both first, so a failure leaves the verdict as it was. */
        if (asprintf(&message, "%s%s%s", v->message ?: "", isempty(v->message) ? "" : " ", text) < 0)
                return -ENOMEM;
        codes = reallocarray(v->problems, n + 2, sizeof(char *));
        if (!codes) {
                erase_and_free(message);
                return -ENOMEM;
        }
        v->problems = codes;
        codes[n] = strdup(POLICY_REUSED);
        codes[n + 1] = NULL;
        if (!codes[n]) {
                erase_and_free(message);
                return -ENOMEM;
        }

        erase_and_free(v->message);
        v->message = message;
        v->ok = false;
        return 0;
}

void policy_verdict_done(PolicyVerdict *v) {
        if (!v)
                return;
        strv_free(v->problems);
        /* The message says what is wrong with a password: wipe it too. */
        erase_and_free(v->message);
        explicit_bzero(v, sizeof *v);
}

/* The system's rules. A missing file means pwquality's defaults (what
 * pam_pwquality does); a file pwquality cannot fully parse is refused, as
 * pwquality stops at the first bad line and would apply fewer rules than
 * the admin wrote. */
static int policy_read_pwquality(pwquality_settings_t *pwq, const char *path) {
        char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
        void *auxerror = NULL;
        struct stat st;
        int r, saved;

        if (isempty(path))
                return 0;

        errno = 0;
        r = pwquality_read_config(pwq, path, &auxerror);
        saved = errno;
        if (r == 0)
                return 0;
        if (r == PWQ_ERROR_CFGFILE_OPEN && stat(path, &st) < 0 && errno == ENOENT) {
                /* Settings from <path>.d/ were applied; nothing else to read. */
                pwquality_strerror(buf, sizeof buf, r, auxerror);
                return 0;
        }

        log_error("%s: %s", path, pwquality_strerror(buf, sizeof buf, r, auxerror));
        if (r == PWQ_ERROR_MEM_ALLOC)
                return -ENOMEM;
        if (r == PWQ_ERROR_CFGFILE_OPEN)
                return saved > 0 ? -saved : -EIO;
        return -EINVAL;
}

/* Without cracklib's dictionary, dictcheck refuses every password. That is
 * the safe way to fail, but the admin should learn why at start. */
static void policy_warn_dictionary(pwquality_settings_t *pwq) {
        _cleanup_free_ char *file = NULL;
        const char *dict = NULL;
        int check = 0;

        if (pwquality_get_int_value(pwq, PWQ_SETTING_DICT_CHECK, &check) < 0 || !check)
                return;
        if (pwquality_get_str_value(pwq, PWQ_SETTING_DICT_PATH, &dict) < 0 || isempty(dict))
                dict = POLICY_CRACKLIB_DEFAULT;
        if (asprintf(&file, "%s.pwd", dict) < 0)
                return;
        if (access(file, R_OK) < 0)
                log_warning("policy: cracklib dictionary %s missing: every password will fail pwquality's "
                            "dictcheck (install cracklib-runtime or set dictcheck = 0)", file);
}

int policy_new(const SauthConfig *c, Policy **ret) {
        _cleanup_(policy_freep) Policy *p = NULL;
        int r;

        if (!c || !ret)
                return -EINVAL;
        /* A NaN or negative floor would silently turn the check off. */
        if (!(c->min_guesses_log10 >= 0) || c->max_length < 1)
                return -EINVAL;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->max_length = c->max_length < SAUTH_PASSWORD_LENGTH_LIMIT ? c->max_length : SAUTH_PASSWORD_LENGTH_LIMIT;
        p->min_guesses_log10 = c->min_guesses_log10;

        p->pwq = pwquality_default_settings();
        if (!p->pwq)
                return -ENOMEM;
        r = policy_read_pwquality(p->pwq, c->pwquality_conf);
        if (r < 0)
                return r;
        policy_warn_dictionary(p->pwq);

        /* Case folding beyond ASCII needs a UTF-8 locale object; without
         * one, names are compared with ASCII folding only. */
        p->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);

        *ret = TAKE_PTR(p);
        return 0;
}

void policy_free(Policy *p) {
        if (!p)
                return;
        if (p->pwq)
                pwquality_free_settings(p->pwq);
        if (p->utf8)
                freelocale(p->utf8);
        free(p);
}
