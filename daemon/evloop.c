/*
 * evloop.c -- event loops, leader/follower threads, the fiber scheduler.
 *
 * A loop is an epoll set plus the threads that take turns leading it.
 * The leader waits in epoll_wait() and runs what comes: a listener's
 * accept path (accept.c), a fiber whose descriptor became ready, the
 * fibers whose deadline passed, or a park request from the control
 * thread.  When the accept path gives it a blocking plugin's connection,
 * the leader finishes its batch, wakes an idle follower (or starts a new
 * thread) to lead, and runs that handler itself: the connection is never
 * handed to another thread.  A thread that finds a leader already in
 * place waits as a follower; followers idle for FOLLOWER_IDLE_SECS exit.
 *
 * Fibers: a cooperative handler runs on a fiber of the loop that accepted
 * it.  libporter calls the loop's pt_io_waiter when an operation would
 * block: the waiter registers the descriptor in the epoll set (edge
 * triggered, once per descriptor; libporter retries the operation before
 * every wait, so no edge can be missed), notes the deadline in the loop's
 * timer heap and yields.  The leader resumes the fiber when the descriptor
 * is ready or the deadline passes.  Because the leader changes hands, a
 * fiber may resume on another thread of the same loop (see fiber.h).
 *
 * Ownership: the leader alone touches the epoll registrations of fibers,
 * the timer heap and the fiber pool; L->lock guards the live list and the
 * leader/follower state.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <porter/iowait.h>

#include "accept.h"
#include "dispatch.h"
#include "edge.h"
#include "evloop.h"
#include "fiber.h"
#include "log.h"
#include "tls.h"

#define EVLOOP_BATCH		64
#define FOLLOWER_IDLE_SECS	30
#define FIBER_STACK		(256 * 1024)	/* reserved, not resident */
#define FIBER_CACHE		64		/* idle stacks kept per loop */
#define THREAD_STACK		(512 * 1024)	/* blocking handlers run here */

struct evloop {
	unsigned id;
	int epfd;
	struct ev wake;			/* eventfd: park and quit requests */
	pthread_mutex_t lock;		/* live list, leader/follower state */
	pthread_cond_t cond;		/* followers wait here */
	bool leader;			/* a thread leads the loop (written
					 * under lock and park_mtx) */
	bool at_park;			/* parked (park_mtx) */
	unsigned threads, idle;
	bool quit;
	struct conn *live;
	unsigned nlive;
	/* The leader's alone: */
	struct fiber_pool *fibers;
	struct conn **heap;		/* fibers waiting with a deadline */
	size_t nheap, heapcap;
	struct conn *running;		/* the fiber now running, or NULL */
	struct conn *blocking;		/* to run on this thread after the batch */
	pt_io_waiter waiter;
	/* Read by the control thread (stall reports, park failures). */
	int64_t run_since;		/* ns the running fiber was resumed, 0 */
	bool run_edge;			/* it reads a PROXY header or does a
					 * TLS handshake, no handler yet */
	const struct svc *run_svc;	/* whose fiber that is (leader's) */
	pthread_mutex_t name_lock;	/* run_name: leader writes, control
					 * thread reads */
	char run_name[64];
	int64_t stall_reported;		/* the run_since already reported */
};

static struct evloop *loops;
static unsigned nloops;
static int *epfds;
static int64_t stall_ns;	/* control thread only (evloop_set_stall) */
static bool started;		/* threads run: parking means something */

/*
 * Park barrier: the control thread waits until every loop is parked or has
 * no leader (nothing runs its events then: a thread that takes the lead
 * meets the barrier before it touches anything).
 */
static pthread_mutex_t park_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond;	/* CLOCK_MONOTONIC (evloop_init) */
static bool park_req;		/* atomic reads by the leaders */
static unsigned parked;		/* loops with at_park set */

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ timer heap */

static bool
heap_less(size_t a, size_t b, struct conn **h)
{
	return h[a]->deadline < h[b]->deadline;
}

