// The daemon's exit signals, and libfuse's multithreaded loop made safe against a lost wakeup.
#ifndef LAKE_FUSE_SIGNALS_H
#define LAKE_FUSE_SIGNALS_H

struct fuse_session;

/// SIGHUP, SIGINT and SIGTERM end `session` (as libfuse's fuse_set_signal_handlers does) and
/// wake the loop's watchdog; SIGPIPE is ignored. 0, or -1 with errno.
int lake_set_signal_handlers(struct fuse_session *session);

/// Back to the default actions (after the loop has returned).
void lake_remove_signal_handlers(void);

/// fuse_session_loop_mt, with a watchdog: libfuse's loop waits on a semaphore that only a signal
/// delivered to the waiting thread interrupts, so a signal handled on another thread, or just
/// before the wait began, left it waiting (a daemon that ignored SIGTERM). Once a signal ended
/// the session, the watchdog interrupts the waiting thread until the loop has returned.
int lake_fuse_loop_watched(struct fuse_session *session, unsigned int max_threads);

#endif
