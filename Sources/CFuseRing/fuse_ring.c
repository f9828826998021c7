// FUSE over io_uring for libfuse 3.14, which predates it. See fuse_ring.h for why.
//
// Protocol (kernel uapi fuse.h 7.42, Documentation/filesystems/fuse-io-uring.rst):
// - FUSE_INIT still comes through /dev/fuse. The kernel offers io_uring with flag bit 41
//   (flags2 bit 9) when fuse.enable_uring=Y; the reply accepts it with the same bit.
// - Each worker owns one ring entry: a header buffer (in/out header, the opcode's fixed
//   argument, a trailer with the payload size) and a payload buffer for the rest. It
//   registers the entry for its CPU's queue (FUSE_IO_URING_CMD_REGISTER); a completion
//   means a request sits in the buffers; the reply goes back into them and
//   FUSE_IO_URING_CMD_COMMIT_AND_FETCH returns it and waits for the next request.
// - Requests block in the kernel until every CPU queue has an entry registered, and the
//   kernel falls back to /dev/fuse by itself when a registration fails.
// - Interrupts, forgets and notifications keep using /dev/fuse, so libfuse's own loop
//   keeps running beside the workers.
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include "fuse_ring.h"
#include "transport_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <linux/fuse.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

// --- Kernel ABI 7.42, absent from Debian 12's linux/fuse.h (7.38) -------------------------

#define RING_INIT_FLAGS2_BIT (1u << 9) // FUSE_OVER_IO_URING is init flag bit 41
#define RING_CMD_REGISTER 1u
#define RING_CMD_COMMIT_AND_FETCH 2u
#define RING_ARG_AREA 128 // fuse_uring_req_header.op_in

struct ring_entry_trailer {
    uint64_t flags;
    uint64_t commit_id;
    uint32_t payload_size;
    uint32_t padding;
    uint64_t reserved;
};

struct ring_header {
    char in_out[128];         // fuse_in_header on fetch, fuse_out_header on commit
    char op_in[RING_ARG_AREA]; // the opcode's fixed argument struct
    struct ring_entry_trailer trailer;
};

struct ring_command {
    uint64_t flags;
    uint64_t commit_id;
    uint16_t qid;
    uint8_t padding[6];
};

// --- One worker: a ring, an entry, a pinned thread -----------------------------------------

struct worker {
    unsigned qid;
    pthread_t thread;
    int started;
    int ring_fd;
    void *ring_map;
    size_t ring_map_size;
    struct io_uring_sqe *sqes; // 128-byte entries: two io_uring_sqe each
    size_t sqes_size;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_cqe *cqes;
    unsigned pending_submissions;

    struct ring_header *header;
    char *area;          // room for the in-header and the fixed argument, then the payload
    size_t area_size;
    char *payload;
    size_t payload_size;
    struct iovec buffers[2];

    // The request being served; replies for it are staged here by the writev hook, which may
    // run on another thread if a handler ever answers later.
    pthread_mutex_t lock;
    pthread_cond_t replied_cond;
    uint64_t unique;
    int replied;
    long served; // written by the worker only; summed for the log
};

static struct {
    struct fuse_session *session;
    int fd;
    unsigned worker_count;
    struct worker *workers;
    size_t payload_size;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned prepared;      // workers whose ring exists
    unsigned failed;        // workers that could not make one
    int go;                 // 1: register, -1: stop
    uint64_t init_unique;
    int init_answered;
    int kernel_offers_ring;
    int wanted;
    int ring_accepted;            // FUSE_INIT was answered with io_uring on
    unsigned cpu_count;
    atomic_int registration_failed;
    const char *problem;

    // Busy polling: see latency_main.
    atomic_long requests_seen;
    atomic_int poller_asleep;
    int poll_wanted;
    int poller_started;
    int poller_stop;
    pthread_t poller;
    pthread_cond_t poller_wake;
} transport = {
    .fd = -1,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .changed = PTHREAD_COND_INITIALIZER,
    .poller_wake = PTHREAD_COND_INITIALIZER,
};

static __thread struct worker *current_worker;

static void note_request(void);

static int ring_setup(unsigned entries, struct io_uring_params *params) {
    return (int)syscall(__NR_io_uring_setup, entries, params);
}

static int ring_enter(int fd, unsigned submit, unsigned wait, unsigned flags) {
    return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags, NULL, 0);
}

static void set_problem(const char *problem) {
    pthread_mutex_lock(&transport.lock);
    if (transport.problem == NULL) transport.problem = problem;
    pthread_mutex_unlock(&transport.lock);
}

