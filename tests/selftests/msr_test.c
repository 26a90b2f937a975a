// SPDX-License-Identifier: GPL-2.0
/*
 * msr_test - guest MSRs through KVM_GET_MSR_INDEX_LIST, KVM_GET/SET_MSRS,
 * KVM_X86_SETUP_MCE and the guest's own RDMSR/WRMSR/RDTSCP (issue 17).
 *
 * Run against stock kvm_amd (KVMMU_STOCK=1, the control) and kvmmu: every
 * check is KVM 6.12's behaviour.
 *
 *   index_list        E2BIG with nmsrs set; the MSRs QEMU relies on listed.
 *   listed_round_trip every listed MSR reads, and takes back what it read;
 *                     then known values for the MSRs both list, and for
 *                     EFER, FS/GS base, APIC base, MTRRs, MC0 (not listed,
 *                     but sent by QEMU), read back exactly.
 *   bad_entries       reserved bits in PAT, EFER, MTRRs, MCi_CTL and an
 *                     unknown index stop KVM_SET_MSRS / KVM_GET_MSRS at
 *                     that entry; nmsrs >= 256 is E2BIG.
 *   setup_mce         KVM_X86_SETUP_MCE: bank count and capability checks,
 *                     MCG_CAP as SVM masks it, MCG_CTL/MCi_CTL all ones.
 *   tsc_sync          a new vCPU's TSC, and a host write of 0, stay in step
 *                     with the VM's last TSC write.
 *   guest_msrs        a real-mode guest: RDMSR sees what the host set,
 *                     WRMSR reaches KVM_GET_MSRS, #GP (vector 13 from its
 *                     IVT) for an unknown MSR and for reserved bits, the
 *                     TSC offset, and RDTSCP's TSC_AUX in the guest while
 *                     the host's own stays its own.
 *
 * The guest is a loop at CODE_GPA: ESI selects RDMSR (0), WRMSR (1) or
 * RDTSCP (2) on ECX / EDX:EAX, then "out %al, $0x10"; the host reads the
 * result with KVM_GET_REGS at that exit. Every vector of its IVT goes to a
 * stub that reports the vector with "out %al, $0x11" and halts.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "kvmmu_util.h"

#define MEM_SIZE	0x10000UL
#define CODE_GPA	0x1000
#define RM_STACK	0x8000
#define PORT_DONE	0x10
#define PORT_EXC	0x11

#define OP_RDMSR	0
#define OP_WRMSR	1
#define OP_RDTSCP	2

#define MSR_IA32_TSC		0x10
#define MSR_IA32_APICBASE	0x1b
#define MSR_MTRRcap		0xfe
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define MSR_MCG_CAP		0x179
#define MSR_MCG_STATUS		0x17a
#define MSR_MCG_CTL		0x17b
#define MSR_MISC_ENABLE		0x1a0
#define MSR_MTRR_BASE0		0x200
#define MSR_MTRR_MASK0		0x201
#define MSR_MTRR_FIX64K		0x250
#define MSR_PAT			0x277
#define MSR_MTRR_DEFTYPE	0x2ff
#define MSR_MC0_CTL		0x400
#define MSR_MC0_STATUS		0x401
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103
#define MSR_UNKNOWN		0x1234	/* no CPU, no KVM defines it */

#define EFER_SCE	(1ULL << 0)
#define EFER_NX		(1ULL << 11)
#define MCG_CTL_P	(1ULL << 8)
#define PAT_DEFAULT	0x0007040600070406ULL
#define PAT_GOOD	0x0007010600050106ULL	/* UC, WC, WT, WP, WB */
#define PAT_BAD		0x0007040600070402ULL	/* type 2 is reserved */

#define S_(x)	#x
#define S(x)	S_(x)

/* The guest (real mode, CS = 0), copied to CODE_GPA. */
extern const unsigned char msr_guest_start[], msr_guest_end[];
extern const unsigned char msr_guest_stubs[];

asm(".pushsection .rodata.msr_test, \"a\"\n"
	".code16\n"
	".globl msr_guest_start\n"
	"msr_guest_start:\n"
	"	cmp $1, %esi\n"
	"	je 1f\n"
	"	cmp $2, %esi\n"
	"	je 2f\n"
	"	rdmsr\n"
	"	jmp 9f\n"
	"1:	wrmsr\n"
	"	jmp 9f\n"
	"2:	rdtscp\n"
	"9:	out %al, $" S(PORT_DONE) "\n"
	"	jmp msr_guest_start\n"
	"	.balign 8\n"
	".globl msr_guest_stubs\n"
	"msr_guest_stubs:\n"
	"	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	"	.balign 8\n"
	"	mov $\\v, %al\n"
	"	out %al, $" S(PORT_EXC) "\n"
	"	hlt\n"
	"	jmp .\n"
	"	.endr\n"
	".globl msr_guest_end\n"
	"msr_guest_end:\n"
	".code64\n"
	".popsection\n");

