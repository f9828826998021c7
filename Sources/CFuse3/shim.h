// libfuse 3 low-level API for Swift: the version define and the macros Swift cannot call.
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>
#include <stddef.h>
#include <sys/stat.h>
#include <errno.h>

static inline struct fuse_args lake_fuse_args(int argc, char **argv) {
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    return args;
}
