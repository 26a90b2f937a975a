// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_test - the memslot ABI of KVM 6.12 (x86_64), errno for errno.
 *
 * Userspace VMMs and the upstream KVM selftests depend on exactly which
 * errno KVM_SET_USER_MEMORY_REGION(2) returns, and on which check wins
 * when several things are wrong at once, so these tests assert KVM's
 * exact values.  They run unchanged against stock KVM (the control) and
 * against kvmmu.  The order they encode comes from virt/kvm/kvm_main.c
 * of Linux 6.12:
 *
 *   kvm_vm_ioctl()                  -EIO if current->mm is not the VM's
 *                                   (every VM ioctl), then -EFAULT when
 *                                   the struct cannot be copied (v1
 *                                   copies 32 bytes, v2 the whole
 *                                   struct), then -EINVAL for v1 flags
 *                                   outside LOG_DIRTY_PAGES|READONLY
 *   kvm_vm_ioctl_set_memory_region() -EINVAL for id >= 32764
 *   __kvm_set_memory_region()       check_memory_region_flags() -EINVAL;
 *                                   size, GPA, HVA alignment, HVA not in
 *                                   user space (access_ok), as_id >= nr
 *                                   address spaces, GPA + size wrapping,
 *                                   more than 2^31-1 pages: -EINVAL;
 *                                   delete (size 0) of a missing slot
 *                                   -EINVAL; on an existing slot a new
 *                                   HVA, size or READONLY bit -EINVAL,
 *                                   the same GPA and flags 0 (no-op);
 *                                   only then overlap -EEXIST (create
 *                                   and move; the slot itself and other
 *                                   address spaces do not count)
 *   kvm_arch_prepare_memory_region() (arch/x86/kvm/x86.c) GPA beyond
 *                                   the MMU's max GFN -EINVAL
 *
 * So every -EINVAL beats -EEXIST, and a delete validates GPA/HVA/flags
 * like any other request but otherwise ignores them.
 *
 * Slots are verified without a vCPU by probing: a second slot at a GPA
 * gets -EEXIST if something is mapped there; an existing slot rejects
 * a changed size or HVA with -EINVAL; an identical resend returns 0.
 *
 * Tests of our module itself (module refcount, debugfs) skip when
 * KVMMU_STOCK=1.  On a stock kernel without KVM_CAP_USER_MEMORY2 (6.1)
 * the REGION2 variants skip; on our module they must pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kselftest_harness.h>

#include "kvmmu_util.h"

#ifndef KVM_X86_QUIRK_SLOT_ZAP_ALL
#define KVM_X86_QUIRK_SLOT_ZAP_ALL	(1 << 7)
#endif

#define PG		KVMMU_PAGE_SIZE
#define NPG		16		/* pages in each fixture's buffer */
#define LOG		KVM_MEM_LOG_DIRTY_PAGES
#define RO		KVM_MEM_READONLY
#define NR_SLOTS	KVM612_USER_MEM_SLOTS
#define PROBE_ID	32000		/* slot id the probes use */
#define KERNEL_HVA	0xffff800000000000ULL
/* 16 TiB: user space with 4- and 5-level paging, never mapped by us. */
#define FAR_HVA		0x100000000000ULL

static bool stock_without_v2(int devfd)
{
	return kvmmu_is_stock() &&
	       kvmmu_check_extension(devfd, KVM_CAP_USER_MEMORY2) <= 0;
}

/* ------------------------------------------------------------------ */
/* System ioctls                                                       */
/* ------------------------------------------------------------------ */

FIXTURE(sys) {
	int devfd;
};

FIXTURE_SETUP(sys)
{
	self->devfd = kvmmu_open_dev();
	ASSERT_LE(0, self->devfd)
		TH_LOG("open %s: %s", kvmmu_dev_path(),
		       strerror(-self->devfd));
}

FIXTURE_TEARDOWN(sys)
{
	close(self->devfd);
}

TEST_F(sys, api_version)
{
	EXPECT_EQ(12, kvmmu_ioctl(self->devfd, KVM_GET_API_VERSION, 0));
	/* kvm_dev_ioctl() refuses a non-zero argument. */
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(self->devfd, KVM_GET_API_VERSION, 1));
}

TEST_F(sys, cap_user_memory)
{
	EXPECT_EQ(1, kvmmu_check_extension(self->devfd, KVM_CAP_USER_MEMORY));
}

TEST_F(sys, cap_user_memory2)
{
	if (stock_without_v2(self->devfd))
		SKIP(return, "stock KVM older than 6.8");
	EXPECT_EQ(1, kvmmu_check_extension(self->devfd,
					   KVM_CAP_USER_MEMORY2));
}

TEST_F(sys, cap_nr_memslots)
{
	EXPECT_EQ(NR_SLOTS, kvmmu_check_extension(self->devfd,
						  KVM_CAP_NR_MEMSLOTS));
}

TEST_F(sys, cap_readonly_mem)
{
	EXPECT_EQ(1, kvmmu_check_extension(self->devfd,
					   KVM_CAP_READONLY_MEM));
}

TEST_F(sys, cap_multi_address_space)
{
	/* KVM_MAX_NR_ADDRESS_SPACES: 2 on x86 with CONFIG_KVM_SMM. */
	EXPECT_EQ(KVM612_NR_ADDRESS_SPACES,
		  kvmmu_check_extension(self->devfd,
					KVM_CAP_MULTI_ADDRESS_SPACE));
}

TEST_F(sys, cap_unknown_is_zero)
{
	static const long caps[] = {
		0x7fffffff, -1, -0x7fffffff, 0x80000000L, 1L << 40, 100000,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(caps); i++)
		EXPECT_EQ(0, kvmmu_check_extension(self->devfd, caps[i]))
			TH_LOG("cap %ld", caps[i]);
}

TEST_F(sys, create_vm_type_0)
{
	int a = kvmmu_create_vm(self->devfd, 0);
	int b = kvmmu_create_vm(self->devfd, 0);

	EXPECT_LE(0, a);
	EXPECT_LE(0, b);
	EXPECT_NE(a, b);
	close(a);
	close(b);
}

TEST_F(sys, create_vm_bad_type)
{
	/* kvm_arch_init_vm(): type < 32 and in supported_vm_types. */
	EXPECT_EQ(-EINVAL, kvmmu_create_vm(self->devfd, 0xdead));
	EXPECT_EQ(-EINVAL, kvmmu_create_vm(self->devfd, 31));
	EXPECT_EQ(-EINVAL, kvmmu_create_vm(self->devfd, 1UL << 32));
	EXPECT_EQ(-EINVAL, kvmmu_create_vm(self->devfd, ~0UL));
}

/* ------------------------------------------------------------------ */
/* One VM, each test run through REGION (v1) and REGION2 (v2)          */
/* ------------------------------------------------------------------ */

FIXTURE(vm) {
	int devfd;
	int vmfd;
	bool v2;
	uint8_t *mem;
	uint64_t hva;		/* NPG pages */
	uint64_t hva2;		/* another NPG pages */
};

FIXTURE_VARIANT(vm) {
	bool v2;
};

