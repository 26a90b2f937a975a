// SPDX-License-Identifier: GPL-2.0
/*
 * race_test - mmu notifier invalidations racing guest faults and VM/vCPU
 * teardown, as stress tests.
 *
 * On the debug kernel (KASAN, lockdep, kmemleak, panic_on_warn) the main
 * detector is a kernel report on the console, which the VM harness
 * charges to the running test. The tests also assert what the guest
 * (lib/guest32.h) reads and writes, with checks that hold whatever order
 * the racing threads run in. The same binary passes against stock KVM
 * (KVMMU_STOCK=1: only the module refcount and debugfs checks are ours).
 *
 *   concurrent_invalidators
 *       One VM, two vCPU threads, a 4 MiB anonymous slot (two 2M halves,
 *       one per vCPU) and a second slot that comes and goes over 512K of
 *       the same HVAs (straddling the halves). In rounds, until
 *       RACE_SECONDS have passed (at least two rounds):
 *       - quiet: the host writes known values and each guest sums them
 *         (exact), fills its half and sums it (exact), the host reads
 *         every page back (exact); the host discards a quarter of each
 *         half (MADV_DONTNEED: the guest sums zeros there, exactly) and
 *         write-protects 4 pages (the guest's write fails KVM_RUN with
 *         EFAULT, and completes once they are writable again);
 *       - storm, RACE_SECONDS/5 long (0.2-2 s): five threads invalidate the
 *         same HVA range at the same time: MADV_DONTNEED; mprotect
 *         PROT_READ and back; munmap + mmap MAP_FIXED_NOREPLACE or a bare
 *         mmap MAP_FIXED; move_pages()/migrate_pages() between NUMA nodes
 *         (with one node: MADV_COLLAPSE, MADV_PAGEOUT, MADV_COLD); and
 *         delete + re-create of the aliasing slot. The guests fill and
 *         sum their halves and read sample pages: KVM_RUN may fail with
 *         EFAULT while a range is unmapped or read-only (the operation is
 *         resumed), a read through the alias may exit to MMIO while that
 *         slot is gone (answered), and any dword a guest reads is 0 or
 *         what its owner wrote there (its latest fill, for its own half).
 *       Targets: overlapping invalidations of one range (start/end counts
 *       and the widened in-progress range; a second invalidation finding
 *       nothing left to zap must not return before the first one's flush,
 *       or the host frees a page the guest still reaches), and faults
 *       installing a page an invalidation is about to free: stale data in
 *       the quiet phase, implausible dwords in the storm, use-after-free
 *       and lockdep reports on the debug kernel.
 *
 *   close_vm_while_invalidating
 *       200 VMs in turn (a third on the debug kernel; for 2*RACE_SECONDS
 *       at most), each with one or two vCPUs that have just faulted in a
 *       64-page slot, are destroyed by closing their last file (the VM
 *       fd, a vCPU fd, or the munmap of a kvm_run mapping), while another
 *       thread MADV_DONTNEEDs and re-touches the slot's pages one by one,
 *       so that invalidations zap and flush during the teardown. Each VM
 *       passes a value both ways through a page that is never discarded;
 *       afterwards no fd is left, and on kvmmu the module refcount is
 *       back and no debugfs directory of ours remains.
 *       Targets: the module freed the vCPUs while its mmu notifier was
 *       still registered, so an invalidation's TLB flush walked freed
 *       vCPUs (use-after-free, seen by KASAN).
 *
 *   create_vcpu_emfile_during_invalidations
 *       With RLIMIT_NOFILE at the lowest free fd, KVM_CREATE_VCPU (id 1)
 *       fails with EMFILE after the vCPU was allocated, again and again
 *       for RACE_SECONDS (and at least KVM_CAP_MAX_VCPUS + 2 times, so
 *       that a leaked vCPU count would show), while a thread runs vCPU 0
 *       of the same VM: it writes a page, discards it
 *       (MADV_DONTNEED: zap + flush) and reads zero back, and every 32
 *       rounds fills, sums, discards and sums all 64 pages (exact). Every
 *       attempt must fail with EMFILE; with the limit restored, vCPU 1 is
 *       created and reads, writes, fills and sums guest memory exactly.
 *       Targets: the failed vCPU was published (to the flushes' lockless
 *       walk) and freed without waiting for them (use-after-free), or
 *       its id or count leaked.
 *
 * RACE_SECONDS (default 5) sets the storm time of concurrent_invalidators,
 * the time of the EMFILE loop and the time limit of close_vm_while_
 * invalidating (twice it), whose VM count scales with it (RACE_SECONDS/5)
 * and is a third on the debug kernel (/sys/kernel/debug/kunit exists).
 * Each test ends by itself; alarm() names the step of a hang.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvmmu_util.h"
#include "guest32.h"

#define PG		G32_PAGE
#define HVA(p)		((uint64_t)(unsigned long)(p))
#define SZ_2M		(2UL << 20)
#define RW		(PROT_READ | PROT_WRITE)

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MADV_COLD
#define MADV_COLD	20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define MPOL_MF_MOVE_	(1 << 1)	/* <numaif.h>, not installed */

static uint32_t *u32p(void *base, size_t off)
{
	return (uint32_t *)((uint8_t *)base + off);
}

/* ---- time, scale, randomness, failures from threads ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool debug_kernel(void)
{
	return access("/sys/kernel/debug/kunit", F_OK) == 0;
}

/* RACE_SECONDS, or 5. */
static int race_seconds(void)
{
	const char *s = getenv("RACE_SECONDS");
	long v;

	if (s && *s) {
		v = strtol(s, NULL, 10);
		if (v > 0 && v <= 600)
			return (int)v;
	}
	return 5;
}

/* @base iterations, scaled by RACE_SECONDS/5 and a third when debug. */
static int scaled(int base)
{
	long n = base;

	if (getenv("RACE_SECONDS"))
		n = n * race_seconds() / 5;
	if (debug_kernel())
		n /= 3;
	return n < 10 ? 10 : (int)n;
}

