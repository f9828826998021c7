// Kernel FUSE passthrough (Linux 6.9+): the kernel reads an open file straight from a backing
// file the daemon names, so a read of a stored blob never reaches the daemon and uses the
// blob's own page cache. libfuse 3.14 predates it; Lake's transport hooks add it to FUSE_INIT
// and to the OPEN reply.
#ifndef LAKE_FUSE_PASSTHROUGH_H
#define LAKE_FUSE_PASSTHROUGH_H

#include <stdint.h>

struct fuse_req;
struct fuse_entry_param;

/// Whether FUSE_INIT will switch passthrough on: the kernel offers it, it was asked for and
/// the daemon may register backing files (CAP_SYS_ADMIN). Valid from the init callback on.
/// The kernel refuses passthrough beside the writeback cache, so the init callback must
/// not ask for both.
int lake_passthrough_planned(void);

/// Whether FUSE_INIT switched passthrough on.
int lake_passthrough_enabled(void);

/// "on (…)" or "off (why)", for the log: what FUSE_INIT chooses.
const char *lake_passthrough_plan(void);

/// Registers `fd` as a backing file; returns its backing id (> 0) or -errno. One id must
/// serve every open of the same inode while any is open (the kernel refuses two).
int lake_passthrough_register(int fd);

/// Forgets a backing id; open files keep their backing file.
void lake_passthrough_unregister(int backing_id);

/// Answers an OPEN so that the kernel reads the file from `backing_id`.
int lake_reply_open_passthrough(struct fuse_req *request, uint64_t handle, int backing_id, int noflush);

#endif
