/* Ctrl-C and SIGTERM as stop requests (gcam_stop_signals_start in gcam/core.h). The
 * signals are blocked before any thread starts and taken with sigwait on a thread of
 * their own: a handler that ran on a oneDNN/OpenMP thread in the middle of a convolution
 * corrupted the heap. */
#include "gcam/core.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t stop_request;

/* The first signal asks the work to stop after its current batch; a second one exits at
 * once, which leaves every file valid because each is written atomically. */
static void on_signal(int sig) {
    if (stop_request) _exit(128 + sig);
    stop_request = sig;
}

static void *signal_thread(void *arg) {
    sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) == 0) on_signal(sig);
    }
    return NULL;
}

const volatile sig_atomic_t *gcam_stop_signals_start(void) {
    static sigset_t stop_signals;
    static int started;
    if (!started) {
        started = 1;
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGINT);
        sigaddset(&stop_signals, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
        pthread_t signals;
        if (pthread_create(&signals, NULL, signal_thread, &stop_signals) == 0)
            pthread_detach(signals);
    }
    /* for a thread that a library started with the signals unblocked */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_request;
}
