// SPDX-License-Identifier: GPL-2.0
/*
 * guest_test - what a guest reads and writes through the MMU, checked
 * from both sides.
 *
 * Every test runs the register-driven 32-bit guest of lib/guest32.h (code
 * in slot 0 at GPA 0x1000) and asserts exact values: what the guest read
 * (ECX/ESI after the operation), what the host sees at the HVA, the
 * KVM_EXIT_MMIO fields, KVM_RUN's errno, and on kvmmu the leaves in
 * debugfs <pid>-<vmfd>/mappings (GPA, level, PFN = /proc/self/pagemap's).
 * The same binary runs against stock KVM (KVMMU_STOCK=1: the debugfs
 * checks are skipped, everything else must pass there too).
 *
 *   1  hva_buffer           guest <-> host through one slot, all MOV forms
 *   2  hva_map_fixed        mmap MAP_FIXED over the HVA: the new page
 *      hva_madv_dontneed    MADV_DONTNEED: the guest reads zeros
 *      hva_mremap           mremap away + new page at the old HVA
 *      hva_zero_page        guest maps the zero page, host writes (COW)
 *      hva_alias_slots      two slots, one HVA: both GPAs invalidated
 *      memfd_punch_truncate hole -> zeros; truncated -> -EFAULT
 *   3  slot_recreate        delete + create at the same GPA, new HVA
 *      slot_move            new guest_phys_addr: old GPA is MMIO
 *   4  mmio_no_slot         every decoder MOV form, loads and stores
 *      mmio_readonly        READONLY slot: reads map, writes are MMIO
 *   5  efault_munmap        KVM_RUN -EFAULT, then recovers
 *      efault_mprotect      PROT_READ: reads work, writes -EFAULT
 *   6  thp_2m               THP slot: 2M leaves (debugfs, pagemap PFN)
 *      thp_misaligned_4k    GPA/HVA off by a page: 4K leaves
 *      thp_split            host splits the THP under a 2M leaf
 *      thp_dirty_log        LOG_DIRTY_PAGES: 4K; off: 2M again
 *      thp_slot_move        moved off alignment: 4K; back on: 2M
 *      thp_slot_partial     slot 2M-4K over a THP: 4K, the GPA after is MMIO
 *      hugetlb_2m           MAP_HUGETLB (skips without hugetlb pages)
 *      hugetlb_1g           MAP_HUGE_1GB: a 1G leaf (harness boots with one)
 *      dirty_log_pages      KVM_GET_DIRTY_LOG: exactly the guest's writes
 *      dirty_log_wrprot     logging on write-protects mapped pages in place
 *      dirty_log_manual     MANUAL_DIRTY_LOG_PROTECT2, CLEAR_DIRTY_LOG, errnos
 *      dirty_log_initially_set  the log starts full; clear protects
 *      dirty_log_migrate    vCPUs write while the VMM harvests: no page lost
 *      gpa_pagemap          debugfs pagemap and tools/gpa-pagemap vs the host
 *      stats_fd             KVM_GET_STATS_FD: format, counters move
 *      idle_page_tracking   page_idle sees guest accesses (accessed bits)
 *      tracepoints          tracefs events of system kvmmu, the test's values
 *   7  smp_faults           4 vCPU threads, same and different pages
 *      slot_updates_race    slot create/delete/move vs guest faults
 *      hva_remap_race       page behind the HVA replaced vs guest reads
 *      munmap_race          slot memory unmapped under a writing vCPU
 *      fork_eio             child: EIO; COW keeps parent and child apart
 *      fd_passed_eio        fds sent over a unix socket: EIO there
 *      kill_running         SIGKILL with 2 vCPUs in KVM_RUN: VM freed
 *      close_vm_while_running  VM fd closed, memory unmapped under vCPUs
 *      cpu_hotplug          CPU 1 offline/online under a running guest
 *      vm_churn             VMs made/destroyed in threads, VMMs SIGKILLed
 *                           mid-run, rmmod refused all along
 *      gpa_scan             every page of 4 GiB: slot data or its MMIO exit
 *      memcg_limit          16M memcg: EFAULT at the limit, sec_pagetables
 *   8  nothing_left         MemFree back (kvmmu only), VmPin/VmLck 0
 *
 * Each test is bounded by alarm() (g32_alarm) under the harness timeout.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvmmu_util.h"
#include "guest32.h"
#include "../../pagemap.h"

#define PG		G32_PAGE
#define HVA(p)		((uint64_t)(unsigned long)(p))
#define DATA_GPA	0xa000UL	/* scenario 1's GPA */
#define MMIO_GPA	0xd0000000UL	/* no slot, ever */
#define MMIO_FILL	0xee		/* junk past mmio.len */
#define SZ_2M		(2UL << 20)
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static uint32_t *u32p(void *base, size_t off)
{
	return (uint32_t *)((uint8_t *)base + off);
}

/* The dword at @off of file @fd, read with pread (0xffffffff on error). */
static uint32_t file_u32(int fd, off_t off)
{
	uint32_t v;

	return pread(fd, &v, sizeof(v), off) == sizeof(v) ? v : 0xffffffff;
}

FIXTURE(g) {
	struct g32_vm vm;
	struct g32_vcpu v;
};

FIXTURE_SETUP(g)
{
	int r;

	g32_alarm(120);
	g32_step = "setup";
	r = g32_vm_create(&self->vm);
	ASSERT_EQ(0, r) TH_LOG("VM on %s: %s", kvmmu_dev_path(),
			       strerror(-r));
	r = g32_vcpu_create(&self->vm, &self->v, 0);
	ASSERT_EQ(0, r) TH_LOG("vCPU 0: %s", strerror(-r));
	/* The guest itself works before anything else is asserted. */
	r = g32_do(&self->v, G32_NOP, 0, 0, 0);
	ASSERT_EQ(G32_DONE, r) TH_LOG("NOP: %s", r < 0 ? strerror(-r) :
				      g32_exit_str(&self->v));
}

FIXTURE_TEARDOWN(g)
{
	g32_vcpu_destroy(&self->v);
	g32_vm_destroy(&self->vm);
}

/* ---- helpers that assert ---- */

/* Run @op to its end (no MMIO expected); return ECX (ESI for G32_SUM). */
static uint32_t op_ok(struct __test_metadata *_metadata, struct g32_vcpu *v,
		      uint32_t op, uint64_t gpa, uint32_t ecx, uint32_t edx)
{
	int r = g32_do(v, op, gpa, ecx, edx);

	ASSERT_EQ(G32_DONE, r) TH_LOG("op %u at GPA 0x%llx: %s", op,
				      (unsigned long long)gpa,
				      r < 0 ? strerror(-r) : g32_exit_str(v));
	return op == G32_SUM ? g32_esi(v) : g32_ecx(v);
}

static uint32_t rd32(struct __test_metadata *_metadata, struct g32_vcpu *v,
		     uint64_t gpa)
{
	return op_ok(_metadata, v, G32_R32, gpa, 0, 0);
}

static void wr32(struct __test_metadata *_metadata, struct g32_vcpu *v,
		 uint64_t gpa, uint32_t val)
{
	op_ok(_metadata, v, G32_W32, gpa, val, 0);
}

/*
 * Run @op and expect an MMIO exit at @gpa of @len bytes, @is_write; for a
 * store the data must be @data, for a load @data is supplied. Then the
 * operation must complete. Return ECX after it.
 */
static uint32_t op_mmio(struct __test_metadata *_metadata, struct g32_vcpu *v,
			uint32_t op, uint64_t gpa, uint32_t ecx,
			unsigned int len, bool is_write, uint64_t data)
{
	struct kvm_run *run = v->run;
	uint8_t want[8];
	int r;

	r = g32_do(v, op, gpa, ecx, 0);
	ASSERT_EQ(G32_MMIO, r) TH_LOG("op %u at GPA 0x%llx: %s", op,
				      (unsigned long long)gpa,
				      r < 0 ? strerror(-r) : g32_exit_str(v));
	EXPECT_EQ(gpa, run->mmio.phys_addr);
	EXPECT_EQ(len, run->mmio.len);
	EXPECT_EQ(is_write, run->mmio.is_write);
	memcpy(want, &data, sizeof(want));
	if (is_write) {
		EXPECT_EQ(0, memcmp(want, run->mmio.data, len))
			TH_LOG("op %u store data 0x%llx, want 0x%llx", op,
			       (unsigned long long)*(uint64_t *)run->mmio.data,
			       (unsigned long long)data);
	} else {
		memset(run->mmio.data, MMIO_FILL, sizeof(run->mmio.data));
		memcpy(run->mmio.data, want, len);
	}
	r = g32_run(v);
	ASSERT_EQ(G32_DONE, r) TH_LOG("op %u after MMIO: %s", op,
				      r < 0 ? strerror(-r) : g32_exit_str(v));
	return g32_ecx(v);
}

static bool stock(void)
{
	return kvmmu_is_stock();
}

static long long stat_value(struct __test_metadata *_metadata, int fd,
			    const char *name);

/*
 * On kvmmu: the leaf mapping @gpa has level @level and maps the page
 * the host has at @hva (pagemap), writable or not as @w says (-1: any).
 */
static void expect_leaf(struct __test_metadata *_metadata, struct g32_vm *vm,
			uint64_t gpa, unsigned int level, const void *hva,
			int w)
{
	static struct g32_leaf leaves[4096];
	const struct g32_leaf *l;
	uint64_t pfn, lsize;
	int n;

	if (stock())
		return;
	ASSERT_EQ(0, kvmmu_mount_debugfs());
	n = g32_read_mappings(getpid(), vm->vmfd, leaves, 4096);
	ASSERT_LE(0, n) TH_LOG("mappings: %s", strerror(-n));
	ASSERT_GE(4096, n);
	l = g32_find_leaf(leaves, n, gpa);
	ASSERT_NE(NULL, l) TH_LOG("no leaf maps GPA 0x%llx",
				  (unsigned long long)gpa);
	EXPECT_EQ(level, l->level) TH_LOG("GPA 0x%llx mapped at level %u",
					  (unsigned long long)gpa, l->level);
	lsize = 1ULL << (12 + 9 * (l->level - 1));
	EXPECT_EQ(gpa & ~(lsize - 1), l->gpa);
	EXPECT_EQ(0, l->pfn & ((lsize >> 12) - 1));
	if (w >= 0)
		EXPECT_EQ(w ? 'w' : '-', l->flags[0]);
	pfn = g32_pagemap_pfn(hva);
	if (pfn) {
		EXPECT_EQ(pfn, l->pfn + ((gpa - l->gpa) >> 12))
			TH_LOG("GPA 0x%llx: leaf pfn 0x%llx, host pfn 0x%llx",
			       (unsigned long long)gpa,
			       (unsigned long long)l->pfn,
			       (unsigned long long)pfn);
	} else {
		TH_LOG("pagemap hides PFNs: leaf PFN not compared");
	}
}

/* On kvmmu: no leaf maps @gpa. */
static void expect_no_leaf(struct __test_metadata *_metadata,
			   struct g32_vm *vm, uint64_t gpa)
{
	static struct g32_leaf leaves[4096];
	int n;

	if (stock())
		return;
	ASSERT_EQ(0, kvmmu_mount_debugfs());
	n = g32_read_mappings(getpid(), vm->vmfd, leaves, 4096);
	ASSERT_LE(0, n) TH_LOG("mappings: %s", strerror(-n));
	EXPECT_EQ(NULL, g32_find_leaf(leaves, n, gpa))
		TH_LOG("GPA 0x%llx still mapped", (unsigned long long)gpa);
}

/* ---- 1: a slot over a host buffer ---- */

TEST_F_TIMEOUT(g, hva_buffer, 150)
{
	uint8_t *buf = g32_map_anon(PG), copy[PG];
	uint32_t x;
	int r;

	ASSERT_NE(NULL, buf);
	g32_step = "hva_buffer";
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(buf));
	ASSERT_EQ(0, r) TH_LOG("slot 1: %s", strerror(-r));

	/* Guest -> host. */
	wr32(_metadata, &self->v, DATA_GPA + 0x10, 0x11223344);
	EXPECT_EQ(0x11223344, *u32p(buf, 0x10));
	expect_leaf(_metadata, &self->vm, DATA_GPA + 0x10, 1, buf, 1);

	/* Host -> guest, on a page the guest already maps. */
	*u32p(buf, 0x20) = 0xcafef00d;
	EXPECT_EQ(0xcafef00d, rd32(_metadata, &self->v, DATA_GPA + 0x20));
	*u32p(buf, 0x20) = 0x0badf00d;
	EXPECT_EQ(0x0badf00d, rd32(_metadata, &self->v, DATA_GPA + 0x20));

	/* Every MOV form on RAM: exact bytes, neighbours untouched. */
	memset(buf + 0x100, 0x5c, 0x100);
	memcpy(copy, buf, PG);
	op_ok(_metadata, &self->v, G32_W8, DATA_GPA + 0x101, 0xffffff77, 0);
	copy[0x101] = 0x77;
	op_ok(_metadata, &self->v, G32_W16, DATA_GPA + 0x111, 0xffffbeef, 0);
	copy[0x111] = 0xef;
	copy[0x112] = 0xbe;
	op_ok(_metadata, &self->v, G32_W32I, DATA_GPA + 0x121, 0, 0);
	memcpy(copy + 0x121, &(uint32_t){ G32_IMM32 }, 4);
	op_ok(_metadata, &self->v, G32_W8I, DATA_GPA + 0x131, 0, 0);
	copy[0x131] = G32_IMM8;
	EXPECT_EQ(0, memcmp(copy, buf, PG));

	*u32p(buf, 0x200) = 0x80018081;
	x = op_ok(_metadata, &self->v, G32_R8, DATA_GPA + 0x200, 0x11223344, 0);
	EXPECT_EQ(0x11223381, x);
	x = op_ok(_metadata, &self->v, G32_R16, DATA_GPA + 0x200, 0x11223344, 0);
	EXPECT_EQ(0x11228081, x);
	x = op_ok(_metadata, &self->v, G32_ZX8, DATA_GPA + 0x200, ~0u, 0);
	EXPECT_EQ(0x81, x);
	x = op_ok(_metadata, &self->v, G32_ZX16, DATA_GPA + 0x200, ~0u, 0);
	EXPECT_EQ(0x8081, x);
	x = op_ok(_metadata, &self->v, G32_SX8, DATA_GPA + 0x200, 0, 0);
	EXPECT_EQ(0xffffff81, x);
	x = op_ok(_metadata, &self->v, G32_SX16, DATA_GPA + 0x200, 0, 0);
	EXPECT_EQ(0xffff8081, x);
	x = op_ok(_metadata, &self->v, G32_SX16, DATA_GPA + 0x202, 0, 0);
	EXPECT_EQ(0xffff8001, x);
}

/* ---- 2: the HVA -> HPA link changes ---- */

TEST_F_TIMEOUT(g, hva_map_fixed, 150)
{
	int fd = memfd_create("g32-old", MFD_CLOEXEC);
	uint8_t *hva, *old_view, *p;
	int r;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, PG));
	hva = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	old_view = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, hva);
	ASSERT_NE(MAP_FAILED, old_view);
	g32_step = "hva_map_fixed";
	*u32p(hva, 0x40) = 0x01d01d01;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(hva));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x01d01d01, rd32(_metadata, &self->v, DATA_GPA + 0x40));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, hva, -1);

	/* A new anonymous page replaces the memfd page at the same HVA. */
	p = mmap(hva, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(hva, p);
	*u32p(hva, 0x40) = 0x0e770e77;
	EXPECT_EQ(0x0e770e77, rd32(_metadata, &self->v, DATA_GPA + 0x40));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, hva, -1);

	wr32(_metadata, &self->v, DATA_GPA + 0x80, 0xfeedbeef);
	EXPECT_EQ(0xfeedbeef, *u32p(hva, 0x80));
	/* The old page never sees the guest again. */
	EXPECT_EQ(0x01d01d01, *u32p(old_view, 0x40));
	EXPECT_EQ(0, *u32p(old_view, 0x80));
	close(fd);
}

TEST_F_TIMEOUT(g, hva_madv_dontneed, 150)
{
	uint8_t *buf = g32_map_anon(2 * PG);
	int r;

	ASSERT_NE(NULL, buf);
	g32_step = "hva_madv_dontneed";
	*u32p(buf, 0x10) = 0x12121212;
	*u32p(buf, PG + 0x10) = 0x34343434;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, 2 * PG, HVA(buf));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x12121212, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	EXPECT_EQ(0x34343434, rd32(_metadata, &self->v, DATA_GPA + PG + 0x10));

	ASSERT_EQ(0, madvise(buf, PG, MADV_DONTNEED));
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	/* The other page was not touched. */
	EXPECT_EQ(0x34343434, rd32(_metadata, &self->v, DATA_GPA + PG + 0x10));

	/* A page the guest dirtied, dropped: zeros on both sides. */
	wr32(_metadata, &self->v, DATA_GPA + 0x20, 0x56565656);
	EXPECT_EQ(0x56565656, *u32p(buf, 0x20));
	ASSERT_EQ(0, madvise(buf, 2 * PG, MADV_DONTNEED));
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x20));
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + PG + 0x10));
	EXPECT_EQ(0, *u32p(buf, 0x20));
	/* And the link works again afterwards. */
	wr32(_metadata, &self->v, DATA_GPA + PG + 0x30, 0x78787878);
	EXPECT_EQ(0x78787878, *u32p(buf, PG + 0x30));
	expect_leaf(_metadata, &self->vm, DATA_GPA + PG, 1, buf + PG, 1);
}

TEST_F_TIMEOUT(g, hva_mremap, 150)
{
	uint8_t *a = g32_map_anon(PG), *b, *p;
	uint64_t target = kvmmu_unmapped_hva(PG);
	int r;

	ASSERT_NE(NULL, a);
	ASSERT_NE(0, target);
	g32_step = "hva_mremap";
	*u32p(a, 0x10) = 0xaaaa0001;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(a));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0xaaaa0001, rd32(_metadata, &self->v, DATA_GPA + 0x10));

	/* The page moves to b; a new page appears at a. */
	b = mremap(a, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		   (void *)(unsigned long)target);
	ASSERT_EQ((void *)(unsigned long)target, b);
	EXPECT_EQ(0xaaaa0001, *u32p(b, 0x10));
	p = mmap(a, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(a, p);
	*u32p(a, 0x10) = 0xbbbb0002;
	EXPECT_EQ(0xbbbb0002, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	wr32(_metadata, &self->v, DATA_GPA + 0x20, 0xbbbb0003);
	EXPECT_EQ(0xbbbb0003, *u32p(a, 0x20));
	EXPECT_EQ(0xaaaa0001, *u32p(b, 0x10));
	EXPECT_EQ(0, *u32p(b, 0x20));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, a, 1);
}