static uint32_t rnd(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x2545f491u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* The first failure of any thread, reported by the main thread at the end. */
struct failure {
	atomic_int count;
	char why[256];
};

static void __attribute__((format(printf, 2, 3)))
failf(struct failure *f, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&f->count, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
}

static bool failed(struct failure *f)
{
	return atomic_load(&f->count) != 0;
}

static const char *res_str(struct g32_vcpu *v, int r)
{
	return r < 0 ? strerror(-r) : r == G32_DONE ? "done" :
	       g32_exit_str(v);
}

/* ---- module, fds, debugfs ---- */


/* How many directories "<pid>-<vmfd>" of our debugfs root this pid has. */
static int debugfs_vm_dirs(pid_t pid)
{
	DIR *d = opendir(KVMMU_DEBUGFS_ROOT);
	struct dirent *e;
	char prefix[24];
	int n = 0;

	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), "%d-", (int)pid);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

/* Open fds of this process (the directory's own fd included). */
static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int numa_nodes(void)
{
	DIR *d = opendir("/sys/devices/system/node");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "node", 4) &&
		    e->d_name[4] >= '0' && e->d_name[4] <= '9')
			n++;
	closedir(d);
	return n ? n : 1;
}

static void bw(pthread_barrier_t *b)
{
	pthread_barrier_wait(b);
}

FIXTURE(race) {
	long ref0;	/* our module's refcount before the test */
};

FIXTURE_SETUP(race)
{
	int fd;

	g32_alarm(110);
	g32_step = "setup";
	self->ref0 = kvmmu_module_refcnt();
	fd = kvmmu_open_dev();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", kvmmu_dev_path(), strerror(-fd));
	close(fd);
}

FIXTURE_TEARDOWN(race)
{
}

/* ---- 1: concurrent invalidators ---- */

#define CI_VCPUS	2
#define CI_HALF		512			/* pages per vCPU: 2M */
#define CI_PAGES	(CI_VCPUS * CI_HALF)	/* 4M, 2M aligned */
#define CI_GPA		0x1000000UL		/* slot 1 */
#define CI_ALIAS_SLOT	2
#define CI_ALIAS_GPA	0x4000000UL
#define CI_ALIAS_PAGES	128
#define CI_ALIAS_OFF	(CI_HALF - CI_ALIAS_PAGES / 2)	/* straddles */
#define CI_ZERO_FIRST	(CI_HALF / 4)	/* quiet: discarded pages of a half */
#define CI_ZERO_END	(CI_HALF / 2)
#define CI_RO_PAGES	4		/* quiet: write-protected pages */
#define CI_SAMPLES	8		/* storm: reads per fill */

enum {
	INV_DONTNEED, INV_MPROTECT, INV_REMAP, INV_MIGRATE, INV_SLOT, NR_INV
};

static const char *const inv_name[NR_INV] = {
	"dontneed", "mprotect", "remap", "migrate", "slot",
};

struct ci_ctx {
	struct g32_vm vm;
	struct g32_vcpu v[CI_VCPUS];
	uint8_t *mem;
	unsigned int storm_ms;
	int nodes;
	pthread_barrier_t quiet;	/* main + vCPU threads */
	pthread_barrier_t all;		/* main + vCPU + invalidator threads */
	atomic_int done, storm_stop;
	uint32_t round;
	uint32_t hsum[CI_VCPUS];	/* quiet: sum of the host's values */
	uint32_t tagq[CI_VCPUS];	/* quiet: the guest's fill */
	atomic_long inv_ops[NR_INV];
	atomic_long migrated, collapsed, paged;
	atomic_long fills, samples, efaults, mmio, exact;
	struct failure f;
	/* move_pages() arguments, of the migrate thread */
	void *mp_pages[CI_PAGES];
	int mp_nodes[CI_PAGES], mp_status[CI_PAGES];
};

struct ci_arg {
	struct ci_ctx *c;
	int i;
};

/*
 * What a guest fills: owner in bits 31:24, a fill number in 23:10, the
 * page index within the half (+ k) in 9:0. Never 0.
 */
static uint32_t ci_tag(int owner, uint32_t fill)
{
	return (0x40u + owner) << 24 | (fill & 0x3fffu) << 10;
}

/* A dword read from region page @page during the storm: 0 or a fill. */
static bool ci_plausible(uint32_t val, unsigned int page)
{
	unsigned int owner = page / CI_HALF, k = page % CI_HALF;

	return !val || (val >> 24 == 0x40u + owner && (val & 0x3ff) == k);
}

/* The quiet phase's host value of page @k of half @i in round @r. */
static uint32_t ci_host(uint32_t r, int i, uint32_t k)
{
	return 0x2a000000u ^ r << 12 ^ (uint32_t)i << 22 ^ k * 2654435761u;
}

static uint32_t ci_fill_sum(uint32_t tag, uint32_t first, uint32_t end)
{
	uint32_t s = 0, k;

	for (k = first; k < end; k++)
		s += tag + k;
	return s;
}

/*
 * Run @op to its end during the storm: after EFAULT (a range unmapped or
 * read-only for a moment) the operation is resumed; with @mmio, an MMIO
 * load at @gpa (the alias slot is gone) is answered with 0 and *@mmio
 * set. EFAULT for 10 s after the storm ended is a failure.
 */
static int ci_do(struct ci_ctx *c, struct g32_vcpu *v, uint32_t op,
		 uint64_t gpa, uint32_t ecx, uint32_t edx, bool *mmio)
{
	struct kvm_run *run = v->run;
	double give_up = 0;
	int r = g32_do(v, op, gpa, ecx, edx);

	if (mmio)
		*mmio = false;
	for (;;) {
		if (r == -EFAULT) {
			atomic_fetch_add(&c->efaults, 1);
			if (atomic_load(&c->storm_stop)) {
				if (!give_up)
					give_up = now_s() + 10;
				else if (now_s() > give_up)
					return r;
			}
			usleep(200);
			r = g32_run(v);
			continue;
		}
		if (r == G32_MMIO && mmio && op == G32_R32 &&
		    run->mmio.phys_addr == gpa && run->mmio.len == 4 &&
		    !run->mmio.is_write) {
			atomic_fetch_add(&c->mmio, 1);
			*mmio = true;
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
			r = g32_run(v);
			continue;
		}
		return r;
	}
}

