// See fuse_signals.h.
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include "fuse_signals.h"

#include <fuse3/fuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct fuse_session *signalled_session;
// A signal handler writes a byte here (async-signal-safe); the watchdog blocks reading it.
static int wake_pipe[2] = {-1, -1};
static atomic_int loop_running;
static pthread_t loop_thread;

static void on_exit_signal(int sig) {
    (void)sig;
    int saved = errno;
    if (signalled_session != NULL) fuse_session_exit(signalled_session);
    if (wake_pipe[1] >= 0) { ssize_t ignored = write(wake_pipe[1], "x", 1); (void)ignored; }
    errno = saved;
}

static int install(int sig, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    // No SA_RESTART: the loop's wait must return with EINTR to look at the session again.
    return sigaction(sig, &action, NULL);
}

int lake_set_signal_handlers(struct fuse_session *session) {
    if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC) != 0) return -1;
    // The writing end never blocks a handler; the watchdog's end blocks.
    fcntl(wake_pipe[1], F_SETFL, fcntl(wake_pipe[1], F_GETFL) | O_NONBLOCK);
    signalled_session = session;
    if (install(SIGHUP, on_exit_signal) != 0 || install(SIGINT, on_exit_signal) != 0 ||
        install(SIGTERM, on_exit_signal) != 0 || install(SIGPIPE, SIG_IGN) != 0) return -1;
    return 0;
}

void lake_remove_signal_handlers(void) {
    install(SIGHUP, SIG_DFL);
    install(SIGINT, SIG_DFL);
    install(SIGTERM, SIG_DFL);
    install(SIGPIPE, SIG_DFL);
    signalled_session = NULL;
}

static void *watchdog(void *argument) {
    struct fuse_session *session = argument;
    char byte;
    for (;;) {
        ssize_t n = read(wake_pipe[0], &byte, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || !atomic_load(&loop_running)) return NULL;
        if (!fuse_session_exited(session)) continue;
        // Interrupt the loop's wait until it has seen the session end; the signal's handler
        // only sets the flag again. 10 ms apart: the loop needs one to return.
        while (atomic_load(&loop_running)) {
            pthread_kill(loop_thread, SIGTERM);
            struct timespec pause = {0, 10 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        return NULL;
    }
}

int lake_fuse_loop_watched(struct fuse_session *session, unsigned int max_threads) {
    loop_thread = pthread_self();
    atomic_store(&loop_running, 1);
    pthread_t dog;
    int watched = wake_pipe[0] >= 0 && pthread_create(&dog, NULL, watchdog, session) == 0;
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, max_threads);
    fuse_loop_cfg_set_clone_fd(config, 0);
    int result = fuse_session_loop_mt(session, config);
    fuse_loop_cfg_destroy(config);
    atomic_store(&loop_running, 0);
    if (watched) {
        // Wake a watchdog still waiting for a signal (the loop ended by an unmount).
        ssize_t ignored = write(wake_pipe[1], "x", 1);
        (void)ignored;
        pthread_join(dog, NULL);
    }
    return result;
}