static void
heap_swap(struct conn **h, size_t a, size_t b)
{
	struct conn *t = h[a];

	h[a] = h[b];
	h[b] = t;
	h[a]->hidx = a + 1;
	h[b]->hidx = b + 1;
}

static void
heap_up(struct conn **h, size_t i)
{
	while (i > 0 && heap_less(i, (i - 1) / 2, h)) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct conn **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && heap_less(l, m, h))
			m = l;
		if (r < n && heap_less(r, m, h))
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

static int
heap_add(struct evloop *L, struct conn *c)
{
	if (L->nheap == L->heapcap) {
		size_t cap = L->heapcap ? L->heapcap * 2 : 64;
		struct conn **h = realloc(L->heap, cap * sizeof(*h));

		if (h == NULL)
			return -1;
		L->heap = h;
		L->heapcap = cap;
	}
	L->heap[L->nheap] = c;
	c->hidx = ++L->nheap;
	heap_up(L->heap, L->nheap - 1);
	return 0;
}

static void
heap_del(struct evloop *L, struct conn *c)
{
	size_t i = c->hidx - 1;

	if (c->hidx == 0)
		return;
	c->hidx = 0;
	if (i == --L->nheap)
		return;
	L->heap[i] = L->heap[L->nheap];
	L->heap[i]->hidx = i + 1;
	heap_up(L->heap, i);
	heap_down(L->heap, L->nheap, L->heap[i]->hidx - 1);
}

/* Milliseconds epoll may wait: until the earliest fiber deadline. */
static int
heap_timeout(const struct evloop *L)
{
	int64_t d;

	if (L->nheap == 0)
		return -1;
	d = L->heap[0]->deadline - now_ns();
	if (d <= 0)
		return 0;
	return (int)((d + 999999) / 1000000);
}

/* ------------------------------------------------------------ fibers */

static void
fiber_main(void *arg)
{
	dispatch_run_plugin(arg);
}

/* Runs c's fiber until it waits or ends; finishes c when it ends. */
static void
evloop_resume(struct evloop *L, struct conn *c)
{
	if (L->run_svc != c->svc) {
		L->run_svc = c->svc;
		pthread_mutex_lock(&L->name_lock);
		snprintf(L->run_name, sizeof(L->run_name), "%s",
		    c->svc->conf->name);
		pthread_mutex_unlock(&L->name_lock);
	}
	L->running = c;
	__atomic_store_n(&L->run_edge, edge_busy(c), __ATOMIC_RELAXED);
	__atomic_store_n(&L->run_since, now_ns(), __ATOMIC_RELAXED);
	fiber_resume(c->fiber);
	/* A hint lives for the fiber's first slice only (iowait.h). */
	pt_io_fd_hint(-1, 0, 0, 0, -1);
	__atomic_store_n(&L->run_since, 0, __ATOMIC_RELAXED);
	L->running = NULL;
	if (!fiber_done(c->fiber))
		return;
	/* The plugin should have closed its sockets through libporter. */
	if (c->fev.fd >= 0)
		epoll_ctl(L->epfd, EPOLL_CTL_DEL, c->fev.fd, NULL);
	heap_del(L, c);
	fiber_free(c->fiber);
	c->fiber = NULL;
	dispatch_done(c);
}

/* A fiber's descriptor is ready. */
static void
evloop_fiber_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	struct conn *c = (struct conn *)((char *)ev -
	    offsetof(struct conn, fev));

	/*
	 * Edge-triggered: an edge it is not waiting for now is kept, so that
	 * a later wait sees readiness that came meanwhile (level semantics,
	 * as iowait.h asks of a waiter).
	 */
	c->pending |= events;
	if (c->want == 0 || !(events & (c->want | EPOLLERR | EPOLLHUP)))
		return;
	c->woke = 1;
	evloop_resume(L, c);
}

