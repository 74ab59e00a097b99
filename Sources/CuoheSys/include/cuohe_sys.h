// Small helpers the Swift standard library and the Glibc module do not offer.
#ifndef CUOHE_SYS_H
#define CUOHE_SYS_H

/// Asks the CPU to start loading the cache line holding `address` (for reading), so a later
/// access does not stall. Never faults, even on a bad address.
static inline void cuohe_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
