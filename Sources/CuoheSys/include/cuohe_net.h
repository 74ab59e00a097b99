// The Linux calls the Glibc module does not import: epoll, eventfd and signalfd.
#ifndef CUOHE_NET_H
#define CUOHE_NET_H

#include <stdint.h>
#include <signal.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

/// What `cuohe_epoll_wait` reports per descriptor.
enum { CUOHE_READABLE = 1, CUOHE_WRITABLE = 2, CUOHE_HANGUP = 4 };

static inline int cuohe_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// Adds (`op` 0), changes (1) or removes (2) `fd`, level-triggered, reporting `token`.
static inline int cuohe_epoll_ctl(int ep, int op, int fd, int wantRead, int wantWrite, uint64_t token) {
    struct epoll_event ev;
    ev.events = (wantRead ? EPOLLIN | EPOLLRDHUP : 0) | (wantWrite ? EPOLLOUT : 0);
    ev.data.u64 = token;
    int how = op == 0 ? EPOLL_CTL_ADD : op == 1 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    return epoll_ctl(ep, how, fd, &ev);
}

/// Waits up to `timeoutMs` for at most `max` ready descriptors; fills `tokens` and `flags`
/// (`CUOHE_*` bits) and returns how many, or -1 with errno.
static inline int cuohe_epoll_wait(int ep, uint64_t *tokens, uint32_t *flags, int max, int timeoutMs) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(ep, evs, max, timeoutMs);
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events, f = 0;
        if (e & EPOLLIN) f |= CUOHE_READABLE;
        if (e & EPOLLOUT) f |= CUOHE_WRITABLE;
        if (e & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) f |= CUOHE_HANGUP;
        tokens[i] = evs[i].data.u64;
        flags[i] = f;
    }
    return n;
}

/// glibc declares accept4 only under _GNU_SOURCE, which this module must not define (it would
/// change shared system headers under the modules that import them); the call itself is Linux's.
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

/// The next queued connection, non-blocking and close-on-exec, or -1.
static inline int cuohe_accept_nonblocking(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

/// glibc declares sync_file_range only under _GNU_SOURCE, as accept4 above.
extern int sync_file_range(int fd, long long offset, long long count, unsigned int flags);

/// Starts writing `count` bytes at `offset` of `fd` to disk without waiting for them
/// (SYNC_FILE_RANGE_WRITE): the later fdatasync then has little left to do.
static inline int cuohe_start_writeback(int fd, long long offset, long long count) {
    return sync_file_range(fd, offset, count, 2);
}

static inline int cuohe_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

/// Blocks SIGTERM and SIGINT in this thread (and every thread it starts later) and returns a
/// descriptor that becomes readable when one arrives, so a server can shut down from its loop.
static inline int cuohe_termination_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/// Ignores SIGPIPE: a peer that closes its end makes a write fail with EPIPE instead.
static inline void cuohe_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

#endif