/* pt_io_waiter.wait: on a fiber, yield until fd is ready or time is up. */
static int
evloop_io_wait(void *arg, int fd, int events, int timeout_ms)
{
	struct evloop *L = arg;
	struct conn *c = L->running;
	struct epoll_event ev;
	struct pollfd p;

	if (c == NULL) {
		/* Not on a fiber (cannot happen on a loop): just wait. */
		p.fd = fd;
		p.events = (short)events;
		return poll(&p, 1, timeout_ms) > 0 ? 1 : 0;
	}
	if (c->fev.fd != fd) {
		if (c->fev.fd >= 0)
			epoll_ctl(L->epfd, EPOLL_CTL_DEL, c->fev.fd, NULL);
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.ptr = &c->fev;
		c->fev.fd = -1;
		c->pending = 0;		/* ADD reports what is ready now */
		if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
			return -1;
		c->fev.fd = fd;
	}
	c->want = ((events & POLLIN) ? EPOLLIN | EPOLLRDHUP : 0) |
	    ((events & POLLOUT) ? EPOLLOUT : 0);
	if (c->pending & (c->want | EPOLLERR | EPOLLHUP)) {
		/* Ready since it last looked: at worst the call tries once. */
		c->pending &= ~(c->want & (EPOLLIN | EPOLLOUT));
		c->want = 0;
		return 1;
	}
	c->woke = 0;
	c->deadline = 0;
	if (timeout_ms >= 0) {
		c->deadline = now_ns() + (int64_t)timeout_ms * 1000000;
		if (heap_add(L, c) == -1) {
			c->want = 0;
			errno = ENOMEM;
			return -1;
		}
	}
	fiber_yield(c->fiber);
	/* Resumed, maybe on another thread of the loop: L and c are ours. */
	heap_del(L, c);
	/*
	 * That edge is spent -- except the end of the peer's data (RDHUP),
	 * and errors and hang-ups: those stay true for good, and a read
	 * that returns the last bytes does not report the EOF behind them.
	 */
	if (c->woke)
		c->pending &= ~(c->want & (EPOLLIN | EPOLLOUT));
	c->want = 0;
	return c->woke;
}

/* pt_io_waiter.closing: libporter is about to close fd. */
static void
evloop_io_closing(void *arg, int fd)
{
	struct evloop *L = arg;
	struct conn *c = L->running;

	if (c != NULL && c->fev.fd == fd) {
		epoll_ctl(L->epfd, EPOLL_CTL_DEL, fd, NULL);
		c->fev.fd = -1;
	}
}

int
evloop_run_fiber(struct evloop *L, struct conn *c)
{
	if ((c->fiber = fiber_new(L->fibers, fiber_main, c)) == NULL)
		return -1;
	c->fev.fd = -1;
	c->fev.fn = evloop_fiber_ev;
	evloop_resume(L, c);
	return 0;
}

/* Resumes the fibers whose deadline has passed. */
static void
evloop_expire(struct evloop *L)
{
	int64_t now = now_ns();

	while (L->nheap > 0 && L->heap[0]->deadline <= now) {
		struct conn *c = L->heap[0];

		heap_del(L, c);
		c->woke = 0;
		evloop_resume(L, c);
	}
}

/* ------------------------------------------------------------ leading */

bool
evloop_can_block(const struct evloop *L)
{
	return L->blocking == NULL;
}

void
evloop_run_blocking(struct evloop *L, struct conn *c)
{
	L->blocking = c;
}

static void
evloop_wake_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	uint64_t n;
	ssize_t r;

	(void)events;
	(void)L;
	r = read(ev->fd, &n, sizeof(n));
	(void)r;
}

/* Between two batches: stay here while the control thread asks. */
static void
evloop_safe_point(struct evloop *L)
{
	if (!__atomic_load_n(&park_req, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&park_mtx);
	if (park_req) {
		L->at_park = true;
		parked++;
		pthread_cond_broadcast(&park_cond);
		while (park_req)
			pthread_cond_wait(&park_cond, &park_mtx);
		L->at_park = false;
		parked--;
		pthread_cond_broadcast(&park_cond);
	}
	pthread_mutex_unlock(&park_mtx);
}

/*
 * L->lock held: the thread starts or stops leading L.  leader is written
 * under park_mtx, which evloop_park holds while it reads it: a park sees
 * either a leader that will meet the barrier (its first step is
 * evloop_safe_point) or none.  Stepping down wakes a park in progress:
 * the loop counts as parked now.
 */
static void
evloop_set_leader(struct evloop *L, bool leader)
{
	pthread_mutex_lock(&park_mtx);
	L->leader = leader;
	if (!leader)
		pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_mtx);
}