FIXTURE_VARIANT_ADD(vm, v1) {
	.v2 = false,
};

FIXTURE_VARIANT_ADD(vm, v2) {
	.v2 = true,
};

FIXTURE_SETUP(vm)
{
	self->v2 = variant->v2;
	self->vmfd = -1;
	self->devfd = kvmmu_open_dev();
	ASSERT_LE(0, self->devfd)
		TH_LOG("open %s: %s", kvmmu_dev_path(),
		       strerror(-self->devfd));
	if (self->v2 && stock_without_v2(self->devfd))
		SKIP(return, "stock KVM without KVM_SET_USER_MEMORY_REGION2");
	self->vmfd = kvmmu_create_vm(self->devfd, 0);
	ASSERT_LE(0, self->vmfd);
	self->mem = kvmmu_alloc(2 * NPG * PG);
	ASSERT_NE(NULL, self->mem);
	self->hva = (uint64_t)(unsigned long)self->mem;
	self->hva2 = self->hva + NPG * PG;
}

FIXTURE_TEARDOWN(vm)
{
	if (self->vmfd >= 0)
		close(self->vmfd);
	close(self->devfd);
}

/* What the helpers below need of the fixture. */
struct vmctx {
	int vmfd;
	bool v2;
	uint64_t hva;
};

#define CTX(self) (&(struct vmctx){ (self)->vmfd, (self)->v2, (self)->hva })

/* The ioctl of this variant: 0 or -errno. */
static int ctx_set(const struct vmctx *c, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, uint64_t hva)
{
	if (c->v2)
		return kvmmu_set_region2(c->vmfd, slot, flags, gpa, size, hva);
	return kvmmu_set_region(c->vmfd, slot, flags, gpa, size, hva);
}

static int ctx_del(const struct vmctx *c, uint32_t slot)
{
	return ctx_set(c, slot, 0, 0, 0, 0);
}

/*
 * 0 if nothing is mapped at gpa in address space as_id, -EEXIST if a
 * slot covers it.  Leaves no slot behind.
 */
static int ctx_probe(const struct vmctx *c, uint16_t as_id, uint64_t gpa)
{
	uint32_t slot = kvmmu_slot(as_id, PROBE_ID);
	int r = ctx_set(c, slot, 0, gpa, PG, c->hva);

	if (!r && ctx_del(c, slot))
		return -EIO;
	return r;
}

#define set(self, ...)		ctx_set(CTX(self), __VA_ARGS__)
#define del(self, slot)		ctx_del(CTX(self), slot)
#define probe(self, as, gpa)	ctx_probe(CTX(self), as, gpa)

/*
 * Asserts that slot exists with exactly these gpa, size, hva and
 * READONLY bit.  The caller makes sure no other slot of the address
 * space covers [gpa, gpa + size).  LOG_DIRTY_PAGES cannot be seen this
 * way (the identical resend may flip it back): see dirty_log_flag.
 */
static void expect_slot(struct __test_metadata *_metadata, int line,
			const struct vmctx *c, uint32_t slot, uint32_t flags,
			uint64_t gpa, uint64_t size, uint64_t hva)
{
	uint16_t as_id = slot >> 16;
	int r;

	EXPECT_EQ(-EEXIST, ctx_probe(c, as_id, gpa))
		TH_LOG("slot 0x%x: first page free (line %d)", slot, line);
	EXPECT_EQ(-EEXIST, ctx_probe(c, as_id, gpa + size - PG))
		TH_LOG("slot 0x%x: last page free (line %d)", slot, line);

	/* Only an existing slot refuses a new size, HVA or READONLY. */
	r = ctx_set(c, slot, flags, gpa, size + PG, hva);
	EXPECT_EQ(-EINVAL, r)
		TH_LOG("slot 0x%x: size change (line %d)", slot, line);
	if (!r)
		ctx_del(c, slot);
	r = ctx_set(c, slot, flags, gpa, size, hva + PG);
	EXPECT_EQ(-EINVAL, r)
		TH_LOG("slot 0x%x: HVA change (line %d)", slot, line);
	if (!r)
		ctx_del(c, slot);
	r = ctx_set(c, slot, flags ^ RO, gpa, size, hva);
	EXPECT_EQ(-EINVAL, r)
		TH_LOG("slot 0x%x: READONLY change (line %d)", slot, line);
	if (!r)
		ctx_del(c, slot);

	/* At this GPA with this size: an identical resend is a no-op. */
	EXPECT_EQ(0, ctx_set(c, slot, flags, gpa, size, hva))
		TH_LOG("slot 0x%x: identical resend (line %d)", slot, line);
}

#define EXPECT_SLOT(slot, flags, gpa, size, hva) \
	expect_slot(_metadata, __LINE__, CTX(self), slot, flags, gpa, size, \
		    hva)

/* Deleting a missing slot is -EINVAL: a cheap "does not exist". */
#define EXPECT_NO_SLOT(slot) EXPECT_EQ(-EINVAL, del(self, slot))

TEST_F(vm, create_and_identical_resend)
{
	ASSERT_EQ(0, set(self, 0, 0, 4 * PG, 4 * PG, self->hva));
	EXPECT_EQ(0, set(self, 0, 0, 4 * PG, 4 * PG, self->hva));
	EXPECT_EQ(0, set(self, 0, 0, 4 * PG, 4 * PG, self->hva));
	EXPECT_SLOT(0, 0, 4 * PG, 4 * PG, self->hva);
	EXPECT_EQ(0, probe(self, 0, 3 * PG));
	EXPECT_EQ(0, probe(self, 0, 8 * PG));
}

TEST_F(vm, slot_id_limits)
{
	EXPECT_EQ(0, set(self, NR_SLOTS - 1, 0, 0, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, NR_SLOTS, 0, PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, NR_SLOTS + 2, 0, PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, SHRT_MAX, 0, PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0xffff, 0, PG, PG, self->hva));
	EXPECT_EQ(0, probe(self, 0, PG));
	EXPECT_SLOT(NR_SLOTS - 1, 0, 0, PG, self->hva);
}

TEST_F(vm, address_space_ids)
{
	int nr_as = kvmmu_check_extension(self->vmfd,
					  KVM_CAP_MULTI_ADDRESS_SPACE);

	/* A default VM has no private memory: both SMM spaces. */
	EXPECT_EQ(KVM612_NR_ADDRESS_SPACES, nr_as);
	ASSERT_LE(1, nr_as);
	ASSERT_GT(0x10000, nr_as);

	EXPECT_EQ(-EINVAL, set(self, kvmmu_slot(nr_as, 0), 0, 0, PG,
			       self->hva));
	EXPECT_EQ(-EINVAL, set(self, kvmmu_slot(0x7fff, 0), 0, 0, PG,
			       self->hva));
	EXPECT_EQ(-EINVAL, set(self, kvmmu_slot(0xffff, 0), 0, 0, PG,
			       self->hva));
	if (nr_as < 2)
		SKIP(return, "one address space");

	/* Same GPA, same id, other address space: no overlap. */
	ASSERT_EQ(0, set(self, kvmmu_slot(0, 0), 0, 0, 2 * PG, self->hva));
	ASSERT_EQ(0, set(self, kvmmu_slot(1, 0), 0, 0, 2 * PG, self->hva2));
	EXPECT_EQ(-EEXIST, set(self, kvmmu_slot(1, 1), 0, PG, PG,
			       self->hva));
	EXPECT_EQ(-EEXIST, set(self, kvmmu_slot(0, 1), 0, PG, PG,
			       self->hva));
	EXPECT_SLOT(kvmmu_slot(1, 0), 0, 0, 2 * PG, self->hva2);
	EXPECT_SLOT(kvmmu_slot(0, 0), 0, 0, 2 * PG, self->hva);

	/* Deleting (1, 0) leaves (0, 0) alone. */
	EXPECT_EQ(0, del(self, kvmmu_slot(1, 0)));
	EXPECT_NO_SLOT(kvmmu_slot(1, 0));
	EXPECT_EQ(0, probe(self, 1, 0));
	EXPECT_SLOT(kvmmu_slot(0, 0), 0, 0, 2 * PG, self->hva);
}