struct mvm {
	int devfd;
	int vmfd;
	int fd;
	long run_size;
	struct kvm_run *run;
	uint8_t *mem;
	struct kvm_cpuid2 *cpuid;
};

static uint32_t gpa_of(const unsigned char *p)
{
	return CODE_GPA + (uint32_t)(p - msr_guest_start);
}

static struct kvm_cpuid2 *supported_cpuid(struct __test_metadata *_metadata,
					  int devfd)
{
	struct kvm_cpuid2 *c = kvmmu_supported_cpuid(devfd);

	EXPECT_NE(NULL, c) TH_LOG("KVM_GET_SUPPORTED_CPUID: %s",
				  strerror(errno));
	return c;
}

static bool cpuid_ext1_edx(const struct kvm_cpuid2 *c, uint32_t bit)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0x80000001)
			return c->entries[i].edx & bit;
	return false;
}

static void mvm_create(struct __test_metadata *_metadata, struct mvm *m)
{
	size_t len = msr_guest_end - msr_guest_start;
	void *p;
	long r;
	int v;

	memset(m, 0, sizeof(*m));
	m->devfd = kvmmu_open_dev();
	ASSERT_GE(m->devfd, 0) TH_LOG("open %s: %s", kvmmu_dev_path(),
				      strerror(-m->devfd));
	m->run_size = kvmmu_ioctl(m->devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_GE(m->run_size, (long)sizeof(struct kvm_run));
	m->vmfd = kvmmu_create_vm(m->devfd, 0);
	ASSERT_GE(m->vmfd, 0) TH_LOG("KVM_CREATE_VM: %s", strerror(-m->vmfd));
	m->mem = kvmmu_alloc(MEM_SIZE);
	ASSERT_NE(NULL, m->mem);
	memcpy(m->mem + CODE_GPA, msr_guest_start, len);
	/* IVT: vector v -> 0:stub v. */
	for (v = 0; v < 32; v++) {
		uint16_t off = gpa_of(msr_guest_stubs) + 8 * v;

		ASSERT_EQ(0xb0, msr_guest_stubs[8 * v]);
		memcpy(m->mem + 4 * v, &off, 2);
		memset(m->mem + 4 * v + 2, 0, 2);
	}
	r = kvmmu_set_region(m->vmfd, 0, 0, 0, MEM_SIZE,
			     (uint64_t)(unsigned long)m->mem);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));

	m->fd = kvmmu_ioctl(m->vmfd, KVM_CREATE_VCPU, 0);
	ASSERT_GE(m->fd, 0) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-m->fd));
	m->cpuid = supported_cpuid(_metadata, m->devfd);
	ASSERT_NE(NULL, m->cpuid);
	r = kvmmu_ioctl(m->fd, KVM_SET_CPUID2, (unsigned long)m->cpuid);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_CPUID2: %s", strerror(-r));
	p = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 m->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	m->run = p;
}

static void mvm_destroy(struct mvm *m)
{
	if (m->run)
		munmap(m->run, m->run_size);
	free(m->cpuid);
	if (m->fd > 0)
		close(m->fd);
	if (m->mem)
		munmap(m->mem, MEM_SIZE);
	if (m->vmfd > 0)
		close(m->vmfd);
	if (m->devfd > 0)
		close(m->devfd);
}

/* KVM_GET_MSRS / KVM_SET_MSRS of @n entries; returns the ioctl's result. */
static long msrs_io(int fd, unsigned long req, struct kvm_msr_entry *e,
		    uint32_t n)
{
	struct kvm_msrs *msrs;
	long r;

	msrs = calloc(1, sizeof(*msrs) + (n ? n : 1) * sizeof(*e));
	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = n;
	memcpy(msrs->entries, e, n * sizeof(*e));
	r = kvmmu_ioctl(fd, req, (unsigned long)msrs);
	memcpy(e, msrs->entries, n * sizeof(*e));
	free(msrs);
	return r;
}