/*
 * Leads L until a blocking connection is taken (returned) or the loop
 * quits (NULL).
 */
static struct conn *
evloop_lead(struct evloop *L)
{
	struct epoll_event evs[EVLOOP_BATCH];
	struct conn *c;
	int i, n;

	pt_io_set_waiter(&L->waiter);
	for (;;) {
		evloop_safe_point(L);
		if (__atomic_load_n(&L->quit, __ATOMIC_ACQUIRE))
			return NULL;
		n = epoll_wait(L->epfd, evs, EVLOOP_BATCH, heap_timeout(L));
		if (n == -1 && errno != EINTR) {
			log_warn("event loop %u: epoll_wait", L->id);
			n = 0;
		}
		for (i = 0; i < n; i++) {
			struct ev *ev = evs[i].data.ptr;

			ev->fn(ev, evs[i].events, L);
		}
		evloop_expire(L);
		if ((c = L->blocking) != NULL) {
			L->blocking = NULL;
			return c;
		}
	}
}

static int evloop_spawn(struct evloop *L);

static void *
evloop_thread(void *arg)
{
	struct evloop *L = arg;
	struct timespec until;
	struct conn *c;
	int r;

	pthread_mutex_lock(&L->lock);
	for (;;) {
		while (L->leader && !L->quit) {
			L->idle++;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += FOLLOWER_IDLE_SECS;
			r = pthread_cond_timedwait(&L->cond, &L->lock, &until);
			L->idle--;
			if (r == ETIMEDOUT && L->leader)
				goto out;	/* a spare too many */
		}
		if (L->quit)
			goto out;
		evloop_set_leader(L, true);
		pthread_mutex_unlock(&L->lock);
		c = evloop_lead(L);
		pthread_mutex_lock(&L->lock);
		evloop_set_leader(L, false);
		if (c == NULL)
			goto out;
		/* Someone else leads while this thread runs the handler. */
		if (L->idle > 0)
			pthread_cond_signal(&L->cond);
		else if (evloop_spawn(L) == -1)
			log_warn("event loop %u: cannot start a thread; the "
			    "loop waits for this handler", L->id);
		pthread_mutex_unlock(&L->lock);
		pt_io_set_waiter(NULL);
		dispatch_run_plugin(c);
		dispatch_done(c);
		pthread_mutex_lock(&L->lock);
	}
out:
	/*
	 * OpenSSL's state of this thread (a relay or handshake ran here),
	 * freed now, while porterd waits for this thread: not by a key
	 * destructor racing with exit().
	 */
	pthread_mutex_unlock(&L->lock);
	tls_thread_end();
	pthread_mutex_lock(&L->lock);
	L->threads--;
	pthread_cond_broadcast(&L->cond);
	pthread_mutex_unlock(&L->lock);
	return NULL;
}

/* Starts a thread for L (L->lock held). */
static int
evloop_spawn(struct evloop *L)
{
	pthread_attr_t attr;
	pthread_t tid;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	r = pthread_create(&tid, &attr, evloop_thread, L);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		errno = r;
		return -1;
	}
	L->threads++;
	return 0;
}

/* ------------------------------------------------------------ setup */