/// Records the first worker that stopped for a reason other than the connection ending.
static void set_worker_problem(const struct worker *w, const char *what, int error) {
    static char text[160];
    pthread_mutex_lock(&transport.lock);
    if (transport.problem == NULL) {
        snprintf(text, sizeof text, "the io_uring worker for CPU %u %s: %s", w->qid, what, strerror(error));
        transport.problem = text;
    }
    pthread_mutex_unlock(&transport.lock);
}

/// Creates the worker's ring and buffers; on the worker's own thread, which becomes the
/// ring's single issuer.
static int worker_prepare(struct worker *w) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int fd = ring_setup(4, &params);
    if (fd < 0) {
        set_problem("io_uring_setup failed (is kernel.io_uring_disabled set?)");
        return -1;
    }
    w->ring_fd = fd;
    size_t sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    w->ring_map_size = sq_size > cq_size ? sq_size : cq_size;
    if (!(params.features & IORING_FEAT_SINGLE_MMAP)) {
        set_problem("the kernel's io_uring lacks IORING_FEAT_SINGLE_MMAP");
        return -1;
    }
    w->ring_map = mmap(NULL, w->ring_map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                       IORING_OFF_SQ_RING);
    if (w->ring_map == MAP_FAILED) { w->ring_map = NULL; set_problem("cannot map the io_uring"); return -1; }
    w->sqes_size = params.sq_entries * 2 * sizeof(struct io_uring_sqe);
    w->sqes = mmap(NULL, w->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (w->sqes == MAP_FAILED) { w->sqes = NULL; set_problem("cannot map the io_uring"); return -1; }
    char *base = w->ring_map;
    w->sq_head = (unsigned *)(base + params.sq_off.head);
    w->sq_tail = (unsigned *)(base + params.sq_off.tail);
    w->sq_mask = (unsigned *)(base + params.sq_off.ring_mask);
    w->sq_array = (unsigned *)(base + params.sq_off.array);
    w->cq_head = (unsigned *)(base + params.cq_off.head);
    w->cq_tail = (unsigned *)(base + params.cq_off.tail);
    w->cq_mask = (unsigned *)(base + params.cq_off.ring_mask);
    w->cqes = (struct io_uring_cqe *)(base + params.cq_off.cqes);

    // The in-header and fixed argument are copied right before the payload so that libfuse
    // sees one contiguous request without the payload (a write's data) being moved.
    size_t prefix = 4096;
    w->area_size = prefix + transport.payload_size;
    w->area = mmap(NULL, w->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (w->area == MAP_FAILED) { w->area = NULL; set_problem("out of memory for ring buffers"); return -1; }
    w->payload = w->area + prefix;
    w->payload_size = transport.payload_size;
    w->header = aligned_alloc(64, (sizeof(struct ring_header) + 63) / 64 * 64);
    if (w->header == NULL) { set_problem("out of memory for ring buffers"); return -1; }
    memset(w->header, 0, sizeof *w->header);
    w->buffers[0] = (struct iovec){ .iov_base = w->header, .iov_len = sizeof *w->header };
    w->buffers[1] = (struct iovec){ .iov_base = w->payload, .iov_len = w->payload_size };
    return 0;
}

static void worker_release(struct worker *w) {
    if (w->sqes) munmap(w->sqes, w->sqes_size);
    if (w->ring_map) munmap(w->ring_map, w->ring_map_size);
    if (w->ring_fd >= 0) close(w->ring_fd);
    if (w->area) munmap(w->area, w->area_size);
    free(w->header);
    w->sqes = NULL; w->ring_map = NULL; w->ring_fd = -1; w->area = NULL; w->header = NULL;
}

/// Queues one FUSE command; it is submitted by the worker's next wait.
static void worker_queue(struct worker *w, unsigned command, uint64_t commit_id) {
    unsigned tail = *w->sq_tail;
    unsigned index = tail & *w->sq_mask;
    struct io_uring_sqe *sqe = &w->sqes[index * 2];
    memset(sqe, 0, 2 * sizeof *sqe);
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = transport.fd;
    sqe->cmd_op = command;
    sqe->addr = (uint64_t)(uintptr_t)w->buffers;
    sqe->len = 2;
    struct ring_command *cmd = (struct ring_command *)sqe->cmd;
    cmd->commit_id = commit_id;
    cmd->qid = (uint16_t)w->qid;
    w->sq_array[index] = index;
    __atomic_store_n(w->sq_tail, tail + 1, __ATOMIC_RELEASE);
    w->pending_submissions++;
}

/// Submits what is queued and waits for one completion; returns its result.
static int worker_wait(struct worker *w) {
    for (;;) {
        unsigned head = *w->cq_head;
        if (head != __atomic_load_n(w->cq_tail, __ATOMIC_ACQUIRE) && w->pending_submissions == 0) {
            int result = w->cqes[head & *w->cq_mask].res;
            __atomic_store_n(w->cq_head, head + 1, __ATOMIC_RELEASE);
            return result;
        }
        int submitted = ring_enter(w->ring_fd, w->pending_submissions, 1, IORING_ENTER_GETEVENTS);
        if (submitted < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EBUSY) continue;
            return -errno;
        }
        w->pending_submissions -= (unsigned)submitted < w->pending_submissions ? (unsigned)submitted
                                                                               : w->pending_submissions;
    }
}