TEST_F(vm, misaligned)
{
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0x800, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 1, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, PG, self->hva + 1));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, PG, self->hva + 0x800));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, 0x1800, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, 1, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, PG - 1, self->hva));
	EXPECT_NO_SLOT(0);
	EXPECT_EQ(0, probe(self, 0, 0));
}

TEST_F(vm, hva_not_user)
{
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, PG, KERNEL_HVA));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, PG, 0xffffffff80000000ULL));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, PG, 0xfffffffffffff000ULL));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, PG, 1ULL << 63));
	/* A user HVA whose range runs into the kernel half or wraps. */
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, 1ULL << 63, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, -PG, self->hva));
	EXPECT_NO_SLOT(0);
}

TEST_F(vm, unmapped_user_hva_accepted)
{
	uint64_t hole = kvmmu_unmapped_hva(4 * PG);
	void *none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	ASSERT_NE(0ULL, hole);
	ASSERT_NE(MAP_FAILED, none);
	/* KVM only looks at the HVA when it faults a page in. */
	EXPECT_EQ(0, set(self, 0, 0, 0, 4 * PG, hole));
	EXPECT_EQ(0, set(self, 1, 0, 4 * PG, PG, (unsigned long)none));
	EXPECT_EQ(0, set(self, 2, 0, 8 * PG, 16 * PG, FAR_HVA));
	EXPECT_SLOT(0, 0, 0, 4 * PG, hole);
	EXPECT_SLOT(2, 0, 8 * PG, 16 * PG, FAR_HVA);
}

TEST_F(vm, gpa_range)
{
	/* guest_phys_addr + memory_size wraps (to 0 or beyond). */
	EXPECT_EQ(-EINVAL, set(self, 0, 0, -PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, -PG, 2 * PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, -4 * PG, 8 * PG, self->hva));
	/* Beyond any MAXPHYADDR: kvm_arch_prepare_memory_region(). */
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 1ULL << 52, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, -2 * PG, PG, self->hva));
	EXPECT_NO_SLOT(0);
}

/* MAXPHYADDR as KVM's kvm_mmu_max_gfn() reads it: raw CPUID 0x80000008. */
static unsigned int cpu_phys_bits(void)
{
	unsigned int a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"(0x80000000), "c"(0));
	if (a < 0x80000008)
		return 36;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"(0x80000008), "c"(0));
	return a & 0xff;
}

/*
 * A slot may end at the CPU's MAXPHYADDR, not one page further. The
 * limit comes from the CPU (kvmmu caps it at the 48 bits of its 4-level
 * NPT, a documented difference), and the control checks it is KVM's.
 */
TEST_F(vm, max_gfn_cpuid)
{
	unsigned int bits = cpu_phys_bits();
	uint64_t end;

	if (!kvmmu_is_stock() && bits > 48)
		bits = 48;
	end = 1ULL << bits;
	TH_LOG("MAXPHYADDR %u", bits);
	EXPECT_EQ(-EINVAL, set(self, 0, 0, end - PG, 2 * PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, end, PG, self->hva));
	EXPECT_NO_SLOT(0);
	EXPECT_EQ(0, set(self, 0, 0, end - PG, PG, self->hva));
	EXPECT_SLOT(0, 0, end - PG, PG, self->hva);
	/* Moving it one page up crosses the limit: refused, left in place. */
	EXPECT_EQ(-EINVAL, set(self, 0, 0, end, PG, self->hva));
	EXPECT_SLOT(0, 0, end - PG, PG, self->hva);
}

TEST_F(vm, too_many_pages)
{
	uint64_t max = KVM612_MEM_MAX_NR_PAGES;

	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, (max + 1) * PG, FAR_HVA));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 0, (max + 512) * PG, FAR_HVA));
	EXPECT_NO_SLOT(0);
}

TEST_F(vm, overlap)
{
	ASSERT_EQ(0, set(self, 0, 0, 4 * PG, 4 * PG, self->hva));

	EXPECT_EQ(-EEXIST, set(self, 1, 0, 7 * PG, 2 * PG, self->hva));
	EXPECT_EQ(-EEXIST, set(self, 1, 0, 3 * PG, 2 * PG, self->hva));
	EXPECT_EQ(-EEXIST, set(self, 1, 0, 0, 16 * PG, self->hva));
	EXPECT_EQ(-EEXIST, set(self, 1, 0, 5 * PG, PG, self->hva));
	EXPECT_EQ(-EEXIST, set(self, 1, 0, 4 * PG, 4 * PG, self->hva));
	EXPECT_EQ(-EEXIST, set(self, 1, LOG, 7 * PG, PG, self->hva));
	EXPECT_NO_SLOT(1);

	/* Adjacent is fine, and so is sharing the HVA. */
	EXPECT_EQ(0, set(self, 1, 0, 8 * PG, PG, self->hva));
	EXPECT_EQ(0, set(self, 2, 0, 3 * PG, PG, self->hva));

	/* A move onto another slot. */
	EXPECT_EQ(-EEXIST, set(self, 1, 0, 7 * PG, PG, self->hva));
	EXPECT_EQ(-EEXIST, set(self, 2, 0, 4 * PG, PG, self->hva));
	EXPECT_SLOT(0, 0, 4 * PG, 4 * PG, self->hva);
	EXPECT_SLOT(1, 0, 8 * PG, PG, self->hva);
	EXPECT_SLOT(2, 0, 3 * PG, PG, self->hva);
}

TEST_F(vm, flags_valid)
{
	EXPECT_EQ(0, set(self, 0, LOG, 0, PG, self->hva));
	EXPECT_EQ(0, set(self, 1, RO, PG, PG, self->hva));
	EXPECT_EQ(0, set(self, 2, LOG | RO, 2 * PG, PG, self->hva));
	EXPECT_SLOT(0, LOG, 0, PG, self->hva);
	EXPECT_SLOT(1, RO, PG, PG, self->hva);
	EXPECT_SLOT(2, LOG | RO, 2 * PG, PG, self->hva);
}