/* The storm of one vCPU: fill, sample, read through the alias, sum. */
static void ci_storm(struct ci_ctx *c, int i, uint32_t *fill, uint32_t *seed)
{
	struct g32_vcpu *v = &c->v[i];
	uint64_t gpa = CI_GPA + (uint64_t)i * CI_HALF * PG;
	uint32_t tag, k, got;
	bool mmio;
	int r, s;

	while (!atomic_load(&c->storm_stop) && !failed(&c->f)) {
		tag = ci_tag(i, ++*fill);
		r = ci_do(c, v, G32_FILL, gpa, tag, CI_HALF, NULL);
		if (r != G32_DONE) {
			failf(&c->f, "vCPU %d storm fill 0x%x: %s", i, tag,
			      res_str(v, r));
			return;
		}
		atomic_fetch_add(&c->fills, 1);
		for (s = 0; s < CI_SAMPLES; s++) {
			k = rnd(seed) % CI_HALF;
			r = ci_do(c, v, G32_R32, gpa + k * PG, 0, 0, NULL);
			got = g32_ecx(v);
			if (r != G32_DONE || (got && got != tag + k)) {
				failf(&c->f, "vCPU %d storm read of its page %u after fill 0x%x: %s, 0x%x (want 0 or 0x%x)",
				      i, k, tag, res_str(v, r), got, tag + k);
				return;
			}
			atomic_fetch_add(&c->samples, 1);
		}
		k = rnd(seed) % CI_ALIAS_PAGES;
		r = ci_do(c, v, G32_R32, CI_ALIAS_GPA + k * PG, 0, 0, &mmio);
		got = g32_ecx(v);
		if (r != G32_DONE ||
		    (!mmio && !ci_plausible(got, CI_ALIAS_OFF + k))) {
			failf(&c->f, "vCPU %d storm read through the alias of page %u: %s, 0x%x",
			      i, CI_ALIAS_OFF + k, res_str(v, r), got);
			return;
		}
		r = ci_do(c, v, G32_SUM, gpa, 0, CI_HALF, NULL);
		if (r != G32_DONE) {
			failf(&c->f, "vCPU %d storm sum: %s", i,
			      res_str(v, r));
			return;
		}
	}
}

static void *ci_vcpu_thread(void *p)
{
	struct ci_arg *a = p;
	struct ci_ctx *c = a->c;
	int i = a->i, r;
	struct g32_vcpu *v = &c->v[i];
	uint64_t gpa = CI_GPA + (uint64_t)i * CI_HALF * PG;
	uint8_t *h = c->mem + (size_t)i * CI_HALF * PG;
	uint32_t fill = 0, seed = 0x9e3779b9u * (i + 1), tag, want, got, w;
	bool pending;

	for (;;) {
		bw(&c->quiet);					/* Q1 */
		if (atomic_load(&c->done)) {
			bw(&c->all);
			return NULL;
		}
		/* The host's values, then our fill: exact sums. */
		tag = ci_tag(i, ++fill);
		c->tagq[i] = tag;
		if (!failed(&c->f)) {
			r = g32_do(v, G32_SUM, gpa, 0, CI_HALF);
			got = g32_esi(v);
			if (r != G32_DONE || got != c->hsum[i])
				failf(&c->f, "round %u vCPU %d sum of the host's values: %s, 0x%x want 0x%x",
				      c->round, i, res_str(v, r), got,
				      c->hsum[i]);
		}
		if (!failed(&c->f)) {
			r = g32_do(v, G32_FILL, gpa, tag, CI_HALF);
			if (r == G32_DONE)
				r = g32_do(v, G32_SUM, gpa, 0, CI_HALF);
			got = g32_esi(v);
			want = ci_fill_sum(tag, 0, CI_HALF);
			if (r != G32_DONE || got != want)
				failf(&c->f, "round %u vCPU %d fill + sum: %s, 0x%x want 0x%x",
				      c->round, i, res_str(v, r), got, want);
		}
		bw(&c->quiet);					/* Q2 */
		/* The host checks our fill, discards, write-protects. */
		bw(&c->quiet);					/* Q3 */
		pending = false;
		if (!failed(&c->f)) {
			want = ci_fill_sum(tag, 0, CI_ZERO_FIRST) +
			       ci_fill_sum(tag, CI_ZERO_END, CI_HALF);
			r = g32_do(v, G32_SUM, gpa, 0, CI_HALF);
			got = g32_esi(v);
			if (r != G32_DONE || got != want)
				failf(&c->f, "round %u vCPU %d sum after MADV_DONTNEED of pages %u-%u: %s, 0x%x want 0x%x",
				      c->round, i, CI_ZERO_FIRST,
				      CI_ZERO_END - 1, res_str(v, r), got,
				      want);
		}
		w = ci_tag(i, ++fill);
		if (!failed(&c->f)) {
			r = g32_do(v, G32_W32, gpa, w, 0);
			pending = r == -EFAULT;
			if (!pending)
				failf(&c->f, "round %u vCPU %d write to a PROT_READ page: %s, want EFAULT",
				      c->round, i, res_str(v, r));
		}
		bw(&c->quiet);					/* Q4 */
		/* The host makes the pages writable again. */
		bw(&c->quiet);					/* Q5 */
		if (pending && !failed(&c->f)) {
			r = g32_run(v);
			if (r != G32_DONE || *u32p(h, 0) != w)
				failf(&c->f, "round %u vCPU %d write resumed: %s, host reads 0x%x want 0x%x",
				      c->round, i, res_str(v, r), *u32p(h, 0),
				      w);
		}
		if (pending && !failed(&c->f)) {
			r = g32_do(v, G32_R32, gpa, 0, 0);
			got = g32_ecx(v);
			if (r != G32_DONE || got != w)
				failf(&c->f, "round %u vCPU %d reads back: %s, 0x%x want 0x%x",
				      c->round, i, res_str(v, r), got, w);
			else
				atomic_fetch_add(&c->exact, 1);
		}
		bw(&c->all);				/* storm starts */
		ci_storm(c, i, &fill, &seed);
		bw(&c->all);				/* storm is over */
	}
}