/// Hands the request in the ring buffers to libfuse and waits until it is answered.
static void worker_serve(struct worker *w) {
    // The reply overwrites the header buffer, so the request's header is read once, here.
    struct fuse_in_header in_copy;
    memcpy(&in_copy, w->header->in_out, sizeof in_copy);
    const struct fuse_in_header *in = &in_copy;
    uint32_t payload = w->header->trailer.payload_size;
    size_t fixed = in->len >= sizeof *in + payload ? in->len - sizeof *in - payload : SIZE_MAX;
    pthread_mutex_lock(&w->lock);
    w->unique = in->unique;
    w->replied = 0;
    pthread_mutex_unlock(&w->lock);
    if (fixed > RING_ARG_AREA || payload > w->payload_size) {
        struct fuse_out_header out = { .len = sizeof out, .error = -EIO, .unique = in->unique };
        memcpy(w->header->in_out, &out, sizeof out);
        w->header->trailer.payload_size = 0;
        pthread_mutex_lock(&w->lock);
        worker_queue(w, RING_CMD_COMMIT_AND_FETCH, in->unique);
        w->replied = 1;
        pthread_mutex_unlock(&w->lock);
    } else {
        char *message = w->payload - sizeof *in - fixed;
        memcpy(message + sizeof *in, w->header->op_in, fixed);
        memcpy(message, in, sizeof *in);
        struct fuse_buf buffer = { .size = sizeof *in + fixed + payload, .mem = message };
        fuse_session_process_buf(transport.session, &buffer);
        // Forgets are never answered; the kernel sends them through /dev/fuse, but a worker
        // must not wait forever for a reply that cannot come.
        if (in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET) {
            pthread_mutex_lock(&w->lock);
            w->replied = 1;
            pthread_mutex_unlock(&w->lock);
        }
    }
    pthread_mutex_lock(&w->lock);
    while (!w->replied) pthread_cond_wait(&w->replied_cond, &w->lock);
    w->unique = 0;
    pthread_mutex_unlock(&w->lock);
}

/// Copies a reply into the entry's buffers and queues its commit. Called with w->lock held.
static ssize_t worker_stage_reply(struct worker *w, const struct iovec *iov, int count) {
    size_t total = 0;
    for (int i = 1; i < count; i++) total += iov[i].iov_len;
    struct fuse_out_header out;
    memcpy(&out, iov[0].iov_base, sizeof out);
    if (total > w->payload_size) {
        out.error = -EIO;
        out.len = sizeof out;
        total = 0;
    } else {
        char *cursor = w->payload;
        for (int i = 1; i < count; i++) {
            if (iov[i].iov_base != cursor) memmove(cursor, iov[i].iov_base, iov[i].iov_len);
            cursor += iov[i].iov_len;
        }
    }
    memcpy(w->header->in_out, &out, sizeof out);
    w->header->trailer.payload_size = (uint32_t)total;
    worker_queue(w, RING_CMD_COMMIT_AND_FETCH, w->unique);
    w->replied = 1;
    pthread_cond_signal(&w->replied_cond);
    return (ssize_t)(sizeof out + total);
}

