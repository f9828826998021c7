#ifndef LAKE_FUZZ_DRIVER_H
#define LAKE_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver with `callback` as the target when the binary was built with
/// `-sanitize=fuzzer` (which links libFuzzer); returns -1 in an ordinary build, where the
/// driver is absent (its symbol is weak).
int lake_fuzz_run(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