/* A range of the region: all of it, a half, the middle, or a few pages. */
static void ci_range(uint32_t *seed, size_t *first, size_t *n)
{
	switch (rnd(seed) % 5) {
	case 0:
		*first = 0;
		*n = CI_PAGES;
		break;
	case 1:
	case 2:
		*first = (rnd(seed) % CI_VCPUS) * CI_HALF;
		*n = CI_HALF;
		break;
	case 3:
		*first = CI_ALIAS_OFF;
		*n = CI_ALIAS_PAGES;
		break;
	default:
		*first = rnd(seed) % CI_PAGES;
		*n = 1 + rnd(seed) % 32;
		if (*first + *n > CI_PAGES)
			*n = CI_PAGES - *first;
	}
}

static void ci_mprotect(struct ci_ctx *c, uint8_t *addr, size_t len,
			uint32_t *seed)
{
	int i;

	/* ENOMEM: part of the range is unmapped right now (remap). */
	if (mprotect(addr, len, PROT_READ) && errno != ENOMEM) {
		failf(&c->f, "mprotect PROT_READ: %s", strerror(errno));
		return;
	}
	usleep(rnd(seed) % 500);
	/* Back to RW, over the whole range, once the hole is filled. */
	for (i = 0; mprotect(addr, len, RW); i++) {
		if (errno != ENOMEM || i > 20000) {
			failf(&c->f, "mprotect back to RW: %s",
			      strerror(errno));
			return;
		}
		usleep(100);
	}
}

static void ci_remap(struct ci_ctx *c, uint8_t *addr, size_t len,
		     uint32_t *seed)
{
	void *p;

	if (rnd(seed) & 1) {
		/* New pages in one step. */
		p = mmap(addr, len, RW, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED, -1, 0);
	} else {
		/* A hole for a moment: guest accesses fail with EFAULT. */
		if (munmap(addr, len)) {
			failf(&c->f, "munmap: %s", strerror(errno));
			return;
		}
		usleep(rnd(seed) % 300);
		p = mmap(addr, len, RW, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0);
	}
	if (p != addr)
		failf(&c->f, "mmap over %p: %p (%s)", (void *)addr, p,
		      strerror(errno));
}

static void ci_migrate(struct ci_ctx *c, uint8_t *addr, size_t n,
		       uint32_t iter)
{
	unsigned long from, to;
	int target, advice;
	size_t j;
	long r;

	if (c->nodes >= 2) {
		target = iter & 1;
		if (iter % 8 == 7) {
			/* All of the process, region included. */
			from = 1UL << (target ^ 1);
			to = 1UL << target;
			r = syscall(SYS_migrate_pages, 0, 8 * sizeof(from),
				    &from, &to);
			if (r >= 0)
				atomic_fetch_add(&c->migrated, 1);
			return;
		}
		for (j = 0; j < n; j++) {
			c->mp_pages[j] = addr + j * PG;
			c->mp_nodes[j] = target;
			c->mp_status[j] = -1;
		}
		/* Errors of single pages (unmapped now) are in status[]. */
		r = syscall(SYS_move_pages, 0, n, c->mp_pages, c->mp_nodes,
			    c->mp_status, MPOL_MF_MOVE_);
		if (r >= 0)
			for (j = 0; j < n; j++)
				if (c->mp_status[j] == target)
					atomic_fetch_add(&c->migrated, 1);
		return;
	}
	/* One node: collapse into a THP (a copy), page out, deactivate. */
	switch (iter % 3) {
	case 0:
		advice = MADV_COLLAPSE;
		break;
	case 1:
		advice = MADV_PAGEOUT;
		break;
	default:
		advice = MADV_COLD;
	}
	if (!madvise(addr, n * PG, advice)) {
		if (advice == MADV_COLLAPSE)
			atomic_fetch_add(&c->collapsed, 1);
		else if (advice == MADV_PAGEOUT)
			atomic_fetch_add(&c->paged, 1);
	}
}

static void ci_slot(struct ci_ctx *c, uint32_t *seed)
{
	int r;

	r = kvmmu_set_region(c->vm.vmfd, CI_ALIAS_SLOT, 0, CI_ALIAS_GPA,
			     CI_ALIAS_PAGES * PG,
			     HVA(c->mem + CI_ALIAS_OFF * PG));
	if (r) {
		failf(&c->f, "alias slot create: %s", strerror(-r));
		return;
	}
	usleep(rnd(seed) % 2000);
	r = kvmmu_delete_region(c->vm.vmfd, CI_ALIAS_SLOT);
	if (r)
		failf(&c->f, "alias slot delete: %s", strerror(-r));
}

static void *ci_invalidator(void *p)
{
	struct ci_arg *a = p;
	struct ci_ctx *c = a->c;
	int kind = a->i;
	uint32_t seed = 0x1234567u * (kind + 3), iter = 0;
	size_t first, n;
	uint8_t *addr;

	for (;;) {
		bw(&c->all);				/* storm starts */
		if (atomic_load(&c->done))
			return NULL;
		while (!atomic_load(&c->storm_stop)) {
			ci_range(&seed, &first, &n);
			addr = c->mem + first * PG;
			switch (kind) {
			case INV_DONTNEED:
				/* ENOMEM: a hole for a moment (remap). */
				if (madvise(addr, n * PG, MADV_DONTNEED) &&
				    errno != ENOMEM)
					failf(&c->f, "MADV_DONTNEED: %s",
					      strerror(errno));
				break;
			case INV_MPROTECT:
				ci_mprotect(c, addr, n * PG, &seed);
				break;
			case INV_REMAP:
				ci_remap(c, addr, n * PG, &seed);
				break;
			case INV_MIGRATE:
				ci_migrate(c, addr, n, iter);
				break;
			default:
				ci_slot(c, &seed);
			}
			iter++;
			atomic_fetch_add(&c->inv_ops[kind], 1);
			usleep(rnd(&seed) % 400);
		}
		bw(&c->all);				/* storm is over */
	}
}