TEST_F(vm, flags_invalid)
{
	int bit;

	for (bit = 2; bit < 32; bit++) {
		EXPECT_EQ(-EINVAL, set(self, 0, 1U << bit, 0, PG, self->hva))
			TH_LOG("flag bit %d", bit);
		EXPECT_EQ(-EINVAL, set(self, 0, LOG | RO | 1U << bit, 0, PG,
				       self->hva))
			TH_LOG("flag bit %d with LOG|RO", bit);
	}
	EXPECT_EQ(-EINVAL, set(self, 0, ~0U, 0, PG, self->hva));
	EXPECT_NO_SLOT(0);
	EXPECT_EQ(0, probe(self, 0, 0));
}

TEST_F(vm, guest_memfd_flag)
{
	/* v1: not a v1 flag.  v2: a default VM has no private memory. */
	EXPECT_EQ(-EINVAL, set(self, 0, KVM_MEM_GUEST_MEMFD, 0, PG,
			       self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, KVM_MEM_GUEST_MEMFD | LOG, 0, PG,
			       self->hva));
	EXPECT_NO_SLOT(0);
}

TEST_F(vm, delete_missing)
{
	EXPECT_NO_SLOT(7);
	EXPECT_EQ(-EINVAL, del(self, NR_SLOTS));
	EXPECT_EQ(-EINVAL, del(self, kvmmu_slot(1, 7)));
	EXPECT_EQ(-EINVAL, del(self, kvmmu_slot(2, 7)));

	ASSERT_EQ(0, set(self, 7, 0, 0, PG, self->hva));
	EXPECT_EQ(0, del(self, 7));
	EXPECT_NO_SLOT(7);
	EXPECT_EQ(0, probe(self, 0, 0));
}

TEST_F(vm, delete_ignores_gpa_hva_flags)
{
	ASSERT_EQ(0, set(self, 3, 0, 4 * PG, 2 * PG, self->hva));
	/* Size 0: only validated, then the slot goes by id. */
	EXPECT_EQ(0, set(self, 3, LOG | RO, 0x100000, 0, self->hva2));
	EXPECT_NO_SLOT(3);
	EXPECT_EQ(0, probe(self, 0, 4 * PG));
	EXPECT_EQ(0, probe(self, 0, 5 * PG));
}

TEST_F(vm, delete_still_validated)
{
	ASSERT_EQ(0, set(self, 3, 0, 4 * PG, 2 * PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 3, 0, 4 * PG + 0x800, 0, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 3, 0, 4 * PG, 0, self->hva + 8));
	EXPECT_EQ(-EINVAL, set(self, 3, 0, 4 * PG, 0, KERNEL_HVA));
	EXPECT_EQ(-EINVAL, set(self, 3, 1U << 7, 4 * PG, 0, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 3, KVM_MEM_GUEST_MEMFD, 4 * PG, 0,
			       self->hva));
	EXPECT_SLOT(3, 0, 4 * PG, 2 * PG, self->hva);
}

TEST_F(vm, modify_rejected)
{
	ASSERT_EQ(0, set(self, 0, 0, 4 * PG, 4 * PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 4 * PG, 5 * PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 4 * PG, 3 * PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, 0, 4 * PG, 4 * PG, self->hva2));
	EXPECT_EQ(-EINVAL, set(self, 0, RO, 4 * PG, 4 * PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 0, RO | LOG, 4 * PG, 4 * PG,
			       self->hva));
	EXPECT_SLOT(0, 0, 4 * PG, 4 * PG, self->hva);

	ASSERT_EQ(0, set(self, 1, RO, 12 * PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 1, 0, 12 * PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 1, LOG, 12 * PG, PG, self->hva));
	EXPECT_SLOT(1, RO, 12 * PG, PG, self->hva);
}

TEST_F(vm, modify_log_dirty)
{
	ASSERT_EQ(0, set(self, 0, 0, 4 * PG, 4 * PG, self->hva));
	EXPECT_EQ(0, set(self, 0, LOG, 4 * PG, 4 * PG, self->hva));
	EXPECT_EQ(0, set(self, 0, LOG, 4 * PG, 4 * PG, self->hva));
	EXPECT_EQ(0, set(self, 0, 0, 4 * PG, 4 * PG, self->hva));
	ASSERT_EQ(0, set(self, 1, RO, 12 * PG, PG, self->hva));
	EXPECT_EQ(0, set(self, 1, RO | LOG, 12 * PG, PG, self->hva));
	EXPECT_EQ(0, set(self, 1, RO, 12 * PG, PG, self->hva));
	EXPECT_SLOT(0, 0, 4 * PG, 4 * PG, self->hva);
	EXPECT_SLOT(1, RO, 12 * PG, PG, self->hva);
}

TEST_F(vm, move)
{
	ASSERT_EQ(0, set(self, 0, 0, 4 * PG, 2 * PG, self->hva));
	ASSERT_EQ(0, set(self, 1, 0, 20 * PG, PG, self->hva));

	EXPECT_EQ(0, set(self, 0, 0, 10 * PG, 2 * PG, self->hva));
	EXPECT_EQ(0, probe(self, 0, 4 * PG));
	EXPECT_EQ(0, probe(self, 0, 5 * PG));
	EXPECT_SLOT(0, 0, 10 * PG, 2 * PG, self->hva);

	/* Overlapping its own old range is not an overlap. */
	EXPECT_EQ(0, set(self, 0, 0, 11 * PG, 2 * PG, self->hva));
	EXPECT_EQ(0, probe(self, 0, 10 * PG));
	EXPECT_SLOT(0, 0, 11 * PG, 2 * PG, self->hva);

	/* Onto slot 1, or across it: refused, nothing moves. */
	EXPECT_EQ(-EEXIST, set(self, 0, 0, 20 * PG, 2 * PG, self->hva));
	EXPECT_EQ(-EEXIST, set(self, 0, 0, 19 * PG, 2 * PG, self->hva));
	EXPECT_SLOT(0, 0, 11 * PG, 2 * PG, self->hva);
	EXPECT_SLOT(1, 0, 20 * PG, PG, self->hva);

	/* A move may change LOG_DIRTY_PAGES at the same time. */
	EXPECT_EQ(0, set(self, 0, LOG, 30 * PG, 2 * PG, self->hva));
	EXPECT_EQ(0, probe(self, 0, 11 * PG));
	EXPECT_SLOT(0, LOG, 30 * PG, 2 * PG, self->hva);
}

