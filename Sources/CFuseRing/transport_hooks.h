// What fuse_ring.c's custom I/O hooks ask of passthrough.c (not part of the module's API).
#ifndef LAKE_TRANSPORT_HOOKS_H
#define LAKE_TRANSPORT_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/// Called by lake_transport_install.
void passthrough_install(int device_fd, int wanted);

/// The kernel's FUSE_INIT flags (flags | flags2 << 32).
void passthrough_note_offer(uint64_t kernel_flags);

/// Adds passthrough to the FUSE_INIT reply about to be written, when planned and possible.
void passthrough_answer_init(void *init_out, size_t size);

/// Called once the FUSE_INIT reply reached the kernel (or failed to).
void passthrough_init_answered(int written);

/// Marks an OPEN reply about to be written for passthrough when its thread asked for it.
void passthrough_patch_reply(struct iovec *iov, int count);

#endif
