// SPDX-License-Identifier: GPL-2.0
/*
 * guest_bench - micro-benchmarks of the paths a guest's memory goes
 * through, run beside stock KVM in the same VM (make bench) so that the
 * ratio means something. Each prints one machine-readable line,
 *
 *   bench <name> <value>
 *
 * lower is better for every value:
 *
 *   null_exit_ns        a port-I/O exit to the VMM and back: a loop of
 *                       KVM_RUN alone (the guest's OUT exits, the next
 *                       KVM_RUN completes it and re-enters; the guest
 *                       loops back to its OUT), nothing else in the VMM
 *   null_exit_regs_ns   the same with KVM_GET_REGS and KVM_SET_REGS before
 *                       each KVM_RUN (the guest32 NOP operation, as every
 *                       other operation here is started)
 *   host_touch_4k_ns    the VMM itself writing a fresh anonymous page
 *                       (first touch: a host page fault), per page
 *   faultin_4k_ns       a guest's first write to a fresh anonymous page
 *                       of a slot (NPF, GUP with the host fault, map),
 *                       per page, measured as one FILL over many pages
 *   faultin_limit_ns    null_exit_ns + host_touch_4k_ns: what a fault-in
 *                       cannot go below (an exit plus the host's fault)
 *   faultin_mapped_4k_ns  the same with the host pages already present:
 *                       NPF and map only
 *   invalidate_4k_ns    MADV_DONTNEED of one 4K page the guest has mapped
 *                       (notifier invalidation, zap, TLB flush), per page
 *   invalidate_2m_ns    the same for a 2M THP mapped at 2M, the fastest
 *                       of 8 (skipped without THP)
 *   invalidate_unmapped_4k_ns  MADV_DONTNEED of one 4K page of a slot that
 *                       neither the guest nor the host has touched: the
 *                       notifier finds nothing to zap (memslot_perf_test's
 *                       unmap is mostly this)
 *   host_madvise_4k_ns  MADV_DONTNEED of one 4K page the VMM has touched,
 *                       before any VM exists (no notifier): the host's own
 *                       share of invalidate_4k_ns
 *   host_madvise_none_ns  the same on an untouched page: the host's share
 *                       of invalidate_unmapped_4k_ns
 *   host_madvise_2m_ns  MADV_DONTNEED of one 2M THP, before any VM, the
 *                       fastest of 8
 *   invalidate_4k_mmu_ns, invalidate_unmapped_mmu_ns, invalidate_2m_mmu_ns
 *                       the differences: what the module's notifier, zap
 *                       and flush cost (the host's work is the same for
 *                       both modules and dominates the totals)
 *
 * Usage: guest_bench [pages]   (default 8192; device from $KVMMU_DEV)
 * Exit status 0 only if every guest operation completed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvmmu_util.h"
#include "guest32.h"

#define PG		G32_PAGE
#define GPA		0x1000000UL
#define SZ_2M		(2UL << 20)
#define NR_2M		8
#define NULL_EXITS	20000

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void fail(const char *what, struct g32_vcpu *v)
{
	fprintf(stderr, "guest_bench: %s: %s\n", what,
		v ? g32_exit_str(v) : strerror(errno));
	exit(1);
}

static void op(struct g32_vcpu *v, uint32_t o, uint64_t gpa, uint32_t ecx,
	       uint32_t edx)
{
	if (g32_do(v, o, gpa, ecx, edx) != G32_DONE)
		fail("guest operation", v);
}

/*
 * @n KVM_RUNs and nothing else: the guest's NOP operation is an OUT
 * followed by a jump back to it, so each KVM_RUN completes one OUT and
 * exits at the next. Only the exit reason is checked, once, at the end.
 */
static double run_only(struct g32_vcpu *v, unsigned long n)
{
	unsigned long i;
	double t;

	if (g32_start(v, G32_NOP, 0, 0, 0) || g32_run(v) != G32_DONE)
		fail("NOP operation", v);
	t = now_ns();
	for (i = 0; i < n; i++)
		if (ioctl(v->fd, KVM_RUN, 0))
			fail("KVM_RUN", NULL);
	t = now_ns() - t;
	if (v->run->exit_reason != KVM_EXIT_IO ||
	    v->run->io.port != G32_PORT)
		fail("KVM_RUN loop", v);
	return t / n;
}

static void slot(struct g32_vm *vm, void *p, size_t len)
{
	if (kvmmu_set_region(vm->vmfd, 1, 0, GPA, len,
			     (uint64_t)(unsigned long)p))
		fail("KVM_SET_USER_MEMORY_REGION", NULL);
}

/* AnonHugePages of this process, in kB (0 if unknown). */
static unsigned long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	unsigned long kb = 0;
	char line[128];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * NR_2M THPs, written: MADV_COLLAPSE makes them huge where the fault
 * found no free 2M page. NULL if they are not all huge (a 2M range of
 * 4K pages costs the host more to free: the figure would mean nothing).
 */
static uint8_t *map_thps(void)
{
	uint8_t *p = g32_map_aligned(NR_2M * SZ_2M, SZ_2M);

	if (!p)
		return NULL;
	if (madvise(p, NR_2M * SZ_2M, MADV_HUGEPAGE))
		goto no;
	memset(p, 1, NR_2M * SZ_2M);
	madvise(p, NR_2M * SZ_2M, MADV_COLLAPSE);
	if (anon_huge_kb() >= NR_2M * (SZ_2M >> 10))
		return p;
no:
	printf("# no THP backing: 2M rows skipped\n");
	munmap(p, NR_2M * SZ_2M);
	return NULL;
}

/*
 * MADV_DONTNEED of each 2M of map_thps(): the fastest one. The host's
 * cost of freeing a THP is bimodal (300 or 650-800 us under icount, with
 * or without a VM: the page allocator's state), which a mean would mix.
 */