/* A read maps the shared zero page; the host's first write replaces it. */
TEST_F_TIMEOUT(g, hva_zero_page, 150)
{
	uint8_t *buf = g32_map_anon(PG);
	int r;

	ASSERT_NE(NULL, buf);
	g32_step = "hva_zero_page";
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(buf));
	ASSERT_EQ(0, r);
	/* Never touched by the host: the guest reads zeros. */
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	*u32p(buf, 0x10) = 0x2e202e20;	/* COW from the zero page */
	EXPECT_EQ(0x2e202e20, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	wr32(_metadata, &self->v, DATA_GPA + 0x14, 0x2e202e21);
	EXPECT_EQ(0x2e202e21, *u32p(buf, 0x14));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, buf, 1);

	/* Again after a drop, with the guest writing first this time. */
	ASSERT_EQ(0, madvise(buf, PG, MADV_DONTNEED));
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	wr32(_metadata, &self->v, DATA_GPA + 0x18, 0x2e202e22);
	EXPECT_EQ(0x2e202e22, *u32p(buf, 0x18));
	EXPECT_EQ(0, *u32p(buf, 0x10));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, buf, 1);
}

/*
 * Two slots alias one host page: an invalidation of the HVA must drop
 * the mappings of both GPAs. The old page lives on in a memfd, so a
 * stale mapping would read its old contents.
 */
TEST_F_TIMEOUT(g, hva_alias_slots, 150)
{
	const uint64_t gpa2 = 0x30000;
	int fd = memfd_create("g32-alias", MFD_CLOEXEC);
	uint8_t *buf, *p;
	int r;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, PG));
	buf = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, buf);
	g32_step = "hva_alias_slots";
	*u32p(buf, 0x10) = 0xa11a5001;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(buf));
	ASSERT_EQ(0, r);
	r = kvmmu_set_region(self->vm.vmfd, 2, 0, gpa2, PG, HVA(buf));
	ASSERT_EQ(0, r);
	wr32(_metadata, &self->v, DATA_GPA + 0x20, 0xa11a5002);
	EXPECT_EQ(0xa11a5002, rd32(_metadata, &self->v, gpa2 + 0x20));
	EXPECT_EQ(0xa11a5001, rd32(_metadata, &self->v, gpa2 + 0x10));
	EXPECT_EQ(0xa11a5001, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, buf, 1);
	expect_leaf(_metadata, &self->vm, gpa2, 1, buf, -1);

	p = mmap(buf, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(buf, p);
	*u32p(buf, 0x10) = 0xa11a5003;
	EXPECT_EQ(0xa11a5003, rd32(_metadata, &self->v, gpa2 + 0x10));
	EXPECT_EQ(0xa11a5003, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	EXPECT_EQ(0, rd32(_metadata, &self->v, gpa2 + 0x20));
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x20));
	wr32(_metadata, &self->v, gpa2 + 0x30, 0xa11a5004);
	EXPECT_EQ(0xa11a5004, rd32(_metadata, &self->v, DATA_GPA + 0x30));
	EXPECT_EQ(0xa11a5004, *u32p(buf, 0x30));
	EXPECT_EQ(0, file_u32(fd, 0x30));
	EXPECT_EQ(0xa11a5001, file_u32(fd, 0x10));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, buf, -1);
	expect_leaf(_metadata, &self->vm, gpa2, 1, buf, 1);
	close(fd);
}

/*
 * A shared memfd page: a hole punched in the file reads as zeros; the
 * file shrunk under the slot makes the access fail (SIGBUS for the host:
 * -EFAULT from KVM_RUN); grown back, zeros again.
 */
TEST_F_TIMEOUT(g, memfd_punch_truncate, 150)
{
	int fd = memfd_create("g32-shm", MFD_CLOEXEC);
	uint8_t *p;
	int r;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * PG));
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	g32_step = "memfd_punch_truncate";
	*u32p(p, 0x10) = 0x5f5f0001;
	*u32p(p, PG + 0x10) = 0x5f5f0002;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, 2 * PG, HVA(p));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x5f5f0001, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	wr32(_metadata, &self->v, DATA_GPA + PG + 0x20, 0x5f5f0003);
	EXPECT_EQ(0x5f5f0003, *u32p(p, PG + 0x20));
	EXPECT_EQ(0x5f5f0003, file_u32(fd, PG + 0x20));

	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, PG));
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	EXPECT_EQ(0x5f5f0002, rd32(_metadata, &self->v, DATA_GPA + PG + 0x10));

	ASSERT_EQ(0, ftruncate(fd, PG));
	r = g32_do(&self->v, G32_R32, DATA_GPA + PG + 0x10, 0, 0);
	EXPECT_EQ(-EFAULT, r) TH_LOG("read past EOF: %s",
				     r < 0 ? strerror(-r) :
				     g32_exit_str(&self->v));
	expect_no_leaf(_metadata, &self->vm, DATA_GPA + PG);
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	ASSERT_EQ(0, ftruncate(fd, 2 * PG));
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + PG + 0x10));
	wr32(_metadata, &self->v, DATA_GPA + PG + 0x40, 0x5f5f0004);
	EXPECT_EQ(0x5f5f0004, *u32p(p, PG + 0x40));
	close(fd);
}

/* ---- 3: memslots move ---- */

TEST_F_TIMEOUT(g, slot_recreate, 150)
{
	uint8_t *b1 = g32_map_anon(PG), *b2 = g32_map_anon(PG);
	int r;

	ASSERT_NE(NULL, b1);
	ASSERT_NE(NULL, b2);
	g32_step = "slot_recreate";
	*u32p(b1, 0x10) = 0x1111aaaa;
	*u32p(b2, 0x10) = 0x2222bbbb;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(b1));
	ASSERT_EQ(0, r);
	wr32(_metadata, &self->v, DATA_GPA + 0x20, 0x1111cccc);
	EXPECT_EQ(0x1111aaaa, rd32(_metadata, &self->v, DATA_GPA + 0x10));

	ASSERT_EQ(0, kvmmu_delete_region(self->vm.vmfd, 1));
	expect_no_leaf(_metadata, &self->vm, DATA_GPA);
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(b2));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x2222bbbb, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x20));
	wr32(_metadata, &self->v, DATA_GPA + 0x30, 0x2222dddd);
	EXPECT_EQ(0x2222dddd, *u32p(b2, 0x30));
	EXPECT_EQ(0, *u32p(b1, 0x30));
	EXPECT_EQ(0x1111cccc, *u32p(b1, 0x20));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, b2, 1);
}

TEST_F_TIMEOUT(g, slot_move, 150)
{
	const uint64_t new_gpa = 0x40000;
	uint8_t *buf = g32_map_anon(2 * PG);
	uint32_t x;
	int r;

	ASSERT_NE(NULL, buf);
	g32_step = "slot_move";
	*u32p(buf, 0x10) = 0x3333aaaa;
	*u32p(buf, PG + 0x10) = 0x3333bbbb;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, 2 * PG, HVA(buf));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x3333aaaa, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	EXPECT_EQ(0x3333bbbb, rd32(_metadata, &self->v, DATA_GPA + PG + 0x10));

	r = kvmmu_set_region(self->vm.vmfd, 1, 0, new_gpa, 2 * PG, HVA(buf));
	ASSERT_EQ(0, r) TH_LOG("move: %s", strerror(-r));
	expect_no_leaf(_metadata, &self->vm, DATA_GPA);
	expect_no_leaf(_metadata, &self->vm, DATA_GPA + PG);
	EXPECT_EQ(0x3333aaaa, rd32(_metadata, &self->v, new_gpa + 0x10));
	EXPECT_EQ(0x3333bbbb, rd32(_metadata, &self->v, new_gpa + PG + 0x10));

	/* The old GPA is MMIO now, both directions. */
	x = op_mmio(_metadata, &self->v, G32_R32, DATA_GPA + 0x10, 0, 4, false,
		    0x0d15ea5e);
	EXPECT_EQ(0x0d15ea5e, x);
	op_mmio(_metadata, &self->v, G32_W32, DATA_GPA + PG + 0x10, 0x99887766,
		4, true, 0x99887766);
	EXPECT_EQ(0x3333bbbb, *u32p(buf, PG + 0x10));

	wr32(_metadata, &self->v, new_gpa + 0x40, 0x44445555);
	EXPECT_EQ(0x44445555, *u32p(buf, 0x40));
	expect_leaf(_metadata, &self->vm, new_gpa, 1, buf, 1);

	/* And back: now the new GPA is MMIO. */
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, 2 * PG, HVA(buf));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x44445555, rd32(_metadata, &self->v, DATA_GPA + 0x40));
	x = op_mmio(_metadata, &self->v, G32_R32, new_gpa + 0x40, 0, 4, false,
		    0x600df00d);
	EXPECT_EQ(0x600df00d, x);
	expect_no_leaf(_metadata, &self->vm, new_gpa);
}

/* ---- 4: MMIO ---- */

struct mmio_case {
	uint32_t op;
	uint32_t ecx;		/* ECX before */
	unsigned int len;
	bool is_write;
	uint64_t data;		/* stored, or supplied by the VMM */
	uint32_t result;	/* ECX after */
};

static const struct mmio_case mmio_cases[] = {
	{ G32_W32,  0x12345678, 4, true,  0x12345678, 0x12345678 },
	{ G32_W8,   0x123456ab, 1, true,  0xab,       0x123456ab },
	{ G32_W16,  0x1234beef, 2, true,  0xbeef,     0x1234beef },
	{ G32_W32I, 0,          4, true,  G32_IMM32,  0 },
	{ G32_W8I,  0,          1, true,  G32_IMM8,   0 },
	{ G32_R32,  0,          4, false, 0xa1b2c3d4, 0xa1b2c3d4 },
	{ G32_R8,   0x11223344, 1, false, 0x99,       0x11223399 },
	{ G32_R16,  0x11223344, 2, false, 0xbeef,     0x1122beef },
	{ G32_ZX8,  0xffffffff, 1, false, 0x80,       0x80 },
	{ G32_ZX16, 0xffffffff, 2, false, 0x8001,     0x8001 },
	{ G32_SX8,  0,          1, false, 0x80,       0xffffff80 },
	{ G32_SX16, 0,          2, false, 0x8001,     0xffff8001 },
};

TEST_F_TIMEOUT(g, mmio_no_slot, 150)
{
	unsigned int i;

	g32_step = "mmio_no_slot";
	for (i = 0; i < ARRAY_SIZE(mmio_cases); i++) {
		const struct mmio_case *c = &mmio_cases[i];
		uint64_t gpa = MMIO_GPA + 0x100 + i * 0x10 + (i & 3);
		uint32_t x;

		x = op_mmio(_metadata, &self->v, c->op, gpa, c->ecx, c->len,
			    c->is_write, c->data);
		EXPECT_EQ(c->result, x) TH_LOG("case %u (op %u): ECX 0x%x",
					       i, c->op, x);
	}
	/* The top of the 32-bit space. */
	EXPECT_EQ(0x76543210, op_mmio(_metadata, &self->v, G32_R32,
				      0xfffffff0, 0, 4, false, 0x76543210));
}

TEST_F_TIMEOUT(g, mmio_readonly, 150)
{
	const uint64_t gpa = 0xb000;
	uint8_t *buf = g32_map_anon(2 * PG), copy[2 * PG];
	int r;

	ASSERT_NE(NULL, buf);
	g32_step = "mmio_readonly";
	ASSERT_LT(0, kvmmu_check_extension(self->vm.devfd,
					   KVM_CAP_READONLY_MEM));
	memset(buf, 0x3c, 2 * PG);
	*u32p(buf, 0x10) = 0x0eadbeef;
	r = kvmmu_set_region(self->vm.vmfd, 1, KVM_MEM_READONLY, gpa, 2 * PG,
			     HVA(buf));
	ASSERT_EQ(0, r) TH_LOG("READONLY slot: %s", strerror(-r));
	memcpy(copy, buf, sizeof(copy));

	/* A write to a page never mapped: MMIO. */
	op_mmio(_metadata, &self->v, G32_W32, gpa + 0x20, 0xabcdef01, 4, true,
		0xabcdef01);
	/* Reads map it, read-only. */
	EXPECT_EQ(0x0eadbeef, rd32(_metadata, &self->v, gpa + 0x10));
	expect_leaf(_metadata, &self->vm, gpa, 1, buf, 0);
	/* Writes to the mapped page: still MMIO, every form. */
	op_mmio(_metadata, &self->v, G32_W32, gpa + 0x10, 0x01020304, 4, true,
		0x01020304);
	op_mmio(_metadata, &self->v, G32_W8, gpa + 0x11, 0x55, 1, true, 0x55);
	op_mmio(_metadata, &self->v, G32_W16, gpa + 0x12, 0x6677, 2, true,
		0x6677);
	op_mmio(_metadata, &self->v, G32_W32I, gpa + PG, 0, 4, true,
		G32_IMM32);
	op_mmio(_metadata, &self->v, G32_W8I, gpa + PG + 1, 0, 1, true,
		G32_IMM8);
	EXPECT_EQ(0, memcmp(copy, buf, sizeof(copy)));
	EXPECT_EQ(0x0eadbeef, rd32(_metadata, &self->v, gpa + 0x10));
	EXPECT_EQ(0x3c3c3c3c, rd32(_metadata, &self->v, gpa + PG));
	/* The host may still write: the guest sees it. */
	*u32p(buf, 0x10) = 0x1eadbeef;
	EXPECT_EQ(0x1eadbeef, rd32(_metadata, &self->v, gpa + 0x10));
	expect_leaf(_metadata, &self->vm, gpa + PG, 1, buf + PG, 0);
}

/* ---- 5: host memory behind a slot goes away ---- */

TEST_F_TIMEOUT(g, efault_munmap, 150)
{
	uint8_t *buf = g32_map_anon(2 * PG), *p;
	uint64_t hole = kvmmu_unmapped_hva(PG);
	int r;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(0, hole);
	g32_step = "efault_munmap";
	*u32p(buf, 0x10) = 0x77770001;
	*u32p(buf, PG + 0x10) = 0x77770002;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, 2 * PG, HVA(buf));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x77770001, rd32(_metadata, &self->v, DATA_GPA + 0x10));

	ASSERT_EQ(0, munmap(buf, PG));
	r = g32_do(&self->v, G32_R32, DATA_GPA + 0x10, 0, 0);
	EXPECT_EQ(-EFAULT, r) TH_LOG("read of an unmapped HVA: %s",
				     r < 0 ? strerror(-r) :
				     g32_exit_str(&self->v));
	r = g32_do(&self->v, G32_W32, DATA_GPA + 0x10, 1, 0);
	EXPECT_EQ(-EFAULT, r);
	/* The rest of the slot and the VM still work. */
	EXPECT_EQ(0x77770002, rd32(_metadata, &self->v, DATA_GPA + PG + 0x10));
	expect_no_leaf(_metadata, &self->vm, DATA_GPA);

	/* A page comes back at the HVA: the stuck load completes on it. */
	r = g32_do(&self->v, G32_R32, DATA_GPA + 0x10, 0, 0);
	EXPECT_EQ(-EFAULT, r);
	p = mmap(buf, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(buf, p);
	*u32p(buf, 0x10) = 0x77770003;
	r = g32_run(&self->v);
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", r < 0 ? strerror(-r) :
				      g32_exit_str(&self->v));
	EXPECT_EQ(0x77770003, g32_ecx(&self->v));

	/* A slot created over a hole: EFAULT from the first access. */
	r = kvmmu_set_region(self->vm.vmfd, 2, 0, 0x20000, PG, hole);
	ASSERT_EQ(0, r);
	r = g32_do(&self->v, G32_R32, 0x20000, 0, 0);
	EXPECT_EQ(-EFAULT, r);
	r = g32_do(&self->v, G32_W32, 0x20000, 0, 0);
	EXPECT_EQ(-EFAULT, r);
	EXPECT_EQ(0x77770003, rd32(_metadata, &self->v, DATA_GPA + 0x10));
}

TEST_F_TIMEOUT(g, efault_mprotect, 150)
{
	uint8_t *buf = g32_map_anon(PG);
	int r;

	ASSERT_NE(NULL, buf);
	g32_step = "efault_mprotect";
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(buf));
	ASSERT_EQ(0, r);
	wr32(_metadata, &self->v, DATA_GPA + 0x10, 0x88880001);
	EXPECT_EQ(0x88880001, *u32p(buf, 0x10));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, buf, 1);

	ASSERT_EQ(0, mprotect(buf, PG, PROT_READ));
	EXPECT_EQ(0x88880001, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, buf, 0);
	r = g32_do(&self->v, G32_W32, DATA_GPA + 0x10, 0x88880002, 0);
	EXPECT_EQ(-EFAULT, r) TH_LOG("write to a PROT_READ HVA: %s",
				     r < 0 ? strerror(-r) :
				     g32_exit_str(&self->v));
	r = g32_run(&self->v);
	EXPECT_EQ(-EFAULT, r);
	EXPECT_EQ(0x88880001, *u32p(buf, 0x10));
	EXPECT_EQ(0x88880001, rd32(_metadata, &self->v, DATA_GPA + 0x10));

	/* Writable again: the same store, re-run, lands. */
	r = g32_start(&self->v, G32_W32, DATA_GPA + 0x10, 0x88880003, 0);
	ASSERT_EQ(0, r);
	r = g32_run(&self->v);
	EXPECT_EQ(-EFAULT, r);
	ASSERT_EQ(0, mprotect(buf, PG, PROT_READ | PROT_WRITE));
	r = g32_run(&self->v);
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", r < 0 ? strerror(-r) :
				      g32_exit_str(&self->v));
	EXPECT_EQ(0x88880003, *u32p(buf, 0x10));
}

/* ---- 6: huge pages ---- */

static bool thp_available(void)
{
	char s[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	if (!f)
		return false;
	if (!fgets(s, sizeof(s), f))
		s[0] = 0;
	fclose(f);
	return !strstr(s, "[never]") && s[0];
}

#define THP_LEN		(2 * SZ_2M)

/*
 * Two 2 MiB THPs, 2 MiB-aligned, page i's dword 0 = 0x70000000 + i.
 * NULL (the test skipped) when the kernel gives no THP.
 */
static void *thp_buffer(struct __test_metadata *_metadata)
{
	uint8_t *p;
	unsigned long i;
	long kb;

	if (!thp_available())
		SKIP(return NULL, "THP disabled (transparent_hugepage=never)");
	p = g32_map_aligned(THP_LEN, SZ_2M);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, THP_LEN, MADV_HUGEPAGE));
	for (i = 0; i < THP_LEN / PG; i++)
		*u32p(p, i * PG) = 0x70000000 + i;
	kb = g32_smaps_kb(p, "AnonHugePages");
	if (kb < (long)(THP_LEN >> 10))
		SKIP(return NULL, "no THP for the buffer (AnonHugePages %ld kB)",
		     kb);
	return p;
}