TEST_F(vm, combined_errors)
{
	ASSERT_EQ(0, set(self, 0, 0, 4 * PG, 4 * PG, self->hva));
	ASSERT_EQ(0, set(self, 1, 0, 12 * PG, PG, self->hva));

	/* Two EINVALs. */
	EXPECT_EQ(-EINVAL, set(self, 2, 1U << 9, 0x800, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 2, 0, 0x800, 0x800, self->hva + 1));
	/* Every EINVAL beats EEXIST. */
	EXPECT_EQ(-EINVAL, set(self, 2, 0, 4 * PG + 0x800, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 2, 0, 4 * PG, 0x800, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 2, 0, 4 * PG, PG, self->hva + 1));
	EXPECT_EQ(-EINVAL, set(self, 2, 1U << 9, 4 * PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 2, KVM_MEM_GUEST_MEMFD, 4 * PG, PG,
			       self->hva));
	EXPECT_EQ(-EINVAL, set(self, NR_SLOTS, 0, 4 * PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, kvmmu_slot(2, 2), 0, 4 * PG, PG,
			       self->hva));
	EXPECT_EQ(-EINVAL, set(self, 2, 0, 4 * PG, PG, KERNEL_HVA));
	EXPECT_EQ(-EINVAL, set(self, 2, 0, 4 * PG,
			       (KVM612_MEM_MAX_NR_PAGES + 1) * PG, FAR_HVA));
	EXPECT_NO_SLOT(2);

	/* Existing slot: a bad change beats the overlap of a move. */
	EXPECT_EQ(-EINVAL, set(self, 1, 0, 4 * PG, 2 * PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 1, 0, 4 * PG, PG, self->hva2));
	EXPECT_EQ(-EINVAL, set(self, 1, RO, 4 * PG, PG, self->hva));
	EXPECT_EQ(-EINVAL, set(self, 1, 1U << 9, 4 * PG, PG, self->hva));
	/* A LOG_DIRTY_PAGES change does not: the move fails as a whole. */
	EXPECT_EQ(-EEXIST, set(self, 1, LOG, 4 * PG, PG, self->hva));

	/* Deleting a missing slot with bad fields. */
	EXPECT_EQ(-EINVAL, set(self, 2, 1U << 9, 0x800, 0, self->hva + 1));

	EXPECT_SLOT(0, 0, 4 * PG, 4 * PG, self->hva);
	EXPECT_SLOT(1, 0, 12 * PG, PG, self->hva);
}

TEST_F(vm, sequence)
{
	/* create */
	ASSERT_EQ(0, set(self, 5, 0, 0x10000, 4 * PG, self->hva));
	EXPECT_SLOT(5, 0, 0x10000, 4 * PG, self->hva);
	/* move up */
	ASSERT_EQ(0, set(self, 5, 0, 0x40000, 4 * PG, self->hva));
	EXPECT_EQ(0, probe(self, 0, 0x10000));
	EXPECT_EQ(0, probe(self, 0, 0x13000));
	EXPECT_SLOT(5, 0, 0x40000, 4 * PG, self->hva);
	/* log dirty on, then move back down with it */
	ASSERT_EQ(0, set(self, 5, LOG, 0x40000, 4 * PG, self->hva));
	ASSERT_EQ(0, set(self, 5, LOG, 0x8000, 4 * PG, self->hva));
	EXPECT_EQ(0, probe(self, 0, 0x40000));
	EXPECT_SLOT(5, LOG, 0x8000, 4 * PG, self->hva);
	/* a neighbour, then log dirty off */
	ASSERT_EQ(0, set(self, 6, RO, 0xc000, 2 * PG, self->hva2));
	ASSERT_EQ(0, set(self, 5, 0, 0x8000, 4 * PG, self->hva));
	EXPECT_SLOT(5, 0, 0x8000, 4 * PG, self->hva);
	EXPECT_SLOT(6, RO, 0xc000, 2 * PG, self->hva2);
	/* delete, and the id is free for a different slot */
	ASSERT_EQ(0, del(self, 5));
	EXPECT_NO_SLOT(5);
	EXPECT_EQ(0, probe(self, 0, 0x8000));
	EXPECT_EQ(0, probe(self, 0, 0xb000));
	ASSERT_EQ(0, set(self, 5, RO, 0x8000, 2 * PG, self->hva2 + PG));
	EXPECT_SLOT(5, RO, 0x8000, 2 * PG, self->hva2 + PG);
	EXPECT_SLOT(6, RO, 0xc000, 2 * PG, self->hva2);
	ASSERT_EQ(0, del(self, 6));
	ASSERT_EQ(0, del(self, 5));
	EXPECT_NO_SLOT(5);
	EXPECT_NO_SLOT(6);
}

/*
 * LOG_DIRTY_PAGES is visible through KVM_GET_DIRTY_LOG: -ENOENT when the
 * slot has no dirty bitmap (kvm_get_dirty_log_protect()).
 */
TEST_F(vm, dirty_log_flag)
{
	ASSERT_EQ(0, set(self, 0, 0, 0, 4 * PG, self->hva));
	EXPECT_EQ(-ENOENT, kvmmu_get_dirty_log(self->vmfd, 0, 4));
	ASSERT_EQ(0, set(self, 0, LOG, 0, 4 * PG, self->hva));
	EXPECT_EQ(0, kvmmu_get_dirty_log(self->vmfd, 0, 4));
	ASSERT_EQ(0, set(self, 0, LOG, 8 * PG, 4 * PG, self->hva));
	EXPECT_EQ(0, kvmmu_get_dirty_log(self->vmfd, 0, 4));
	ASSERT_EQ(0, set(self, 0, 0, 8 * PG, 4 * PG, self->hva));
	EXPECT_EQ(-ENOENT, kvmmu_get_dirty_log(self->vmfd, 0, 4));

	/* A LOG change refused with the move does not happen either. */
	ASSERT_EQ(0, set(self, 1, 0, 0, PG, self->hva));
	EXPECT_EQ(-EEXIST, set(self, 0, LOG, 0, 4 * PG, self->hva));
	EXPECT_EQ(-ENOENT, kvmmu_get_dirty_log(self->vmfd, 0, 4));

	EXPECT_EQ(-ENOENT, kvmmu_get_dirty_log(self->vmfd, 9, 4));
	EXPECT_EQ(-EINVAL, kvmmu_get_dirty_log(self->vmfd, NR_SLOTS, 4));
	EXPECT_EQ(-EINVAL, kvmmu_get_dirty_log(self->vmfd,
					       kvmmu_slot(2, 0), 4));
}

/* ------------------------------------------------------------------ */
/* How the struct is read                                              */
/* ------------------------------------------------------------------ */

TEST(bad_struct_pointer_efault)
{
	int devfd = kvmmu_open_dev(), vmfd;

	ASSERT_LE(0, devfd);
	vmfd = kvmmu_create_vm(devfd, 0);
	ASSERT_LE(0, vmfd);
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, 0));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vmfd, KVM_SET_USER_MEMORY_REGION,
				       KERNEL_HVA));
	if (!stock_without_v2(devfd)) {
		EXPECT_EQ(-EFAULT, kvmmu_ioctl(vmfd,
					       KVM_SET_USER_MEMORY_REGION2,
					       0));
		EXPECT_EQ(-EFAULT, kvmmu_ioctl(vmfd,
					       KVM_SET_USER_MEMORY_REGION2,
					       KERNEL_HVA));
	}
	close(vmfd);
	close(devfd);
}

/*
 * v1 copies only sizeof(struct kvm_userspace_memory_region) bytes, v2
 * the whole v2 struct: a struct that ends where a PROT_NONE page starts
 * works through v1 and faults through v2, which then creates nothing.
 */