/* The main thread's part of a quiet phase, between Q2 and Q5. */
static void ci_quiet_host(struct ci_ctx *c)
{
	uint8_t *h;
	uint32_t k, got;
	int i;

	bw(&c->quiet);					/* Q2 */
	for (i = 0; i < CI_VCPUS; i++) {
		h = c->mem + (size_t)i * CI_HALF * PG;
		for (k = 0; k < CI_HALF && !failed(&c->f); k++) {
			got = *u32p(h, k * PG);
			if (got != c->tagq[i] + k)
				failf(&c->f, "round %u: host reads 0x%x at page %u of half %d, the guest wrote 0x%x",
				      c->round, got, k, i, c->tagq[i] + k);
		}
		if (madvise(h + CI_ZERO_FIRST * PG,
			    (CI_ZERO_END - CI_ZERO_FIRST) * PG,
			    MADV_DONTNEED))
			failf(&c->f, "MADV_DONTNEED: %s", strerror(errno));
		if (mprotect(h, CI_RO_PAGES * PG, PROT_READ))
			failf(&c->f, "mprotect: %s", strerror(errno));
	}
	bw(&c->quiet);					/* Q3 */
	bw(&c->quiet);					/* Q4 */
	for (i = 0; i < CI_VCPUS; i++) {
		h = c->mem + (size_t)i * CI_HALF * PG;
		if (mprotect(h, CI_RO_PAGES * PG, RW))
			failf(&c->f, "mprotect: %s", strerror(errno));
	}
	bw(&c->quiet);					/* Q5 */
}

TEST_F_TIMEOUT(race, concurrent_invalidators, 120)
{
	struct ci_ctx *c = calloc(1, sizeof(*c));
	struct ci_arg va[CI_VCPUS], ia[NR_INV];
	pthread_t vt[CI_VCPUS], it[NR_INV];
	int secs = race_seconds(), i, r;
	uint32_t round, k, val;
	unsigned int ms;
	double t0;

	ASSERT_NE(NULL, c);
	g32_step = "concurrent_invalidators: setup";
	c->storm_ms = secs * 1000 / 5;
	if (c->storm_ms < 200)
		c->storm_ms = 200;
	if (c->storm_ms > 2000)
		c->storm_ms = 2000;
	c->nodes = numa_nodes();
	c->mem = g32_map_aligned(CI_PAGES * PG, SZ_2M);
	ASSERT_NE(NULL, c->mem);
	r = g32_vm_create(&c->vm);
	ASSERT_EQ(0, r) TH_LOG("VM: %s", strerror(-r));
	r = kvmmu_set_region(c->vm.vmfd, 1, 0, CI_GPA, CI_PAGES * PG,
			     HVA(c->mem));
	ASSERT_EQ(0, r) TH_LOG("slot 1: %s", strerror(-r));
	for (i = 0; i < CI_VCPUS; i++) {
		r = g32_vcpu_create(&c->vm, &c->v[i], i);
		ASSERT_EQ(0, r) TH_LOG("vCPU %d: %s", i, strerror(-r));
	}
	if (c->nodes < 2)
		TH_LOG("one NUMA node: MADV_COLLAPSE/PAGEOUT/COLD instead of move_pages/migrate_pages");
	ASSERT_EQ(0, pthread_barrier_init(&c->quiet, NULL, 1 + CI_VCPUS));
	ASSERT_EQ(0, pthread_barrier_init(&c->all, NULL,
					  1 + CI_VCPUS + NR_INV));
	for (i = 0; i < CI_VCPUS; i++) {
		va[i].c = c;
		va[i].i = i;
		ASSERT_EQ(0, pthread_create(&vt[i], NULL, ci_vcpu_thread,
					    &va[i]));
	}
	for (i = 0; i < NR_INV; i++) {
		ia[i].c = c;
		ia[i].i = i;
		ASSERT_EQ(0, pthread_create(&it[i], NULL, ci_invalidator,
					    &ia[i]));
	}

	t0 = now_s();
	for (round = 0; !failed(&c->f); round++) {
		if (round >= 2 && now_s() - t0 >= secs)
			break;
		g32_step = "concurrent_invalidators: quiet phase";
		c->round = round;
		for (i = 0; i < CI_VCPUS; i++) {
			c->hsum[i] = 0;
			for (k = 0; k < CI_HALF; k++) {
				val = ci_host(round, i, k);
				*u32p(c->mem, ((size_t)i * CI_HALF + k) * PG) =
					val;
				c->hsum[i] += val;
			}
		}
		bw(&c->quiet);					/* Q1 */
		ci_quiet_host(c);
		g32_step = "concurrent_invalidators: storm";
		bw(&c->all);				/* storm starts */
		for (ms = 0; ms < c->storm_ms && !failed(&c->f); ms += 10)
			usleep(10000);
		atomic_store(&c->storm_stop, 1);
		g32_step = "concurrent_invalidators: end of storm";
		bw(&c->all);				/* storm is over */
		atomic_store(&c->storm_stop, 0);
		/* Every invalidator left the region mapped and writable. */
		if (mprotect(c->mem, CI_PAGES * PG, RW))
			failf(&c->f, "round %u: the region is not mapped whole after the storm: %s",
			      round, strerror(errno));
	}
	g32_step = "concurrent_invalidators: stopping";
	atomic_store(&c->done, 1);
	bw(&c->quiet);
	bw(&c->all);
	for (i = 0; i < CI_VCPUS; i++)
		pthread_join(vt[i], NULL);
	for (i = 0; i < NR_INV; i++)
		pthread_join(it[i], NULL);

	TH_LOG("%u rounds of %u ms storms in %.1f s; invalidations: %ld %s, %ld %s, %ld %s, %ld %s, %ld %s",
	       round, c->storm_ms, now_s() - t0,
	       atomic_load(&c->inv_ops[0]), inv_name[0],
	       atomic_load(&c->inv_ops[1]), inv_name[1],
	       atomic_load(&c->inv_ops[2]), inv_name[2],
	       atomic_load(&c->inv_ops[3]), inv_name[3],
	       atomic_load(&c->inv_ops[4]), inv_name[4]);
	TH_LOG("%d NUMA node(s): %ld pages migrated, %ld collapses, %ld pageouts",
	       c->nodes, atomic_load(&c->migrated),
	       atomic_load(&c->collapsed), atomic_load(&c->paged));
	TH_LOG("guests: %ld storm fills, %ld sampled reads, %ld EFAULTs resumed, %ld MMIO reads of the alias, %ld write-protect rounds",
	       atomic_load(&c->fills), atomic_load(&c->samples),
	       atomic_load(&c->efaults), atomic_load(&c->mmio),
	       atomic_load(&c->exact));
	EXPECT_EQ(0, atomic_load(&c->f.count)) TH_LOG("%s", c->f.why);
	EXPECT_LE(1, round);
	EXPECT_LT(0, atomic_load(&c->fills));
	for (i = 0; i < NR_INV; i++)
		EXPECT_LT(0, atomic_load(&c->inv_ops[i]))
			TH_LOG("invalidator %d (%s) never ran", i,
			       inv_name[i] ? inv_name[i] : "?");

	for (i = 0; i < CI_VCPUS; i++)
		g32_vcpu_destroy(&c->v[i]);
	g32_vm_destroy(&c->vm);
	munmap(c->mem, CI_PAGES * PG);
	pthread_barrier_destroy(&c->quiet);
	pthread_barrier_destroy(&c->all);
	free(c);
}

