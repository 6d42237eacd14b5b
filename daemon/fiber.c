/*
 * fiber.c -- stackful coroutines: stacks, the context switch, annotations.
 *
 * See fiber.h for the contract.  A fiber's life: fiber_new() takes a stack
 * (from the pool's cache or a fresh mmap with 64 KiB of PROT_NONE guard
 * below it) and lays out a first frame so that the first switch "returns" into
 * fiber_entry(); fiber_resume() switches from the caller to the fiber,
 * fiber_yield() back; when the function returns, fiber_entry() marks the
 * fiber done and switches back for the last time, and fiber_free() puts
 * the stack back in the cache.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fiber.h"

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#define FIBER_VALGRIND 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#ifdef FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#define FIBER_GUARD (64 * 1024)

#if defined(__x86_64__) && !defined(PORTER_FIBER_UCONTEXT)
#define FIBER_ASM 1
#else
#include <ucontext.h>
#endif

struct stack {
	void *base;			/* the mapping, guard page first */
	size_t len;			/* guard + usable */
	unsigned vg_id;			/* valgrind's stack id */
	struct stack *next;		/* the pool's cache */
};

struct fiber_pool {
	size_t stack_size;		/* usable bytes, page multiple */
	size_t page;
	size_t guard;			/* PROT_NONE bytes below each stack */
	unsigned keep, ncached;
	struct stack *cache;
};

struct fiber {
	struct fiber_pool *pool;
	struct stack *stack;
	fiber_fn fn;
	void *arg;
	bool done;
#ifdef FIBER_ASM
	void *sp;			/* saved stack pointer of the fiber */
	void *caller_sp;		/* ... and of whoever resumed it */
#else
	ucontext_t uc, caller_uc;
#endif
#ifdef FIBER_ASAN
	void *fake;			/* ASan's fake stack of the fiber */
	void *caller_fake;
	const void *caller_bottom;	/* the resumer's stack, for ASan */
	size_t caller_size;
#endif
};

#ifdef FIBER_ASM
/*
 * fiber_switch(&save_sp, to_sp): pushes the callee-saved registers and
 * the FP control state on the current stack, saves the stack pointer in
 * *save_sp, loads to_sp and pops the same from there.  A new fiber's stack
 * is laid out (fiber_new) so that the final `ret` enters
 * fiber_trampoline, which calls r12(r13) on an aligned stack.
 */
void fiber_switch(void **save_sp, void *to_sp);
void fiber_trampoline(void);
__asm__(
	".text\n"
	".globl fiber_switch\n"
	".hidden fiber_switch\n"
	".type fiber_switch,@function\n"
	"fiber_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size fiber_switch, .-fiber_switch\n"
	".globl fiber_trampoline\n"
	".hidden fiber_trampoline\n"
	".type fiber_trampoline,@function\n"
	"fiber_trampoline:\n"
	"	movq %r13, %rdi\n"
	"	callq *%r12\n"
	"	ud2\n"
	".size fiber_trampoline, .-fiber_trampoline\n"
	".section .note.GNU-stack,\"\",@progbits\n"
	".text\n");
#endif

const char *
fiber_switch_name(void)
{
#ifdef FIBER_ASM
	return "x86_64";
#else
	return "ucontext";
#endif
}

struct fiber_pool *
fiber_pool_new(size_t stack_size, unsigned keep)
{
	struct fiber_pool *p;
	long page = sysconf(_SC_PAGESIZE);

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->page = page > 0 ? (size_t)page : 4096;
	p->stack_size = (stack_size + p->page - 1) / p->page * p->page;
	/*
	 * 64 KiB of PROT_NONE (address space, no memory): a frame with a
	 * large local array skips a one-page guard and lands in the stack
	 * mapped below, another fiber's live frames.
	 */
	p->guard = (FIBER_GUARD + p->page - 1) / p->page * p->page;
	p->keep = keep;
	return p;
}

static void
stack_unmap(struct stack *s)
{
#ifdef FIBER_VALGRIND
	VALGRIND_STACK_DEREGISTER(s->vg_id);
#endif
	munmap(s->base, s->len);
	free(s);
}

void
fiber_pool_free(struct fiber_pool *p)
{
	struct stack *s, *next;

	if (p == NULL)
		return;
	for (s = p->cache; s != NULL; s = next) {
		next = s->next;
		stack_unmap(s);
	}
	free(p);
}