TEST_F_TIMEOUT(g, thp_2m, 150)
{
	const uint64_t gpa = 0x400000;
	uint8_t *p;
	int r;

	g32_step = "thp_2m";
	p = thp_buffer(_metadata);
	if (!p)
		return;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x70000123, rd32(_metadata, &self->v, gpa + 0x123000));
	expect_leaf(_metadata, &self->vm, gpa + 0x123000, 2, p + 0x123000, -1);
	/* One leaf serves the whole first 2M. */
	EXPECT_EQ(0x700001ff, rd32(_metadata, &self->v, gpa + 0x1ff000));
	EXPECT_EQ(0x70000000, rd32(_metadata, &self->v, gpa));
	wr32(_metadata, &self->v, gpa + 0x1ff004, 0x7fff0001);
	EXPECT_EQ(0x7fff0001, *u32p(p, 0x1ff004));
	expect_leaf(_metadata, &self->vm, gpa + 0x1ff000, 2, p + 0x1ff000, 1);
	/* And another the second. */
	EXPECT_EQ(0x70000345, rd32(_metadata, &self->v, gpa + 0x345000));
	expect_leaf(_metadata, &self->vm, gpa + 0x345000, 2, p + 0x345000, -1);
	if (!stock()) {
		EXPECT_EQ(2, g32_read_stat(getpid(), self->vm.vmfd,
					   "pages_2m"));
	}
	EXPECT_LE((long)(THP_LEN >> 10), g32_smaps_kb(p, "AnonHugePages"));
}

/*
 * GPA 2M-aligned + 4K, HVA 2M-aligned, 4 MiB: the GPAs 0xa00000..0xbfffff
 * form a whole 2M range inside the slot, but their HVAs straddle the two
 * THPs: only 4K leaves are right.
 */
TEST_F_TIMEOUT(g, thp_misaligned_4k, 150)
{
	const uint64_t gpa = 0x801000;
	const uint64_t inner = 0xa00000;	/* HVA offset 0x1ff000 */
	uint8_t *p;
	int r;

	g32_step = "thp_misaligned_4k";
	p = thp_buffer(_metadata);
	if (!p)
		return;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x70000005, rd32(_metadata, &self->v, gpa + 0x5000));
	EXPECT_EQ(0x700001ff, rd32(_metadata, &self->v, inner));
	EXPECT_EQ(0x70000202, rd32(_metadata, &self->v, inner + 0x3000));
	EXPECT_EQ(0x700003fe, rd32(_metadata, &self->v, inner + 0x1ff000));
	wr32(_metadata, &self->v, inner + 0x100004, 0x7fff0002);
	EXPECT_EQ(0x7fff0002, *u32p(p, 0x1ff000 + 0x100004));
	expect_leaf(_metadata, &self->vm, gpa + 0x5000, 1, p + 0x5000, -1);
	expect_leaf(_metadata, &self->vm, inner, 1, p + 0x1ff000, -1);
	expect_leaf(_metadata, &self->vm, inner + 0x3000, 1, p + 0x202000, -1);
	expect_leaf(_metadata, &self->vm, inner + 0x100000, 1, p + 0x2ff000,
		    1);
	if (!stock()) {
		EXPECT_EQ(0, g32_read_stat(getpid(), self->vm.vmfd,
					   "pages_2m"));
	}
	/* Still THPs on the host: the slot's alignment made it 4K. */
	EXPECT_LE((long)(THP_LEN >> 10), g32_smaps_kb(p, "AnonHugePages"));
}

/*
 * The host splits a THP the guest maps with a 2M leaf: MADV_DONTNEED of
 * one 4K page, mprotect of another. The rest keeps its data, the dropped
 * page reads zeros, and the leaves become 4K.
 */
TEST_F_TIMEOUT(g, thp_split, 150)
{
	const uint64_t gpa = 0x400000;
	uint8_t *p;
	int r;

	g32_step = "thp_split";
	p = thp_buffer(_metadata);
	if (!p)
		return;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	wr32(_metadata, &self->v, gpa + 0x10004, 0x5b1a0001);
	expect_leaf(_metadata, &self->vm, gpa + 0x10000, 2, p + 0x10000, 1);

	ASSERT_EQ(0, madvise(p + 0x20000, PG, MADV_DONTNEED));
	expect_no_leaf(_metadata, &self->vm, gpa + 0x10000);
	EXPECT_EQ(0, rd32(_metadata, &self->v, gpa + 0x20000));
	EXPECT_EQ(0x70000010, rd32(_metadata, &self->v, gpa + 0x10000));
	EXPECT_EQ(0x5b1a0001, rd32(_metadata, &self->v, gpa + 0x10004));
	EXPECT_EQ(0x70000021, rd32(_metadata, &self->v, gpa + 0x21000));
	EXPECT_EQ(0x700001ff, rd32(_metadata, &self->v, gpa + 0x1ff000));
	expect_leaf(_metadata, &self->vm, gpa + 0x10000, 1, p + 0x10000, -1);
	expect_leaf(_metadata, &self->vm, gpa + 0x21000, 1, p + 0x21000, -1);

	/* The second THP, split by mprotect of one page. */
	EXPECT_EQ(0x70000230, rd32(_metadata, &self->v, gpa + 0x230000));
	expect_leaf(_metadata, &self->vm, gpa + 0x230000, 2, p + 0x230000, -1);
	ASSERT_EQ(0, mprotect(p + 0x240000, PG, PROT_READ));
	r = g32_do(&self->v, G32_W32, gpa + 0x240008, 0x5b1a0002, 0);
	EXPECT_EQ(-EFAULT, r);
	EXPECT_EQ(0x70000240, rd32(_metadata, &self->v, gpa + 0x240000));
	wr32(_metadata, &self->v, gpa + 0x241008, 0x5b1a0003);
	EXPECT_EQ(0x5b1a0003, *u32p(p, 0x241008));
	EXPECT_EQ(0, *u32p(p, 0x240008));
	expect_leaf(_metadata, &self->vm, gpa + 0x240000, 1, p + 0x240000, 0);
	expect_leaf(_metadata, &self->vm, gpa + 0x241000, 1, p + 0x241000, 1);
}

/* Dirty logging maps a THP slot at 4K; turned off, 2M comes back. */
TEST_F_TIMEOUT(g, thp_dirty_log, 150)
{
	const uint64_t gpa = 0x400000;
	uint8_t *p;
	int r;

	g32_step = "thp_dirty_log";
	p = thp_buffer(_metadata);
	if (!p)
		return;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x70000011, rd32(_metadata, &self->v, gpa + 0x11000));
	expect_leaf(_metadata, &self->vm, gpa + 0x11000, 2, p + 0x11000, -1);

	r = kvmmu_set_region(self->vm.vmfd, 1, KVM_MEM_LOG_DIRTY_PAGES, gpa,
			     THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	/* Split lazily: the 2M leaf stays, read-only, until a write. */
	expect_leaf(_metadata, &self->vm, gpa + 0x11000, 2, p + 0x11000, 0);
	EXPECT_EQ(0x70000011, rd32(_metadata, &self->v, gpa + 0x11000));
	wr32(_metadata, &self->v, gpa + 0x12004, 0xd1d10001);
	EXPECT_EQ(0xd1d10001, *u32p(p, 0x12004));
	EXPECT_EQ(0x70000011, rd32(_metadata, &self->v, gpa + 0x11000));
	expect_leaf(_metadata, &self->vm, gpa + 0x11000, 1, p + 0x11000, -1);
	expect_leaf(_metadata, &self->vm, gpa + 0x12000, 1, p + 0x12000, 1);
	if (!stock()) {
		EXPECT_EQ(0, g32_read_stat(getpid(), self->vm.vmfd,
					   "pages_2m"));
	}

	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0xd1d10001, rd32(_metadata, &self->v, gpa + 0x12004));
	EXPECT_EQ(0x70000013, rd32(_metadata, &self->v, gpa + 0x13000));
	expect_leaf(_metadata, &self->vm, gpa + 0x13000, 2, p + 0x13000, -1);
}

/*
 * Moves of a THP slot: to a GPA one page off (4K leaves), then to an
 * aligned GPA (2M again); the old GPAs are MMIO each time.
 */
TEST_F_TIMEOUT(g, thp_slot_move, 150)
{
	const uint64_t gpa = 0x400000, odd = 0x801000, even = 0xc00000;
	uint8_t *p;
	int r;

	g32_step = "thp_slot_move";
	p = thp_buffer(_metadata);
	if (!p)
		return;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x70000300, rd32(_metadata, &self->v, gpa + 0x300000));
	expect_leaf(_metadata, &self->vm, gpa + 0x300000, 2, p + 0x300000, -1);

	r = kvmmu_set_region(self->vm.vmfd, 1, 0, odd, THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	expect_no_leaf(_metadata, &self->vm, gpa + 0x300000);
	/* 0xa00000 + 0x100000 is HVA offset 0x2ff000. */
	EXPECT_EQ(0x700002ff, rd32(_metadata, &self->v, 0xb00000));
	expect_leaf(_metadata, &self->vm, 0xb00000, 1, p + 0x2ff000, -1);
	EXPECT_EQ(0x0dd0dd00, op_mmio(_metadata, &self->v, G32_R32,
				      gpa + 0x300000, 0, 4, false,
				      0x0dd0dd00));

	r = kvmmu_set_region(self->vm.vmfd, 1, 0, even, THP_LEN, HVA(p));
	ASSERT_EQ(0, r);
	expect_no_leaf(_metadata, &self->vm, 0xb00000);
	EXPECT_EQ(0x700002ff, rd32(_metadata, &self->v, even + 0x2ff000));
	expect_leaf(_metadata, &self->vm, even + 0x2ff000, 2, p + 0x2ff000,
		    -1);
	EXPECT_EQ(0x0dd0dd01, op_mmio(_metadata, &self->v, G32_R32,
				      0xb00000, 0, 4, false, 0x0dd0dd01));
}

/*
 * A slot one page short of 2 MiB over a THP: a 2M leaf would map the
 * GPA just past the slot, which must stay MMIO.
 */
TEST_F_TIMEOUT(g, thp_slot_partial, 150)
{
	const uint64_t gpa = 0x400000, len = SZ_2M - PG;
	uint8_t *p;
	int r;

	g32_step = "thp_slot_partial";
	p = thp_buffer(_metadata);
	if (!p)
		return;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, len, HVA(p));
	ASSERT_EQ(0, r);
	EXPECT_EQ(0x70000010, rd32(_metadata, &self->v, gpa + 0x10000));
	expect_leaf(_metadata, &self->vm, gpa + 0x10000, 1, p + 0x10000, -1);
	EXPECT_EQ(0x0ff51de0, op_mmio(_metadata, &self->v, G32_R32,
				      gpa + len, 0, 4, false, 0x0ff51de0));
	op_mmio(_metadata, &self->v, G32_W32, gpa + len + 4, 0x0ff51de1, 4,
		true, 0x0ff51de1);
	EXPECT_EQ(0x700001ff, *u32p(p, len));
	EXPECT_EQ(0, *u32p(p, len + 4));
	EXPECT_EQ(0x700001fe, rd32(_metadata, &self->v, gpa + len - PG));
	expect_no_leaf(_metadata, &self->vm, gpa + len);
	if (!stock()) {
		EXPECT_EQ(0, g32_read_stat(getpid(), self->vm.vmfd,
					   "pages_2m"));
	}
}

/* KVM_GET_DIRTY_LOG of a slot: 0 or -errno, the bitmap in @bm. */
static int dirty_log(int vmfd, uint32_t slot, uint64_t *bm, size_t words)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bm };

	memset(bm, 0xa5, words * sizeof(*bm));
	return kvmmu_ioctl(vmfd, KVM_GET_DIRTY_LOG, (unsigned long)&log);
}

/*
 * Check a dirty bitmap: every page in @written set, nothing outside
 * @written | @read. kvmmu maps read faults read-only, so there the log
 * must be exactly @written; KVM maps a read fault writable (and logs it)
 * when the host PTE is writable, which the ABI allows.
 */
static void expect_dirty(struct __test_metadata *_metadata, uint64_t bm,
			 uint64_t written, uint64_t read)
{
	EXPECT_EQ(written, bm & written)
		TH_LOG("bitmap 0x%016llx misses written pages 0x%016llx",
		       (unsigned long long)bm, (unsigned long long)written);
	EXPECT_EQ(0, bm & ~(written | read))
		TH_LOG("bitmap 0x%016llx: pages the guest never touched",
		       (unsigned long long)bm);
	if (!stock())
		EXPECT_EQ(written, bm)
			TH_LOG("bitmap 0x%016llx, written 0x%016llx",
			       (unsigned long long)bm,
			       (unsigned long long)written);
}

/*
 * Dirty logging through the guest: the pages the guest wrote since the
 * last KVM_GET_DIRTY_LOG, not the ones only the host wrote; each call
 * re-arms the log.
 */
TEST_F_TIMEOUT(g, dirty_log_pages, 150)
{
	const uint64_t gpa = 0x100000;
	uint8_t *buf = g32_map_anon(64 * PG);
	uint64_t bm[1];
	int r;

	ASSERT_NE(NULL, buf);
	g32_step = "dirty_log_pages";
	r = kvmmu_set_region(self->vm.vmfd, 1, KVM_MEM_LOG_DIRTY_PAGES, gpa,
			     64 * PG, HVA(buf));
	ASSERT_EQ(0, r);
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 1));
	EXPECT_EQ(0, bm[0]);

	wr32(_metadata, &self->v, gpa + 1 * PG, 0xd1e70001);
	wr32(_metadata, &self->v, gpa + 5 * PG + 0x10, 0xd1e70005);
	wr32(_metadata, &self->v, gpa + 63 * PG + 0xffc, 0xd1e7003f);
	EXPECT_EQ(0, rd32(_metadata, &self->v, gpa + 2 * PG));
	buf[7 * PG] = 1;			/* the host's writes: not logged */
	buf[8 * PG] = 1;
	EXPECT_EQ(1, rd32(_metadata, &self->v, gpa + 7 * PG));
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 1));
	expect_dirty(_metadata, bm[0], 1ULL << 1 | 1ULL << 5 | 1ULL << 63,
		     1ULL << 2 | 1ULL << 7);
	EXPECT_EQ(0xd1e70005, *u32p(buf, 5 * PG + 0x10));

	/* Nothing written since: empty. */
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 1));
	EXPECT_EQ(0, bm[0]);

	/* Re-armed: a second write to a logged page is logged again; a
	 * page first read (mapped read-only) then written is logged too.
	 */
	wr32(_metadata, &self->v, gpa + 5 * PG + 0x14, 0xd1e70006);
	EXPECT_EQ(0, rd32(_metadata, &self->v, gpa + 9 * PG));
	wr32(_metadata, &self->v, gpa + 9 * PG, 0xd1e70009);
	EXPECT_EQ(0xd1e70005, rd32(_metadata, &self->v, gpa + 5 * PG + 0x10));
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 1));
	expect_dirty(_metadata, bm[0], 1ULL << 5 | 1ULL << 9, 0);
	EXPECT_EQ(0xd1e70009, *u32p(buf, 9 * PG));

	/* Logging off: writes still land, the log is gone (ENOENT). */
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, 64 * PG, HVA(buf));
	ASSERT_EQ(0, r);
	wr32(_metadata, &self->v, gpa + 3 * PG, 0xd1e70003);
	EXPECT_EQ(0xd1e70003, *u32p(buf, 3 * PG));
	EXPECT_EQ(-ENOENT, dirty_log(self->vm.vmfd, 1, bm, 1));
}

/* KVM_CLEAR_DIRTY_LOG of @num pages from @first: 0 or -errno. */
static int clear_log(int vmfd, uint32_t slot, uint64_t first, uint32_t num,
		     uint64_t *bm)
{
	struct kvm_clear_dirty_log c = {
		.slot = slot, .first_page = first, .num_pages = num,
		.dirty_bitmap = bm,
	};

	return kvmmu_ioctl(vmfd, KVM_CLEAR_DIRTY_LOG, (unsigned long)&c);
}

static int manual_protect(int vmfd, uint64_t args0, uint32_t flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .flags = flags,
		.args = { args0 },
	};

	return kvmmu_ioctl(vmfd, KVM_ENABLE_CAP, (unsigned long)&cap);
}

/*
 * Logging turned on over pages the guest already wrote: their leaves are
 * write-protected in place (kvmmu: still present, '-'), not zapped; only
 * writes from then on are logged.
 */
TEST_F_TIMEOUT(g, dirty_log_wrprot, 150)
{
	const uint64_t gpa = 0x100000;
	uint8_t *buf = g32_map_anon(64 * PG);
	long long fast0 = 0;
	int i, stats = -1;
	uint64_t bm[1];

	ASSERT_NE(NULL, buf);
	g32_step = "dirty_log_wrprot";
	if (!stock()) {
		stats = kvmmu_ioctl(self->vm.vmfd, KVM_GET_STATS_FD, 0);
		ASSERT_LE(0, stats);
	}
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, 64 * PG,
				      HVA(buf)));
	for (i = 0; i < 4; i++)
		wr32(_metadata, &self->v, gpa + i * PG, 0xd0d00000 + i);
	expect_leaf(_metadata, &self->vm, gpa + 1 * PG, 1, buf + PG, 1);
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1,
				      KVM_MEM_LOG_DIRTY_PAGES, gpa, 64 * PG,
				      HVA(buf)));
	expect_leaf(_metadata, &self->vm, gpa + 1 * PG, 1, buf + PG, 0);
	expect_leaf(_metadata, &self->vm, gpa + 3 * PG, 1, buf + 3 * PG, 0);
	if (stats >= 0)
		fast0 = stat_value(_metadata, stats, "pf_fast");
	wr32(_metadata, &self->v, gpa + 2 * PG + 8, 0xd0d00102);
	EXPECT_EQ(0xd0d00001, rd32(_metadata, &self->v, gpa + 1 * PG));
	/* A page never mapped: logged by the slow path. */
	wr32(_metadata, &self->v, gpa + 10 * PG, 0xd0d0010a);
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 1));
	expect_dirty(_metadata, bm[0], 1ULL << 2 | 1ULL << 10, 0x40f);
	expect_leaf(_metadata, &self->vm, gpa + 2 * PG, 1, buf + 2 * PG, 0);
	EXPECT_EQ(0xd0d00102, *u32p(buf, 2 * PG + 8));
	EXPECT_EQ(0xd0d0010a, *u32p(buf, 10 * PG));
	/* Re-protected by the harvest: the next write is logged again. */
	wr32(_metadata, &self->v, gpa + 2 * PG, 0xd0d00202);
	expect_leaf(_metadata, &self->vm, gpa + 2 * PG, 1, buf + 2 * PG, 1);
	EXPECT_EQ(0xd0d00202, *u32p(buf, 2 * PG));
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 1));
	expect_dirty(_metadata, bm[0], 1ULL << 2, 0);
	/*
	 * Both writes to the present, write-protected page took the fast
	 * path (write access given back in place); the new page did not.
	 */
	if (stats >= 0) {
		EXPECT_EQ(fast0 + 2, stat_value(_metadata, stats, "pf_fast"));
		close(stats);
	}
}

/*
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 without INITIALLY_SET: GET only
 * copies, CLEAR re-arms what it names; KVM's errnos for bad requests.
 */