/* ---- 2: the last fd of a VM closed under invalidations ---- */

#define CV_PAGES	64			/* discarded and re-touched */
#define CV_GPA		0x100000UL
#define CV_STABLE_GPA	(CV_GPA + CV_PAGES * PG)	/* never discarded */
#define CV_VCPUS	2

struct cv_ctx {
	uint8_t *buf;
	atomic_int stop;
	atomic_long zaps;
	struct failure f;
};

/* Page by page: discard it, touch it again. */
static void *cv_invalidator(void *p)
{
	struct cv_ctx *c = p;
	volatile uint32_t *pg;
	uint32_t k;

	for (k = 0; !atomic_load(&c->stop); k++) {
		pg = u32p(c->buf, (k % CV_PAGES) * PG);
		if (madvise((void *)pg, PG, MADV_DONTNEED)) {
			failf(&c->f, "MADV_DONTNEED: %s", strerror(errno));
			break;
		}
		*pg = 0x7a000000u | (k & 0xffffff);
		atomic_fetch_add(&c->zaps, 1);
	}
	return NULL;
}

/*
 * Close VM @vm with its @nv vCPUs so that the last reference goes
 * @how: 0 the VM fd, 1 the last vCPU fd, 2 a kvm_run mapping (munmap),
 * 3 the first vCPU's fd.
 */
static void cv_close(struct g32_vm *vm, struct g32_vcpu *v, int nv, int how)
{
	int j;

	switch (how) {
	case 0:
		for (j = 0; j < nv; j++)
			g32_vcpu_destroy(&v[j]);
		break;
	case 1:
	case 3:
		close(vm->vmfd);
		vm->vmfd = -1;
		for (j = 0; j < nv; j++)
			g32_vcpu_destroy(&v[how == 1 ? j : nv - 1 - j]);
		break;
	default:
		close(vm->vmfd);
		vm->vmfd = -1;
		for (j = 0; j < nv; j++) {
			close(v[j].fd);
			v[j].fd = -1;
		}
		for (j = 0; j < nv; j++) {
			munmap(v[j].run, vm->run_size);
			v[j].run = NULL;
		}
	}
	g32_vm_destroy(vm);
}

