// Lake's FUSE transport: FUSE over io_uring (kernel >= 6.14, fuse.enable_uring=Y) beside /dev/fuse.
//
// libfuse 3.14 reads requests from /dev/fuse and writes replies to it; every request then
// wakes a libfuse worker wherever the scheduler puts it, and on a small VM the cross-CPU
// wake-ups cost more than the work. With FUSE over io_uring the kernel queues each request
// on the ring of the CPU that made it and a worker pinned to that CPU answers it, so a
// request and its reply stay on one CPU. libfuse still decodes requests and encodes replies:
// this transport only moves the bytes (libfuse's custom I/O hooks), and falls back to
// /dev/fuse alone whenever the kernel or the process cannot use io_uring.
#ifndef LAKE_FUSE_RING_H
#define LAKE_FUSE_RING_H

#include <stddef.h>
#include <sys/types.h>

struct fuse_session;
struct fuse_req;

/// Puts the transport under a mounted session, before its loop starts. `workers_per_cpu`
/// ring workers are prepared for every CPU when `want_ring` is non-zero (0: 16 in all, 2 to 8
/// per CPU); they start serving once the kernel accepts io_uring during FUSE_INIT. With
/// `busy_poll`, idle CPUs are kept polling while requests flow (root only). With
/// `want_passthrough`, FUSE_INIT switches kernel passthrough on when it can (see
/// fuse_passthrough.h). Returns 0, or -errno when libfuse refused the hooks (the session then
/// stays on plain /dev/fuse, without passthrough).
int lake_transport_install(struct fuse_session *session, unsigned workers_per_cpu, int want_ring, int busy_poll,
                           int want_passthrough);

/// Whether idle CPUs are kept polling while requests flow.
int lake_transport_busy_polls(void);

/// How requests reach the daemon: 0 while only /dev/fuse serves, else the number of CPU
/// queues whose ring workers are registered with the kernel.
int lake_transport_ring_queues(void);

/// "io_uring", or "/dev/fuse (why not io_uring)": what FUSE_INIT chooses (the init callback
/// runs just before), or why the ring stopped serving.
const char *lake_transport_plan(void);

/// Requests answered through io_uring so far.
long lake_transport_ring_requests(void);

/// Stops and joins the ring workers; call after the session is unmounted.
void lake_transport_stop(void);

/// Replies to a READ with `size` bytes of `fd` at `offset`: spliced on /dev/fuse, read
/// straight into the ring buffer on io_uring. Returns what libfuse's reply returned.
int lake_transport_reply_fd(struct fuse_req *request, int fd, off_t offset, size_t size);

#endif
