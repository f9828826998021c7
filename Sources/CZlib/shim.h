#include <zlib.h>

// inflateInit is a macro Swift cannot call; this is the same call as a function.
static inline int lake_inflate_init(z_stream *stream) {
    return inflateInit(stream);
}