static long get1(int fd, uint32_t index, uint64_t *data)
{
	struct kvm_msr_entry e = { .index = index };
	long r = msrs_io(fd, KVM_GET_MSRS, &e, 1);

	*data = e.data;
	return r;
}

static long set1(int fd, uint32_t index, uint64_t data)
{
	struct kvm_msr_entry e = { .index = index, .data = data };

	return msrs_io(fd, KVM_SET_MSRS, &e, 1);
}

static struct kvm_msr_list *
get_index_list(struct __test_metadata *_metadata, int devfd)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	long r;

	r = kvmmu_ioctl(devfd, KVM_GET_MSR_INDEX_LIST, (unsigned long)&probe);
	EXPECT_EQ(-E2BIG, r) TH_LOG("KVM_GET_MSR_INDEX_LIST nmsrs 0: %ld", r);
	EXPECT_LT(0, probe.nmsrs);
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		return NULL;
	l->nmsrs = probe.nmsrs;
	r = kvmmu_ioctl(devfd, KVM_GET_MSR_INDEX_LIST, (unsigned long)l);
	EXPECT_EQ(0, r) TH_LOG("KVM_GET_MSR_INDEX_LIST: %s", strerror(-r));
	EXPECT_EQ(probe.nmsrs, l->nmsrs);
	return l;
}

static bool listed(const struct kvm_msr_list *l, uint32_t msr)
{
	uint32_t i;

	for (i = 0; i < l->nmsrs; i++)
		if (l->indices[i] == msr)
			return true;
	return false;
}

/* The MSRs QEMU 7.2 sends without looking at the list, or finds in it. */
static const uint32_t must_list[] = {
	MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_STAR,
	MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SFMASK, MSR_LSTAR, MSR_IA32_TSC,
	MSR_PAT, MSR_MISC_ENABLE, MSR_MCG_STATUS, MSR_MCG_CTL,
};

TEST(index_list)
{
	struct kvm_msr_list *l, small;
	int devfd = kvmmu_open_dev();
	uint32_t i, j;
	long r;

	ASSERT_GE(devfd, 0);
	l = get_index_list(_metadata, devfd);
	ASSERT_NE(NULL, l);
	for (i = 0; i < sizeof(must_list) / sizeof(must_list[0]); i++)
		EXPECT_TRUE(listed(l, must_list[i]))
			TH_LOG("MSR 0x%x is not in the index list", must_list[i]);
	for (i = 0; i < l->nmsrs; i++)
		for (j = i + 1; j < l->nmsrs; j++)
			EXPECT_NE(l->indices[i], l->indices[j]);

	/* One short: E2BIG, and nmsrs says how many. */
	small.nmsrs = l->nmsrs - 1;
	r = kvmmu_ioctl(devfd, KVM_GET_MSR_INDEX_LIST, (unsigned long)&small);
	EXPECT_EQ(-E2BIG, r);
	EXPECT_EQ(l->nmsrs, small.nmsrs);
	r = kvmmu_ioctl(devfd, KVM_GET_MSR_INDEX_LIST, 8);
	EXPECT_EQ(-EFAULT, r);
	free(l);
	close(devfd);
}

struct rt {
	uint32_t index;
	uint64_t val;
};

/* Values both KVMs accept from the host and give back unchanged. */
static const struct rt round_trips[] = {
	{ MSR_SYSENTER_CS, 0x10 },
	{ MSR_SYSENTER_ESP, 0x12345678 },
	{ MSR_SYSENTER_EIP, 0x87654321 },
	{ MSR_STAR, 0x0023001000000000ULL },
	{ MSR_LSTAR, 0xffffffff81000000ULL },
	{ MSR_CSTAR, 0xffffffff81001000ULL },
	{ MSR_KERNEL_GS_BASE, 0xffff888000001000ULL },
	{ MSR_SFMASK, 0x47700 },
	{ MSR_PAT, PAT_GOOD },
	{ MSR_MISC_ENABLE, 0x1801 },
	{ MSR_MCG_STATUS, 0x5 },
	{ MSR_MCG_CTL, 0 },
	{ MSR_TSC_AUX, 0x42 },
	/* Not listed, but QEMU sends them (CPUID MTRR, MCE, SREGS). */
	{ MSR_EFER, EFER_NX | EFER_SCE },
	{ MSR_FS_BASE, 0x7f0000001000ULL },
	{ MSR_GS_BASE, 0x7f0000002000ULL },
	{ MSR_IA32_APICBASE, 0xfee00800 },
	{ MSR_MTRR_DEFTYPE, 0xc06 },
	{ MSR_MTRR_FIX64K, 0x0606060606060606ULL },
	{ MSR_MTRR_BASE0, 0x80000006 },
	{ MSR_MTRR_MASK0, 0xf80000800ULL },
	{ MSR_MC0_CTL, ~0ULL },
	{ MSR_MC0_STATUS, 0x1234 },
};

