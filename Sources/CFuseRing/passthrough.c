// Kernel FUSE passthrough for libfuse 3.14. See fuse_passthrough.h for why.
//
// Protocol (kernel uapi fuse.h 7.40, Documentation/filesystems/fuse-passthrough.rst):
// - The kernel offers FUSE_PASSTHROUGH (init flag bit 37, flags2 bit 5); the reply accepts it
//   with the same bit and a max_stack_depth of 1 or 2, and never beside FUSE_WRITEBACK_CACHE.
// - The daemon registers a backing file with ioctl(FUSE_DEV_IOC_BACKING_OPEN) on /dev/fuse
//   (CAP_SYS_ADMIN) and answers OPEN with FOPEN_PASSTHROUGH and the id in fuse_open_out's
//   former padding. Reads, writes, splice and mmap of that open file then go to the backing
//   file inside the kernel; the daemon sees only the RELEASE.
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include "fuse_passthrough.h"
#include "transport_hooks.h"

#include <errno.h>
#include <fuse3/fuse_lowlevel.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

// --- Kernel ABI 7.40, absent from Debian 12's linux/fuse.h (7.38) -------------------------

#define PASSTHROUGH_INIT_FLAGS2_BIT (1u << 5) // FUSE_PASSTHROUGH is init flag bit 37
#define WRITEBACK_CACHE_INIT_FLAG (1u << 16)
#define INIT_OUT_MAX_STACK_DEPTH 36            // uint32 after flags2 in fuse_init_out
#define FOPEN_PASSTHROUGH_FLAG (1u << 7)

struct backing_map {
    int32_t fd;
    uint32_t flags;
    uint64_t padding;
};

struct open_out {
    uint64_t fh;
    uint32_t open_flags;
    int32_t backing_id;
};

#define BACKING_OPEN _IOW(229, 1, struct backing_map)
#define BACKING_CLOSE _IOW(229, 2, uint32_t)

// Lake's blobs sit on a plain filesystem: one level of stacking below, and the mount may
// itself sit below one overlay.
#define MAX_STACK_DEPTH 1

static struct {
    int fd;
    int wanted;
    atomic_int offered;
    atomic_int enabled;
} passthrough = { .fd = -1 };

// Set by lake_reply_open_passthrough around its fuse_reply_open: libfuse writes the reply on
// the calling thread, through the transport's writev hook, before returning.
static __thread int pending_backing_id;

void passthrough_install(int device_fd, int wanted) {
    passthrough.fd = device_fd;
    passthrough.wanted = wanted != 0;
}

void passthrough_note_offer(uint64_t kernel_flags) {
    atomic_store(&passthrough.offered, (kernel_flags >> 32 & PASSTHROUGH_INIT_FLAGS2_BIT) != 0);
}

int lake_passthrough_planned(void) {
    return passthrough.wanted && atomic_load(&passthrough.offered) && geteuid() == 0;
}

int lake_passthrough_enabled(void) { return atomic_load(&passthrough.enabled); }

const char *lake_passthrough_plan(void) {
    if (lake_passthrough_planned()) return "on (the kernel reads stored files from their blobs)";
    if (passthrough.fd < 0) return "off (the transport hooks are not installed)";
    if (!passthrough.wanted) return "off (not asked for)";
    if (!atomic_load(&passthrough.offered))
        return "off (the kernel does not offer it: it needs Linux 6.9+ built with CONFIG_FUSE_PASSTHROUGH)";
    return "off (registering backing files needs root)";
}

void passthrough_answer_init(void *init_out, size_t size) {
    struct fuse_init_out *init = init_out;
    if (!lake_passthrough_planned() || size < INIT_OUT_MAX_STACK_DEPTH + sizeof(uint32_t)) return;
    if (init->flags & WRITEBACK_CACHE_INIT_FLAG) return;
    init->flags |= FUSE_INIT_EXT;
    init->flags2 |= PASSTHROUGH_INIT_FLAGS2_BIT;
    uint32_t depth = MAX_STACK_DEPTH;
    memcpy((char *)init_out + INIT_OUT_MAX_STACK_DEPTH, &depth, sizeof depth);
    atomic_store(&passthrough.enabled, 1);
}

void passthrough_init_answered(int written) {
    if (!written) atomic_store(&passthrough.enabled, 0);
}

int lake_passthrough_register(int fd) {
    if (!atomic_load(&passthrough.enabled)) return -ENOTSUP;
    struct backing_map map = { .fd = fd };
    int id = ioctl(passthrough.fd, BACKING_OPEN, &map);
    return id < 0 ? -errno : id;
}

void lake_passthrough_unregister(int backing_id) {
    uint32_t id = (uint32_t)backing_id;
    (void)ioctl(passthrough.fd, BACKING_CLOSE, &id);
}

int lake_reply_open_passthrough(struct fuse_req *request, uint64_t handle, int backing_id, int noflush) {
    struct fuse_file_info info;
    memset(&info, 0, sizeof info);
    info.fh = handle;
    info.noflush = noflush != 0;
    pending_backing_id = backing_id;
    int result = fuse_reply_open(request, &info);
    pending_backing_id = 0;
    return result;
}

void passthrough_patch_reply(struct iovec *iov, int count) {
    if (pending_backing_id <= 0 || count != 2) return;
    // An OPEN reply is fuse_open_out (CREATE replies, fuse_entry_out followed by it, never carry one).
    size_t size = iov[1].iov_len;
    if (size != sizeof(struct open_out)) return;
    const struct fuse_out_header *out = iov[0].iov_base;
    if (out->error != 0) return;
    struct open_out *open = (struct open_out *)((char *)iov[1].iov_base + size - sizeof(struct open_out));
    open->open_flags |= FOPEN_PASSTHROUGH_FLAG;
    open->backing_id = pending_backing_id;
    pending_backing_id = 0;
}