TEST_F_TIMEOUT(g, dirty_log_manual, 150)
{
	const uint64_t gpa = 0x200000;
	const uint32_t npages = 130;	/* not a multiple of 64 */
	uint8_t *buf = g32_map_anon(npages * PG);
	uint64_t bm[3], cl[3];
	int r;

	ASSERT_NE(NULL, buf);
	g32_step = "dirty_log_manual";
	EXPECT_EQ(3, kvmmu_check_extension(self->vm.vmfd,
					   KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2));
	EXPECT_EQ(-EINVAL, manual_protect(self->vm.vmfd, 2, 0));
	EXPECT_EQ(-EINVAL, manual_protect(self->vm.vmfd, 4, 0));
	EXPECT_EQ(-EINVAL, manual_protect(self->vm.vmfd, 1, 1));
	ASSERT_EQ(0, manual_protect(self->vm.vmfd, 1, 0));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1,
				      KVM_MEM_LOG_DIRTY_PAGES, gpa,
				      npages * PG, HVA(buf)));
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 3));
	EXPECT_EQ(0, bm[0] | bm[1] | bm[2]);

	wr32(_metadata, &self->v, gpa + 3 * PG, 0xa1a10003);
	wr32(_metadata, &self->v, gpa + 70 * PG, 0xa1a10046);
	wr32(_metadata, &self->v, gpa + 129 * PG, 0xa1a10081);
	/* GET does not reset: twice the same. */
	for (r = 0; r < 2; r++) {
		ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 3));
		expect_dirty(_metadata, bm[0], 1ULL << 3, 0);
		expect_dirty(_metadata, bm[1], 1ULL << 6, 0);
		expect_dirty(_metadata, bm[2], 1ULL << 1, 0);
	}
	/* Still writable until cleared: a second write is not a fault. */
	expect_leaf(_metadata, &self->vm, gpa + 3 * PG, 1, buf + 3 * PG, 1);

	/* Bad requests, KVM's errnos. */
	cl[0] = cl[1] = cl[2] = ~0ULL;
	EXPECT_EQ(-EINVAL, clear_log(self->vm.vmfd, 1, 1, 64, cl));
	EXPECT_EQ(-EINVAL, clear_log(self->vm.vmfd, 1, 0, 65, cl));
	EXPECT_EQ(-EINVAL, clear_log(self->vm.vmfd, 1, 64, 67, cl));
	EXPECT_EQ(-EINVAL, clear_log(self->vm.vmfd, 1, 192, 0, cl));
	EXPECT_EQ(-EINVAL, clear_log(self->vm.vmfd, 32764, 0, 64, cl));
	EXPECT_EQ(-EINVAL, clear_log(self->vm.vmfd, 2 << 16 | 1, 0, 64, cl));
	EXPECT_EQ(-ENOENT, clear_log(self->vm.vmfd, 0, 0, 64, cl));
	EXPECT_EQ(-ENOENT, clear_log(self->vm.vmfd, 9, 0, 64, cl));
	EXPECT_EQ(-EFAULT, clear_log(self->vm.vmfd, 1, 0, 64,
				     (uint64_t *)8));
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 3));
	expect_dirty(_metadata, bm[0], 1ULL << 3, 0);

	/* Clear page 70 only (first 64, num 64): the rest stays. */
	cl[0] = 1ULL << 6;
	ASSERT_EQ(0, clear_log(self->vm.vmfd, 1, 64, 64, cl));
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 3));
	expect_dirty(_metadata, bm[0], 1ULL << 3, 0);
	EXPECT_EQ(0, bm[1]);
	expect_dirty(_metadata, bm[2], 1ULL << 1, 0);
	expect_leaf(_metadata, &self->vm, gpa + 70 * PG, 1, buf + 70 * PG, 0);
	/* The tail (first 128, num 2 = to the slot's end) and page 3. */
	cl[0] = ~0ULL;
	ASSERT_EQ(0, clear_log(self->vm.vmfd, 1, 128, 2, cl));
	cl[0] = 1ULL << 3;
	ASSERT_EQ(0, clear_log(self->vm.vmfd, 1, 0, 64, cl));
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 3));
	EXPECT_EQ(0, bm[0] | bm[1] | bm[2]);

	/* Cleared pages are logged again on their next write. */
	wr32(_metadata, &self->v, gpa + 70 * PG + 4, 0xa1a10146);
	wr32(_metadata, &self->v, gpa + 129 * PG + 4, 0xa1a10181);
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 3));
	EXPECT_EQ(0, bm[0]);
	expect_dirty(_metadata, bm[1], 1ULL << 6, 0);
	expect_dirty(_metadata, bm[2], 1ULL << 1, 0);
	EXPECT_EQ(0xa1a10146, *u32p(buf, 70 * PG + 4));
}

/* INITIALLY_SET: a new log is full; pages are protected as cleared. */
TEST_F_TIMEOUT(g, dirty_log_initially_set, 150)
{
	const uint64_t gpa = 0x200000;
	const uint32_t npages = 100;
	uint8_t *buf = g32_map_anon(npages * PG);
	uint64_t bm[2], cl[2];

	ASSERT_NE(NULL, buf);
	g32_step = "dirty_log_initially_set";
	ASSERT_EQ(0, manual_protect(self->vm.vmfd, 3, 0));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, npages * PG,
				      HVA(buf)));
	wr32(_metadata, &self->v, gpa + 5 * PG, 0xb1b10005);
	/* Logging on: everything counts as dirty, nothing is protected. */
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1,
				      KVM_MEM_LOG_DIRTY_PAGES, gpa,
				      npages * PG, HVA(buf)));
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 2));
	EXPECT_EQ(~0ULL, bm[0]);
	EXPECT_EQ((1ULL << (npages - 64)) - 1, bm[1]);
	expect_leaf(_metadata, &self->vm, gpa + 5 * PG, 1, buf + 5 * PG, 1);

	cl[0] = cl[1] = ~0ULL;
	ASSERT_EQ(0, clear_log(self->vm.vmfd, 1, 0, npages, cl));
	expect_leaf(_metadata, &self->vm, gpa + 5 * PG, 1, buf + 5 * PG, 0);
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 2));
	EXPECT_EQ(0, bm[0] | bm[1]);
	wr32(_metadata, &self->v, gpa + 5 * PG, 0xb1b10105);
	wr32(_metadata, &self->v, gpa + 99 * PG, 0xb1b10163);
	ASSERT_EQ(0, dirty_log(self->vm.vmfd, 1, bm, 2));
	expect_dirty(_metadata, bm[0], 1ULL << 5, 0);
	expect_dirty(_metadata, bm[1], 1ULL << 35, 0);
}

#define MIG_VCPUS	2
#define MIG_PAGES	256	/* per vCPU */
#define MIG_GPA		0x1000000UL
#define MIG_ROUNDS	40

struct mig_ctx {
	struct g32_vcpu v[MIG_VCPUS];
	atomic_int stop, bad;
	atomic_ulong writes;
};

struct mig_arg {
	struct mig_ctx *c;
	int i;
};

/* Fill seeded runs of the vCPU's own pages with ever new values. */
static void *mig_thread(void *p)
{
	struct mig_arg *a = p;
	struct mig_ctx *c = a->c;
	unsigned int seed = 1234 + a->i, first, n, k;
	uint64_t base = MIG_GPA + (uint64_t)a->i * MIG_PAGES * PG;

	for (k = 1; !atomic_load(&c->stop); k++) {
		first = rand_r(&seed) % MIG_PAGES;
		n = 1 + rand_r(&seed) % 8;
		if (first + n > MIG_PAGES)
			n = MIG_PAGES - first;
		if (g32_do(&c->v[a->i], G32_FILL, base + first * PG,
			   (uint32_t)a->i << 28 | k << 8, n) != G32_DONE) {
			atomic_fetch_add(&c->bad, 1);
			break;
		}
		atomic_fetch_add(&c->writes, n);
	}
	return NULL;
}

/*
 * One migration: copy the dirty pages of @bm from @src to @dst. In manual
 * mode the bits are cleared (re-armed) before the copy, as a VMM must.
 */
static unsigned long mig_pass(struct __test_metadata *_metadata, int vmfd,
			      bool manual, uint8_t *src, uint8_t *dst)
{
	uint64_t bm[MIG_VCPUS * MIG_PAGES / 64];
	unsigned long copied = 0, i;

	ASSERT_EQ(0, dirty_log(vmfd, 1, bm, ARRAY_SIZE(bm)));
	if (manual)
		ASSERT_EQ(0, clear_log(vmfd, 1, 0, MIG_VCPUS * MIG_PAGES, bm));
	for (i = 0; i < MIG_VCPUS * MIG_PAGES; i++) {
		if (!(bm[i / 64] >> (i % 64) & 1))
			continue;
		memcpy(dst + i * PG, src + i * PG, PG);
		copied++;
	}
	return copied;
}

/*
 * Live-migration guarantee: vCPUs keep writing while the VMM harvests the
 * log and copies what it reports; after a last pass with the guest
 * stopped, the copy equals the source. A page written but missing from
 * every log would differ. Classic GET, then manual GET + CLEAR.
 */
TEST_F_TIMEOUT(g, dirty_log_migrate, 300)
{
	const size_t len = MIG_VCPUS * MIG_PAGES * PG;
	uint8_t *src = g32_map_anon(len), *dst = g32_map_anon(len);
	unsigned long copied, bad_pages, i;
	struct mig_arg args[MIG_VCPUS];
	pthread_t t[MIG_VCPUS];
	struct mig_ctx *c;
	int mode, round;

	g32_alarm(280);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	g32_step = "dirty_log_migrate";
	for (mode = 0; mode < 2; mode++) {
		c = calloc(1, sizeof(*c));
		ASSERT_NE(NULL, c);
		for (i = 0; i < MIG_VCPUS; i++)
			ASSERT_EQ(0, g32_vcpu_create(&self->vm, &c->v[i],
						     1 + mode * MIG_VCPUS + i));
		if (mode)
			ASSERT_EQ(0, manual_protect(self->vm.vmfd, 1, 0));
		memset(src, 0, len);
		ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1,
					      KVM_MEM_LOG_DIRTY_PAGES,
					      MIG_GPA, len, HVA(src)));
		/* The first pass: everything (the log starts empty). */
		memcpy(dst, src, len);
		for (i = 0; i < MIG_VCPUS; i++) {
			args[i] = (struct mig_arg){ c, i };
			ASSERT_EQ(0, pthread_create(&t[i], NULL, mig_thread,
						    &args[i]));
		}
		for (copied = 0, round = 0; round < MIG_ROUNDS; round++) {
			copied += mig_pass(_metadata, self->vm.vmfd, mode, src,
					   dst);
			usleep(2000);
		}
		atomic_store(&c->stop, 1);
		for (i = 0; i < MIG_VCPUS; i++)
			ASSERT_EQ(0, pthread_join(t[i], NULL));
		copied += mig_pass(_metadata, self->vm.vmfd, mode, src, dst);
		for (bad_pages = 0, i = 0; i < len / PG; i++)
			bad_pages += !!memcmp(dst + i * PG, src + i * PG, PG);
		EXPECT_EQ(0, atomic_load(&c->bad));
		EXPECT_EQ(0, bad_pages)
			TH_LOG("%s: %lu pages differ after migration",
			       mode ? "manual" : "classic", bad_pages);
		EXPECT_LT(0, atomic_load(&c->writes));
		TH_LOG("%s: %lu page writes by the guest, %lu pages copied",
		       mode ? "manual" : "classic", atomic_load(&c->writes),
		       copied);
		for (i = 0; i < MIG_VCPUS; i++)
			g32_vcpu_destroy(&c->v[i]);
		ASSERT_EQ(0, kvmmu_delete_region(self->vm.vmfd, 1));
		free(c);
	}
}

/* Entry @gfn of the VM's debugfs pagemap (pagemap.h), or 0 on error. */
static uint64_t pagemap_entry(struct g32_vm *vm, uint64_t gfn)
{
	char path[256];
	uint64_t e = 0;
	int fd;

	kvmmu_vm_debugfs_dir(path, sizeof(path) - 16, getpid(), vm->vmfd);
	strcat(path, "/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), gfn * sizeof(e)) != sizeof(e))
		e = 0;
	close(fd);
	return e;
}

/* The line gpa-pagemap printed for @gpa, from @out, or NULL. */
static const char *tool_line(const char *out, uint64_t gpa)
{
	char key[32];

	snprintf(key, sizeof(key), "\n0x%016llx ", (unsigned long long)gpa);
	return strstr(out, key);
}

/*
 * The GPA pagemap, read directly and through tools/gpa-pagemap, for a VM
 * whose layout the test knows: which GFNs a slot covers, which the guest
 * mapped (PFN = the host's, from /proc/self/pagemap), writable or not,
 * which are in the dirty log. kvmmu only.
 */
TEST_F_TIMEOUT(g, gpa_pagemap, 150)
{
	const uint64_t gpa = 0x100000, gfn = gpa / PG;
	uint8_t *buf = g32_map_anon(16 * PG);
	char cmd[512], path[256], self_exe[256], *out, *dir;
	uint64_t e, pfn0, pfn3;
	const char *l;
	size_t n;
	FILE *f;
	int fd;

	ASSERT_NE(NULL, buf);
	g32_step = "gpa_pagemap";
	if (stock())
		SKIP(return, "kvmmu's debugfs");
	ASSERT_EQ(0, kvmmu_mount_debugfs());
	buf[5 * PG] = 1;	/* host-touched only */
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, 16 * PG,
				      HVA(buf)));
	wr32(_metadata, &self->v, gpa, 0x9a9a0000);
	wr32(_metadata, &self->v, gpa + 2 * PG, 0x9a9a0002);
	buf[3 * PG] = 3;
	EXPECT_EQ(3, rd32(_metadata, &self->v, gpa + 3 * PG));
	pfn0 = g32_pagemap_pfn(buf);
	pfn3 = g32_pagemap_pfn(buf + 3 * PG);
	ASSERT_NE(0, pfn0) TH_LOG("/proc/self/pagemap hides PFNs");

	e = pagemap_entry(&self->vm, gfn);
	EXPECT_EQ(KVMMU_PM_PRESENT | KVMMU_PM_SLOT,
		  e & (KVMMU_PM_PRESENT | KVMMU_PM_SLOT));
	EXPECT_EQ(pfn0, e & KVMMU_PM_PFN_MASK);
	EXPECT_EQ(0, e & KVMMU_PM_LEVEL_MASK);
	EXPECT_TRUE(e & KVMMU_PM_WRITABLE);
	EXPECT_TRUE(e & KVMMU_PM_DIRTY);
	EXPECT_FALSE(e & (KVMMU_PM_LOGGING | KVMMU_PM_LOGGED));
	e = pagemap_entry(&self->vm, gfn + 3);
	EXPECT_TRUE(e & KVMMU_PM_PRESENT);
	EXPECT_EQ(pfn3, e & KVMMU_PM_PFN_MASK);
	EXPECT_EQ(KVMMU_PM_SLOT, pagemap_entry(&self->vm, gfn + 5));
	EXPECT_EQ(0, pagemap_entry(&self->vm, gfn + 16));

	/* Reads must be 8-byte aligned; the file ends at MAXPHYADDR. */
	kvmmu_vm_debugfs_dir(path, sizeof(path) - 16, getpid(),
			     self->vm.vmfd);
	strcat(path, "/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, pread(fd, &e, 4, gfn * 8));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(fd, &e, 8, gfn * 8 + 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, pread(fd, &e, 8, 1LL << 60));
	close(fd);

	/* Dirty logging: the slot logs, page 2's next write is logged. */
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1,
				      KVM_MEM_LOG_DIRTY_PAGES, gpa, 16 * PG,
				      HVA(buf)));
	wr32(_metadata, &self->v, gpa + 2 * PG, 0x9a9a0102);
	e = pagemap_entry(&self->vm, gfn + 2);
	EXPECT_EQ(KVMMU_PM_LOGGING | KVMMU_PM_LOGGED | KVMMU_PM_WRITABLE,
		  e & (KVMMU_PM_LOGGING | KVMMU_PM_LOGGED |
		       KVMMU_PM_WRITABLE));
	e = pagemap_entry(&self->vm, gfn);
	EXPECT_EQ(KVMMU_PM_LOGGING, e & (KVMMU_PM_LOGGING | KVMMU_PM_LOGGED |
					 KVMMU_PM_WRITABLE));

	/* The tool: same chain, and the host's view beside it. */
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	ASSERT_LT(0, (long)n);
	self_exe[n] = 0;
	dir = strrchr(self_exe, '/');
	ASSERT_NE(NULL, dir);
	*dir = 0;
	snprintf(cmd, sizeof(cmd), "%s/gpa-pagemap %d %d 0x%llx 17",
		 self_exe, getpid(), self->vm.vmfd, (unsigned long long)gpa);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	out = calloc(1, 65536);
	ASSERT_NE(NULL, out);
	out[0] = '\n';
	n = fread(out + 1, 1, 65534, f);
	EXPECT_EQ(0, pclose(f)) TH_LOG("%s:\n%s", cmd, out);
	l = tool_line(out, gpa);
	ASSERT_NE(NULL, l) TH_LOG("no line for GPA 0x%llx:\n%s",
				  (unsigned long long)gpa, out);
	snprintf(cmd, sizeof(cmd), " 1     0x%016llx 0x%llx",
		 (unsigned long long)HVA(buf), (unsigned long long)pfn0);
	EXPECT_EQ(0, strncmp(l + 19, cmd, strlen(cmd)))
		TH_LOG("line: %.100s", l + 1);
	EXPECT_NE(NULL, strstr(l + 1, " 4K    -adl- "))
		TH_LOG("line: %.100s", l + 1);
	EXPECT_EQ('=', l[strcspn(l + 1, "\n")]) TH_LOG("line: %.100s", l + 1);
	l = tool_line(out, gpa + 2 * PG);
	ASSERT_NE(NULL, l);
	EXPECT_NE(NULL, strstr(l + 1, " 4K    wadlL "))
		TH_LOG("line: %.100s", l + 1);
	l = tool_line(out, gpa + 5 * PG);
	ASSERT_NE(NULL, l);
	EXPECT_NE(NULL, strstr(l + 1, " -            -     ---l- 0x"))
		TH_LOG("line: %.100s", l + 1);
	EXPECT_EQ('.', l[strcspn(l + 1, "\n")]) TH_LOG("line: %.100s", l + 1);
	l = tool_line(out, gpa + 16 * PG);
	ASSERT_NE(NULL, l);
	EXPECT_EQ(0, strncmp(l + 19, " -     -  ", 10))
		TH_LOG("line: %.100s", l + 1);
	free(out);
}

/*
 * Value of statistic @name from the binary stats fd @fd (KVM's format),
 * -1 if absent. Checks the layout on the way.
 */
static long long stat_value(struct __test_metadata *_metadata, int fd,
			    const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize;
	char *descs;
	uint64_t v;
	long long r = -1;
	unsigned int i;

	ASSERT_EQ(sizeof(h), pread(fd, &h, sizeof(h), 0));
	ASSERT_LT(0, h.name_size);
	ASSERT_LT(0, h.num_desc);
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	ASSERT_NE(NULL, descs);
	ASSERT_EQ((ssize_t)(h.num_desc * dsize),
		  pread(fd, descs, h.num_desc * dsize, h.desc_offset));
	for (i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		if (strcmp(d->name, name))
			continue;
		EXPECT_EQ(1, d->size);
		ASSERT_EQ(sizeof(v), pread(fd, &v, sizeof(v),
					   h.data_offset + d->offset));
		r = (long long)v;
	}
	free(descs);
	return r;
}