TEST(listed_round_trip)
{
	struct kvm_msr_entry *e;
	struct kvm_msr_list *l;
	struct mvm m;
	uint64_t v, tsc;
	uint32_t i;
	long r;

	mvm_create(_metadata, &m);
	l = get_index_list(_metadata, m.devfd);
	ASSERT_NE(NULL, l);
	ASSERT_GT(255, l->nmsrs) TH_LOG("more MSRs than one KVM_GET_MSRS");

	/* Every listed MSR reads, and takes back its own value. */
	e = calloc(l->nmsrs, sizeof(*e));
	ASSERT_NE(NULL, e);
	for (i = 0; i < l->nmsrs; i++)
		e[i].index = l->indices[i];
	r = msrs_io(m.fd, KVM_GET_MSRS, e, l->nmsrs);
	EXPECT_EQ(l->nmsrs, r) TH_LOG("KVM_GET_MSRS stopped at 0x%x",
				      r >= 0 && r < l->nmsrs ?
				      l->indices[r] : 0);
	/*
	 * Written back one by one: KVM's paravirtual MSRs (0x11, 0x12,
	 * 0x4b564dxx), listed by stock KVM, refuse some values without the
	 * KVM CPUID leaves this test does not set; kvmmu lists none.
	 */
	for (i = 0; i < l->nmsrs; i++) {
		bool pv = e[i].index == 0x11 || e[i].index == 0x12 ||
			  (e[i].index & ~0xffu) == 0x4b564d00;

		r = msrs_io(m.fd, KVM_SET_MSRS, &e[i], 1);
		if (pv && r != 1) {
			TH_LOG("KVM PV MSR 0x%x: KVM_SET_MSRS of its own 0x%llx: %ld",
			       e[i].index, (unsigned long long)e[i].data, r);
			continue;
		}
		EXPECT_EQ(1, r) TH_LOG("KVM_SET_MSRS 0x%x of its own 0x%llx: %ld",
				       e[i].index,
				       (unsigned long long)e[i].data, r);
	}
	free(e);

	/* A fresh vCPU's PAT, MTRRcap, as KVM has them. */
	ASSERT_EQ(1, get1(m.fd, MSR_PAT, &v));
	EXPECT_EQ(PAT_DEFAULT, v);
	ASSERT_EQ(1, get1(m.fd, MSR_MTRRcap, &v));
	EXPECT_EQ(0x508, v);

	for (i = 0; i < sizeof(round_trips) / sizeof(round_trips[0]); i++) {
		const struct rt *t = &round_trips[i];

		if (t->index == MSR_TSC_AUX && !listed(l, MSR_TSC_AUX))
			continue;
		r = set1(m.fd, t->index, t->val);
		EXPECT_EQ(1, r) TH_LOG("KVM_SET_MSRS 0x%x = 0x%llx: %ld",
				       t->index, (unsigned long long)t->val, r);
		r = get1(m.fd, t->index, &v);
		EXPECT_EQ(1, r) TH_LOG("KVM_GET_MSRS 0x%x: %ld", t->index, r);
		EXPECT_EQ(t->val, v) TH_LOG("MSR 0x%x wrote 0x%llx read 0x%llx",
					    t->index,
					    (unsigned long long)t->val,
					    (unsigned long long)v);
	}

	/*
	 * kvmclock's MSRs, which QEMU 7.2 reads and writes whatever the
	 * CPUID says: 0 for a guest that never enabled kvmclock.
	 */
	ASSERT_EQ(1, get1(m.fd, 0x11, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(1, get1(m.fd, 0x12, &v));
	EXPECT_EQ(0, v);
	EXPECT_EQ(1, set1(m.fd, 0x11, 0));
	EXPECT_EQ(1, set1(m.fd, 0x12, 0));

	/* TSC: the value set, moving on with the host's. */
	ASSERT_EQ(1, set1(m.fd, MSR_IA32_TSC, 1ULL << 40));
	ASSERT_EQ(1, get1(m.fd, MSR_IA32_TSC, &tsc));
	EXPECT_LE(1ULL << 40, tsc);
	EXPECT_GT((1ULL << 40) + (1ULL << 38), tsc);
	free(l);
	mvm_destroy(&m);
}

TEST(bad_entries)
{
	struct kvm_msr_entry e[3];
	struct kvm_msrs *big;
	struct mvm m;
	uint64_t v;
	long r;

	mvm_create(_metadata, &m);

	/* Stops at the bad entry: the count before it. */
	e[0] = (struct kvm_msr_entry){ .index = MSR_SYSENTER_CS, .data = 8 };
	e[1] = (struct kvm_msr_entry){ .index = MSR_PAT, .data = PAT_BAD };
	e[2] = (struct kvm_msr_entry){ .index = MSR_STAR, .data = 1 };
	EXPECT_EQ(1, msrs_io(m.fd, KVM_SET_MSRS, e, 3));
	ASSERT_EQ(1, get1(m.fd, MSR_PAT, &v));
	EXPECT_EQ(PAT_DEFAULT, v);
	ASSERT_EQ(1, get1(m.fd, MSR_STAR, &v));
	EXPECT_EQ(0, v) TH_LOG("the entry after the bad one was written");

	e[1] = (struct kvm_msr_entry){ .index = MSR_UNKNOWN, .data = 0 };
	EXPECT_EQ(1, msrs_io(m.fd, KVM_SET_MSRS, e, 3));
	e[1].data = 5;
	EXPECT_EQ(1, msrs_io(m.fd, KVM_GET_MSRS, e, 3));
	e[0].index = MSR_UNKNOWN;
	EXPECT_EQ(0, msrs_io(m.fd, KVM_GET_MSRS, e, 3));

	/* Reserved bits. */
	EXPECT_EQ(0, set1(m.fd, MSR_EFER, 1ULL << 2));
	EXPECT_EQ(0, set1(m.fd, MSR_EFER, 1ULL << 20));
	EXPECT_EQ(0, set1(m.fd, MSR_PAT, 0x0007040600070403ULL));
	EXPECT_EQ(0, set1(m.fd, MSR_PAT, 0x0807040600070406ULL));
	EXPECT_EQ(0, set1(m.fd, MSR_MTRR_DEFTYPE, 0x1006));
	EXPECT_EQ(0, set1(m.fd, MSR_MTRR_DEFTYPE, 0xc02));
	EXPECT_EQ(0, set1(m.fd, MSR_MTRR_FIX64K, 0x0606060606060603ULL));
	EXPECT_EQ(0, set1(m.fd, MSR_MTRR_BASE0, 0x80000106));
	EXPECT_EQ(0, set1(m.fd, MSR_MTRR_BASE0, 0x80000007));
	EXPECT_EQ(0, set1(m.fd, MSR_MTRR_BASE0, (1ULL << 63) | 6));
	EXPECT_EQ(0, set1(m.fd, MSR_MTRR_MASK0, 0xf80000801ULL));
	EXPECT_EQ(0, set1(m.fd, 0x210, 0)) TH_LOG("variable MTRR 8 exists");
	EXPECT_EQ(0, set1(m.fd, MSR_MTRRcap, 0x508));
	EXPECT_EQ(0, set1(m.fd, MSR_MC0_CTL, 0x1234));
	/* Without MCG_CTL_P the host may write MCG_CTL only 0. */
	EXPECT_EQ(0, set1(m.fd, MSR_MCG_CTL, ~0ULL));
	/* Non-canonical with 48 and with 57 bits (TCG's -cpu max has LA57). */
	EXPECT_EQ(0, set1(m.fd, MSR_LSTAR, 0x0100000000000000ULL));
	EXPECT_EQ(0, set1(m.fd, MSR_FS_BASE, 0x8000000000000000ULL));
	EXPECT_EQ(0, set1(m.fd, MSR_KERNEL_GS_BASE, 0x0100000000001000ULL));
	/* APIC base: reserved bits, x2APIC without enable, not offered. */
	EXPECT_EQ(0, set1(m.fd, MSR_IA32_APICBASE, 0xfee00801));
	EXPECT_EQ(0, set1(m.fd, MSR_IA32_APICBASE, 0xfee00400));

	/* nmsrs at MAX_IO_MSRS (256) or above: E2BIG. */
	big = calloc(1, sizeof(*big) + 256 * sizeof(big->entries[0]));
	ASSERT_NE(NULL, big);
	big->nmsrs = 256;
	r = kvmmu_ioctl(m.fd, KVM_GET_MSRS, (unsigned long)big);
	EXPECT_EQ(-E2BIG, r);
	r = kvmmu_ioctl(m.fd, KVM_SET_MSRS, (unsigned long)big);
	EXPECT_EQ(-E2BIG, r);
	big->nmsrs = 0;
	EXPECT_EQ(0, kvmmu_ioctl(m.fd, KVM_SET_MSRS, (unsigned long)big));
	free(big);
	r = kvmmu_ioctl(m.fd, KVM_GET_MSRS, 8);
	EXPECT_EQ(-EFAULT, r);
	mvm_destroy(&m);
}

TEST(setup_mce)
{
	uint64_t cap, v;
	struct mvm m;
	long r;

	mvm_create(_metadata, &m);
	if (kvmmu_check_extension(m.devfd, KVM_CAP_MCE) <= 0) {
		mvm_destroy(&m);
		SKIP(return, "KVM_CAP_MCE is 0");
	}
	EXPECT_EQ(32, kvmmu_check_extension(m.devfd, KVM_CAP_MCE));
	r = kvmmu_ioctl(m.devfd, KVM_X86_GET_MCE_CAP_SUPPORTED,
			(unsigned long)&cap);
	ASSERT_EQ(0, r);
	EXPECT_TRUE(cap & MCG_CTL_P);

	cap = MCG_CTL_P;	/* no banks */
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(m.fd, KVM_X86_SETUP_MCE,
				       (unsigned long)&cap));
	cap = MCG_CTL_P | 33;
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(m.fd, KVM_X86_SETUP_MCE,
				       (unsigned long)&cap));
	cap = (1ULL << 12) | 10;	/* not a supported capability */
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(m.fd, KVM_X86_SETUP_MCE,
				       (unsigned long)&cap));
	cap = MCG_CTL_P | 10;
	ASSERT_EQ(0, kvmmu_ioctl(m.fd, KVM_X86_SETUP_MCE,
				 (unsigned long)&cap));

	ASSERT_EQ(1, get1(m.fd, MSR_MCG_CAP, &v));
	EXPECT_EQ(MCG_CTL_P | 10, v);
	ASSERT_EQ(1, get1(m.fd, MSR_MCG_CTL, &v));
	EXPECT_EQ(~0ULL, v);
	ASSERT_EQ(1, get1(m.fd, MSR_MC0_CTL + 4 * 9, &v));
	EXPECT_EQ(~0ULL, v);
	EXPECT_EQ(0, get1(m.fd, MSR_MC0_CTL + 4 * 10, &v));
	EXPECT_EQ(0, set1(m.fd, MSR_MC0_CTL + 4 * 10, 0));
	EXPECT_EQ(1, set1(m.fd, MSR_MCG_CTL, 0));
	EXPECT_EQ(0, set1(m.fd, MSR_MCG_CTL, 1));
	/* MCG_CAP is read-only. */
	EXPECT_EQ(0, set1(m.fd, MSR_MCG_CAP, MCG_CTL_P | 10));
	mvm_destroy(&m);
}

