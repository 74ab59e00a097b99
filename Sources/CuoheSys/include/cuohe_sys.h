// Small helpers the Swift standard library and the Glibc module do not offer.
#ifndef CUOHE_SYS_H
#define CUOHE_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "cuohe_net.h"

/// Asks the CPU to start loading the cache line holding `address` (for reading), so a later
/// access does not stall. Never faults, even on a bad address.
static inline void cuohe_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Asks the CPU to start loading the cache line holding `address` for writing.
static inline void cuohe_prefetch_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Allocates `bytes` (at least one) for the matcher's fixed storage, or returns NULL. Blocks of
/// 2 MiB or more are 2 MiB-aligned and marked for transparent huge pages: the day's cid table and
/// records run to hundreds of MB and are read at random, so with 4 KiB pages nearly every lookup
/// would also miss the TLB. The hint changes only speed, never contents. Free with `cuohe_free`.
static inline void *cuohe_alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (bytes == 0) bytes = 1;
    if (posix_memalign(&p, bytes >= huge ? huge : 64, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= huge) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

/// Allocates `bytes` of zeros without touching them: large blocks come straight from the kernel
/// as untouched zero pages (marked for huge pages), so a capacity of millions costs nothing until
/// it is used. Free with `cuohe_free_zeroed` and the same size.
static inline void *cuohe_alloc_zeroed(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    if (bytes == 0) bytes = 1;
    if (bytes < huge) return calloc(1, bytes);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

/// Frees a block from `cuohe_alloc_zeroed`.
static inline void cuohe_free_zeroed(void *p, size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    if (bytes == 0) bytes = 1;
    if (bytes < huge) free(p); else munmap(p, bytes);
}

/// Frees a block from `cuohe_alloc`.
static inline void cuohe_free(void *p) {
    free(p);
}

/// True if the CPU has the SSE 4.2 CRC-32C instruction (every x86-64 server of the last decade).
static inline int cuohe_crc32c_hardware(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
#else
    return 0;
#endif
}

/// CRC-32C of `bytes` continuing from `crc` (0 to start), with the CPU's CRC32 instruction: eight
/// bytes a step. Only call it when `cuohe_crc32c_hardware()` is true.
#if defined(__x86_64__)
__attribute__((target("sse4.2")))
#endif
static inline uint32_t cuohe_crc32c(uint32_t crc, const void *bytes, size_t count) {
#if defined(__x86_64__)
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t c = (uint32_t)~crc;
    while (count >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p);
        p += 1;
        count -= 1;
    }
    return ~c32;
#else
    (void)crc; (void)bytes; (void)count;
    return 0;
#endif
}

#endif