static struct stack *
stack_get(struct fiber_pool *p)
{
	struct stack *s;

	if ((s = p->cache) != NULL) {
		p->cache = s->next;
		p->ncached--;
		return s;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->len = p->stack_size + p->guard;
	/* MAP_NORESERVE: 100,000 idle fibers reserve, they do not commit. */
	s->base = mmap(NULL, s->len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (s->base == MAP_FAILED) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	if (mprotect(s->base, p->guard, PROT_NONE) == -1) {
		munmap(s->base, s->len);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
#ifdef FIBER_VALGRIND
	s->vg_id = VALGRIND_STACK_REGISTER((char *)s->base + p->guard,
	    (char *)s->base + s->len);
#endif
	return s;
}

static void
stack_put(struct fiber_pool *p, struct stack *s)
{
	if (p->ncached >= p->keep) {
		stack_unmap(s);
		return;
	}
	s->next = p->cache;
	p->cache = s;
	p->ncached++;
}

#if defined(FIBER_ASAN) || !defined(FIBER_ASM)
/* The lowest usable byte of f's stack, above the guard page. */
static void *
stack_lo(const struct fiber *f)
{
	return (char *)f->stack->base + f->pool->guard;
}
#endif

/* The first code on a fiber's stack; never returns. */
static void
fiber_entry(void *arg)
{
	struct fiber *f = arg;

#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(NULL, &f->caller_bottom,
	    &f->caller_size);
#endif
	f->fn(f->arg);
	f->done = true;
#ifdef FIBER_ASAN
	/* NULL: this fiber's fake stack can go, it never runs again. */
	__sanitizer_start_switch_fiber(NULL, f->caller_bottom, f->caller_size);
#endif
#ifdef FIBER_ASM
	fiber_switch(&f->sp, f->caller_sp);
#else
	setcontext(&f->caller_uc);
#endif
	abort();	/* a done fiber is never resumed */
}

#ifndef FIBER_ASM
/* makecontext passes ints: the pointer travels in two halves. */
static void
fiber_uc_entry(unsigned hi, unsigned lo)
{
	fiber_entry((void *)(((uintptr_t)hi << 32) | (uintptr_t)lo));
}
#endif

struct fiber *
fiber_new(struct fiber_pool *p, fiber_fn fn, void *arg)
{
	struct fiber *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if ((f->stack = stack_get(p)) == NULL) {
		free(f);
		return NULL;
	}
	f->pool = p;
	f->fn = fn;
	f->arg = arg;
#ifdef FIBER_ASM
	{
		/*
		 * The frame fiber_switch pops: FP control state, r15, r14,
		 * r13 (= f), r12 (= fiber_entry), rbx, rbp, then the return
		 * address fiber_trampoline.  After that `ret` the stack
		 * pointer sits on the 16-byte aligned top, as a call needs.
		 */
		uintptr_t top = ((uintptr_t)f->stack->base + f->stack->len) &
		    ~(uintptr_t)15;
		uint64_t *sp = (uint64_t *)top;
		uint32_t mxcsr;
		uint16_t fpucw;

		__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
		__asm__ volatile("fnstcw %0" : "=m"(fpucw));
		*--sp = (uint64_t)(uintptr_t)fiber_trampoline;
		*--sp = 0;				/* rbp */
		*--sp = 0;				/* rbx */
		*--sp = (uint64_t)(uintptr_t)fiber_entry; /* r12 */
		*--sp = (uint64_t)(uintptr_t)f;		/* r13 */
		*--sp = 0;				/* r14 */
		*--sp = 0;				/* r15 */
		*--sp = (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
		f->sp = sp;
	}
#else
	if (getcontext(&f->uc) == -1) {
		stack_put(p, f->stack);
		free(f);
		return NULL;
	}
	f->uc.uc_stack.ss_sp = stack_lo(f);
	f->uc.uc_stack.ss_size = p->stack_size;
	f->uc.uc_link = NULL;
	makecontext(&f->uc, (void (*)(void))fiber_uc_entry, 2,
	    (unsigned)((uintptr_t)f >> 32), (unsigned)(uintptr_t)f);
#endif
	return f;
}

void
fiber_resume(struct fiber *f)
{
#ifdef FIBER_ASAN
	__sanitizer_start_switch_fiber(&f->caller_fake, stack_lo(f),
	    f->pool->stack_size);
#endif
#ifdef FIBER_ASM
	fiber_switch(&f->caller_sp, f->sp);
#else
	swapcontext(&f->caller_uc, &f->uc);
#endif
#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(f->caller_fake, NULL, NULL);
#endif
}

void
fiber_yield(struct fiber *f)
{
#ifdef FIBER_ASAN
	__sanitizer_start_switch_fiber(&f->fake, f->caller_bottom,
	    f->caller_size);
#endif
#ifdef FIBER_ASM
	fiber_switch(&f->sp, f->caller_sp);
#else
	swapcontext(&f->uc, &f->caller_uc);
#endif
#ifdef FIBER_ASAN
	/* The resumer may be another thread: learn its stack again. */
	__sanitizer_finish_switch_fiber(f->fake, &f->caller_bottom,
	    &f->caller_size);
#endif
}

bool
fiber_done(const struct fiber *f)
{
	return f->done;
}

void
fiber_free(struct fiber *f)
{
	if (f == NULL)
		return;
	stack_put(f->pool, f->stack);
	free(f);
}