/*
 * KVM_GET_STATS_FD on the VM and a vCPU: KVM's header and id, and counters
 * that move with what the guest does: io_exits by one per operation (each
 * ends with an OUT), mmio_exits per MMIO access, exits at least as much;
 * on kvmmu also the MMU's pages_4k and faults.
 */
TEST_F_TIMEOUT(g, stats_fd, 150)
{
	const uint64_t gpa = 0x100000;
	uint8_t *buf = g32_map_anon(8 * PG);
	long long io0, mmio0, exits0, v;
	int vmfd_stats, vcpu_stats, i, r;
	char id[64];
	struct kvm_stats_header h;

	ASSERT_NE(NULL, buf);
	g32_step = "stats_fd";
	EXPECT_EQ(1, kvmmu_check_extension(self->vm.vmfd,
					   KVM_CAP_BINARY_STATS_FD));
	vmfd_stats = kvmmu_ioctl(self->vm.vmfd, KVM_GET_STATS_FD, 0);
	ASSERT_LE(0, vmfd_stats);
	vcpu_stats = kvmmu_ioctl(self->v.fd, KVM_GET_STATS_FD, 0);
	ASSERT_LE(0, vcpu_stats);
	ASSERT_EQ(sizeof(h), pread(vcpu_stats, &h, sizeof(h), 0));
	ASSERT_GE(sizeof(id), h.name_size);
	ASSERT_EQ(h.name_size, pread(vcpu_stats, id, h.name_size,
				     h.id_offset));
	snprintf((char *)buf, PG, "kvm-%d/vcpu-0", getpid());
	EXPECT_STREQ((char *)buf, id);

	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, 8 * PG,
				      HVA(buf)));
	io0 = stat_value(_metadata, vcpu_stats, "io_exits");
	mmio0 = stat_value(_metadata, vcpu_stats, "mmio_exits");
	exits0 = stat_value(_metadata, vcpu_stats, "exits");
	ASSERT_LE(0, io0);
	ASSERT_LE(0, mmio0);
	for (i = 0; i < 8; i++)
		wr32(_metadata, &self->v, gpa + i * PG, 0x57a70000 + i);
	/* One MMIO store: an MMIO exit, then the OUT. */
	r = g32_do(&self->v, G32_W32, MMIO_GPA, 1, 0);
	ASSERT_EQ(G32_MMIO, r);
	ASSERT_EQ(G32_DONE, g32_run(&self->v));
	EXPECT_EQ(io0 + 9, stat_value(_metadata, vcpu_stats, "io_exits"));
	EXPECT_EQ(mmio0 + 1, stat_value(_metadata, vcpu_stats, "mmio_exits"));
	v = stat_value(_metadata, vcpu_stats, "exits");
	EXPECT_LE(exits0 + 10, v);
	EXPECT_LE(0, stat_value(_metadata, vmfd_stats, "remote_tlb_flush"));
	if (!stock()) {
		EXPECT_LE(9, stat_value(_metadata, vmfd_stats, "pages_4k"));
		EXPECT_LE(9, stat_value(_metadata, vmfd_stats, "faults"));
		EXPECT_LE(1, stat_value(_metadata, vmfd_stats, "mmio_faults"));
		EXPECT_LE(8, stat_value(_metadata, vcpu_stats, "npf_exits"));
	}
	close(vmfd_stats);
	close(vcpu_stats);
}

#define PAGE_IDLE	"/sys/kernel/mm/page_idle/bitmap"
#define PROACTIVE	"/proc/sys/vm/compaction_proactiveness"

static int write_long_file(const char *path, long v)
{
	FILE *f = fopen(path, "we");
	int r;

	if (!f)
		return -errno;
	r = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f))
		r = -errno;
	return r;
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define KPF_LRU		5

/* Whether page @pfn is on an LRU list (/proc/kpageflags). */
static bool page_on_lru(uint64_t pfn)
{
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	uint64_t flags = 0;
	ssize_t n;

	if (fd < 0)
		return false;
	n = pread(fd, &flags, 8, pfn * 8);
	close(fd);
	return n == 8 && (flags & (1ULL << KPF_LRU));
}

/*
 * Drain every CPU's LRU add batch, where a new page waits before
 * page_idle can see it. MADV_COLLAPSE drains them first thing and moves
 * no page but the (empty) range it is given; compaction drains too, but
 * migrates pages, which then wait in a batch again. Hence MADV_COLLAPSE,
 * checked on @pfn with kpageflags, compaction if that did not do.
 */
static bool lru_drain(uint64_t pfn)
{
	uint8_t *p = g32_map_aligned(SZ_2M, SZ_2M);
	int i;

	if (p) {
		madvise(p, SZ_2M, MADV_HUGEPAGE);
		madvise(p, SZ_2M, MADV_COLLAPSE);
		munmap(p, SZ_2M);
	}
	for (i = 0; i < 5 && !page_on_lru(pfn); i++)
		write_long_file("/proc/sys/vm/compact_memory", 1);
	return page_on_lru(pfn);
}

/* Set (@set) or read the idle bit of @pfn: 0/1, or -errno. */
static int page_idle(uint64_t pfn, bool set)
{
	int fd = open(PAGE_IDLE, (set ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	uint64_t word = set ? 1ULL << (pfn % 64) : 0;
	off_t off = pfn / 64 * 8;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = set ? pwrite(fd, &word, 8, off) : pread(fd, &word, 8, off);
	close(fd);
	if (n != 8)
		return -EIO;
	return set ? 0 : (word >> (pfn % 64)) & 1;
}

/*
 * Access tracking through the notifier's young callbacks, as idle page
 * tracking sees it: a page marked idle stays idle while neither the host
 * nor the guest touches it, and a guest read (through the NPT only: the
 * VMM's own PTE stays old) makes it young again. Needs page_idle
 * (CONFIG_IDLE_PAGE_TRACKING: the debug kernel).
 */
TEST_F_TIMEOUT(g, idle_page_tracking, 150)
{
	const uint64_t gpa = 0x100000;
	uint8_t *buf = g32_map_anon(4 * PG);
	int i, moved = 0, idle[3];
	long proactive;
	uint64_t pfn;

	ASSERT_NE(NULL, buf);
	g32_step = "idle_page_tracking";
	if (access(PAGE_IDLE, W_OK))
		SKIP(return, "no %s (CONFIG_IDLE_PAGE_TRACKING)", PAGE_IDLE);
	/* khugepaged would collapse the range into a new (huge) page. */
	ASSERT_EQ(0, madvise(buf, 4 * PG, MADV_NOHUGEPAGE));
	memset(buf, 1, 4 * PG);
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, 4 * PG,
				      HVA(buf)));
	EXPECT_EQ(0x01010101, rd32(_metadata, &self->v, gpa + PG));

	/* Nor may kcompactd move it, as far as we can tell it. */
	proactive = kvmmu_read_long(PROACTIVE);
	if (proactive > 0)
		write_long_file(PROACTIVE, 0);

	for (i = 0; i < 3; i++) {
		pfn = g32_pagemap_pfn(buf + PG);
		ASSERT_NE(0, pfn);
		if (!lru_drain(pfn))
			break;
		ASSERT_EQ(0, page_idle(pfn, true));
		/* Untouched since: still idle, twice (a read clears refs). */
		idle[0] = page_idle(pfn, false);
		idle[1] = page_idle(pfn, false);
		/* The guest reads it: young through the NPT's accessed bit. */
		EXPECT_EQ(0x01010101, rd32(_metadata, &self->v, gpa + PG));
		idle[2] = page_idle(pfn, false);
		/*
		 * Something may still have migrated the page meanwhile:
		 * the bits read were then of a page no longer ours. Such a
		 * round does not count; there are at most three of them.
		 */
		if (g32_pagemap_pfn(buf + PG) != pfn && moved++ < 3) {
			TH_LOG("round %d: page migrated, again", i--);
			continue;
		}
		EXPECT_EQ(1, idle[0]) TH_LOG("round %d", i);
		EXPECT_EQ(1, idle[1]) TH_LOG("round %d", i);
		EXPECT_EQ(0, idle[2]) TH_LOG("round %d", i);
	}
	if (proactive > 0)
		write_long_file(PROACTIVE, proactive);
	if (i < 3)
		SKIP(return, "cannot drain the LRU batches");
}

#define TRACEFS		"/sys/kernel/tracing"

/* The whole of the trace buffer, NUL-terminated; free() it. */
static char *read_trace(void)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	int fd = open(TRACEFS "/trace", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += n;
	buf[len] = 0;
	close(fd);
	return buf;
}

/*
 * The tracepoints (trace.h) through tracefs: a fault, the map it makes,
 * an MMIO exit, the host's invalidation of a page and the zap it causes,
 * and the guest's exits, each with the fields of what the test did.
 */
TEST_F_TIMEOUT(g, tracepoints, 150)
{
	const uint64_t gpa = 0x100000;
	uint8_t *buf = g32_map_anon(PG);
	char want[160], *trace;
	uint64_t pfn;

	ASSERT_NE(NULL, buf);
	g32_step = "tracepoints";
	if (stock())
		SKIP(return, "kvmmu's tracepoints");
	if (access(TRACEFS "/trace", F_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	ASSERT_EQ(0, access(TRACEFS "/events/kvmmu/enable", W_OK))
		TH_LOG("no events/kvmmu in tracefs");
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, PG,
				      HVA(buf)));
	ASSERT_EQ(0, kvmmu_write_file(TRACEFS "/trace", ""));
	ASSERT_EQ(0, kvmmu_write_file(TRACEFS "/events/kvmmu/enable", "1"));
	wr32(_metadata, &self->v, gpa + 0x10, 0x7ace0001);
	pfn = g32_pagemap_pfn(buf);
	ASSERT_EQ(G32_MMIO, g32_do(&self->v, G32_W32, MMIO_GPA, 2, 0));
	ASSERT_EQ(G32_DONE, g32_run(&self->v));
	ASSERT_EQ(0, madvise(buf, PG, MADV_DONTNEED));
	ASSERT_EQ(0, kvmmu_write_file(TRACEFS "/events/kvmmu/enable", "0"));
	trace = read_trace();
	ASSERT_NE(NULL, trace);

	snprintf(want, sizeof(want), "kvmmu_fault: vcpu 0 gpa 0x%llx ",
		 (unsigned long long)gpa + 0x10);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("no '%s'", want);
	snprintf(want, sizeof(want), "kvmmu_map: gpa 0x%llx pfn 0x%llx level 1 w",
		 (unsigned long long)gpa, (unsigned long long)pfn);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("no '%s'", want);
	snprintf(want, sizeof(want), "kvmmu_mmio: vcpu 0 write gpa 0x%lx len 4",
		 MMIO_GPA);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("no '%s'", want);
	snprintf(want, sizeof(want), "kvmmu_invalidate: hva 0x%llx-0x%llx",
		 (unsigned long long)HVA(buf),
		 (unsigned long long)HVA(buf) + PG);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("no '%s'", want);
	snprintf(want, sizeof(want), "kvmmu_zap: as 0 gpa 0x%llx-0x%llx zapped",
		 (unsigned long long)gpa, (unsigned long long)gpa + PG);
	EXPECT_NE(NULL, strstr(trace, want)) TH_LOG("no '%s'", want);
	/* SVM_EXIT_NPF and SVM_EXIT_IOIO. */
	EXPECT_NE(NULL, strstr(trace, "kvmmu_exit: vcpu 0 exit_code 0x400 "));
	EXPECT_NE(NULL, strstr(trace, "kvmmu_exit: vcpu 0 exit_code 0x7b "));
	free(trace);
}

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

TEST_F_TIMEOUT(g, hugetlb_2m, 150)
{
	const uint64_t gpa = 0xc00000;
	long old = kvmmu_read_long(NR_HUGEPAGES), now;
	uint8_t *p;
	int r;

	g32_step = "hugetlb_2m";
	if (old < 0)
		SKIP(return, "no %s (no hugetlbfs)", NR_HUGEPAGES);
	if (old < 2 && write_long_file(NR_HUGEPAGES, 2))
		SKIP(return, "cannot write %s", NR_HUGEPAGES);
	now = kvmmu_read_long(NR_HUGEPAGES);
	if (now < 1) {
		write_long_file(NR_HUGEPAGES, old);
		SKIP(return, "%s stays %ld", NR_HUGEPAGES, now);
	}
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		write_long_file(NR_HUGEPAGES, old);
		SKIP(return, "MAP_HUGETLB: %s", strerror(errno));
	}
	*u32p(p, 0x1234) = 0x4b4b0001;
	*u32p(p, 0x1f0000) = 0x4b4b0002;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, SZ_2M, HVA(p));
	EXPECT_EQ(0, r);
	if (!r) {
		EXPECT_EQ(0x4b4b0001, rd32(_metadata, &self->v, gpa + 0x1234));
		EXPECT_EQ(0x4b4b0002, rd32(_metadata, &self->v,
					   gpa + 0x1f0000));
		wr32(_metadata, &self->v, gpa + 0x100000, 0x4b4b0003);
		EXPECT_EQ(0x4b4b0003, *u32p(p, 0x100000));
		expect_leaf(_metadata, &self->vm, gpa + 0x1000, 2, p + 0x1000,
			    1);
		EXPECT_EQ(0, kvmmu_delete_region(self->vm.vmfd, 1));
	}
	munmap(p, SZ_2M);
	if (old < 2)
		write_long_file(NR_HUGEPAGES, old);
}

#define HUGE_1G		(1UL << 30)
#define NR_HUGEPAGES_1G \
	"/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB	(30 << 26)	/* MAP_HUGE_SHIFT 26 */
#endif

/*
 * A 1 GiB hugetlbfs page behind a 1 GiB slot at a 1 GiB-aligned GPA: one
 * level-3 leaf whose PFN is the host's. The harness boots its VMs with
 * hugepagesz=1G hugepages=1 (run-qemu.sh); elsewhere, and on the debug
 * kernel whose boot cannot reserve one (testing.rst), the test tries to
 * allocate one and skips if the host has none to give.
 */
TEST_F_TIMEOUT(g, hugetlb_1g, 150)
{
	const uint64_t gpa = 0x40000000;
	long old = kvmmu_read_long(NR_HUGEPAGES_1G);
	uint8_t *p;
	int r;

	g32_step = "hugetlb_1g";
	if (old < 0)
		SKIP(return, "no %s", NR_HUGEPAGES_1G);
	if (old < 1 && (write_long_file(NR_HUGEPAGES_1G, 1) ||
			kvmmu_read_long(NR_HUGEPAGES_1G) < 1)) {
		write_long_file(NR_HUGEPAGES_1G, old);
		SKIP(return, "no 1 GiB page free (boot with hugepages=1)");
	}
	p = mmap(NULL, HUGE_1G, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB, -1,
		 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("MAP_HUGE_1GB: %s", strerror(errno));
	*u32p(p, 0x1234) = 0x1c1c0001;
	*u32p(p, HUGE_1G - PG) = 0x1c1c0002;
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, gpa, HUGE_1G, HVA(p));
	EXPECT_EQ(0, r);
	if (!r) {
		EXPECT_EQ(0x1c1c0001, rd32(_metadata, &self->v, gpa + 0x1234));
		EXPECT_EQ(0x1c1c0002, rd32(_metadata, &self->v,
					   gpa + HUGE_1G - PG));
		wr32(_metadata, &self->v, gpa + 0x20000000, 0x1c1c0003);
		EXPECT_EQ(0x1c1c0003, *u32p(p, 0x20000000));
		expect_leaf(_metadata, &self->vm, gpa + 0x1000, 3, p + 0x1000,
			    1);
		expect_leaf(_metadata, &self->vm, gpa + 0x20000000, 3,
			    p + 0x20000000, 1);
		EXPECT_EQ(0, kvmmu_delete_region(self->vm.vmfd, 1));
	}
	munmap(p, HUGE_1G);
	if (old < 1)
		write_long_file(NR_HUGEPAGES_1G, old);
}

/* ---- 7: concurrency ---- */

#define NR_SMP		4
#define SMP_GPA		0x100000UL
#define SMP_SHARED	32		/* pages every vCPU reads */
#define SMP_OWN		8		/* pages per vCPU it writes */
#define SMP_PAGES	(SMP_SHARED + NR_SMP * SMP_OWN)
#define SMP_ROUNDS	6

struct smp_ctx {
	struct g32_vcpu v[NR_SMP];
	pthread_barrier_t start, end;
	uint32_t round;
	atomic_int bad;
	char why[NR_SMP][128];
};

struct smp_arg {
	struct smp_ctx *c;
	int i;
};

static uint32_t shared_sum(uint32_t round)
{
	uint32_t s = 0, k;

	for (k = 0; k < SMP_SHARED; k++)
		s += round << 16 | k;
	return s;
}

static uint32_t own_base(int i, uint32_t round)
{
	return (uint32_t)(i + 1) << 24 | round << 12;
}

static void smp_fail(struct smp_ctx *c, int i, const char *what, int r,
		     uint32_t got, uint32_t want)
{
	if (!c->why[i][0])
		snprintf(c->why[i], sizeof(c->why[i]),
			 "vCPU %d round %u %s: r %d got 0x%x want 0x%x", i,
			 c->round, what, r, got, want);
	atomic_fetch_add(&c->bad, 1);
}

static void *smp_thread(void *p)
{
	struct smp_arg *a = p;
	struct smp_ctx *c = a->c;
	struct g32_vcpu *v = &c->v[a->i];
	uint64_t own = SMP_GPA + (SMP_SHARED + a->i * SMP_OWN) * PG;
	uint32_t round, got, want;
	int r;

	for (round = 0; round < SMP_ROUNDS; round++) {
		pthread_barrier_wait(&c->start);
		/* The same pages as every other vCPU, faulted together. */
		r = g32_do(v, G32_SUM, SMP_GPA, 0, SMP_SHARED);
		got = g32_esi(v);
		want = shared_sum(round);
		if (r != G32_DONE || got != want)
			smp_fail(c, a->i, "shared sum", r, got, want);
		/* Pages of its own. */
		r = g32_do(v, G32_FILL, own, own_base(a->i, round), SMP_OWN);
		if (r != G32_DONE)
			smp_fail(c, a->i, "fill", r, 0, 0);
		r = g32_do(v, G32_SUM, own, 0, SMP_OWN);
		got = g32_esi(v);
		want = SMP_OWN * own_base(a->i, round) +
		       SMP_OWN * (SMP_OWN - 1) / 2;
		if (r != G32_DONE || got != want)
			smp_fail(c, a->i, "own sum", r, got, want);
		pthread_barrier_wait(&c->end);
	}
	return NULL;
}