static bool host_tsc_stable(void)
{
	char buf[32] = "";
	FILE *f;

	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return !strncmp(buf, "tsc", 3);
}

/*
 * kvm_synchronize_tsc(): a new vCPU, and a host write of 0, start in step
 * with the VM's last TSC write; a write far from it is taken as written.
 */
TEST(tsc_sync)
{
	uint64_t t0, t1, hz;
	struct mvm m;
	long khz;
	int fd1;

	/*
	 * On a host whose TSC the kernel found unstable, kvm_synchronize_tsc()
	 * adds elapsed time rather than matching offsets: nothing to compare.
	 */
	if (kvmmu_is_stock() && !host_tsc_stable())
		SKIP(return, "the host's clocksource is not tsc: KVM does not match TSC offsets");
	mvm_create(_metadata, &m);
	khz = kvmmu_ioctl(m.vmfd, KVM_GET_TSC_KHZ, 0);
	ASSERT_LT(0, khz);
	hz = (uint64_t)khz * 1000;

	ASSERT_EQ(1, set1(m.fd, MSR_IA32_TSC, 1ULL << 40));
	fd1 = kvmmu_ioctl(m.vmfd, KVM_CREATE_VCPU, 1);
	ASSERT_GE(fd1, 0);
	ASSERT_EQ(1, get1(fd1, MSR_IA32_TSC, &t1));
	EXPECT_LE(1ULL << 40, t1) TH_LOG("a new vCPU is not in step");
	EXPECT_GT((1ULL << 40) + 4 * hz, t1);

	/*
	 * A write of 0 matches the VM's offset. (A write within a second
	 * is matched too, but KVM measures that second from its last write,
	 * which vCPU creation resets to 0: not compared here.)
	 */
	ASSERT_EQ(1, set1(fd1, MSR_IA32_TSC, 0));
	ASSERT_EQ(1, get1(fd1, MSR_IA32_TSC, &t1));
	EXPECT_LE(1ULL << 40, t1) TH_LOG("a write of 0 is not in step");
	EXPECT_GT((1ULL << 40) + 4 * hz, t1);
	/* Ten seconds ahead: taken as written. */
	ASSERT_EQ(1, get1(m.fd, MSR_IA32_TSC, &t0));
	ASSERT_EQ(1, set1(fd1, MSR_IA32_TSC, t0 + 10 * hz));
	ASSERT_EQ(1, get1(fd1, MSR_IA32_TSC, &t1));
	EXPECT_LE(t0 + 10 * hz, t1);
	close(fd1);
	mvm_destroy(&m);
}