TEST(struct_size_read)
{
	struct kvm_userspace_memory_region r1 = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = PG,
	};
	int devfd = kvmmu_open_dev(), vmfd;
	uint8_t *area, *mem;
	void *tail;

	ASSERT_LE(0, devfd);
	vmfd = kvmmu_create_vm(devfd, 0);
	ASSERT_LE(0, vmfd);
	mem = kvmmu_alloc(PG);
	area = kvmmu_alloc(2 * PG);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, area);
	ASSERT_EQ(0, mprotect(area + PG, PG, PROT_NONE));
	r1.userspace_addr = (unsigned long)mem;
	tail = area + PG - sizeof(r1);
	memcpy(tail, &r1, sizeof(r1));

	if (!stock_without_v2(devfd)) {
		EXPECT_EQ(-EFAULT, kvmmu_ioctl(vmfd,
					       KVM_SET_USER_MEMORY_REGION2,
					       (unsigned long)tail));
		EXPECT_EQ(-EINVAL, kvmmu_delete_region(vmfd, 0));
	}
	EXPECT_EQ(0, kvmmu_ioctl(vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)tail));
	EXPECT_EQ(-EEXIST, kvmmu_set_region(vmfd, 1, 0, 0, PG,
					    (unsigned long)mem));
	close(vmfd);
	close(devfd);
}

/* ------------------------------------------------------------------ */
/* VM capabilities                                                     */
/* ------------------------------------------------------------------ */

TEST_F(sys, vm_caps)
{
	int vmfd = kvmmu_create_vm(self->devfd, 0);

	ASSERT_LE(0, vmfd);
	EXPECT_EQ(1, kvmmu_check_extension(vmfd, KVM_CAP_USER_MEMORY));
	if (!stock_without_v2(self->devfd))
		EXPECT_EQ(1, kvmmu_check_extension(vmfd,
						   KVM_CAP_USER_MEMORY2));
	EXPECT_EQ(NR_SLOTS, kvmmu_check_extension(vmfd, KVM_CAP_NR_MEMSLOTS));
	/* kvm_arch_has_readonly_mem(): no protected state. */
	EXPECT_EQ(1, kvmmu_check_extension(vmfd, KVM_CAP_READONLY_MEM));
	EXPECT_EQ(KVM612_NR_ADDRESS_SPACES,
		  kvmmu_check_extension(vmfd, KVM_CAP_MULTI_ADDRESS_SPACE));
	EXPECT_EQ(0, kvmmu_check_extension(vmfd, 0x7fffffff));
	EXPECT_EQ(0, kvmmu_check_extension(vmfd, -1));
	close(vmfd);
}

/*
 * KVM_CAP_DISABLE_QUIRKS2 with KVM_X86_QUIRK_SLOT_ZAP_ALL (6.12): a slot
 * move or delete then zaps that slot alone (memslot_perf_test -q). The
 * errno of kvm_vm_ioctl_enable_cap(): flags, then bits outside what
 * KVM_CHECK_EXTENSION reported, -EINVAL; disabling twice is fine.
 */
TEST_F(sys, disable_quirks2_slot_zap_all)
{
	long quirks = kvmmu_check_extension(self->devfd,
					    KVM_CAP_DISABLE_QUIRKS2);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_DISABLE_QUIRKS2 };
	int vmfd;

	if (kvmmu_is_stock() && !(quirks & KVM_X86_QUIRK_SLOT_ZAP_ALL))
		SKIP(return, "stock KVM before 6.12: no SLOT_ZAP_ALL quirk");
	ASSERT_NE(0, quirks & KVM_X86_QUIRK_SLOT_ZAP_ALL)
		TH_LOG("KVM_CAP_DISABLE_QUIRKS2 = %#lx", quirks);
	vmfd = kvmmu_create_vm(self->devfd, 0);
	ASSERT_LE(0, vmfd);
	EXPECT_EQ(quirks, kvmmu_check_extension(vmfd,
						KVM_CAP_DISABLE_QUIRKS2));
	cap.flags = 1;
	cap.args[0] = KVM_X86_QUIRK_SLOT_ZAP_ALL;
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vmfd, KVM_ENABLE_CAP,
				       (unsigned long)&cap));
	cap.flags = 0;
	cap.args[0] = 1ULL << 63;
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vmfd, KVM_ENABLE_CAP,
				       (unsigned long)&cap));
	cap.args[0] = KVM_X86_QUIRK_SLOT_ZAP_ALL;
	EXPECT_EQ(0, kvmmu_ioctl(vmfd, KVM_ENABLE_CAP, (unsigned long)&cap));
	EXPECT_EQ(0, kvmmu_ioctl(vmfd, KVM_ENABLE_CAP, (unsigned long)&cap));
	cap.args[0] = 0;
	EXPECT_EQ(0, kvmmu_ioctl(vmfd, KVM_ENABLE_CAP, (unsigned long)&cap));
	close(vmfd);
}

/* ------------------------------------------------------------------ */
/* VM lifetime                                                         */
/* ------------------------------------------------------------------ */

TEST(close_vm_with_slots)
{
	int devfd = kvmmu_open_dev(), vmfd, round, i;
	uint8_t *mem = kvmmu_alloc(NPG * PG);
	uint64_t hva = (unsigned long)mem;

	ASSERT_LE(0, devfd);
	ASSERT_NE(NULL, mem);
	for (round = 0; round < 3; round++) {
		vmfd = kvmmu_create_vm(devfd, 0);
		ASSERT_LE(0, vmfd);
		for (i = 0; i < 8; i++) {
			ASSERT_EQ(0, kvmmu_set_region(vmfd, i, i & 1 ? LOG : 0,
						      i * 2 * PG, 2 * PG,
						      hva));
			ASSERT_EQ(0, kvmmu_set_region(vmfd, kvmmu_slot(1, i),
						      0, i * 2 * PG, 2 * PG,
						      hva));
		}
		/* Close with everything in place. */
		ASSERT_EQ(0, close(vmfd));
	}
	close(devfd);
}

static int fork_child(int devfd, int vmfd, uint64_t hva)
{
	int fail = 0, vm2;
	long r;

	/* kvm_vm_ioctl(): the VM belongs to the parent's mm. */
	r = kvmmu_set_region(vmfd, 1, 0, 8 * PG, PG, hva);
	if (r != -EIO) {
		printf("# child: new slot on parent VM: %ld\n", r);
		fail |= 1;
	}
	r = kvmmu_set_region(vmfd, 0, 0, 0, 4 * PG, hva);
	if (r != -EIO) {
		printf("# child: identical resend on parent VM: %ld\n", r);
		fail |= 2;
	}
	r = kvmmu_delete_region(vmfd, 0);
	if (r != -EIO) {
		printf("# child: delete on parent VM: %ld\n", r);
		fail |= 4;
	}
	r = kvmmu_check_extension(vmfd, KVM_CAP_USER_MEMORY);
	if (r != -EIO) {
		printf("# child: KVM_CHECK_EXTENSION on parent VM: %ld\n", r);
		fail |= 8;
	}
	r = kvmmu_ioctl(vmfd, KVM_CREATE_VCPU, 0);
	if (r != -EIO) {
		printf("# child: KVM_CREATE_VCPU on parent VM: %ld\n", r);
		fail |= 16;
	}
	/* The device itself has no owner. */
	r = kvmmu_check_extension(devfd, KVM_CAP_USER_MEMORY);
	if (r != 1) {
		printf("# child: KVM_CHECK_EXTENSION on device: %ld\n", r);
		fail |= 32;
	}
	vm2 = kvmmu_create_vm(devfd, 0);
	r = vm2 < 0 ? vm2 : kvmmu_set_region(vm2, 0, 0, 0, 4 * PG, hva);
	if (r) {
		printf("# child: own VM and slot: %ld\n", r);
		fail |= 64;
	}
	if (vm2 >= 0)
		close(vm2);
	close(vmfd);
	fflush(stdout);
	return fail;
}