TEST_F_TIMEOUT(g, smp_faults, 300)
{
	struct smp_ctx *c = calloc(1, sizeof(*c));
	struct smp_arg args[NR_SMP];
	pthread_t th[NR_SMP];
	uint8_t *buf = g32_map_anon(SMP_PAGES * PG);
	uint32_t round, k;
	int i, r;

	ASSERT_NE(NULL, c);
	ASSERT_NE(NULL, buf);
	g32_alarm(280);
	g32_step = "smp_faults";
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, SMP_GPA, SMP_PAGES * PG,
			     HVA(buf));
	ASSERT_EQ(0, r);
	c->v[0] = self->v;
	for (i = 1; i < NR_SMP; i++) {
		r = g32_vcpu_create(&self->vm, &c->v[i], i);
		ASSERT_EQ(0, r) TH_LOG("vCPU %d: %s", i, strerror(-r));
	}
	pthread_barrier_init(&c->start, NULL, NR_SMP + 1);
	pthread_barrier_init(&c->end, NULL, NR_SMP + 1);
	for (i = 0; i < NR_SMP; i++) {
		args[i].c = c;
		args[i].i = i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, smp_thread,
					    &args[i]));
	}
	for (round = 0; round < SMP_ROUNDS; round++) {
		c->round = round;
		/* Drop everything: every access of the round faults. */
		ASSERT_EQ(0, madvise(buf, SMP_PAGES * PG, MADV_DONTNEED));
		for (k = 0; k < SMP_SHARED; k++)
			*u32p(buf, k * PG) = round << 16 | k;
		pthread_barrier_wait(&c->start);
		pthread_barrier_wait(&c->end);
		for (i = 0; i < NR_SMP; i++)
			for (k = 0; k < SMP_OWN; k++) {
				uint32_t at = (SMP_SHARED + i * SMP_OWN + k) * PG;

				if (*u32p(buf, at) != own_base(i, round) + k)
					smp_fail(c, i, "host view", 0,
						 *u32p(buf, at),
						 own_base(i, round) + k);
			}
	}
	for (i = 0; i < NR_SMP; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NR_SMP; i++)
		if (c->why[i][0])
			TH_LOG("%s", c->why[i]);
	EXPECT_EQ(0, atomic_load(&c->bad));
	for (i = 1; i < NR_SMP; i++)
		g32_vcpu_destroy(&c->v[i]);
	free(c);
}

/*
 * Slot updates racing guest faults. The main thread changes slots; each
 * change is bracketed by gen going odd then even, and the state (what is
 * at GPA X and Y1) changes only while gen is odd. A vCPU operation that
 * saw the same even gen before and after ran entirely in one state and
 * must read exactly that state's value; others must read one of the
 * legal values.
 */
#define RACE_X		0x200000UL	/* slot B, slot C or nothing */
#define RACE_Y1		0x300000UL	/* slot D moves between Y1 and Y2 */
#define RACE_Y2		0x380000UL
#define RACE_A		0x100000UL	/* stable slot A */
#define RACE_A_PAGES	16
#define PB		0xb0b0b0b0u
#define PC		0xc0c0c0c0u
#define PD		0xd0d0d0d0u
#define PM		0x3e3e3e3eu	/* what the VMM answers to MMIO loads */
#define RACE_SECONDS	6

enum { AT_NONE, AT_B, AT_C };

struct race_ctx {
	struct g32_vcpu *va, *vb;
	atomic_uint gen;
	atomic_int x_state;	/* AT_* */
	atomic_int d_at_y1;	/* D at Y1 (else at Y2) */
	atomic_int stop;
	atomic_int bad;
	atomic_long exact;	/* checks made in a stable window */
	atomic_long ops_a, ops_b;
	char why[2][160];
};

static void race_fail(struct race_ctx *c, int who, const char *fmt,
		      uint32_t got, uint32_t want)
{
	if (!c->why[who][0])
		snprintf(c->why[who], sizeof(c->why[who]), fmt, got, want);
	atomic_fetch_add(&c->bad, 1);
}

/* Read @gpa, answering MMIO with PM; 0 ok, else r. */
static int race_read(struct g32_vcpu *v, uint64_t gpa, uint32_t *val)
{
	int r = g32_do(v, G32_R32, gpa, 0, 0);

	if (r == G32_MMIO) {
		if (v->run->mmio.phys_addr != gpa || v->run->mmio.len != 4 ||
		    v->run->mmio.is_write)
			return -EPROTO;
		memcpy(v->run->mmio.data, &(uint32_t){ PM }, 4);
		r = g32_run(v);
	}
	if (r != G32_DONE)
		return r ? r : -EPROTO;
	*val = g32_ecx(v);
	return 0;
}

static void *race_a(void *p)
{
	struct race_ctx *c = p;
	uint32_t n = 0, got, want;
	int r;

	while (!atomic_load(&c->stop)) {
		n++;
		r = g32_do(c->va, G32_FILL, RACE_A, n << 8, RACE_A_PAGES);
		if (r != G32_DONE) {
			race_fail(c, 0, "slot A fill: r %d (%x)", r, 0);
			break;
		}
		r = g32_do(c->va, G32_SUM, RACE_A, 0, RACE_A_PAGES);
		got = g32_esi(c->va);
		want = RACE_A_PAGES * (n << 8) +
		       RACE_A_PAGES * (RACE_A_PAGES - 1) / 2;
		if (r != G32_DONE || got != want) {
			race_fail(c, 0, "slot A sum 0x%x, want 0x%x", got,
				  want);
			break;
		}
		atomic_fetch_add(&c->ops_a, 1);
	}
	return NULL;
}

static void *race_b(void *p)
{
	static const uint32_t x_val[] = { PM, PB, PC };
	struct race_ctx *c = p;
	uint64_t gpa;
	uint32_t g1, g2, got, want;
	int r, which = 0, xs, y1;

	while (!atomic_load(&c->stop)) {
		which = (which + 1) % 3;
		gpa = which == 0 ? RACE_X : which == 1 ? RACE_Y1 : RACE_Y2;
		gpa += 0x10 * (which + 1);
		g1 = atomic_load(&c->gen);
		xs = atomic_load(&c->x_state);
		y1 = atomic_load(&c->d_at_y1);
		r = race_read(c->vb, gpa, &got);
		g2 = atomic_load(&c->gen);
		if (r) {
			race_fail(c, 1, "read: r %d (%x)", r, 0);
			break;
		}
		atomic_fetch_add(&c->ops_b, 1);
		if (which == 0)
			want = x_val[xs];
		else if (which == 1)
			want = y1 ? PD : PM;
		else
			want = y1 ? PM : PD;
		if (g1 == g2 && !(g1 & 1)) {
			atomic_fetch_add(&c->exact, 1);
			if (got != want) {
				race_fail(c, 1, "stable state: read 0x%x, want 0x%x",
					  got, want);
				break;
			}
		} else if (got != PM && got != PB && got != PC && got != PD) {
			race_fail(c, 1, "racing: read 0x%x (%x)", got, 0);
			break;
		}
	}
	return NULL;
}

static void page_fill(void *p, uint32_t v)
{
	for (size_t i = 0; i < PG / 4; i++)
		((uint32_t *)p)[i] = v;
}

TEST_F_TIMEOUT(g, slot_updates_race, 300)
{
	uint8_t *a = g32_map_anon(RACE_A_PAGES * PG), *b = g32_map_anon(PG);
	uint8_t *cbuf = g32_map_anon(PG), *d = g32_map_anon(PG), *other = g32_map_anon(PG);
	struct race_ctx *c = calloc(1, sizeof(*c));
	struct g32_vcpu vb;
	pthread_t ta, tb;
	time_t end;
	long iter = 0;
	unsigned int others = 0;
	int r, vmfd = self->vm.vmfd;

	ASSERT_NE(NULL, c);
	ASSERT_TRUE(a && b && cbuf && d && other);
	g32_alarm(280);
	g32_step = "slot_updates_race";
	page_fill(b, PB);
	page_fill(cbuf, PC);
	page_fill(d, PD);
	ASSERT_EQ(0, kvmmu_set_region(vmfd, 1, 0, RACE_A, RACE_A_PAGES * PG,
				      HVA(a)));
	ASSERT_EQ(0, kvmmu_set_region(vmfd, 2, 0, RACE_X, PG, HVA(b)));
	ASSERT_EQ(0, kvmmu_set_region(vmfd, 4, 0, RACE_Y1, PG, HVA(d)));
	atomic_store(&c->x_state, AT_B);
	atomic_store(&c->d_at_y1, 1);
	ASSERT_EQ(0, g32_vcpu_create(&self->vm, &vb, 1));
	c->va = &self->v;
	c->vb = &vb;
	ASSERT_EQ(0, pthread_create(&ta, NULL, race_a, c));
	ASSERT_EQ(0, pthread_create(&tb, NULL, race_b, c));

	end = time(NULL) + RACE_SECONDS;
	while (time(NULL) < end && !atomic_load(&c->bad)) {
		int step = iter++ % 6, xs = atomic_load(&c->x_state);

		atomic_fetch_add(&c->gen, 1);	/* odd: changing */
		switch (step) {
		case 0:	/* X: B or C goes away */
			r = kvmmu_delete_region(vmfd, xs == AT_B ? 2 : 3);
			xs = AT_NONE;
			break;
		case 1:	/* X: the other one comes */
			r = (iter / 6) & 1 ?
			    kvmmu_set_region(vmfd, 2, 0, RACE_X, PG, HVA(b)) :
			    kvmmu_set_region(vmfd, 3, 0, RACE_X, PG, HVA(cbuf));
			xs = (iter / 6) & 1 ? AT_B : AT_C;
			break;
		case 2:	/* D: Y1 -> Y2 */
		case 4:	/* D: Y2 -> Y1 */
			r = kvmmu_set_region(vmfd, 4, 0,
					     step == 2 ? RACE_Y2 : RACE_Y1,
					     PG, HVA(d));
			atomic_store(&c->d_at_y1, step == 4);
			break;
		default: { /* unrelated slots come and go */
			int k = (iter / 6 + step) % 8;

			if (others & (1u << k))
				r = kvmmu_delete_region(vmfd, 10 + k);
			else
				r = kvmmu_set_region(vmfd, 10 + k, 0,
						     0x1000000 + k * PG, PG,
						     HVA(other));
			others ^= 1u << k;
			break;
		}
		}
		atomic_store(&c->x_state, xs);
		atomic_fetch_add(&c->gen, 1);	/* even: stable */
		if (r) {
			TH_LOG("update step %d: %s", step, strerror(-r));
			atomic_fetch_add(&c->bad, 1);
			break;
		}
		usleep(2000);
	}
	atomic_store(&c->stop, 1);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (c->why[0][0])
		TH_LOG("vCPU 0: %s", c->why[0]);
	if (c->why[1][0])
		TH_LOG("vCPU 1: %s", c->why[1]);
	TH_LOG("%ld updates, %ld slot-A rounds, %ld reads (%ld exact)",
	       iter, atomic_load(&c->ops_a), atomic_load(&c->ops_b),
	       atomic_load(&c->exact));
	EXPECT_EQ(0, atomic_load(&c->bad));
	EXPECT_LE(12, iter);
	EXPECT_LT(10, atomic_load(&c->exact));
	EXPECT_LT(0, atomic_load(&c->ops_a));
	g32_vcpu_destroy(&vb);
	free(c);
}

/*
 * The page behind one HVA changes again and again while a vCPU thread
 * reads the GPA: the HVA maps page 0 or page 1 of a memfd (MAP_FIXED),
 * loses its PTE (MADV_DONTNEED) or just gets a new value. Both pages stay
 * alive in the memfd, so a stale mapping reads an older value. Same
 * generation scheme as slot_updates_race: a read inside a stable window
 * must return exactly the current value.
 */
struct remap_ctx {
	struct g32_vcpu *v;
	atomic_uint gen;
	atomic_uint value;
	atomic_int stop;
	atomic_int bad;
	atomic_long exact, reads;
	char why[160];
};

static void *remap_reader(void *p)
{
	struct remap_ctx *c = p;
	uint32_t g1, g2, want, got;
	int r;

	while (!atomic_load(&c->stop)) {
		g1 = atomic_load(&c->gen);
		want = atomic_load(&c->value);
		r = g32_do(c->v, G32_R32, DATA_GPA + 0x40, 0, 0);
		g2 = atomic_load(&c->gen);
		if (r != G32_DONE) {
			snprintf(c->why, sizeof(c->why), "read: r %d %s", r,
				 r < 0 ? strerror(-r) : g32_exit_str(c->v));
			atomic_fetch_add(&c->bad, 1);
			break;
		}
		got = g32_ecx(c->v);
		atomic_fetch_add(&c->reads, 1);
		if (g1 == g2 && !(g1 & 1)) {
			atomic_fetch_add(&c->exact, 1);
			if (got != want) {
				snprintf(c->why, sizeof(c->why),
					 "gen %u: read 0x%x, want 0x%x", g1,
					 got, want);
				atomic_fetch_add(&c->bad, 1);
				break;
			}
		} else if ((got & 0xffff0000) != 0x4e700000) {
			snprintf(c->why, sizeof(c->why),
				 "racing: read 0x%x", got);
			atomic_fetch_add(&c->bad, 1);
			break;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(g, hva_remap_race, 300)
{
	struct remap_ctx *c = calloc(1, sizeof(*c));
	int fd = memfd_create("g32-remap", MFD_CLOEXEC);
	uint32_t n = 0, page = 0;
	uint8_t *buf, *p;
	time_t end;
	pthread_t t;
	int r;

	ASSERT_NE(NULL, c);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * PG));
	buf = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, buf);
	g32_alarm(280);
	g32_step = "hva_remap_race";
	*u32p(buf, 0x40) = 0x4e700000;
	/* Page 1 too: a read racing with the first switch may see it. */
	ASSERT_EQ(4, pwrite(fd, u32p(buf, 0x40), 4, PG + 0x40));
	atomic_store(&c->value, 0x4e700000);
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(buf));
	ASSERT_EQ(0, r);
	c->v = &self->v;
	ASSERT_EQ(0, pthread_create(&t, NULL, remap_reader, c));
	end = time(NULL) + RACE_SECONDS;
	while (time(NULL) < end && !atomic_load(&c->bad)) {
		n = (n + 1) & 0xffff;
		atomic_fetch_add(&c->gen, 1);	/* odd: changing */
		switch (n % 3) {
		case 0:		/* the other memfd page at the HVA */
			page ^= 1;
			p = mmap(buf, PG, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, fd, page * PG);
			if (p != buf)
				atomic_fetch_add(&c->bad, 1);
			break;
		case 1:		/* the PTE goes, the page stays */
			madvise(buf, PG, MADV_DONTNEED);
			break;
		default:	/* same page, new value */
			break;
		}
		*u32p(buf, 0x40) = 0x4e700000 | n;
		atomic_store(&c->value, 0x4e700000 | n);
		atomic_fetch_add(&c->gen, 1);	/* even: stable */
		usleep(1000);
	}
	atomic_store(&c->stop, 1);
	pthread_join(t, NULL);
	if (c->why[0])
		TH_LOG("%s", c->why);
	TH_LOG("%u changes, %ld reads (%ld exact)", n,
	       atomic_load(&c->reads), atomic_load(&c->exact));
	EXPECT_EQ(0, atomic_load(&c->bad));
	EXPECT_LT(10, atomic_load(&c->exact));
	close(fd);
	free(c);
}

/*
 * The memory behind a slot is unmapped while a vCPU thread writes all of
 * it in a loop: that thread's KVM_RUN fails with EFAULT (or the round
 * completes first), nothing else breaks, and with memory back at the HVA
 * the same vCPU finishes the loop.
 */
#define MR_PAGES	256

struct munmap_ctx {
	struct g32_vcpu *v;
	atomic_int stop;
	atomic_long rounds;
	int result;		/* the KVM_RUN result that ended the loop */
};

static void *munmap_writer(void *p)
{
	struct munmap_ctx *c = p;
	int r = 0;

	while (!atomic_load(&c->stop)) {
		r = g32_do(c->v, G32_FILL, SMP_GPA, 0x6d000000, MR_PAGES);
		if (r != G32_DONE)
			break;
		atomic_fetch_add(&c->rounds, 1);
	}
	c->result = r;
	return NULL;
}

TEST_F_TIMEOUT(g, munmap_race, 300)
{
	struct munmap_ctx c = { .v = &self->v };
	uint8_t *buf = g32_map_anon(MR_PAGES * PG), *p;
	pthread_t t;
	int r, i;

	ASSERT_NE(NULL, buf);
	g32_alarm(280);
	g32_step = "munmap_race";
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, SMP_GPA, MR_PAGES * PG,
			     HVA(buf));
	ASSERT_EQ(0, r);
	for (i = 0; i < 5; i++) {
		atomic_store(&c.stop, 0);
		atomic_store(&c.rounds, 0);
		ASSERT_EQ(0, pthread_create(&t, NULL, munmap_writer, &c));
		while (atomic_load(&c.rounds) < 1 + i)
			usleep(1000);
		usleep(1000 * i);
		ASSERT_EQ(0, munmap(buf, MR_PAGES * PG));
		usleep(20000);
		atomic_store(&c.stop, 1);
		pthread_join(t, NULL);
		EXPECT_TRUE(c.result == -EFAULT || c.result == G32_DONE)
			TH_LOG("round %d: %s", i, c.result < 0 ?
			       strerror(-c.result) : g32_exit_str(&self->v));
		p = mmap(buf, MR_PAGES * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		ASSERT_EQ(buf, p);
		/* The loop that stopped (if any) completes on new memory. */
		if (c.result == -EFAULT) {
			r = g32_run(&self->v);
			ASSERT_EQ(G32_DONE, r) TH_LOG("%s", r < 0 ?
						      strerror(-r) :
						      g32_exit_str(&self->v));
		}
		EXPECT_EQ(0x6d000000 + MR_PAGES, g32_ecx(&self->v));
		EXPECT_EQ(0x6d000000 + MR_PAGES - 1,
			  *u32p(buf, (MR_PAGES - 1) * PG));
		/* And the whole slot works on the new memory. */
		op_ok(_metadata, &self->v, G32_FILL, SMP_GPA, 0x6e000000 + i,
		      MR_PAGES);
		EXPECT_EQ(MR_PAGES * (0x6e000000u + i) +
			  MR_PAGES * (MR_PAGES - 1) / 2,
			  op_ok(_metadata, &self->v, G32_SUM, SMP_GPA, 0,
				MR_PAGES));
		EXPECT_EQ(0x6e000000 + i + 17, *u32p(buf, 17 * PG));
	}
}