static void *worker_main(void *argument) {
    struct worker *w = argument;
    current_worker = w;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(w->qid, &cpus);
    sched_setaffinity(0, sizeof cpus, &cpus);

    int ok = worker_prepare(w) == 0;
    pthread_mutex_lock(&transport.lock);
    if (ok) transport.prepared++; else transport.failed++;
    pthread_cond_broadcast(&transport.changed);
    while (transport.go == 0) pthread_cond_wait(&transport.changed, &transport.lock);
    int go = transport.go;
    pthread_mutex_unlock(&transport.lock);
    if (!ok || go < 0) { worker_release(w); return NULL; }

    int registered = 0;
    worker_queue(w, RING_CMD_REGISTER, 0);
    for (;;) {
        int result = worker_wait(w);
        if (result == -EAGAIN && !registered) {
            // FUSE_INIT's reply is still on its way into the kernel.
            struct timespec pause = { 0, 1000000 };
            nanosleep(&pause, NULL);
            worker_queue(w, RING_CMD_REGISTER, 0);
            continue;
        }
        if (result < 0) {
            // Before the first request this is the kernel refusing the entry (it then serves
            // /dev/fuse alone); after it, the connection ending.
            if (result != -ENOTCONN && result != -ECANCELED) {
                if (!registered) atomic_store(&transport.registration_failed, 1);
                set_worker_problem(w, registered ? "stopped" : "was refused by the kernel", -result);
            }
            break;
        }
        registered = 1;
        __atomic_store_n(&w->served, w->served + 1, __ATOMIC_RELAXED);
        if (transport.poll_wanted) note_request();
        worker_serve(w);
    }
    worker_release(w);
    return NULL;
}

// --- Busy polling while requests flow ---------------------------------------------------------

// On a VM an idle CPU halts, and waking it costs the host a reschedule — more than a whole
// request. While requests keep coming the daemon asks the kernel (PM QoS, /dev/cpu_dma_latency)
// to keep idle CPUs polling instead of halting, and withdraws the request once none came for
// 200 ms, so an idle lake costs nothing. Root only (the device is 0600); -o no_busy_poll off.

static void note_request(void) {
    atomic_fetch_add_explicit(&transport.requests_seen, 1, memory_order_relaxed);
    if (atomic_load_explicit(&transport.poller_asleep, memory_order_relaxed)) {
        pthread_mutex_lock(&transport.lock);
        atomic_store(&transport.poller_asleep, 0);
        pthread_cond_signal(&transport.poller_wake);
        pthread_mutex_unlock(&transport.lock);
    }
}

static void *latency_main(void *argument) {
    (void)argument;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    int qos = -1;
    long last = atomic_load(&transport.requests_seen);
    int quiet_ticks = 0;
    pthread_mutex_lock(&transport.lock);
    while (!transport.poller_stop) {
        if (qos < 0) {
            // Nothing held: sleep until a request arrives.
            atomic_store(&transport.poller_asleep, 1);
            while (atomic_load(&transport.poller_asleep) && !transport.poller_stop)
                pthread_cond_wait(&transport.poller_wake, &transport.lock);
            if (transport.poller_stop) break;
            pthread_mutex_unlock(&transport.lock);
            qos = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
            int32_t zero = 0;
            if (qos >= 0 && write(qos, &zero, sizeof zero) != sizeof zero) { close(qos); qos = -1; }
            pthread_mutex_lock(&transport.lock);
            if (qos < 0) break; // not permitted here: never poll
            last = atomic_load(&transport.requests_seen);
            quiet_ticks = 0;
            continue;
        }
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 10 * 1000 * 1000;
        if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000; }
        pthread_cond_timedwait(&transport.poller_wake, &transport.lock, &deadline);
        long now = atomic_load(&transport.requests_seen);
        if (now != last) quiet_ticks = 0;
        else if (++quiet_ticks >= 20) { close(qos); qos = -1; }
        last = now;
    }
    pthread_mutex_unlock(&transport.lock);
    if (qos >= 0) close(qos);
    return NULL;
}

// --- libfuse's custom I/O hooks --------------------------------------------------------------

static ssize_t transport_read(int fd, void *buffer, size_t size, void *userdata) {
    (void)userdata;
    ssize_t count = read(fd, buffer, size);
    if (count > 0 && transport.poll_wanted) note_request();
    if (count >= (ssize_t)(sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in)) && !transport.init_answered) {
        const struct fuse_in_header *in = buffer;
        if (in->opcode == FUSE_INIT) {
            const struct fuse_init_in *init = (const struct fuse_init_in *)(in + 1);
            uint32_t flags2 = (init->flags & FUSE_INIT_EXT) ? init->flags2 : 0;
            pthread_mutex_lock(&transport.lock);
            transport.init_unique = in->unique;
            transport.kernel_offers_ring = (flags2 & RING_INIT_FLAGS2_BIT) != 0;
            pthread_mutex_unlock(&transport.lock);
            passthrough_note_offer(init->flags | (uint64_t)flags2 << 32);
        }
    }
    return count;
}

