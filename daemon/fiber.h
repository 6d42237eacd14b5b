/*
 * fiber.h -- stackful coroutines for cooperative plugin handlers.
 *
 * A fiber runs a function on its own stack and gives the CPU back with
 * fiber_yield(); whoever called fiber_resume() continues.  The event loop
 * resumes a fiber when the descriptor it waits on is ready, so a plugin's
 * blocking-style pt_sock_recv() costs no thread.
 *
 * Stacks are mmap'd with a guard page below them (an overflow faults
 * instead of corrupting the heap) and kept in a small per-pool cache, so a
 * new connection costs no system call.  Only the pages a handler touches
 * are resident: an idle echo fiber holds one or two.
 *
 * The switch: on x86_64 a dozen instructions saving the callee-saved
 * registers, the stack pointer, MXCSR and the x87 control word
 * (inline assembly in fiber.c); elsewhere ucontext's
 * swapcontext(), which also saves the signal mask with a system call per
 * switch.  Measured on the development machine (x86_64, one run of
 * tests/check_fiber's switch loop): 9 ns per switch against 370 ns for
 * swapcontext.  Both register the stacks with valgrind and annotate the
 * switches for AddressSanitizer.
 *
 * A fiber may be resumed by a different thread than the one that last
 * resumed it (the event loop's leader changes hands): code running on a
 * fiber must not keep thread-local state across a yield.
 *
 * Not thread-safe: a pool and its fibers belong to one event loop, used
 * by one thread at a time.
 */
#ifndef PORTERD_FIBER_H
#define PORTERD_FIBER_H

#include <stdbool.h>
#include <stddef.h>

struct fiber;
struct fiber_pool;

typedef void (*fiber_fn)(void *arg);

/*
 * A pool handing out fibers with stacks of stack_size bytes (rounded up
 * to pages; the guard page comes on top), caching up to `keep` idle
 * stacks.  NULL on ENOMEM.
 */
struct fiber_pool *fiber_pool_new(size_t stack_size, unsigned keep);
/* Frees the pool and its cached stacks; every fiber must be freed. */
void fiber_pool_free(struct fiber_pool *p);

/*
 * A new fiber that will run fn(arg) when first resumed.  Returns NULL
 * with errno set (ENOMEM).  Free it with fiber_free() once fiber_done().
 */
struct fiber *fiber_new(struct fiber_pool *p, fiber_fn fn, void *arg);

/*
 * Runs f until it yields or its function returns.  Called from outside
 * any fiber (the event loop), never from f itself.
 */
void fiber_resume(struct fiber *f);

/* From inside f: back to whoever resumed it. */
void fiber_yield(struct fiber *f);

/* True once f's function has returned. */
bool fiber_done(const struct fiber *f);

/* Returns f's stack to its pool.  f must be done or never resumed. */
void fiber_free(struct fiber *f);

/* The name of the context switch compiled in: "x86_64" or "ucontext". */
const char *fiber_switch_name(void);

#endif