TEST_F_TIMEOUT(g, fork_eio, 150)
{
	uint8_t *buf = g32_map_anon(PG);
	struct kvm_regs regs;
	int to_child[2], to_parent[2], status, r;
	char ch;
	pid_t pid;

	ASSERT_NE(NULL, buf);
	g32_step = "fork_eio";
	r = kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG, HVA(buf));
	ASSERT_EQ(0, r);
	wr32(_metadata, &self->v, DATA_GPA + 0x10, 0xf0f00000);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Exit code: 0 ok, else the number of the failed check. */
		int code = 0;

		alarm(60);
		if (ioctl(self->v.fd, KVM_RUN, 0) != -1 || errno != EIO)
			code = 1;
		else if (ioctl(self->v.fd, KVM_GET_REGS, &regs) != -1 ||
			 errno != EIO)
			code = 2;
		else if (kvmmu_set_region(self->vm.vmfd, 5, 0, 0x80000, PG,
					  HVA(buf)) != -EIO)
			code = 3;
		else if (*u32p(buf, 0x10) != 0xf0f00000)
			code = 4;
		if (write(to_parent[1], "c", 1) != 1 ||
		    read(to_child[0], &ch, 1) != 1)
			_exit(10);
		/* The parent's guest wrote its own copy, not ours. */
		if (!code && *u32p(buf, 0x10) != 0xf0f00000)
			code = 5;
		*u32p(buf, 0x20) = 0xc41dc41d;
		if (write(to_parent[1], "d", 1) != 1)
			_exit(11);
		_exit(code);
	}
	ASSERT_EQ(1, read(to_parent[0], &ch, 1));
	/* COW: the guest's write must break the sharing. */
	wr32(_metadata, &self->v, DATA_GPA + 0x10, 0xf0f00001);
	EXPECT_EQ(0xf0f00001, *u32p(buf, 0x10));
	ASSERT_EQ(1, write(to_child[1], "p", 1));
	ASSERT_EQ(1, read(to_parent[0], &ch, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child failed check %d (1 KVM_RUN, 2 KVM_GET_REGS, %s",
		       WEXITSTATUS(status),
		       "3 KVM_SET_USER_MEMORY_REGION: not EIO; 4, 5: its copy)");
	/* The child's write stayed in the child. */
	EXPECT_EQ(0, rd32(_metadata, &self->v, DATA_GPA + 0x20));
	EXPECT_EQ(0xf0f00001, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	*u32p(buf, 0x10) = 0xf0f00002;
	EXPECT_EQ(0xf0f00002, rd32(_metadata, &self->v, DATA_GPA + 0x10));
	expect_leaf(_metadata, &self->vm, DATA_GPA, 1, buf, -1);
}

/* Whether our debugfs root holds a VM directory named @prefix<vmfd>. */
static bool debugfs_vm_dir_exists(const char *prefix)
{
	DIR *d = opendir(KVMMU_DEBUGFS_ROOT);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			found = true;
	closedir(d);
	return found;
}

#define KILL_VCPUS	2
#define KILL_GPA	0x400000UL
#define KILL_PAGES	512

static void *kill_vcpu_thread(void *p)
{
	struct g32_vcpu *v = p;
	uint32_t k;

	/* Fill, forever: every KVM_RUN faults and writes KILL_PAGES pages. */
	for (k = 0;; k++)
		if (g32_do(v, G32_FILL, KILL_GPA, k, KILL_PAGES) != G32_DONE)
			_exit(20);
	return NULL;
}

/*
 * A child with KILL_VCPUS vCPU threads inside KVM_RUN, faulting, is
 * SIGKILLed. The host survives (this is the debug kernel's lockdep and
 * KASAN territory), the child's VM goes away (its debugfs directory, the
 * module references of its fds) and our own VM still works.
 */
TEST_F_TIMEOUT(g, kill_running, 150)
{
	int to_parent[2], status, i;
	long ref0 = kvmmu_module_refcnt(), ref = -1;
	char dir[256], ch;
	pid_t pid;

	g32_step = "kill_running";
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct g32_vcpu v[KILL_VCPUS];
		pthread_t t[KILL_VCPUS];
		struct g32_vm vm;
		uint8_t *buf = g32_map_anon(KILL_PAGES * PG);

		alarm(60);
		if (!buf || g32_vm_create(&vm) ||
		    kvmmu_set_region(vm.vmfd, 1, 0, KILL_GPA, KILL_PAGES * PG,
				     HVA(buf)))
			_exit(10);
		for (i = 0; i < KILL_VCPUS; i++)
			if (g32_vcpu_create(&vm, &v[i], i) ||
			    pthread_create(&t[i], NULL, kill_vcpu_thread, &v[i]))
				_exit(11);
		/* Wait until the guests have written all their pages once. */
		while (*u32p(buf, (KILL_PAGES - 1) * PG) == 0)
			usleep(1000);
		if (write(to_parent[1], "r", 1) != 1)
			_exit(12);
		for (;;)
			pause();
	}
	close(to_parent[1]);
	ASSERT_EQ(1, read(to_parent[0], &ch, 1))
		TH_LOG("the child's vCPUs never ran");
	usleep(100000);	/* well inside KVM_RUN loops now */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child status 0x%x", status);
	close(to_parent[0]);
	if (!stock()) {
		ref = kvmmu_module_refcnt_back_to(ref0);
		EXPECT_EQ(ref0, ref) TH_LOG("module refcnt %ld, was %ld", ref,
					    ref0);
		snprintf(dir, sizeof(dir), "%d-", pid);
		EXPECT_FALSE(debugfs_vm_dir_exists(dir))
			TH_LOG("a VM directory of pid %d is still there", pid);
	}
	wr32(_metadata, &self->v, G32_CODE_GPA + 0x800, 0x6b111001);
	EXPECT_EQ(0x6b111001, rd32(_metadata, &self->v, G32_CODE_GPA + 0x800));
}

struct teardown_ctx {
	struct g32_vcpu v;
	atomic_int runs;
	int last;	/* what ended the loop: G32_* or -errno */
};

static void *teardown_thread(void *p)
{
	struct teardown_ctx *c = p;
	uint32_t k;

	for (k = 0;; k++) {
		c->last = g32_do(&c->v, G32_FILL, KILL_GPA, k, KILL_PAGES);
		if (c->last != G32_DONE)
			return NULL;
		atomic_fetch_add(&c->runs, 1);
	}
}

/*
 * Teardown under running vCPUs, in one process: the VM fd is closed while
 * two vCPU threads fault and write (the vCPU fds keep the VM alive), then
 * the slot's memory is unmapped under them (KVM_RUN fails with EFAULT and
 * the threads end); closing the vCPU fds then frees the VM: the module's
 * reference count is back where it was.
 */
TEST_F_TIMEOUT(g, close_vm_while_running, 150)
{
	struct teardown_ctx c[KILL_VCPUS] = { 0 };
	long ref0 = kvmmu_module_refcnt(), ref = -1;
	pthread_t t[KILL_VCPUS];
	struct g32_vm vm;
	uint8_t *buf = g32_map_anon(KILL_PAGES * PG);
	int i;

	ASSERT_NE(NULL, buf);
	g32_step = "close_vm_while_running";
	ASSERT_EQ(0, g32_vm_create(&vm));
	ASSERT_EQ(0, kvmmu_set_region(vm.vmfd, 1, 0, KILL_GPA,
				      KILL_PAGES * PG, HVA(buf)));
	for (i = 0; i < KILL_VCPUS; i++) {
		ASSERT_EQ(0, g32_vcpu_create(&vm, &c[i].v, i));
		ASSERT_EQ(0, pthread_create(&t[i], NULL, teardown_thread,
					    &c[i]));
	}
	while (atomic_load(&c[0].runs) < 2 || atomic_load(&c[1].runs) < 2)
		usleep(1000);
	close(vm.vmfd);
	close(vm.devfd);
	usleep(50000);
	EXPECT_LE(2, atomic_load(&c[0].runs));
	ASSERT_EQ(0, munmap(buf, KILL_PAGES * PG));
	for (i = 0; i < KILL_VCPUS; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		EXPECT_EQ(-EFAULT, c[i].last) TH_LOG("vCPU %d: %d", i,
						      c[i].last);
		g32_vcpu_destroy(&c[i].v);
	}
	munmap(vm.code, PG);
	if (!stock()) {
		ref = kvmmu_module_refcnt_back_to(ref0);
		EXPECT_EQ(ref0, ref) TH_LOG("module refcnt %ld, was %ld", ref,
					    ref0);
	}
	wr32(_metadata, &self->v, G32_CODE_GPA + 0x800, 0x7ea10001);
	EXPECT_EQ(0x7ea10001, rd32(_metadata, &self->v, G32_CODE_GPA + 0x800));
}

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"
#define HP_GPA		0x800000UL
#define HP_PAGES	256

struct hp_ctx {
	struct g32_vcpu *v;
	atomic_int stop, bad;
	atomic_uint rounds;
};

static void *hp_thread(void *p)
{
	struct hp_ctx *c = p;
	uint32_t k, sum;

	for (k = 0; !atomic_load(&c->stop); k++) {
		if (g32_do(c->v, G32_FILL, HP_GPA, k << 16, HP_PAGES) !=
		    G32_DONE ||
		    g32_do(c->v, G32_SUM, HP_GPA, 0, HP_PAGES) != G32_DONE) {
			atomic_fetch_add(&c->bad, 1);
			break;
		}
		sum = g32_esi(c->v);
		if (sum != HP_PAGES * (k << 16) + HP_PAGES * (HP_PAGES - 1) / 2)
			atomic_fetch_add(&c->bad, 1);
		atomic_fetch_add(&c->rounds, 1);
	}
	return NULL;
}

/* Pin the calling thread to @cpu: 0 or -errno. */
static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* ---- many VMs at once, killed VMMs, rmmod all along ---- */

#define CHURN_THREADS	3
#define CHURN_KILLS	40

struct churn_ctx {
	atomic_int stop;
	atomic_long vms, refused, going, bad;
	char why[160];
};

static void churn_fail(struct churn_ctx *c, const char *what, int r)
{
	if (atomic_fetch_add(&c->bad, 1) == 0)
		snprintf(c->why, sizeof(c->why), "%s: %d (%s)", what, r,
			 r < 0 ? strerror(-r) : "-");
}

/*
 * Opening /dev/kvmmu or making a VM or vCPU file fails for a moment while
 * a delete_module() that will be refused holds the module GOING: ENODEV,
 * ENXIO, ENOENT (try_module_get fails), as with KVM.
 */
static bool module_going(int r)
{
	return r == -ENODEV || r == -ENXIO || r == -ENOENT;
}

/* Create, use (faults, dirty log) and destroy VMs until told to stop. */
static void *churn_worker(void *p)
{
	struct churn_ctx *c = p;
	struct g32_vcpu v;
	struct g32_vm vm;
	uint8_t *buf;
	int r, i;

	while (!atomic_load(&c->stop) && !atomic_load(&c->bad)) {
		buf = g32_map_anon(16 * PG);
		if (!buf) {
			churn_fail(c, "mmap", -ENOMEM);
			break;
		}
		r = g32_vm_create(&vm);
		if (!r) {
			r = g32_vcpu_create(&vm, &v, 0);
			if (r)
				g32_vm_destroy(&vm);
		}
		if (r) {
			munmap(buf, 16 * PG);
			if (!module_going(r)) {
				churn_fail(c, "VM/vCPU create", r);
				break;
			}
			atomic_fetch_add(&c->going, 1);
			continue;
		}
		r = kvmmu_set_region(vm.vmfd, 1, KVM_MEM_LOG_DIRTY_PAGES,
				     0x100000, 16 * PG, HVA(buf));
		if (!r)
			r = g32_do(&v, G32_FILL, 0x100000, 0xc4000000, 16);
		if (r == G32_DONE)
			r = kvmmu_get_dirty_log(vm.vmfd, 1, 16);
		for (i = 0; !r && i < 16; i++)
			if (*u32p(buf, i * PG) != 0xc4000000u + i)
				r = -EIO;
		if (!r)
			r = kvmmu_delete_region(vm.vmfd, 1);
		g32_vcpu_destroy(&v);
		g32_vm_destroy(&vm);
		munmap(buf, 16 * PG);
		if (r) {
			churn_fail(c, "VM use", r);
			break;
		}
		atomic_fetch_add(&c->vms, 1);
	}
	return NULL;
}

/* rmmod, non-blocking, again and again: it must be refused every time. */
static void *churn_unloader(void *p)
{
	struct churn_ctx *c = p;
	long r;

	while (!atomic_load(&c->stop)) {
		r = syscall(SYS_delete_module, kvmmu_module_name(), O_NONBLOCK);
		if (!r) {
			churn_fail(c, "delete_module succeeded while in use", 0);
			break;
		}
		if (errno != EWOULDBLOCK && errno != EBUSY) {
			churn_fail(c, "delete_module", -errno);
			break;
		}
		atomic_fetch_add(&c->refused, 1);
		usleep(2000);
	}
	return NULL;
}

/* A VMM to be killed: vCPUs filling, slots moving, pages discarded. */
static void churn_victim(void)
{
	struct g32_vcpu v[KILL_VCPUS];
	pthread_t t[KILL_VCPUS];
	uint8_t *buf = g32_map_anon(KILL_PAGES * PG);
	uint8_t *other = g32_map_anon(16 * PG);
	struct g32_vm vm;
	int i, r;

	alarm(30);
	r = g32_vm_create(&vm);
	if (r)
		_exit(module_going(r) ? 0 : 10);
	if (!buf || !other ||
	    kvmmu_set_region(vm.vmfd, 1, 0, KILL_GPA, KILL_PAGES * PG,
			     HVA(buf)))
		_exit(11);
	for (i = 0; i < KILL_VCPUS; i++) {
		r = g32_vcpu_create(&vm, &v[i], i);
		if (r)
			_exit(module_going(r) ? 0 : 12);
		if (pthread_create(&t[i], NULL, kill_vcpu_thread, &v[i]))
			_exit(13);
	}
	/* Until killed: memslot changes and mmu notifier invalidations. */
	for (i = 0;; i++) {
		kvmmu_set_region(vm.vmfd, 2, 0, 0x8000000 + (i & 1) * 0x100000,
				 16 * PG, HVA(other));
		madvise(buf + (i % 8) * 64 * PG, 64 * PG, MADV_DONTNEED);
		if (i & 1)
			kvmmu_delete_region(vm.vmfd, 2);
	}
}

/*
 * Teardown under load, for RACE_SECONDS and CHURN_KILLS kills: threads
 * create, use and destroy VMs; VMMs with running vCPUs, moving slots and
 * invalidations in flight are SIGKILLed after 1-30 ms; delete_module()
 * runs all along and must be refused every time (this process keeps
 * /dev/kvmmu open). Afterwards the module's refcount is back where it was
 * and no VM directory of a killed VMM is left.
 */
TEST_F_TIMEOUT(g, vm_churn, 200)
{
	struct churn_ctx *c = calloc(1, sizeof(*c));
	pthread_t w[CHURN_THREADS], un;
	long ref0 = kvmmu_module_refcnt(), ref;
	int i, status, kills = 0, early = 0;
	char dir[32];
	time_t end;
	pid_t pid;

	ASSERT_NE(NULL, c);
	if (stock())
		SKIP(free(c); return, "kvmmu's module refcount");
	g32_alarm(190);
	g32_step = "vm_churn";
	srand(getpid());
	for (i = 0; i < CHURN_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&w[i], NULL, churn_worker, c));
	ASSERT_EQ(0, pthread_create(&un, NULL, churn_unloader, c));
	end = time(NULL) + RACE_SECONDS;
	for (i = 0; (i < CHURN_KILLS || time(NULL) < end) &&
		    !atomic_load(&c->bad); i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			churn_victim();
		usleep(1000 + rand() % 30000);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
			kills++;
		} else if (WIFEXITED(status) && !WEXITSTATUS(status)) {
			early++;	/* the module was GOING at its start */
		} else {
			churn_fail(c, "victim exit status", status);
		}
		snprintf(dir, sizeof(dir), "%d-", pid);
		if (debugfs_vm_dir_exists(dir))
			churn_fail(c, "VM directory left by a killed VMM", pid);
	}
	atomic_store(&c->stop, 1);
	for (i = 0; i < CHURN_THREADS; i++)
		pthread_join(w[i], NULL);
	pthread_join(un, NULL);
	TH_LOG("%ld VMs made and used, %d VMMs killed (%d ended early), %ld rmmod refused, %ld opens hit the module going",
	       atomic_load(&c->vms), kills, early, atomic_load(&c->refused),
	       atomic_load(&c->going));
	EXPECT_EQ(0, atomic_load(&c->bad)) TH_LOG("%s", c->why);
	EXPECT_LT(0, atomic_load(&c->refused));
	EXPECT_LT(CHURN_THREADS, atomic_load(&c->vms));
	EXPECT_LT(CHURN_KILLS / 2, kills);
	ref = kvmmu_module_refcnt_back_to(ref0);
	EXPECT_EQ(ref0, ref) TH_LOG("module refcnt %ld, was %ld", ref, ref0);
	/* Our own VM still works. */
	wr32(_metadata, &self->v, G32_CODE_GPA + 0x800, 0x6b111002);
	EXPECT_EQ(0x6b111002, rd32(_metadata, &self->v, G32_CODE_GPA + 0x800));
	free(c);
}

/*
 * CPU 1 goes offline and online while a vCPU thread runs the guest, three
 * times; then a guest runs pinned on the re-onlined CPU 1, which needs SVM
 * enabled there again by the hotplug callback (VMRUN would #UD otherwise).
 */
TEST_F_TIMEOUT(g, cpu_hotplug, 150)
{
	uint8_t *buf = g32_map_anon(HP_PAGES * PG);
	struct hp_ctx c = { .v = &self->v };
	unsigned int before;
	cpu_set_t all;
	pthread_t t;
	int i, r;

	g32_step = "cpu_hotplug";
	ASSERT_NE(NULL, buf);
	if (kvmmu_read_long(CPU1_ONLINE) != 1)
		SKIP(return, "no CPU 1 to take offline");
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, HP_GPA,
				      HP_PAGES * PG, HVA(buf)));
	ASSERT_EQ(0, pthread_create(&t, NULL, hp_thread, &c));
	for (i = 0; i < 3; i++) {
		before = atomic_load(&c.rounds);
		r = write_long_file(CPU1_ONLINE, 0);
		EXPECT_EQ(0, r) TH_LOG("offline CPU 1: %s", strerror(-r));
		usleep(50000);
		r = write_long_file(CPU1_ONLINE, 1);
		EXPECT_EQ(0, r) TH_LOG("online CPU 1: %s", strerror(-r));
		while (atomic_load(&c.rounds) < before + 2 &&
		       !atomic_load(&c.bad))
			usleep(1000);
	}
	atomic_store(&c.stop, 1);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, atomic_load(&c.bad));
	EXPECT_EQ(1, kvmmu_read_long(CPU1_ONLINE));

	/* Both CPUs, one after the other: SVM is on wherever we land. */
	for (i = 1; i >= 0; i--) {
		ASSERT_EQ(0, pin_to(i));
		wr32(_metadata, &self->v, HP_GPA + 0x40, 0x40710000 + i);
		EXPECT_EQ(0x40710000 + i, *u32p(buf, 0x40));
		EXPECT_EQ(0x40710000 + i, rd32(_metadata, &self->v,
					       HP_GPA + 0x40));
	}
	EXPECT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
}