/* One guest operation: returns the port (PORT_DONE or PORT_EXC). */
static int guest_op(struct __test_metadata *_metadata, struct mvm *m,
		    int op, uint32_t msr, uint64_t val, struct kvm_regs *out)
{
	struct kvm_regs regs;
	long r;

	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rsp = RM_STACK;
	regs.rflags = 0x2;
	regs.rsi = op;
	regs.rcx = msr;
	regs.rax = (uint32_t)val;
	regs.rdx = val >> 32;
	r = kvmmu_ioctl(m->fd, KVM_SET_REGS, (unsigned long)&regs);
	EXPECT_EQ(0, r);
	r = kvmmu_ioctl(m->fd, KVM_RUN, 0);
	EXPECT_EQ(0, r) TH_LOG("KVM_RUN: %s", strerror(-r));
	EXPECT_EQ(KVM_EXIT_IO, m->run->exit_reason)
		TH_LOG("exit reason %u", m->run->exit_reason);
	if (m->run->exit_reason != KVM_EXIT_IO)
		return -1;
	r = kvmmu_ioctl(m->fd, KVM_GET_REGS, (unsigned long)out);
	EXPECT_EQ(0, r);
	return m->run->io.port;
}

static uint8_t exc_vector(struct mvm *m)
{
	return *((uint8_t *)m->run + m->run->io.data_offset);
}