int
evloop_init(unsigned n)
{
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_condattr_t ca;
	unsigned i;

	if (n == 0)
		n = 1;
	/* The park's bound must not move with the wall clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&park_cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((loops = calloc(n, sizeof(*loops))) == NULL ||
	    (epfds = calloc(n, sizeof(*epfds))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		struct evloop *L = &loops[i];

		L->id = i;
		pthread_mutex_init(&L->lock, NULL);
		pthread_mutex_init(&L->name_lock, NULL);
		pthread_cond_init(&L->cond, NULL);
		L->waiter.wait = evloop_io_wait;
		L->waiter.closing = evloop_io_closing;
		L->waiter.arg = L;
		if ((L->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
		    (L->wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
		    (L->fibers = fiber_pool_new(FIBER_STACK,
		    FIBER_CACHE)) == NULL)
			return -1;
		L->wake.fn = evloop_wake_ev;
		ev.data.ptr = &L->wake;
		if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->wake.fd, &ev) == -1)
			return -1;
		epfds[i] = L->epfd;
		nloops++;
	}
	return 0;
}

const int *
evloop_epfds(void)
{
	return epfds;
}

int
evloop_epfd(const struct evloop *L)
{
	return L->epfd;
}

size_t
evloop_count(void)
{
	return nloops;
}

int
evloop_start(void)
{
	unsigned i;
	int r = 0;

	started = true;
	for (i = 0; i < nloops; i++) {
		pthread_mutex_lock(&loops[i].lock);
		if (evloop_spawn(&loops[i]) == -1)
			r = -1;
		pthread_mutex_unlock(&loops[i].lock);
	}
	return r;
}

static void
evloop_kick(struct evloop *L)
{
	uint64_t one = 1;
	ssize_t r = write(L->wake.fd, &one, sizeof(one));

	(void)r;
}

/* park_mtx held: the first loop neither parked nor leaderless, or NULL. */
static struct evloop *
evloop_unparked(void)
{
	unsigned i;

	for (i = 0; i < nloops; i++)
		if (!loops[i].at_park && loops[i].leader)
			return &loops[i];
	return NULL;
}

/* The service whose fiber runs (or ran last) on L. */
static void
evloop_run_name(struct evloop *L, char *buf, size_t len)
{
	pthread_mutex_lock(&L->name_lock);
	snprintf(buf, len, "%s", L->run_name);
	pthread_mutex_unlock(&L->name_lock);
}

int
evloop_park(unsigned timeout_ms, char *why, size_t len)
{
	char name[sizeof(loops->run_name)];
	struct timespec until;
	struct evloop *L;
	unsigned i;
	int r = 0;

	if (!started)
		return 0;	/* no thread yet: nothing runs a loop */
	pthread_mutex_lock(&park_mtx);
	__atomic_store_n(&park_req, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&park_mtx);
	for (i = 0; i < nloops; i++)
		evloop_kick(&loops[i]);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&park_mtx);
	while ((L = evloop_unparked()) != NULL && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&park_cond, &park_mtx, &until);
	pthread_mutex_unlock(&park_mtx);
	if (L == NULL)
		return 0;
	if (__atomic_load_n(&L->run_since, __ATOMIC_RELAXED) != 0) {
		evloop_run_name(L, name, sizeof(name));
		snprintf(why, len, "event loop %u did not stop within %u ms: "
		    "a cooperative handler of service %s has not yielded",
		    L->id, timeout_ms, name);
	} else
		snprintf(why, len, "event loop %u did not stop within %u ms",
		    L->id, timeout_ms);
	evloop_unpark();
	return -1;
}

void
evloop_unpark(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&park_mtx);
	__atomic_store_n(&park_req, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&park_cond);
	/* Wait until they have left, so a quick second park is clean. */
	while (parked > 0)
		pthread_cond_wait(&park_cond, &park_mtx);
	pthread_mutex_unlock(&park_mtx);
}