TEST_F_TIMEOUT(race, close_vm_while_invalidating, 120)
{
	struct cv_ctx *c = calloc(1, sizeof(*c));
	struct g32_vcpu v[CV_VCPUS];
	int target = scaled(200), secs = race_seconds();
	int fds0, fds, n, nv, j, r, dirs;
	struct g32_vm vm;
	uint32_t want;
	pthread_t t;
	double t0;
	long ref;

	ASSERT_NE(NULL, c);
	g32_step = "close_vm_while_invalidating";
	c->buf = g32_map_anon((CV_PAGES + 1) * PG);
	ASSERT_NE(NULL, c->buf);
	fds0 = fd_count();
	ASSERT_LT(0, fds0);
	ASSERT_EQ(0, pthread_create(&t, NULL, cv_invalidator, c));
	t0 = now_s();
	for (n = 0; n < target && now_s() - t0 < 2 * secs &&
		    !failed(&c->f); n++) {
		nv = 1 + (n / 4 % 2);	/* each way of closing with 1 and 2 */
		r = g32_vm_create(&vm);
		ASSERT_EQ(0, r) TH_LOG("VM %d: %s", n, strerror(-r));
		r = kvmmu_set_region(vm.vmfd, 1, 0, CV_GPA,
				     (CV_PAGES + 1) * PG, HVA(c->buf));
		ASSERT_EQ(0, r) TH_LOG("VM %d slot: %s", n, strerror(-r));
		for (j = 0; j < nv; j++) {
			r = g32_vcpu_create(&vm, &v[j], j);
			ASSERT_EQ(0, r) TH_LOG("VM %d vCPU %d: %s", n, j,
					       strerror(-r));
			r = g32_do(&v[j], G32_FILL, CV_GPA,
				   0x31000000u | n << 8, CV_PAGES);
			ASSERT_EQ(G32_DONE, r) TH_LOG("VM %d vCPU %d fill: %s",
						      n, j, res_str(&v[j], r));
		}
		/* The page nobody discards, both ways. */
		want = 0x5b000000u | n;
		*u32p(c->buf, CV_PAGES * PG) = want;
		r = g32_do(&v[0], G32_R32, CV_STABLE_GPA, 0, 0);
		ASSERT_EQ(G32_DONE, r) TH_LOG("VM %d read: %s", n,
					      res_str(&v[0], r));
		EXPECT_EQ(want, g32_ecx(&v[0])) TH_LOG("VM %d", n);
		want = 0x5c000000u | n;
		r = g32_do(&v[nv - 1], G32_W32, CV_STABLE_GPA, want, 0);
		ASSERT_EQ(G32_DONE, r) TH_LOG("VM %d write: %s", n,
					      res_str(&v[nv - 1], r));
		EXPECT_EQ(want, *u32p(c->buf, CV_PAGES * PG))
			TH_LOG("VM %d", n);
		/* Fault everything in again right before the close. */
		for (j = 0; j < nv; j++) {
			r = g32_do(&v[j], G32_FILL, CV_GPA,
				   0x32000000u | n << 8, CV_PAGES);
			ASSERT_EQ(G32_DONE, r) TH_LOG("VM %d vCPU %d refill: %s",
						      n, j, res_str(&v[j], r));
		}
		g32_step = "close_vm_while_invalidating: close";
		cv_close(&vm, v, nv, n % 4);
		g32_step = "close_vm_while_invalidating";
	}
	atomic_store(&c->stop, 1);
	pthread_join(t, NULL);
	TH_LOG("%d VMs closed in %.1f s under %ld discards", n,
	       now_s() - t0, atomic_load(&c->zaps));
	EXPECT_EQ(0, atomic_load(&c->f.count)) TH_LOG("%s", c->f.why);
	EXPECT_LE(4, n);
	EXPECT_LT(0, atomic_load(&c->zaps));
	fds = fd_count();
	EXPECT_EQ(fds0, fds) TH_LOG("fds before %d, after %d", fds0, fds);
	if (!kvmmu_is_stock()) {
		ref = kvmmu_module_refcnt_back_to(self->ref0);
		EXPECT_EQ(self->ref0, ref) TH_LOG("module refcnt %ld, was %ld",
						  ref, self->ref0);
		ASSERT_EQ(0, kvmmu_mount_debugfs());
		dirs = debugfs_vm_dirs(getpid());
		for (j = 0; j < 50 && dirs; j++) {
			usleep(100000);
			dirs = debugfs_vm_dirs(getpid());
		}
		EXPECT_EQ(0, dirs) TH_LOG("%d VM directories left", dirs);
	}
	/* A new VM works on the same memory. */
	ASSERT_EQ(0, g32_vm_create(&vm));
	ASSERT_EQ(0, kvmmu_set_region(vm.vmfd, 1, 0, CV_GPA,
				      (CV_PAGES + 1) * PG, HVA(c->buf)));
	ASSERT_EQ(0, g32_vcpu_create(&vm, &v[0], 0));
	ASSERT_EQ(G32_DONE, g32_do(&v[0], G32_FILL, CV_GPA, 0x33000000u,
				   CV_PAGES + 1));
	ASSERT_EQ(G32_DONE, g32_do(&v[0], G32_SUM, CV_GPA, 0, CV_PAGES + 1));
	EXPECT_EQ((CV_PAGES + 1) * 0x33000000u + CV_PAGES * (CV_PAGES + 1) / 2,
		  g32_esi(&v[0]));
	EXPECT_EQ(0x33000000u + CV_PAGES, *u32p(c->buf, CV_PAGES * PG));
	g32_vcpu_destroy(&v[0]);
	g32_vm_destroy(&vm);
	munmap(c->buf, (CV_PAGES + 1) * PG);
	free(c);
}

/* ---- 3: KVM_CREATE_VCPU failing with EMFILE under invalidations ---- */

#define EM_PAGES	64
#define EM_GPA		0x100000UL
#define EM_ID		1

struct em_ctx {
	struct g32_vcpu *v;
	uint8_t *buf;
	atomic_int stop;
	atomic_long cycles, full;
	struct failure f;
};

/*
 * vCPU 0: write a page, discard it (zap + flush), read 0 back (a fault
 * on the zero page, then a COW invalidation at the next write); every
 * 32nd cycle the same over all pages with fill and sums. All exact.
 */