TEST(fork_child_gets_eio)
{
	int devfd = kvmmu_open_dev(), vmfd, status;
	uint8_t *mem = kvmmu_alloc(NPG * PG);
	uint64_t hva = (unsigned long)mem;
	pid_t pid;

	ASSERT_LE(0, devfd);
	ASSERT_NE(NULL, mem);
	vmfd = kvmmu_create_vm(devfd, 0);
	ASSERT_LE(0, vmfd);
	ASSERT_EQ(0, kvmmu_set_region(vmfd, 0, 0, 0, 4 * PG, hva));

	fflush(stdout);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fork_child(devfd, vmfd, hva));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* The parent's VM is intact and still usable. */
	EXPECT_EQ(1, kvmmu_check_extension(vmfd, KVM_CAP_USER_MEMORY));
	EXPECT_EQ(-EEXIST, kvmmu_set_region(vmfd, 2, 0, 3 * PG, PG, hva));
	EXPECT_EQ(-EINVAL, kvmmu_set_region(vmfd, 0, 0, 0, 5 * PG, hva));
	EXPECT_EQ(0, kvmmu_set_region(vmfd, 0, 0, 0, 4 * PG, hva));
	EXPECT_EQ(-EINVAL, kvmmu_delete_region(vmfd, 1));
	EXPECT_EQ(0, kvmmu_set_region(vmfd, 1, 0, 8 * PG, PG, hva));
	EXPECT_EQ(0, kvmmu_delete_region(vmfd, 1));
	EXPECT_EQ(0, kvmmu_delete_region(vmfd, 0));
	close(vmfd);
	close(devfd);
}

/* ------------------------------------------------------------------ */
/* All 32764 slots                                                     */
/* ------------------------------------------------------------------ */

FIXTURE(big) {
	int devfd;
	int vmfd;
	uint64_t hva;
};

FIXTURE_SETUP(big)
{
	void *page = kvmmu_alloc(PG);

	ASSERT_NE(NULL, page);
	self->hva = (unsigned long)page;
	self->devfd = kvmmu_open_dev();
	ASSERT_LE(0, self->devfd);
	self->vmfd = kvmmu_create_vm(self->devfd, 0);
	ASSERT_LE(0, self->vmfd);
}

FIXTURE_TEARDOWN(big)
{
	close(self->vmfd);
	close(self->devfd);
}

/* Slow under nested TCG: one SRCU grace period per update in KVM. */
TEST_F_TIMEOUT(big, max_slots, 1800)
{
	uint32_t i;
	int r;

	for (i = 0; i < NR_SLOTS; i++) {
		r = kvmmu_set_region(self->vmfd, i, 0, (uint64_t)i * PG, PG,
				     self->hva);
		ASSERT_EQ(0, r) TH_LOG("create slot %u", i);
	}
	EXPECT_EQ(-EINVAL, kvmmu_set_region(self->vmfd, NR_SLOTS, 0,
					    (uint64_t)NR_SLOTS * PG, PG,
					    self->hva));
	/* Full: still consistent. */
	EXPECT_EQ(0, kvmmu_set_region(self->vmfd, NR_SLOTS - 1, 0,
				      (uint64_t)(NR_SLOTS - 1) * PG, PG,
				      self->hva));
	EXPECT_EQ(-EEXIST, kvmmu_set_region(self->vmfd, 0, 0, PG, PG,
					    self->hva));
	EXPECT_EQ(0, kvmmu_set_region(self->vmfd, 0, 0,
				      (uint64_t)NR_SLOTS * PG, PG,
				      self->hva));

	for (i = 0; i < NR_SLOTS; i++) {
		r = kvmmu_delete_region(self->vmfd, i);
		ASSERT_EQ(0, r) TH_LOG("delete slot %u", i);
	}
	EXPECT_EQ(-EINVAL, kvmmu_delete_region(self->vmfd, 0));
	EXPECT_EQ(-EINVAL, kvmmu_delete_region(self->vmfd, NR_SLOTS - 1));
	EXPECT_EQ(0, kvmmu_set_region(self->vmfd, 0, 0, 0, PG, self->hva));
}

/* ------------------------------------------------------------------ */
/* Our module only                                                     */
/* ------------------------------------------------------------------ */

/*
 * Each VM file must hold a reference on the module (its fops owner),
 * even with the device closed: otherwise rmmod frees code the VM still
 * runs.  The test never unloads; the harness does that afterwards.
 */