static uint64_t edx_eax(const struct kvm_regs *r)
{
	return (uint32_t)r->rax | (uint64_t)(uint32_t)r->rdx << 32;
}

static void rdtscp_host(uint32_t *aux)
{
	uint32_t lo, hi;

	asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
}

TEST(guest_msrs)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct mvm m;
	uint64_t v;
	int port;
	long r;

	mvm_create(_metadata, &m);
	r = kvmmu_ioctl(m.fd, KVM_GET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r);
	sregs.cs.selector = 0;
	sregs.cs.base = 0;
	r = kvmmu_ioctl(m.fd, KVM_SET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r);

	/* RDMSR sees what the host set (LSTAR: passed through by both). */
	ASSERT_EQ(1, set1(m.fd, MSR_LSTAR, 0xffffffff81234000ULL));
	port = guest_op(_metadata, &m, OP_RDMSR, MSR_LSTAR, 0, &regs);
	ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
	EXPECT_EQ(0xffffffff81234000ULL, edx_eax(&regs));
	ASSERT_EQ(1, set1(m.fd, MSR_SYSENTER_EIP, 0x1234abcd));
	port = guest_op(_metadata, &m, OP_RDMSR, MSR_SYSENTER_EIP, 0, &regs);
	ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
	EXPECT_EQ(0x1234abcd, edx_eax(&regs));

	/* WRMSR reaches the host. */
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_STAR,
			0x0033002000000000ULL, &regs);
	ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
	ASSERT_EQ(1, get1(m.fd, MSR_STAR, &v));
	EXPECT_EQ(0x0033002000000000ULL, v);
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_KERNEL_GS_BASE,
			0xffff888012345000ULL, &regs);
	ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
	ASSERT_EQ(1, get1(m.fd, MSR_KERNEL_GS_BASE, &v));
	EXPECT_EQ(0xffff888012345000ULL, v);
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_PAT, PAT_GOOD, &regs);
	ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
	ASSERT_EQ(1, get1(m.fd, MSR_PAT, &v));
	EXPECT_EQ(PAT_GOOD, v);
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_MTRR_DEFTYPE, 0xc06,
			&regs);
	ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
	ASSERT_EQ(1, get1(m.fd, MSR_MTRR_DEFTYPE, &v));
	EXPECT_EQ(0xc06, v);
	port = guest_op(_metadata, &m, OP_RDMSR, MSR_MTRRcap, 0, &regs);
	ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
	EXPECT_EQ(0x508, edx_eax(&regs));
	if (cpuid_ext1_edx(m.cpuid, 1u << 20)) {
		port = guest_op(_metadata, &m, OP_WRMSR, MSR_EFER,
				EFER_NX | EFER_SCE, &regs);
		ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
		r = kvmmu_ioctl(m.fd, KVM_GET_SREGS, (unsigned long)&sregs);
		ASSERT_EQ(0, r);
		EXPECT_EQ(EFER_NX | EFER_SCE, sregs.efer);
	}

	/* #GP: unknown MSRs, reserved bits; nothing changes. */
	port = guest_op(_metadata, &m, OP_RDMSR, MSR_UNKNOWN, 0, &regs);
	EXPECT_EQ(PORT_EXC, port);
	EXPECT_EQ(13, exc_vector(&m));
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_UNKNOWN, 0, &regs);
	EXPECT_EQ(PORT_EXC, port);
	EXPECT_EQ(13, exc_vector(&m));
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_PAT, PAT_BAD, &regs);
	EXPECT_EQ(PORT_EXC, port);
	EXPECT_EQ(13, exc_vector(&m));
	ASSERT_EQ(1, get1(m.fd, MSR_PAT, &v));
	EXPECT_EQ(PAT_GOOD, v);
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_EFER, 1ULL << 2, &regs);
	EXPECT_EQ(PORT_EXC, port);
	EXPECT_EQ(13, exc_vector(&m));
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_MTRR_DEFTYPE, 0xc02,
			&regs);
	EXPECT_EQ(PORT_EXC, port);
	EXPECT_EQ(13, exc_vector(&m));
	port = guest_op(_metadata, &m, OP_WRMSR, MSR_MTRRcap, 0x508, &regs);
	EXPECT_EQ(PORT_EXC, port);
	EXPECT_EQ(13, exc_vector(&m));

	/* The TSC the host set, running on. */
	ASSERT_EQ(1, set1(m.fd, MSR_IA32_TSC, 1ULL << 40));
	port = guest_op(_metadata, &m, OP_RDMSR, MSR_IA32_TSC, 0, &regs);
	ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
	EXPECT_LE(1ULL << 40, edx_eax(&regs));
	EXPECT_GT((1ULL << 40) + (1ULL << 38), edx_eax(&regs));

	/* TSC_AUX: the guest's in its RDTSCP, the host's in the host's. */
	if (cpuid_ext1_edx(m.cpuid, 1u << 27)) {
		uint32_t aux, aux0;
		cpu_set_t set;
		int cpu = sched_getcpu();

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
		rdtscp_host(&aux0);

		ASSERT_EQ(1, set1(m.fd, MSR_TSC_AUX, 0x5a5));
		port = guest_op(_metadata, &m, OP_RDTSCP, 0, 0, &regs);
		ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
		EXPECT_EQ(0x5a5, (uint32_t)regs.rcx);
		port = guest_op(_metadata, &m, OP_WRMSR, MSR_TSC_AUX, 0x777,
				&regs);
		ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
		port = guest_op(_metadata, &m, OP_RDTSCP, 0, 0, &regs);
		ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
		EXPECT_EQ(0x777, (uint32_t)regs.rcx);
		port = guest_op(_metadata, &m, OP_RDMSR, MSR_TSC_AUX, 0, &regs);
		ASSERT_EQ(PORT_DONE, port) TH_LOG("vector %u", exc_vector(&m));
		EXPECT_EQ(0x777, edx_eax(&regs));
		ASSERT_EQ(1, get1(m.fd, MSR_TSC_AUX, &v));
		EXPECT_EQ(0x777, v);
		rdtscp_host(&aux);
		EXPECT_EQ(aux0, aux) TH_LOG("host TSC_AUX 0x%x became 0x%x",
					    aux0, aux);
	}
	mvm_destroy(&m);
}

TEST_HARNESS_MAIN