static void *em_toucher(void *p)
{
	struct em_ctx *c = p;
	struct g32_vcpu *v = c->v;
	uint32_t k, pg, val, want, got;
	int r;

	for (k = 1; !atomic_load(&c->stop) && !failed(&c->f); k++) {
		if (k % 32 == 0) {
			val = 0x3d000000u | (k & 0xffff) << 8;
			want = EM_PAGES * val + EM_PAGES * (EM_PAGES - 1) / 2;
			r = g32_do(v, G32_FILL, EM_GPA, val, EM_PAGES);
			if (r == G32_DONE)
				r = g32_do(v, G32_SUM, EM_GPA, 0, EM_PAGES);
			got = g32_esi(v);
			if (r != G32_DONE || got != want) {
				failf(&c->f, "cycle %u fill + sum: %s, 0x%x want 0x%x",
				      k, res_str(v, r), got, want);
				break;
			}
			if (madvise(c->buf, EM_PAGES * PG, MADV_DONTNEED)) {
				failf(&c->f, "MADV_DONTNEED: %s",
				      strerror(errno));
				break;
			}
			r = g32_do(v, G32_SUM, EM_GPA, 0, EM_PAGES);
			got = g32_esi(v);
			if (r != G32_DONE || got) {
				failf(&c->f, "cycle %u sum after MADV_DONTNEED: %s, 0x%x",
				      k, res_str(v, r), got);
				break;
			}
			atomic_fetch_add(&c->full, 1);
		} else {
			pg = k % EM_PAGES;
			val = 0x3c000000u | k;
			r = g32_do(v, G32_W32, EM_GPA + pg * PG, val, 0);
			got = *u32p(c->buf, pg * PG);
			if (r != G32_DONE || got != val) {
				failf(&c->f, "cycle %u write page %u: %s, host reads 0x%x want 0x%x",
				      k, pg, res_str(v, r), got, val);
				break;
			}
			if (madvise(c->buf + pg * PG, PG, MADV_DONTNEED)) {
				failf(&c->f, "MADV_DONTNEED: %s",
				      strerror(errno));
				break;
			}
			r = g32_do(v, G32_R32, EM_GPA + pg * PG, 0, 0);
			got = g32_ecx(v);
			if (r != G32_DONE || got) {
				failf(&c->f, "cycle %u read page %u after MADV_DONTNEED: %s, 0x%x",
				      k, pg, res_str(v, r), got);
				break;
			}
		}
		atomic_fetch_add(&c->cycles, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(race, create_vcpu_emfile_during_invalidations, 120)
{
	struct em_ctx *c = calloc(1, sizeof(*c));
	int least = scaled(300), secs = race_seconds();
	int n, fd = -1, err = 0, probe, r, i, maxv;
	struct rlimit old, low;
	struct g32_vcpu v0, v1;
	struct g32_vm vm;
	uint32_t tag;
	pthread_t t;
	double t0;

	ASSERT_NE(NULL, c);
	g32_step = "create_vcpu_emfile: setup";
	c->buf = g32_map_anon(EM_PAGES * PG);
	ASSERT_NE(NULL, c->buf);
	r = g32_vm_create(&vm);
	ASSERT_EQ(0, r) TH_LOG("VM: %s", strerror(-r));
	ASSERT_EQ(0, kvmmu_set_region(vm.vmfd, 1, 0, EM_GPA, EM_PAGES * PG,
				      HVA(c->buf)));
	r = g32_vcpu_create(&vm, &v0, 0);
	ASSERT_EQ(0, r) TH_LOG("vCPU 0: %s", strerror(-r));
	ASSERT_EQ(G32_DONE, g32_do(&v0, G32_NOP, 0, 0, 0));
	maxv = kvmmu_check_extension(vm.vmfd, KVM_CAP_MAX_VCPUS);
	/* Past the vCPU limit: a leaked count would show. */
	if (maxv > 0 && maxv <= 4096 && maxv + 2 > least)
		least = maxv + 2;
	c->v = &v0;
	ASSERT_EQ(0, pthread_create(&t, NULL, em_toucher, c));
	for (i = 0; i < 1000 && atomic_load(&c->cycles) < 2 &&
		    !failed(&c->f); i++)
		usleep(10000);
	EXPECT_LE(2, atomic_load(&c->cycles));

	/* The lowest free fd is the limit: no new fd from now on. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, probe);
	close(probe);
	ASSERT_GE(old.rlim_cur, (rlim_t)probe);
	low = old;
	low.rlim_cur = probe;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &low));
	g32_step = "create_vcpu_emfile: KVM_CREATE_VCPU loop";
	t0 = now_s();
	for (n = 0; n < 10000000 && (n < least || n % 64 ||
				      now_s() - t0 < secs); n++) {
		fd = ioctl(vm.vmfd, KVM_CREATE_VCPU, EM_ID);
		err = errno;
		if (fd >= 0 || err != EMFILE)
			break;
	}
	r = setrlimit(RLIMIT_NOFILE, &old);
	if (fd >= 0)
		close(fd);
	g32_step = "create_vcpu_emfile: after";
	atomic_store(&c->stop, 1);
	pthread_join(t, NULL);
	EXPECT_EQ(0, r) TH_LOG("restoring RLIMIT_NOFILE: %s", strerror(errno));
	TH_LOG("%d KVM_CREATE_VCPU failed in %.1f s (KVM_CAP_MAX_VCPUS %d) during %ld vCPU 0 cycles (%ld over all pages)",
	       n, now_s() - t0, maxv, atomic_load(&c->cycles),
	       atomic_load(&c->full));
	EXPECT_EQ(-1, fd) TH_LOG("attempt %d: fd %d with the fd limit at %d",
				 n, fd, probe);
	EXPECT_EQ(EMFILE, err) TH_LOG("attempt %d: %s", n, strerror(err));
	EXPECT_LE(10, n);
	EXPECT_EQ(0, atomic_load(&c->f.count)) TH_LOG("%s", c->f.why);
	if (maxv > 0 && n > maxv)
		TH_LOG("more failed creations than KVM_CAP_MAX_VCPUS: no vCPU counted");

	/* The same id now works, and runs. */
	r = g32_vcpu_create(&vm, &v1, EM_ID);
	ASSERT_EQ(0, r) TH_LOG("vCPU %d after the EMFILEs: %s", EM_ID,
			       strerror(-r));
	*u32p(c->buf, 5 * PG) = 0x51515151;
	ASSERT_EQ(G32_DONE, g32_do(&v1, G32_R32, EM_GPA + 5 * PG, 0, 0));
	EXPECT_EQ(0x51515151, g32_ecx(&v1));
	ASSERT_EQ(G32_DONE, g32_do(&v1, G32_W32, EM_GPA + 7 * PG, 0x52525252,
				   0));
	EXPECT_EQ(0x52525252, *u32p(c->buf, 7 * PG));
	ASSERT_EQ(G32_DONE, g32_do(&v0, G32_R32, EM_GPA + 7 * PG, 0, 0));
	EXPECT_EQ(0x52525252, g32_ecx(&v0));
	tag = 0x53000000u;
	ASSERT_EQ(G32_DONE, g32_do(&v1, G32_FILL, EM_GPA, tag, EM_PAGES));
	ASSERT_EQ(G32_DONE, g32_do(&v1, G32_SUM, EM_GPA, 0, EM_PAGES));
	EXPECT_EQ(EM_PAGES * tag + EM_PAGES * (EM_PAGES - 1) / 2,
		  g32_esi(&v1));
	EXPECT_EQ(tag + EM_PAGES - 1, *u32p(c->buf, (EM_PAGES - 1) * PG));
	/* And a second vCPU with the same id is refused as before. */
	r = kvmmu_ioctl(vm.vmfd, KVM_CREATE_VCPU, EM_ID);
	EXPECT_EQ(-EEXIST, r);
	if (r >= 0)
		close(r);

	g32_vcpu_destroy(&v1);
	g32_vcpu_destroy(&v0);
	g32_vm_destroy(&vm);
	munmap(c->buf, EM_PAGES * PG);
	free(c);
}

TEST_HARNESS_MAIN