TEST(module_busy_while_vm_open)
{
	const char *name = kvmmu_module_name();
	int devfd, vmfd;
	long r;

	if (kvmmu_is_stock())
		SKIP(return, "stock KVM: not our module");
	ASSERT_TRUE(kvmmu_module_loaded(name))
		TH_LOG("%s not in /proc/modules (KVMMU_MODULE?)", name);

	devfd = kvmmu_open_dev();
	ASSERT_LE(0, devfd);
	vmfd = kvmmu_create_vm(devfd, 0);
	ASSERT_LE(0, vmfd);
	close(devfd);

	r = syscall(SYS_delete_module, name, O_NONBLOCK);
	EXPECT_EQ(-1, r);
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module(%s): %s", name, strerror(errno));
	ASSERT_TRUE(kvmmu_module_loaded(name))
		TH_LOG("%s unloaded with a VM open", name);

	close(vmfd);
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static void vm_dir(char *buf, size_t len, int vmfd)
{
	kvmmu_vm_debugfs_dir(buf, len, getpid(), vmfd);
}

TEST(debugfs_dir_per_vm)
{
	char d1[128], d2[128], f1[160];
	int devfd, a, b, r;

	if (kvmmu_is_stock())
		SKIP(return, "stock KVM: no kvmmu debugfs");
	r = kvmmu_mount_debugfs();
	ASSERT_EQ(0, r) TH_LOG("mount debugfs: %s", strerror(-r));
	ASSERT_TRUE(exists(KVMMU_DEBUGFS_ROOT));

	devfd = kvmmu_open_dev();
	ASSERT_LE(0, devfd);
	a = kvmmu_create_vm(devfd, 0);
	b = kvmmu_create_vm(devfd, 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	vm_dir(d1, sizeof(d1), a);
	vm_dir(d2, sizeof(d2), b);
	snprintf(f1, sizeof(f1), "%s/memslots", d1);
	EXPECT_TRUE(exists(f1)) TH_LOG("%s", f1);
	snprintf(f1, sizeof(f1), "%s/memslots", d2);
	EXPECT_TRUE(exists(f1)) TH_LOG("%s", f1);
	/* No shadow pages in a new VM (nor ever with TDP): the header. */
	EXPECT_EQ(0, kvmmu_read_shadow_pages(a, NULL, 0));

	close(a);
	EXPECT_FALSE(exists(d1)) TH_LOG("%s outlived its VM", d1);
	EXPECT_TRUE(exists(d2));
	close(b);
	EXPECT_FALSE(exists(d2)) TH_LOG("%s outlived its VM", d2);
	close(devfd);
}

/* The example line of the format, and lines that are not that format. */
static const char fmt_ok[] =
	"0 5 0x000000000000a000-0x000000000000afff 0x00007f1234567000-0x00007f1234567fff 0x0 1\n";
static const char *const fmt_bad[] = {
	"0 5 0xa000-0xafff 0x00007f1234567000-0x00007f1234567fff 0x0 1",
	"0 5 0x000000000000a000-0x000000000000afff 0x00007f1234567000-0x00007f1234567fff 0 1",
	"0 5 0x000000000000a000-0x000000000000afff 0x00007f1234567000-0x00007f1234567fff 0x0 1 extra",
	"0 5 0x000000000000a000 0x000000000000afff 0x00007f1234567000-0x00007f1234567fff 0x0 1",
	"as id gpa hva flags npages",
	"",
};

TEST(debugfs_line_format)
{
	struct kvmmu_slot_info s;
	unsigned int i;

	ASSERT_EQ(0, kvmmu_parse_slot_line(fmt_ok, &s));
	EXPECT_EQ(0U, s.as_id);
	EXPECT_EQ(5U, s.id);
	EXPECT_EQ(0xa000ULL, s.gpa_start);
	EXPECT_EQ(0xafffULL, s.gpa_end);
	EXPECT_EQ(0x7f1234567000ULL, s.hva_start);
	EXPECT_EQ(0x7f1234567fffULL, s.hva_end);
	EXPECT_EQ(0U, s.flags);
	EXPECT_EQ(1ULL, s.npages);
	for (i = 0; i < ARRAY_SIZE(fmt_bad); i++)
		EXPECT_EQ(-EPROTO, kvmmu_parse_slot_line(fmt_bad[i], &s))
			TH_LOG("accepted fmt_bad[%u]", i);
}

struct want {
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa;
	uint64_t npages;
	uint64_t hva;
	bool present;
};

static void expect_debugfs(struct __test_metadata *_metadata, int line,
			   int vmfd, const struct want *w, int nr_want)
{
	struct kvmmu_slot_info got[64];
	int n, i, j, nr_present = 0;

	n = kvmmu_read_memslots(getpid(), vmfd, got, 64);
	ASSERT_LE(0, n) TH_LOG("read memslots (line %d): %s", line,
			       strerror(-n));
	ASSERT_GE(64, n);
	for (i = 0; i < nr_want; i++) {
		const struct want *e = &w[i];
		unsigned int as_id = e->slot >> 16, id = e->slot & 0xffff;
		const struct kvmmu_slot_info *s = NULL;

		for (j = 0; j < n; j++)
			if (got[j].as_id == as_id && got[j].id == id) {
				EXPECT_EQ(NULL, s)
					TH_LOG("slot %u %u listed twice",
					       as_id, id);
				s = &got[j];
			}
		if (!e->present) {
			EXPECT_EQ(NULL, s) TH_LOG("line %d: deleted %u %u",
						  line, as_id, id);
			continue;
		}
		nr_present++;
		EXPECT_NE(NULL, s) TH_LOG("line %d: slot %u %u missing",
					  line, as_id, id);
		if (!s)
			continue;
		EXPECT_EQ(e->gpa, s->gpa_start) TH_LOG("line %d", line);
		EXPECT_EQ(e->gpa + e->npages * PG - 1, s->gpa_end)
			TH_LOG("line %d", line);
		EXPECT_EQ(e->hva, s->hva_start) TH_LOG("line %d", line);
		EXPECT_EQ(e->hva + e->npages * PG - 1, s->hva_end)
			TH_LOG("line %d", line);
		EXPECT_EQ(e->flags, s->flags) TH_LOG("line %d", line);
		EXPECT_EQ(e->npages, s->npages) TH_LOG("line %d", line);
	}
	EXPECT_EQ(nr_present, n) TH_LOG("line %d: slot count", line);
}

#define EXPECT_DEBUGFS(w) \
	expect_debugfs(_metadata, __LINE__, self->vmfd, w, \
		       ARRAY_SIZE(w))

TEST_F(vm, debugfs_memslots)
{
	struct want w[] = {
		{ kvmmu_slot(0, 0), 0, 0, 4, self->hva, true },
		{ kvmmu_slot(0, 5), LOG, 0xa000, 1, self->hva + PG, true },
		{ kvmmu_slot(1, 0), 0, 0, 4, self->hva2, true },
		{ kvmmu_slot(0, NR_SLOTS - 1), RO, 0x100000, 2,
		  self->hva2 + 8 * PG, true },
		{ kvmmu_slot(1, 7), LOG | RO, 0xfff000000ULL, 3, FAR_HVA,
		  true },
	};
	struct want none[] = {
		{ kvmmu_slot(0, 0), 0, 0, 0, 0, false },
	};
	unsigned int i;
	int r;

	if (kvmmu_is_stock())
		SKIP(return, "stock KVM: no kvmmu debugfs");
	r = kvmmu_mount_debugfs();
	ASSERT_EQ(0, r) TH_LOG("mount debugfs: %s", strerror(-r));

	/* A new VM: header only. */
	EXPECT_DEBUGFS(none);

	for (i = 0; i < ARRAY_SIZE(w); i++)
		ASSERT_EQ(0, set(self, w[i].slot, w[i].flags, w[i].gpa,
				 w[i].npages * PG, w[i].hva));
	EXPECT_DEBUGFS(w);

	/* move */
	w[1].gpa = 0x20000;
	ASSERT_EQ(0, set(self, w[1].slot, w[1].flags, w[1].gpa, PG,
			 w[1].hva));
	EXPECT_DEBUGFS(w);
	/* delete */
	ASSERT_EQ(0, del(self, w[2].slot));
	w[2].present = false;
	EXPECT_DEBUGFS(w);
	/* flags */
	w[0].flags = LOG;
	ASSERT_EQ(0, set(self, w[0].slot, w[0].flags, w[0].gpa, 4 * PG,
			 w[0].hva));
	EXPECT_DEBUGFS(w);
	/* refused requests change nothing */
	EXPECT_EQ(-EEXIST, set(self, w[1].slot, w[1].flags, 0, PG,
			       w[1].hva));
	EXPECT_EQ(-EINVAL, set(self, w[0].slot, RO, w[0].gpa, 4 * PG,
			       w[0].hva));
	EXPECT_DEBUGFS(w);
	/* everything gone */
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		if (w[i].present)
			ASSERT_EQ(0, del(self, w[i].slot));
		w[i].present = false;
	}
	EXPECT_DEBUGFS(w);
}

TEST_HARNESS_MAIN
