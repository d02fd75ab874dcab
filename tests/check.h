/* A minimal test harness: CHECK records a pass or a failure with file and line, and
 * check_summary prints "N passed, N failed" and returns the exit status. */
#ifndef GCAM_TESTS_CHECK_H
#define GCAM_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            ++check_passed;                                                                        \
        } else {                                                                                   \
            ++check_failed;                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* The message of a failed call must contain each expected fragment. */
#define CHECK_ERROR_MENTIONS(status, err, fragment)                                                \
    CHECK((status) != 0 && strstr((err).message, (fragment)) != NULL,                              \
          "status %d, message '%s', expected to mention '%s'", (status), (err).message,            \
          (fragment))

static inline int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