static int send_fds(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))] = { 0 }, c = 'f';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fds(int sock, int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cm;

	if (recvmsg(sock, &msg, 0) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
	return 0;
}

/*
 * VM and vCPU fds passed over a unix socket to another process: every
 * ioctl there fails with EIO (KVM's rule: only the creator's mm), the
 * guest's memory is not reachable through them, and the owner's VM goes
 * on working.
 */
TEST_F_TIMEOUT(g, fd_passed_eio, 150)
{
	uint8_t *buf = g32_map_anon(PG);
	int sv[2], status, fds[2];
	pid_t pid;

	ASSERT_NE(NULL, buf);
	g32_step = "fd_passed_eio";
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, DATA_GPA, PG,
				      HVA(buf)));
	wr32(_metadata, &self->v, DATA_GPA, 0x5c5c0001);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		/* The debug kernel is built without networking. */
		ASSERT_TRUE(errno == EAFNOSUPPORT || errno == ENOSYS)
			TH_LOG("socketpair: %s", strerror(errno));
		SKIP(return, "no AF_UNIX in this kernel");
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kvm_regs regs;
		int code = 0;

		alarm(60);
		/* Drop what fork gave; use only what comes over the socket. */
		close(self->vm.vmfd);
		close(self->v.fd);
		if (recv_fds(sv[1], fds, 2))
			_exit(10);
		if (ioctl(fds[0], KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) != -1 ||
		    errno != EIO)
			code = 1;
		else if (kvmmu_set_region(fds[0], 5, 0, 0x80000, PG,
					  HVA(buf)) != -EIO)
			code = 2;
		else if (ioctl(fds[0], KVM_CREATE_VCPU, 7) != -1 || errno != EIO)
			code = 3;
		else if (ioctl(fds[1], KVM_RUN, 0) != -1 || errno != EIO)
			code = 4;
		else if (ioctl(fds[1], KVM_GET_REGS, &regs) != -1 ||
			 errno != EIO)
			code = 5;
		_exit(code);
	}
	fds[0] = self->vm.vmfd;
	fds[1] = self->v.fd;
	ASSERT_EQ(0, send_fds(sv[0], fds, 2));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child check %d failed (1 CHECK_EXTENSION, 2 SET_USER_MEMORY_REGION, %s",
		       WEXITSTATUS(status),
		       "3 CREATE_VCPU, 4 KVM_RUN, 5 GET_REGS: not EIO; 10 recvmsg)");
	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ(0x5c5c0001, rd32(_metadata, &self->v, DATA_GPA));
}

/* ---- 8: nothing left behind ---- */

#define LEAK_MB		32
#define LEAK_ROUNDS	4
/*
 * What the bound is for: a lost page reference loses whole slots, 32 MiB
 * per round (128 MiB in all); small leaks are kmemleak's, on the debug
 * kernel. It is not tighter because MemFree is noisy on Debian's 6.1
 * here: stock KVM stayed 7.8 and 14.8 MiB down after its 4 VMs
 * (control.guest_test, two runs), and kvmmu once 8.4 MiB (CI of
 * 2026-12-05), every other run within 6 MiB.
 */
#define LEAK_SLACK_KB	(24 * 1024)
/*
 * On the debug kernel (kmemleak present) KASAN's quarantine and kmemleak's
 * metadata keep freed memory out of MemFree for a while: measured -16 MiB
 * once after 4 VMs. kmemleak reports real object leaks there; this slack
 * still catches losing one VM's 32 MiB of guest memory per round.
 */
#define LEAK_SLACK_DEBUG_KB	(48 * 1024)
#define LEAK_GPA	0x1000000UL

/* ---- isolation: the whole guest-physical space ---- */

struct scan_slot {
	uint64_t gpa;
	uint64_t pages;
	const uint8_t *hva;
};

/* What the VMM answers for an MMIO read of @gpa: never a slot's pattern. */
static uint32_t scan_mmio_value(uint64_t gpa)
{
	return 0x3c000000u | (uint32_t)(gpa >> 12);
}

/* The first dword of page @gfn, from its slot, or false if no slot. */
static bool scan_ram(const struct scan_slot *sl, int n, uint64_t gfn,
		     uint32_t *v)
{
	int i;

	for (i = 0; i < n; i++) {
		if (gfn >= sl[i].gpa / PG && gfn < sl[i].gpa / PG + sl[i].pages) {
			*v = *u32p((void *)sl[i].hva,
				   (gfn - sl[i].gpa / PG) * PG);
			return true;
		}
	}
	return false;
}

/*
 * Every page a 32-bit guest can address (4 GiB; the low 1 GiB on the debug
 * kernel, where an exit costs ten times more), read by the guest: each
 * one must be a slot's page, with the value the host has there, or an MMIO
 * exit for exactly that address, in order. Before the scan a slot filled
 * with a pattern is deleted, another moved, a third's HVA remapped to new
 * pages: their old pages must never show. A page of host memory reached
 * without a slot would read as data where an exit is due.
 */
TEST_F_TIMEOUT(g, gpa_scan, 900)
{
	const uint64_t pages = access("/sys/kernel/debug/failslab", F_OK) ?
			       1ULL << 20 : 1ULL << 18;
	uint8_t *a = g32_map_anon(512 * PG), *b = g32_map_anon(PG);
	uint8_t *c = g32_map_anon(256 * PG), *d = g32_map_anon(16 * PG);
	uint8_t *e = g32_map_anon(16 * PG), *f = g32_map_anon(16 * PG);
	struct scan_slot sl[6];
	uint64_t next = 0, exits = 0;
	struct kvm_run *run = self->v.run;
	uint32_t sum = 0, v;
	time_t t0 = time(NULL);
	int i, r, n = 0;

	ASSERT_TRUE(a && b && c && d && e && f);
	g32_alarm(880);
	g32_step = "gpa_scan";
	for (i = 0; i < 512; i++)
		*u32p(a, i * PG) = 0x5c100000 + i;
	*u32p(b, 0) = 0x5c200000;
	for (i = 0; i < 256; i++)
		*u32p(c, i * PG) = 0x5c300000 + i;
	for (i = 0; i < 16; i++) {
		*u32p(d, i * PG) = 0xdead0000 + i;	/* deleted */
		*u32p(e, i * PG) = 0x5c500000 + i;	/* moved */
		*u32p(f, i * PG) = 0xdeae0000 + i;	/* remapped */
	}
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 1, 0, 0x200000, 512 * PG,
				      HVA(a)));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 2, 0, 0x7fff000, PG,
				      HVA(b)));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 3, KVM_MEM_READONLY,
				      0x3ff00000, 256 * PG, HVA(c)));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 4, 0, 0x10000000,
				      16 * PG, HVA(d)));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 5, 0, 0x20000000,
				      16 * PG, HVA(e)));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 6, 0, 0x30000000,
				      16 * PG, HVA(f)));
	/* Map them all in the NPT first, then change them. */
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(0xdead0000 + i,
			  rd32(_metadata, &self->v, 0x10000000 + i * PG));
		EXPECT_EQ(0x5c500000 + i,
			  rd32(_metadata, &self->v, 0x20000000 + i * PG));
		EXPECT_EQ(0xdeae0000 + i,
			  rd32(_metadata, &self->v, 0x30000000 + i * PG));
	}
	ASSERT_EQ(0, kvmmu_delete_region(self->vm.vmfd, 4));
	ASSERT_EQ(0, kvmmu_set_region(self->vm.vmfd, 5, 0, 0x28000000,
				      16 * PG, HVA(e)));
	ASSERT_EQ(MAP_FAILED != mmap(f, 16 * PG, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				     -1, 0), true);
	for (i = 0; i < 16; i++)
		*u32p(f, i * PG) = 0x5c600000 + i;

	sl[n++] = (struct scan_slot){ G32_CODE_GPA, 1, self->vm.code };
	sl[n++] = (struct scan_slot){ 0x200000, 512, a };
	sl[n++] = (struct scan_slot){ 0x7fff000, 1, b };
	sl[n++] = (struct scan_slot){ 0x3ff00000, 256, c };
	sl[n++] = (struct scan_slot){ 0x28000000, 16, e };
	sl[n++] = (struct scan_slot){ 0x30000000, 16, f };

	ASSERT_EQ(0, g32_start(&self->v, G32_SUM, 0, 0, (uint32_t)pages));
	for (;;) {
		r = g32_run(&self->v);
		if (r != G32_MMIO)
			break;
		/* Slot pages before the exit: read by the guest, summed. */
		while (next < pages && scan_ram(sl, n, next, &v)) {
			sum += v;
			next++;
		}
		ASSERT_EQ(next * PG, run->mmio.phys_addr)
			TH_LOG("exit for 0x%llx, expected 0x%llx",
			       (unsigned long long)run->mmio.phys_addr,
			       (unsigned long long)(next * PG));
		ASSERT_EQ(4, run->mmio.len);
		ASSERT_EQ(0, run->mmio.is_write);
		v = scan_mmio_value(run->mmio.phys_addr);
		memcpy(run->mmio.data, &v, 4);
		sum += v;
		next++;
		exits++;
	}
	ASSERT_EQ(G32_DONE, r) TH_LOG("%s", r < 0 ? strerror(-r) :
				      g32_exit_str(&self->v));
	while (next < pages && scan_ram(sl, n, next, &v)) {
		sum += v;
		next++;
	}
	EXPECT_EQ(pages, next);
	EXPECT_EQ(sum, g32_esi(&self->v));
	TH_LOG("%llu pages scanned, %llu MMIO exits, %ld s",
	       (unsigned long long)pages, (unsigned long long)exits,
	       (long)(time(NULL) - t0));
}

/* ---- memory cgroup ---- */

#define CGROOT		"/sys/fs/cgroup"
#define MEMCG_PAGES	8192		/* 32M of guest memory ... */
#define MEMCG_MAX	(16UL << 20)	/* ... under a 16M limit */

/* The value of "@key N" in cgroup file @path, or -1. */
static long long cg_key(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	size_t len = strlen(key);
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ')
			v = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

/*
 * Between the test and the child in the small memcg. Shared memory the
 * parent faulted in: once at its limit, the child must not fault in any
 * page of its own (a user page fault that cannot be charged and has no
 * victim to kill is retried for ever), nor write to a pipe (pipe pages
 * are charged).
 */
struct memcg_report {
	atomic_int phase;	/* child: 1 over the limit, 2 done */
	atomic_int go;		/* parent: limit lifted */
	int r1, r2;		/* KVM_RUN over the limit, then without */
	int bad_page;		/* first page with a wrong value, or -1 */
	char why[160];
};

static void memcg_child(const char *cg, struct memcg_report *rep)
{
	volatile char stack[64 << 10];
	struct g32_vm vm;
	struct g32_vcpu v;
	char path[320];
	uint8_t *mem;
	int i;

	alarm(120);
	/* Our stack's pages, charged to the parent's cgroup. */
	memset((char *)stack, 0, sizeof(stack));
	rep->bad_page = -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	/* A victim-less memcg: charges over the limit fail, nobody dies. */
	if (kvmmu_write_file(path, "0") ||
	    kvmmu_write_file("/proc/self/oom_score_adj", "-1000")) {
		snprintf(rep->why, sizeof(rep->why), "cannot join %s", cg);
		goto out;
	}
	mem = g32_map_anon(MEMCG_PAGES * PG);
	if (!mem || g32_vm_create(&vm) || g32_vcpu_create(&vm, &v, 0) ||
	    kvmmu_set_region(vm.vmfd, 1, 0, 0x1000000, MEMCG_PAGES * PG,
			     HVA(mem))) {
		snprintf(rep->why, sizeof(rep->why), "VM setup failed");
		goto out;
	}
	rep->r1 = g32_do(&v, G32_FILL, 0x1000000, 0xca000000, MEMCG_PAGES);
	atomic_store(&rep->phase, 1);
	while (!atomic_load(&rep->go))
		usleep(10000);
	/* The limit is lifted: the same KVM_RUN now completes. */
	rep->r2 = rep->r1 == G32_DONE ? G32_DONE : g32_run(&v);
	for (i = 0; i < MEMCG_PAGES; i++) {
		if (*u32p(mem, i * PG) != 0xca000000u + i) {
			rep->bad_page = i;
			break;
		}
	}
out:
	atomic_store(&rep->phase, 2);
	_exit(0);
}

/*
 * The VMM in a memory cgroup with a 16M limit runs a guest that writes
 * 32M: the fault that goes over the limit fails KVM_RUN with EFAULT (as
 * KVM's GUP error does), nobody is killed (oom_score_adj -1000), the NPT
 * pages are charged to that cgroup as sec_pagetables; with the limit
 * lifted the same KVM_RUN goes on and every page holds what the guest
 * wrote. Afterwards the cgroup is empty again.
 */
TEST_F_TIMEOUT(g, memcg_limit, 200)
{
	char cg[128], path[320], ctl[256] = "";
	long long cur, sec_pt = 0, events_max;
	struct memcg_report *rep;
	int status, i;
	pid_t pid;
	FILE *f;

	g32_step = "memcg_limit";
	if (access(CGROOT "/cgroup.controllers", R_OK))
		mount("cgroup2", CGROOT, "cgroup2", 0, NULL);
	f = fopen(CGROOT "/cgroup.controllers", "re");
	if (f) {
		if (!fgets(ctl, sizeof(ctl), f))
			ctl[0] = 0;
		fclose(f);
	}
	if (!strstr(ctl, "memory"))
		SKIP(return, "no cgroup2 memory controller");
	kvmmu_write_file(CGROOT "/cgroup.subtree_control", "+memory");
	snprintf(cg, sizeof(cg), CGROOT "/kvmmu-memcg-%d", getpid());
	ASSERT_EQ(0, mkdir(cg, 0755) && errno != EEXIST ? -errno : 0);
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	ASSERT_EQ(0, write_long_file(path, MEMCG_MAX));
	snprintf(path, sizeof(path), "%s/memory.swap.max", cg);
	write_long_file(path, 0);
	rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rep);
	memset(rep, 0, sizeof(*rep));

	/* The memcg OOM report of each failed charge has a stack. */
	kvmmu_write_file("/dev/kmsg", "kvmmu-harness: expected-traces begin\n");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		memcg_child(cg, rep);
	for (i = 0; i < 12000 && !atomic_load(&rep->phase); i++)
		usleep(10000);
	kvmmu_write_file("/dev/kmsg", "kvmmu-harness: expected-traces end\n");
	ASSERT_NE(0, atomic_load(&rep->phase)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	EXPECT_EQ(0, rep->why[0]) TH_LOG("child: %s", rep->why);
	EXPECT_EQ(-EFAULT, rep->r1) TH_LOG("KVM_RUN over the limit: %d",
					   rep->r1);
	snprintf(path, sizeof(path), "%s/memory.events", cg);
	events_max = cg_key(path, "max");
	EXPECT_LT(0, events_max);
	/* memcg stats are flushed every 2 s, or after enough updates. */
	snprintf(path, sizeof(path), "%s/memory.stat", cg);
	for (i = 0; i < 50 && sec_pt <= 0; i++) {
		sec_pt = cg_key(path, "sec_pagetables");
		if (sec_pt <= 0)
			usleep(100000);
	}
	EXPECT_LE(4096, sec_pt) TH_LOG("sec_pagetables %lld", sec_pt);
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	ASSERT_EQ(0, kvmmu_write_file(path, "max"));
	atomic_store(&rep->go, 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(2, atomic_load(&rep->phase));
	EXPECT_EQ(G32_DONE, rep->r2) TH_LOG("KVM_RUN without the limit: %d",
					    rep->r2);
	EXPECT_EQ(-1, rep->bad_page) TH_LOG("page %d", rep->bad_page);
	/* VM, guest memory and tables gone: (almost) nothing charged. */
	snprintf(path, sizeof(path), "%s/memory.current", cg);
	cur = kvmmu_read_long(path);
	EXPECT_GT(1 << 20, cur) TH_LOG("memory.current %lld after exit", cur);
	EXPECT_EQ(0, rmdir(cg));
	munmap(rep, sizeof(*rep));
}

/* One VM: slot of LEAK_MB touched by the guest, then everything closed. */
static void leak_round(struct __test_metadata *_metadata)
{
	size_t len = LEAK_MB << 20;
	struct g32_vcpu v;
	struct g32_vm vm;
	uint8_t *buf = g32_map_anon(len);
	uint32_t pages = len / PG;
	int r;

	ASSERT_NE(NULL, buf);
	madvise(buf, len, MADV_NOHUGEPAGE);
	ASSERT_EQ(0, g32_vm_create(&vm));
	ASSERT_EQ(0, g32_vcpu_create(&vm, &v, 0));
	r = kvmmu_set_region(vm.vmfd, 1, 0, LEAK_GPA, len, HVA(buf));
	ASSERT_EQ(0, r);
	EXPECT_EQ(7 + pages, op_ok(_metadata, &v, G32_FILL, LEAK_GPA, 7,
				   pages));
	EXPECT_EQ(7 + pages - 1, *u32p(buf, len - PG));
	EXPECT_EQ(pages * 7 + pages * (pages - 1) / 2,
		  op_ok(_metadata, &v, G32_SUM, LEAK_GPA, 0, pages));
	EXPECT_EQ(0, g32_status_kb("VmPin"));
	EXPECT_EQ(0, g32_status_kb("VmLck"));
	g32_vcpu_destroy(&v);
	g32_vm_destroy(&vm);
	munmap(buf, len);
}

TEST_F_TIMEOUT(g, nothing_left, 300)
{
	long slack = access("/sys/kernel/debug/kmemleak", F_OK) ?
		     LEAK_SLACK_KB : LEAK_SLACK_DEBUG_KB;
	long base, now = 0;
	int i;

	g32_alarm(280);
	g32_step = "nothing_left";
	/* The fixture's VM is not part of the count. */
	g32_vcpu_destroy(&self->v);
	g32_vm_destroy(&self->vm);
	leak_round(_metadata);	/* warm-up: caches, first-time allocations */
	usleep(200000);
	base = g32_meminfo_kb("MemFree");
	ASSERT_LT(0, base);
	for (i = 0; i < LEAK_ROUNDS; i++)
		leak_round(_metadata);
	/* RCU-freed tables and per-CPU lists drain: give it 5 s. */
	for (i = 0; i < 50; i++) {
		now = g32_meminfo_kb("MemFree");
		if (now >= base - slack / 4)
			break;
		usleep(100000);
	}
	TH_LOG("MemFree %ld kB before %d VMs of %d MiB, %ld kB after (%+ld, slack %ld)",
	       base, LEAK_ROUNDS, LEAK_MB, now, now - base, slack);
	/*
	 * The MemFree bound checks kvmmu for leaks; stock KVM's memory is
	 * not under test, and 6.1's stayed 7.8 MiB down after 5 s (one run
	 * of control.guest_test; 6.12's: 1.3 MiB). VmPin/VmLck are the ABI.
	 */
	if (!stock())
		EXPECT_LE(base - slack, now);
	EXPECT_EQ(0, g32_status_kb("VmPin"));
	EXPECT_EQ(0, g32_status_kb("VmLck"));
}

TEST_HARNESS_MAIN