static double madvise_thps(uint8_t *p)
{
	double t, d, best = 0;
	int i;

	for (i = 0; i < NR_2M; i++) {
		t = now_ns();
		madvise(p + i * SZ_2M, SZ_2M, MADV_DONTNEED);
		d = now_ns() - t;
		if (!i || d < best)
			best = d;
	}
	return best;
}

/* MADV_DONTNEED of @pages pages one at a time, touched first or not. */
static double madvise_each(uint8_t *p, unsigned long pages, int touch)
{
	unsigned long i;
	double t;

	if (touch)
		for (i = 0; i < pages; i++)
			p[i * PG] = 1;
	t = now_ns();
	for (i = 0; i < pages; i++)
		madvise(p + i * PG, PG, MADV_DONTNEED);
	return (now_ns() - t) / pages;
}

static void unslot(struct g32_vm *vm)
{
	if (kvmmu_delete_region(vm->vmfd, 1))
		fail("delete slot", NULL);
}

int main(int argc, char **argv)
{
	unsigned long pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 8192, i;
	double t, null_exit, null_regs, host_touch, faultin, mapped, inv4k;
	double inv_none;
	double host_madv, host_none, host_2m = 0, inv2m;
	struct g32_vcpu v;
	struct g32_vm vm;
	uint8_t *p;

	if (!pages || pages > (1UL << 18)) {
		fprintf(stderr, "usage: %s [pages <= 262144]\n", argv[0]);
		return 2;
	}
	/* Before any VM (and its mmu notifier) exists: the host alone. */
	p = g32_map_anon(pages * PG);
	if (!p)
		fail("mmap", NULL);
	madvise(p, pages * PG, MADV_NOHUGEPAGE);
	host_madv = madvise_each(p, pages, 1);
	host_none = madvise_each(p, pages, 0);
	munmap(p, pages * PG);
	p = map_thps();
	if (p) {
		host_2m = madvise_thps(p);
		munmap(p, NR_2M * SZ_2M);
	}

	if (g32_vm_create(&vm) || g32_vcpu_create(&vm, &v, 0))
		fail("create VM and vCPU", NULL);
	printf("# device %s, %lu pages\n", kvmmu_dev_path(), pages);

	run_only(&v, 1000);	/* warm up */
	null_exit = run_only(&v, NULL_EXITS);
	t = now_ns();
	for (i = 0; i < NULL_EXITS; i++)
		op(&v, G32_NOP, 0, 0, 0);
	null_regs = (now_ns() - t) / NULL_EXITS;

	/* The host's own first touch, same kind of page. */
	p = g32_map_anon(pages * PG);
	if (!p)
		fail("mmap", NULL);
	madvise(p, pages * PG, MADV_NOHUGEPAGE);
	t = now_ns();
	for (i = 0; i < pages; i++)
		p[i * PG] = 1;
	host_touch = (now_ns() - t) / pages;
	munmap(p, pages * PG);

	/* The guest's first touch: every page faults twice (NPF, host). */
	p = g32_map_anon(pages * PG);
	if (!p)
		fail("mmap", NULL);
	madvise(p, pages * PG, MADV_NOHUGEPAGE);
	slot(&vm, p, pages * PG);
	t = now_ns();
	op(&v, G32_FILL, GPA, 1, pages);
	faultin = (now_ns() - t) / pages;
	unslot(&vm);

	/* Host pages present (the same ones, still there): NPF only. */
	slot(&vm, p, pages * PG);
	t = now_ns();
	op(&v, G32_FILL, GPA, 2, pages);
	mapped = (now_ns() - t) / pages;

	/* Invalidation of mapped 4K pages, one madvise each. */
	inv4k = madvise_each(p, pages, 0);
	/* Again: the pages are gone from host and NPT, nothing to zap. */
	inv_none = madvise_each(p, pages, 0);
	unslot(&vm);
	munmap(p, pages * PG);

	printf("bench null_exit_ns %.0f\n", null_exit);
	printf("bench null_exit_regs_ns %.0f\n", null_regs);
	printf("bench host_touch_4k_ns %.0f\n", host_touch);
	printf("bench faultin_4k_ns %.0f\n", faultin);
	printf("bench faultin_limit_ns %.0f\n", null_exit + host_touch);
	printf("bench faultin_mapped_4k_ns %.0f\n", mapped);
	printf("bench invalidate_4k_ns %.0f\n", inv4k);
	printf("bench invalidate_unmapped_4k_ns %.0f\n", inv_none);
	printf("bench host_madvise_4k_ns %.0f\n", host_madv);
	printf("bench host_madvise_none_ns %.0f\n", host_none);
	printf("bench invalidate_4k_mmu_ns %.0f\n", inv4k - host_madv);
	printf("bench invalidate_unmapped_mmu_ns %.0f\n", inv_none - host_none);
	printf("# fault-in / limit %.2f\n", faultin / (null_exit + host_touch));

	/* 2M: THP-backed, mapped at 2M by the guest's touch. */
	p = host_2m ? map_thps() : NULL;
	if (p) {
		slot(&vm, p, NR_2M * SZ_2M);
		op(&v, G32_FILL, GPA, 3, NR_2M * SZ_2M / PG);
		inv2m = madvise_thps(p);
		printf("bench invalidate_2m_ns %.0f\n", inv2m);
		printf("bench host_madvise_2m_ns %.0f\n", host_2m);
		printf("bench invalidate_2m_mmu_ns %.0f\n", inv2m - host_2m);
		unslot(&vm);
		munmap(p, NR_2M * SZ_2M);
	}
	g32_vcpu_destroy(&v);
	g32_vm_destroy(&vm);
	return 0;
}