/// Answers FUSE_INIT, switching io_uring on when the kernel offers it and every worker has
/// its ring; the workers register once the kernel has taken the answer.
static ssize_t answer_init(int fd, struct iovec *iov, int count) {
    pthread_mutex_lock(&transport.lock);
    int all_prepared = transport.worker_count > 0 && transport.prepared == transport.worker_count;
    int accept = transport.kernel_offers_ring && all_prepared && count >= 2 &&
                 iov[1].iov_len >= offsetof(struct fuse_init_out, flags2) + sizeof(uint32_t);
    pthread_mutex_unlock(&transport.lock);
    if (accept) {
        struct fuse_init_out *init = iov[1].iov_base;
        init->flags |= FUSE_INIT_EXT;
        init->flags2 |= RING_INIT_FLAGS2_BIT;
    }
    if (count >= 2) passthrough_answer_init(iov[1].iov_base, iov[1].iov_len);
    ssize_t written = writev(fd, iov, count);
    passthrough_init_answered(written >= 0);
    pthread_mutex_lock(&transport.lock);
    transport.init_answered = 1;
    transport.ring_accepted = accept && written >= 0;
    transport.go = transport.ring_accepted ? 1 : -1;
    pthread_cond_broadcast(&transport.changed);
    pthread_mutex_unlock(&transport.lock);
    return written;
}

static struct worker *worker_serving(uint64_t unique) {
    struct worker *w = current_worker;
    if (w != NULL && w->unique == unique) return w;
    // A reply made away from the worker that took the request (Lake's handlers answer on
    // the worker, so this is the rare path).
    for (unsigned i = 0; i < transport.worker_count; i++) {
        struct worker *other = &transport.workers[i];
        pthread_mutex_lock(&other->lock);
        int match = other->unique == unique;
        pthread_mutex_unlock(&other->lock);
        if (match) return other;
    }
    return NULL;
}

static ssize_t transport_writev(int fd, struct iovec *iov, int count, void *userdata) {
    (void)userdata;
    passthrough_patch_reply(iov, count);
    const struct fuse_out_header *out = iov[0].iov_base;
    if (out->unique != 0 && transport.ring_accepted) {
        struct worker *w = worker_serving(out->unique);
        if (w != NULL) {
            pthread_mutex_lock(&w->lock);
            ssize_t result = w->unique == out->unique && !w->replied ? worker_stage_reply(w, iov, count) : -2;
            pthread_mutex_unlock(&w->lock);
            if (result != -2) return result;
        }
    }
    if (!transport.init_answered && out->unique == transport.init_unique && out->unique != 0)
        return answer_init(fd, iov, count);
    return writev(fd, iov, count);
}

// --- Public API ------------------------------------------------------------------------------

/// The number of possible CPUs when they are numbered 0 to N-1 (/sys/devices/system/cpu/possible
/// reads "0-N-1"), which is how the kernel numbers its ring queues; 0 otherwise.
static unsigned possible_cpus(void) {
    unsigned first = 1, last = 0;
    FILE *file = fopen("/sys/devices/system/cpu/possible", "r");
    if (file == NULL) return 0;
    int fields = fscanf(file, "%u-%u", &first, &last);
    fclose(file);
    if (fields == 1 && first == 0) return 1;
    if (fields == 2 && first == 0 && last < 4096) return last + 1;
    return 0;
}