int
evloop_quit(void)
{
	struct timespec until;
	unsigned i;

	for (i = 0; i < nloops; i++) {
		struct evloop *L = &loops[i];

		pthread_mutex_lock(&L->lock);
		__atomic_store_n(&L->quit, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&L->cond);
		pthread_mutex_unlock(&L->lock);
		evloop_kick(L);
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	for (i = 0; i < nloops; i++) {
		struct evloop *L = &loops[i];
		int r = 0;

		pthread_mutex_lock(&L->lock);
		while (L->threads > 0 && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&L->cond, &L->lock, &until);
		pthread_mutex_unlock(&L->lock);
		if (L->threads > 0)
			return -1;	/* a handler still runs: leave it all */
	}
	for (i = 0; i < nloops; i++) {
		close(loops[i].epfd);
		close(loops[i].wake.fd);
		fiber_pool_free(loops[i].fibers);
		free(loops[i].heap);
	}
	free(loops);
	free(epfds);
	loops = NULL;
	epfds = NULL;
	nloops = 0;
	return 0;
}

/* ------------------------------------------------------------ live conns */

void
evloop_conn_add(struct evloop *L, struct conn *c)
{
	c->loop = L;
	pthread_mutex_lock(&L->lock);
	c->lprev = NULL;
	c->lnext = L->live;
	if (L->live != NULL)
		L->live->lprev = c;
	L->live = c;
	L->nlive++;
	pthread_mutex_unlock(&L->lock);
}

void
evloop_conn_close_fd(struct conn *c)
{
	struct evloop *L = c->loop;

	if (L != NULL)
		pthread_mutex_lock(&L->lock);
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (L != NULL)
		pthread_mutex_unlock(&L->lock);
}

void
evloop_conn_del(struct conn *c)
{
	struct evloop *L = c->loop;

	pthread_mutex_lock(&L->lock);
	if (c->lprev != NULL)
		c->lprev->lnext = c->lnext;
	else
		L->live = c->lnext;
	if (c->lnext != NULL)
		c->lnext->lprev = c->lprev;
	L->nlive--;
	pthread_mutex_unlock(&L->lock);
}

void
evloop_each_conn(void (*fn)(struct conn *c, void *arg), void *arg)
{
	struct conn *c;
	unsigned i;

	for (i = 0; i < nloops; i++) {
		pthread_mutex_lock(&loops[i].lock);
		for (c = loops[i].live; c != NULL; c = c->lnext)
			fn(c, arg);
		pthread_mutex_unlock(&loops[i].lock);
	}
}

unsigned
evloop_live(void)
{
	unsigned i, n = 0;

	for (i = 0; i < nloops; i++) {
		pthread_mutex_lock(&loops[i].lock);
		n += loops[i].nlive;
		pthread_mutex_unlock(&loops[i].lock);
	}
	return n;
}

unsigned
evloop_threads(void)
{
	unsigned i, n = 0;

	for (i = 0; i < nloops; i++) {
		pthread_mutex_lock(&loops[i].lock);
		n += loops[i].threads;
		pthread_mutex_unlock(&loops[i].lock);
	}
	return n;
}

void
evloop_set_stall(unsigned stall_ms)
{
	stall_ns = (int64_t)stall_ms * 1000000;
}

void
evloop_check_stalls(void)
{
	int64_t now = now_ns(), since;
	char name[sizeof(loops->run_name)];
	unsigned i;

	for (i = 0; i < nloops; i++) {
		struct evloop *L = &loops[i];

		since = __atomic_load_n(&L->run_since, __ATOMIC_RELAXED);
		if (since == 0 || now - since < stall_ns ||
		    since == L->stall_reported)
			continue;
		L->stall_reported = since;
		evloop_run_name(L, name, sizeof(name));
		if (__atomic_load_n(&L->run_edge, __ATOMIC_RELAXED)) {
			log_warnx("service %s: a PROXY header or TLS "
			    "handshake has run for %lld ms without yielding, "
			    "stalling event loop %u (a costly key or "
			    "certificate chain? fiber-stall may be too low)",
			    name, (long long)((now - since) / 1000000), L->id);
			continue;
		}
		log_warnx("service %s: a cooperative handler has run for %lld "
		    "ms without yielding, stalling event loop %u (it blocks "
		    "outside libporter; make the plugin blocking, without "
		    "PT_PLUGIN_COOPERATIVE)", name,
		    (long long)((now - since) / 1000000), L->id);
	}
}