int lake_transport_install(struct fuse_session *session, unsigned workers_per_cpu, int want_ring, int busy_poll,
                           int want_passthrough) {
    static const struct fuse_custom_io hooks = { .read = transport_read, .writev = transport_writev };
    int fd = fuse_session_fd(session);
    transport.session = session;
    transport.fd = fd;
    if (fuse_session_custom_io(session, &hooks, fd) != 0) return -EINVAL;
    passthrough_install(fd, want_passthrough);
    if (busy_poll && access("/dev/cpu_dma_latency", W_OK) == 0) {
        transport.poll_wanted = 1;
        transport.poller_started = pthread_create(&transport.poller, NULL, latency_main, NULL) == 0;
        if (!transport.poller_started) transport.poll_wanted = 0;
    }
    transport.wanted = want_ring != 0;
    if (!want_ring) return 0;

    // The kernel has a queue for every possible CPU and serves nothing through io_uring
    // until each has an entry, so offline CPUs get workers too (they simply never wake).
    transport.cpu_count = possible_cpus();
    if (transport.cpu_count == 0) {
        transport.problem = "the possible CPUs are not numbered 0 to N-1";
        return 0;
    }
    if (workers_per_cpu == 0) {
        workers_per_cpu = 16 / transport.cpu_count;
        if (workers_per_cpu < 2) workers_per_cpu = 2;
        if (workers_per_cpu > 8) workers_per_cpu = 8;
    }
    // The kernel sizes the payload as max(8 KiB, max_write, max_pages pages); Lake asks for
    // 1 MiB writes, so 1 MiB plus slack covers every request and reply.
    transport.payload_size = (1u << 20) + 4096;
    transport.worker_count = transport.cpu_count * workers_per_cpu;
    transport.workers = calloc(transport.worker_count, sizeof(struct worker));
    if (transport.workers == NULL) { transport.worker_count = 0; return 0; }
    for (unsigned i = 0; i < transport.worker_count; i++) {
        struct worker *w = &transport.workers[i];
        w->qid = i / workers_per_cpu;
        w->ring_fd = -1;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->replied_cond, NULL);
        w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
        if (!w->started) {
            pthread_mutex_lock(&transport.lock);
            transport.failed++;
            pthread_mutex_unlock(&transport.lock);
        }
    }
    // Wait until every worker has its ring (or failed), so FUSE_INIT knows what to answer.
    pthread_mutex_lock(&transport.lock);
    while (transport.prepared + transport.failed < transport.worker_count)
        pthread_cond_wait(&transport.changed, &transport.lock);
    pthread_mutex_unlock(&transport.lock);
    return 0;
}

const char *lake_transport_plan(void) {
    static char text[200];
    pthread_mutex_lock(&transport.lock);
    const char *why = NULL;
    if (transport.problem != NULL) why = transport.problem;
    else if (!transport.wanted) why = "io_uring not asked for";
    else if (!transport.kernel_offers_ring)
        why = "the kernel does not offer FUSE over io_uring: it needs Linux 6.14+ and fuse.enable_uring=Y";
    else if (transport.prepared < transport.worker_count) why = "the io_uring workers could not start";
    if (why == NULL) snprintf(text, sizeof text, "io_uring");
    else snprintf(text, sizeof text, "/dev/fuse (%s)", why);
    pthread_mutex_unlock(&transport.lock);
    return text;
}

int lake_transport_ring_queues(void) {
    if (!transport.ring_accepted || atomic_load(&transport.registration_failed)) return 0;
    return (int)transport.cpu_count;
}

int lake_transport_busy_polls(void) { return transport.poll_wanted; }

long lake_transport_ring_requests(void) {
    long total = 0;
    for (unsigned i = 0; i < transport.worker_count; i++)
        total += __atomic_load_n(&transport.workers[i].served, __ATOMIC_RELAXED);
    return total;
}

void lake_transport_stop(void) {
    pthread_mutex_lock(&transport.lock);
    if (transport.go == 0) transport.go = -1;
    pthread_cond_broadcast(&transport.changed);
    transport.poller_stop = 1;
    pthread_cond_signal(&transport.poller_wake);
    pthread_mutex_unlock(&transport.lock);
    if (transport.poller_started) pthread_join(transport.poller, NULL);
    transport.poller_started = 0;
    // The kernel ends every ring entry when the connection goes; workers still blocked two
    // seconds later are left behind as the process leaves.
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    for (unsigned i = 0; i < transport.worker_count; i++) {
        struct worker *w = &transport.workers[i];
        if (w->started && pthread_timedjoin_np(w->thread, NULL, &deadline) == 0) w->started = 0;
    }
}

int lake_transport_reply_fd(struct fuse_req *request, int fd, off_t offset, size_t size) {
    struct worker *w = current_worker;
    if (w != NULL && w->unique != 0 && size <= w->payload_size) {
        // On a ring the bytes must land in the entry's payload anyway: read them there.
        size_t done = 0;
        while (done < size) {
            ssize_t count = pread(fd, w->payload + done, size - done, offset + (off_t)done);
            if (count < 0 && errno == EINTR) continue;
            if (count < 0) return fuse_reply_err(request, errno);
            if (count == 0) break;
            done += (size_t)count;
        }
        return fuse_reply_buf(request, w->payload, done);
    }
    struct fuse_bufvec buffer = FUSE_BUFVEC_INIT(size);
    buffer.buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    buffer.buf[0].fd = fd;
    buffer.buf[0].pos = offset;
    return fuse_reply_data(request, &buffer, FUSE_BUF_SPLICE_MOVE);
}
