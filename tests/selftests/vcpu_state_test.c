// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu_state_test - the vCPU state QEMU saves and restores beside the
 * registers, against KVM 6.12's rules: KVM_GET/SET_FPU, KVM_GET/SET_XSAVE,
 * KVM_GET_XSAVE2, KVM_GET/SET_XCRS, KVM_GET/SET_DEBUGREGS,
 * KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR, KVM_GET/SET_MP_STATE and
 * their capabilities.  Every test passes against stock kvm_amd
 * (KVMMU_DEV=/dev/kvm KVMMU_STOCK=1, the control).
 *
 * The guest is flat 32-bit protected mode set up by KVM_SET_SREGS (no
 * GDT, IDT or paging; VEX instructions are #UD in real mode), code at GPA
 * 0x1000 of a 64 KiB slot at GPA 0, copied from vs_guest_start..end.
 * Each routine ends with an 8-bit OUT of its own value to port 0x10.  An
 * exception would shut the guest down (no IDT): that shows as an exit
 * other than the OUT.  The vCPU's CPUID is KVM's supported CPUID plus
 * XSAVE, and AVX when the host has YMM enabled in XCR0, and leaf 0xD with
 * x87|SSE(|AVX): kvmmu's supported CPUID offers no XSAVE, and KVM
 * accepts any CPUID a VMM sets.
 *
 *   caps
 *	KVM_CAP_XSAVE, DEBUGREGS, SET_TSS_ADDR, SET_IDENTITY_MAP_ADDR and
 *	MP_STATE are 1, XCRS says whether the host has XSAVE, XSAVE2 is the
 *	standard-format size of the host's XCR0 features within
 *	x87|SSE|AVX|AVX-512|PKRU from CPUID 0xD, at least 4096.  On kvmmu
 *	ADJUST_CLOCK and IRQCHIP are 0 (no kvmclock, no in-kernel irqchip).
 *
 *   fpu_guest_to_host
 *	XCR0 = x87|SSE(|AVX) by KVM_SET_XCRS; the guest runs XSETBV with
 *	the same value (QEMU 7.2 TCG does not intercept it), reads it back
 *	with XGETBV, loads FCW, two 80-bit values, MXCSR and xmm0-7 (ymm0-7
 *	with AVX) with known patterns.  Asserts: XGETBV saw the value, and
 *	KVM_GET_FPU, KVM_GET_XSAVE and KVM_GET_XSAVE2 hold exactly those
 *	values (FCW, TOP and abridged tags, ST0/ST1, xmm, MXCSR in the
 *	XSAVE layout, XSTATE_BV with x87|SSE(|AVX), the upper ymm halves at
 *	CPUID 0xD.2's offset), XSAVE2's first 4096 bytes equal XSAVE's.
 *
 *   fpu_host_to_guest
 *	The host writes FCW, TOP, tags, ST0/ST1, MXCSR, xmm0-7 and the
 *	upper ymm halves into the XSAVE buffer and calls KVM_SET_XSAVE;
 *	the guest stores them all to memory.  Asserts the guest saw exactly
 *	what the host set.  Then KVM_SET_FPU of other values reads back
 *	with KVM_GET_FPU (every field KVM copies; MXCSR is not one of them
 *	and reads 0).
 *
 *   xsave_bad_input
 *	KVM_SET_XSAVE with XSTATE_BV bit 8 (PT, never supported), a
 *	compacted header (XCOMP_BV != 0), a reserved header byte, or MXCSR
 *	bits outside the MXCSR mask: EINVAL each, and the state read back
 *	unchanged.  A bad pointer: EFAULT.
 *
 *   xcrs
 *	Initial XCR0 1; with leaf 0xD offering x87|SSE: 3 accepted and read
 *	back; 0, 2 (no x87), 5 (AVX, not offered; or without SSE), bit 63,
 *	flags 1, nr_xcrs 17: EINVAL, XCR0 unchanged; an entry for XCR 1
 *	alone is ignored (0); nr_xcrs 0 is 0.  If the host enabled MPX: with
 *	leaf 0xD offering it too, XCR0 with MPX is EINVAL (kvm_amd takes
 *	MPX out of its supported XCR0; kvmmu accepted it before).
 *
 *   debugregs
 *	Initial DR0-3 0, DR6 0xffff0ff0, DR7 0x400.  Set DR0-3, DR6 and DR7
 *	(no enable bits) and read them back; the guest reads DR0-3 and DR7
 *	with MOV from DR and sees the host's values.  flags 1, DR6 or DR7
 *	with bit 32: EINVAL, nothing changed.
 *
 *   vm_addresses
 *	KVM_SET_TSS_ADDR 0xfffbd000 and 0xffffd000 (the highest): 0;
 *	0xffffe000: EINVAL.  KVM_SET_IDENTITY_MAP_ADDR before any vCPU: 0,
 *	a bad pointer EFAULT; after KVM_CREATE_VCPU: EINVAL.
 *
 *   mp_state
 *	Without KVM_CREATE_IRQCHIP: the state is RUNNABLE; SET RUNNABLE is
 *	0, every other state (UNINITIALIZED, INIT_RECEIVED, HALTED,
 *	SIPI_RECEIVED, ..., SUSPENDED, 99) EINVAL; the guest's HLT exits
 *	with KVM_EXIT_HLT and the state stays RUNNABLE; KVM_RUN runs it on.
 *
 *   translate
 *	KVM_TRANSLATE (a debugger's GVA -> GPA, issue 18): with paging off
 *	the identity; with 64-bit paging, tables written by the host into
 *	the slot, a 4K supervisor page, a 2M page, a read-only user page
 *	(valid, and writeable 1, usermode 0 whatever the entry says, as
 *	KVM's kvm_arch_vcpu_ioctl_translate()), and as invalid (valid 0,
 *	physical_address all ones): a non-present entry, a reserved bit,
 *	an empty PDPT slot, a table outside every memslot. A bad pointer:
 *	EFAULT.
 *
 *   sregs2
 *	KVM_CAP_SREGS2 is 1. In real mode KVM_GET_SREGS2 is KVM_GET_SREGS
 *	without interrupt_bitmap, flags 0, PDPTEs 0; KVM_SET_SREGS2 with an
 *	unknown flag, or PDPTRS_VALID outside PAE paging: EINVAL; bad
 *	pointers: EFAULT. Under PAE paging (KVM_SET_SREGS, PDPT in memory
 *	naming PD A) the PDPTEs read back valid and name A; KVM_SET_SREGS2
 *	with PDPTE 0 naming PD B (memory unchanged): read back as B, and
 *	KVM_TRANSLATE walks B. Then the guest reads a GVA that A and B map
 *	to different pages: through B on the shadow MMU (the PDPTEs are
 *	its copy, kvm_pdptr_write()), through A with NPT (the CPU loads
 *	them from memory), and on the shadow MMU KVM_GET_SREGS2 still
 *	reports B after the run.
 */
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
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

#define S_(x)		#x
#define S(x)		S_(x)

#define MEM_SIZE	0x10000UL
#define CODE_GPA	0x1000
#define CODE_MAX	0x3000

/* Guest inputs. */
#define IN_VEC		0x4000		/* 8 x 32 bytes: ymm/xmm patterns */
#define IN_ST0		0x4100		/* 80-bit, loaded last: ST0 */
#define IN_ST1		0x4110		/* 80-bit: ST1 */
#define IN_FCW		0x4120
#define IN_MXCSR	0x4124
#define IN_XCR0		0x4128
/* Guest outputs. */
#define OUT_VEC		0x5000		/* 8 x 32 bytes */
#define OUT_ST0		0x5100
#define OUT_ST1		0x5110
#define OUT_FCW		0x5120
#define OUT_MXCSR	0x5124
#define OUT_XCR0	0x5128
#define OUT_DR		0x5200		/* DR0-3, DR7: u32 each */
#define OUT_PAE		0x5300		/* u32: what vs_pae_read read */

#define PORT		0x10
#define DONE_LOAD	0xa1
#define DONE_STORE	0xb2
#define DONE_DR		0xc3
#define DONE_HLT	0xd4
#define DONE_PAE	0xe5

#define CR0_PE		(1u << 0)
#define CR0_MP		(1u << 1)
#define CR0_ET		(1u << 4)
#define CR0_PG		(1u << 31)
#define CR4_PAE		(1u << 5)
#define CR4_OSFXSR	(1u << 9)
#define CR4_OSXMMEXCPT	(1u << 10)
#define CR4_OSXSAVE	(1u << 18)

#define XF_FP		1ull
#define XF_SSE		2ull
#define XF_YMM		4ull
#define XF_MPX		0x18ull		/* BNDREGS, BNDCSR */
#define XF_AVX512	0xe0ull
#define XF_PKRU		0x200ull

/* The standard XSAVE layout (SDM vol. 1, 13.4). */
#define XS_FCW		0
#define XS_FSW		2
#define XS_FTW		4
#define XS_MXCSR	24
#define XS_MXCSR_MASK	28
#define XS_ST		32
#define XS_XMM		160
#define XS_BV		512
#define XS_COMP		520
#define XS_RSVD		528

#define RUN_TIMEOUT	10

#define VLOAD(n)	"	movdqu " S(IN_VEC) "+32*" #n ", %xmm" #n "\n"
#define VSTORE(n)	"	movdqu %xmm" #n ", " S(OUT_VEC) "+32*" #n "\n"
#define YLOAD(n)	"	vmovdqu " S(IN_VEC) "+32*" #n ", %ymm" #n "\n"
#define YSTORE(n)	"	vmovdqu %ymm" #n ", " S(OUT_VEC) "+32*" #n "\n"
#define ALL8(m)		m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7)
#define DONE(v)		"	mov $" S(v) ", %al\n	out %al, $" S(PORT) "\n" \
			"	hlt\n"

asm(".pushsection .rodata.vcpu_state, \"a\"\n"
	".globl vs_guest_start\n"
	"vs_guest_start:\n"
	".code32\n"

	/* XSETBV the value at IN_XCR0 and read it back; then the loads. */
	".globl vs_load_avx\n"
	"vs_load_avx:\n"
	"	mov " S(IN_XCR0) ", %eax\n"
	"	xor %edx, %edx\n"
	"	xor %ecx, %ecx\n"
	"	xsetbv\n"
	"	xor %ecx, %ecx\n"
	"	xgetbv\n"
	"	mov %eax, " S(OUT_XCR0) "\n"
	"	fninit\n"
	"	fldcw " S(IN_FCW) "\n"
	"	fldt " S(IN_ST1) "\n"
	"	fldt " S(IN_ST0) "\n"
	"	ldmxcsr " S(IN_MXCSR) "\n"
	ALL8(YLOAD)
	DONE(DONE_LOAD)

	".globl vs_load_sse\n"
	"vs_load_sse:\n"
	"	fninit\n"
	"	fldcw " S(IN_FCW) "\n"
	"	fldt " S(IN_ST1) "\n"
	"	fldt " S(IN_ST0) "\n"
	"	ldmxcsr " S(IN_MXCSR) "\n"
	ALL8(VLOAD)
	DONE(DONE_LOAD)

	/* Store what the host set, without changing it first. */
	".globl vs_store_avx\n"
	"vs_store_avx:\n"
	ALL8(YSTORE)
	"	jmp 1f\n"
	".globl vs_store_sse\n"
	"vs_store_sse:\n"
	ALL8(VSTORE)
	"1:	fnstcw " S(OUT_FCW) "\n"
	"	stmxcsr " S(OUT_MXCSR) "\n"
	"	fstpt " S(OUT_ST0) "\n"
	"	fstpt " S(OUT_ST1) "\n"
	DONE(DONE_STORE)

	".globl vs_dr_guest\n"
	"vs_dr_guest:\n"
	"	mov %dr0, %eax\n"
	"	mov %eax, " S(OUT_DR) "\n"
	"	mov %dr1, %eax\n"
	"	mov %eax, " S(OUT_DR) "+4\n"
	"	mov %dr2, %eax\n"
	"	mov %eax, " S(OUT_DR) "+8\n"
	"	mov %dr3, %eax\n"
	"	mov %eax, " S(OUT_DR) "+12\n"
	"	mov %dr7, %eax\n"
	"	mov %eax, " S(OUT_DR) "+16\n"
	DONE(DONE_DR)

	".globl vs_hlt_guest\n"
	"vs_hlt_guest:\n"
	"	hlt\n"
	DONE(DONE_HLT)

	/* Read the dword at GVA 0x10000 (PAE paging; test sregs2). */
	".globl vs_pae_read\n"
	"vs_pae_read:\n"
	"	mov 0x10000, %eax\n"
	"	mov %eax, " S(OUT_PAE) "\n"
	DONE(DONE_PAE)

	".globl vs_guest_end\n"
	"vs_guest_end:\n"
	".code64\n"
	".popsection\n");

extern const uint8_t vs_guest_start[], vs_guest_end[];
extern const uint8_t vs_load_avx[], vs_load_sse[], vs_store_avx[];
extern const uint8_t vs_store_sse[], vs_dr_guest[], vs_hlt_guest[];
extern const uint8_t vs_pae_read[];

static uint32_t gpa_of(const uint8_t *label)
{
	return CODE_GPA + (uint32_t)(label - vs_guest_start);
}

/* ---- plumbing ---- */

struct svm_ {
	int devfd;
	int vmfd;
	long run_size;
	uint8_t *mem;
	int fd;
	struct kvm_run *run;
	bool avx;		/* YMM offered and used */
	uint64_t xcr0;		/* what the guest runs with */
};

static void noop_handler(int sig)
{
	(void)sig;
}

static uint64_t host_xcr0(void)
{
	unsigned int a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return 0;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static struct kvm_cpuid2 *get_cpuid(struct __test_metadata *_metadata,
				    int devfd)
{
	struct kvm_cpuid2 *c = NULL;
	int nent;
	long r = -E2BIG;

	for (nent = 64; nent <= 4096 && r == -E2BIG; nent *= 2) {
		free(c);
		/* Room for the leaves added below. */
		c = calloc(1, sizeof(*c) + (nent + 4) * sizeof(c->entries[0]));
		ASSERT_NE(NULL, c);
		c->nent = nent;
		r = kvmmu_ioctl(devfd, KVM_GET_SUPPORTED_CPUID,
				(unsigned long)c);
	}
	ASSERT_EQ(0, r) TH_LOG("KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
	return c;
}

static struct kvm_cpuid_entry2 *entry(struct kvm_cpuid2 *c, uint32_t fn,
				      uint32_t idx, bool add)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t i;

	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == idx))
			return e;
	}
	if (!add)
		return NULL;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return e;
}

/*
 * KVM's supported CPUID, plus XSAVE (and AVX with @avx) in leaf 1 and
 * leaf 0xD offering @xf, as a VMM that copies the host would.
 */
static struct kvm_cpuid2 *vcpu_cpuid(struct __test_metadata *_metadata,
				     int devfd, uint64_t xf)
{
	struct kvm_cpuid2 *c = get_cpuid(_metadata, devfd);
	struct kvm_cpuid_entry2 *e;
	unsigned int a, b, cc, d;

	if (!c)
		return NULL;
	e = entry(c, 1, 0, false);
	if (!e)
		return c;
	if (!host_xcr0())
		return c;
	e->ecx |= 1u << 26;
	if (xf & XF_YMM)
		e->ecx |= 1u << 28;
	e = entry(c, 0xd, 0, true);
	__cpuid_count(0xd, 0, a, b, cc, d);
	e->eax = (uint32_t)xf;
	e->edx = 0;
	e->ebx = b;
	e->ecx = cc;
	e = entry(c, 0, 0, false);
	if (e && e->eax < 0xd)
		e->eax = 0xd;
	return c;
}

static void vm_open(struct __test_metadata *_metadata, struct svm_ *vm)
{
	size_t len = vs_guest_end - vs_guest_start;
	long r;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	ASSERT_LE(len, CODE_MAX);
	vm->devfd = kvmmu_open_dev();
	ASSERT_GE(vm->devfd, 0) TH_LOG("open %s: %s", kvmmu_dev_path(),
				      strerror(-vm->devfd));
	vm->run_size = kvmmu_ioctl(vm->devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_GE(vm->run_size, (long)sizeof(struct kvm_run));
	vm->vmfd = kvmmu_create_vm(vm->devfd, 0);
	ASSERT_GE(vm->vmfd, 0);
	vm->mem = kvmmu_alloc(MEM_SIZE);
	ASSERT_NE(NULL, vm->mem);
	memcpy(vm->mem + CODE_GPA, vs_guest_start, len);
	r = kvmmu_set_region(vm->vmfd, 0, 0, 0, MEM_SIZE,
			     (uint64_t)(unsigned long)vm->mem);
	ASSERT_EQ(0, r);
}

/* A vCPU with @cpuid (or none), kvm_run mapped. */
static void vcpu_open(struct __test_metadata *_metadata, struct svm_ *vm,
		      struct kvm_cpuid2 *cpuid)
{
	void *p;
	long r;

	vm->fd = kvmmu_ioctl(vm->vmfd, KVM_CREATE_VCPU, 0);
	ASSERT_GE(vm->fd, 0) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-vm->fd));
	if (cpuid) {
		r = kvmmu_ioctl(vm->fd, KVM_SET_CPUID2, (unsigned long)cpuid);
		ASSERT_EQ(0, r) TH_LOG("KVM_SET_CPUID2: %s", strerror(-r));
	}
	p = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vm->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	vm->run = p;
}

static void vm_close(struct svm_ *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->fd >= 0)
		close(vm->fd);
	munmap(vm->mem, MEM_SIZE);
	close(vm->vmfd);
	close(vm->devfd);
}

static void flat(struct kvm_segment *s, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = type & 8 ? 0x8 : 0x10;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

/* Flat 32-bit protected mode at @entry, SSE (and XSAVE with @osxsave). */
static void pmode(struct __test_metadata *_metadata, struct svm_ *vm,
		  const uint8_t *entry, bool osxsave)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	long r;

	r = kvmmu_ioctl(vm->fd, KVM_GET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r);
	flat(&sregs.cs, 0xb);
	flat(&sregs.ds, 0x3);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET;
	sregs.cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT | (osxsave ? CR4_OSXSAVE : 0);
	r = kvmmu_ioctl(vm->fd, KVM_SET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_SREGS: %s", strerror(-r));
	memset(&regs, 0, sizeof(regs));
	regs.rip = gpa_of(entry);
	regs.rsp = 0x8000;
	regs.rflags = 0x2;
	r = kvmmu_ioctl(vm->fd, KVM_SET_REGS, (unsigned long)&regs);
	ASSERT_EQ(0, r);
}

static const char *exit_str(struct svm_ *vm)
{
	static char buf[160];
	struct kvm_regs regs;
	unsigned long long rip = ~0ULL;

	if (!kvmmu_ioctl(vm->fd, KVM_GET_REGS, (unsigned long)&regs))
		rip = regs.rip;
	snprintf(buf, sizeof(buf), "exit_reason %u rip 0x%llx",
		 vm->run->exit_reason, rip);
	return buf;
}

static bool is_done(struct svm_ *vm, uint8_t val)
{
	struct kvm_run *run = vm->run;

	return run->exit_reason == KVM_EXIT_IO &&
	       run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.size == 1 && run->io.port == PORT &&
	       run->io.data_offset < (uint64_t)vm->run_size &&
	       *((uint8_t *)run + run->io.data_offset) == val;
}

static long run_vcpu(struct svm_ *vm)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	long r;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(RUN_TIMEOUT);
	r = kvmmu_ioctl(vm->fd, KVM_RUN, 0);
	alarm(0);
	return r;
}

#define ASSERT_RUN_DONE(vm, val) do {					\
	long r_ = run_vcpu(vm);						\
									\
	ASSERT_EQ(0, r_) TH_LOG("KVM_RUN: %s", strerror((int)-r_));	\
	ASSERT_TRUE(is_done(vm, val))					\
		TH_LOG("expected OUT 0x%x, got %s", val, exit_str(vm));	\
} while (0)

/*
 * A VM and vCPU whose CPUID offers x87|SSE, and AVX when the host has
 * enabled it, with XCR0 set to that by KVM_SET_XCRS (XCR0 stays 1 and
 * CR4.OSXSAVE clear if the host has no XSAVE).
 */
static void fpu_vm(struct __test_metadata *_metadata, struct svm_ *vm)
{
	uint64_t hx = host_xcr0();
	struct kvm_cpuid2 *cpuid;
	struct kvm_xcrs xcrs;
	long r;

	vm_open(_metadata, vm);
	vm->avx = (hx & (XF_SSE | XF_YMM)) == (XF_SSE | XF_YMM);
	vm->xcr0 = hx ? (XF_FP | XF_SSE | (vm->avx ? XF_YMM : 0)) : XF_FP;
	TH_LOG("host XCR0 0x%llx, guest XCR0 0x%llx (%s)",
	       (unsigned long long)hx, (unsigned long long)vm->xcr0,
	       vm->avx ? "ymm0-7" : "xmm0-7");
	cpuid = vcpu_cpuid(_metadata, vm->devfd, vm->xcr0);
	vcpu_open(_metadata, vm, cpuid);
	free(cpuid);
	if (!hx)
		return;
	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = vm->xcr0;
	r = kvmmu_ioctl(vm->fd, KVM_SET_XCRS, (unsigned long)&xcrs);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_XCRS 0x%llx: %s",
			       (unsigned long long)vm->xcr0, strerror(-r));
}

static void pattern(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 3) * 13);
}

/* Two normal 80-bit values: a mantissa with the integer bit, an exponent. */
static void f80(uint8_t *p, uint64_t mant, uint16_t sexp)
{
	memcpy(p, &mant, 8);
	memcpy(p + 8, &sexp, 2);
}

static uint32_t ymm_hi_offset(void)
{
	unsigned int a, b, c, d;

	__cpuid_count(0xd, 2, a, b, c, d);
	return b;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static uint16_t get16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, 2);
	return v;
}

/* ---- tests ---- */

TEST(caps)
{
	uint64_t hx = host_xcr0();
	uint64_t xf = hx & (XF_FP | XF_SSE | XF_YMM | XF_AVX512 | XF_PKRU);
	unsigned int a, b, c, d;
	long size = 576, r;
	int devfd, vmfd, i;

	devfd = kvmmu_open_dev();
	ASSERT_GE(devfd, 0);
	vmfd = kvmmu_create_vm(devfd, 0);
	ASSERT_GE(vmfd, 0);
	for (i = 2; i < 64; i++) {
		if (!(xf & (1ull << i)))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);
		if (a + b > size)
			size = a + b;
	}
	if (size < 4096)
		size = 4096;

	EXPECT_EQ(1, kvmmu_check_extension(devfd, KVM_CAP_XSAVE));
	EXPECT_EQ(1, kvmmu_check_extension(devfd, KVM_CAP_DEBUGREGS));
	EXPECT_EQ(1, kvmmu_check_extension(devfd, KVM_CAP_SET_TSS_ADDR));
	EXPECT_EQ(1, kvmmu_check_extension(devfd,
					   KVM_CAP_SET_IDENTITY_MAP_ADDR));
	EXPECT_EQ(1, kvmmu_check_extension(devfd, KVM_CAP_MP_STATE));
	EXPECT_EQ(!!hx, kvmmu_check_extension(devfd, KVM_CAP_XCRS));
	r = kvmmu_check_extension(vmfd, KVM_CAP_XSAVE2);
	EXPECT_EQ(size, r) TH_LOG("host XCR0 0x%llx", (unsigned long long)hx);
	EXPECT_EQ(r, kvmmu_check_extension(devfd, KVM_CAP_XSAVE2));
	TH_LOG("KVM_CAP_XSAVE2 %ld for host XCR0 0x%llx", r,
	       (unsigned long long)hx);
	if (!kvmmu_is_stock()) {
		/* No kvmclock and no in-kernel irqchip to offer. */
		EXPECT_EQ(0, kvmmu_check_extension(vmfd, KVM_CAP_ADJUST_CLOCK));
		EXPECT_EQ(0, kvmmu_check_extension(vmfd, KVM_CAP_IRQCHIP));
	}
	close(vmfd);
	close(devfd);
}

TEST(fpu_guest_to_host)
{
	uint8_t *xs, *xs2, vec[8][32];
	uint8_t st0[10], st1[10];
	struct kvm_fpu fpu;
	struct svm_ vm;
	long r, size;
	uint32_t yoff;
	int i;

	fpu_vm(_metadata, &vm);
	pattern(&vec[0][0], sizeof(vec), 0x31);
	memcpy(vm.mem + IN_VEC, vec, sizeof(vec));
	f80(st0, 0xc90fdaa22168c234ull, 0x4000);
	f80(st1, 0x8000000000001234ull, 0xbffe);
	memcpy(vm.mem + IN_ST0, st0, 10);
	memcpy(vm.mem + IN_ST1, st1, 10);
	memcpy(vm.mem + IN_FCW, &(uint16_t){ 0x0a7f }, 2);
	memcpy(vm.mem + IN_MXCSR, &(uint32_t){ 0x3f80 }, 4);
	memcpy(vm.mem + IN_XCR0, &(uint32_t){ (uint32_t)vm.xcr0 }, 4);
	memset(vm.mem + OUT_XCR0, 0xee, 4);
	pmode(_metadata, &vm, vm.avx ? vs_load_avx : vs_load_sse,
	      vm.xcr0 != XF_FP);
	ASSERT_RUN_DONE(&vm, DONE_LOAD);
	if (vm.avx)
		EXPECT_EQ(vm.xcr0, get32(vm.mem, OUT_XCR0));

	memset(&fpu, 0xee, sizeof(fpu));
	r = kvmmu_ioctl(vm.fd, KVM_GET_FPU, (unsigned long)&fpu);
	ASSERT_EQ(0, r) TH_LOG("KVM_GET_FPU: %s", strerror(-r));
	EXPECT_EQ(0x0a7f, fpu.fcw);
	EXPECT_EQ(6 << 11, fpu.fsw & 0x3800);	/* TOP 6 after two loads */
	EXPECT_EQ(0xc0, fpu.ftwx);		/* physical regs 6, 7 valid */
	EXPECT_EQ(0, memcmp(fpu.fpr[0], st0, 10));
	EXPECT_EQ(0, memcmp(fpu.fpr[1], st1, 10));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, memcmp(fpu.xmm[i], vec[i], 16))
			TH_LOG("xmm%d", i);
	EXPECT_EQ(0, fpu.mxcsr);	/* KVM_GET_FPU does not copy MXCSR */

	xs = calloc(1, 4096);
	ASSERT_NE(NULL, xs);
	r = kvmmu_ioctl(vm.fd, KVM_GET_XSAVE, (unsigned long)xs);
	ASSERT_EQ(0, r) TH_LOG("KVM_GET_XSAVE: %s", strerror(-r));
	EXPECT_EQ(0x0a7f, get16(xs, XS_FCW));
	EXPECT_EQ(0xc0, xs[XS_FTW]);
	EXPECT_EQ(0x3f80, get32(xs, XS_MXCSR));
	EXPECT_EQ(0, memcmp(xs + XS_ST, st0, 10));
	EXPECT_EQ(0, memcmp(xs + XS_ST + 16, st1, 10));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, memcmp(xs + XS_XMM + 16 * i, vec[i], 16))
			TH_LOG("xmm%d in XSAVE", i);
	if (host_xcr0()) {
		EXPECT_EQ(XF_FP | XF_SSE, get64(xs, XS_BV) & (XF_FP | XF_SSE));
		EXPECT_EQ(0, get64(xs, XS_COMP));
	}
	if (vm.avx) {
		yoff = ymm_hi_offset();
		EXPECT_EQ(XF_YMM, get64(xs, XS_BV) & XF_YMM);
		for (i = 0; i < 8; i++)
			EXPECT_EQ(0, memcmp(xs + yoff + 16 * i, vec[i] + 16, 16))
				TH_LOG("ymm%d upper half", i);
	}
	/* Nothing the vCPU was not offered. */
	EXPECT_EQ(0, get64(xs, XS_BV) & ~vm.xcr0 & ~(XF_FP | XF_SSE));

	size = kvmmu_check_extension(vm.vmfd, KVM_CAP_XSAVE2);
	ASSERT_GE(size, 4096);
	xs2 = calloc(1, size);
	ASSERT_NE(NULL, xs2);
	r = kvmmu_ioctl(vm.fd, KVM_GET_XSAVE2, (unsigned long)xs2);
	ASSERT_EQ(0, r) TH_LOG("KVM_GET_XSAVE2: %s", strerror(-r));
	EXPECT_EQ(0, memcmp(xs, xs2, 4096));
	free(xs2);
	free(xs);
	vm_close(&vm);
}

TEST(fpu_host_to_guest)
{
	uint8_t *xs, vec[8][32], st0[10], st1[10];
	struct kvm_fpu fpu, back;
	struct svm_ vm;
	uint32_t yoff = 0;
	long r;
	int i;

	fpu_vm(_metadata, &vm);
	xs = calloc(1, 4096);
	ASSERT_NE(NULL, xs);
	r = kvmmu_ioctl(vm.fd, KVM_GET_XSAVE, (unsigned long)xs);
	ASSERT_EQ(0, r);

	pattern(&vec[0][0], sizeof(vec), 0x9c);
	f80(st0, 0xa2f9836e4e441529ull, 0x3ffd);
	f80(st1, 0xfedcba9876543210ull, 0xc003);
	memcpy(xs + XS_FCW, &(uint16_t){ 0x0b7f }, 2);
	memcpy(xs + XS_FSW, &(uint16_t){ 6 << 11 }, 2);
	xs[XS_FTW] = 0xc0;
	memcpy(xs + XS_MXCSR, &(uint32_t){ 0x5f80 }, 4);
	memset(xs + XS_ST, 0, 128);
	memcpy(xs + XS_ST, st0, 10);
	memcpy(xs + XS_ST + 16, st1, 10);
	for (i = 0; i < 8; i++)
		memcpy(xs + XS_XMM + 16 * i, vec[i], 16);
	if (host_xcr0())
		memcpy(xs + XS_BV, &(uint64_t){ get64(xs, XS_BV) | XF_FP |
						XF_SSE }, 8);
	if (vm.avx) {
		yoff = ymm_hi_offset();
		for (i = 0; i < 8; i++)
			memcpy(xs + yoff + 16 * i, vec[i] + 16, 16);
		memcpy(xs + XS_BV, &(uint64_t){ get64(xs, XS_BV) | XF_YMM },
		       8);
	}
	r = kvmmu_ioctl(vm.fd, KVM_SET_XSAVE, (unsigned long)xs);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_XSAVE: %s", strerror(-r));

	memset(vm.mem + 0x5000, 0xee, 0x200);
	pmode(_metadata, &vm, vm.avx ? vs_store_avx : vs_store_sse,
	      vm.xcr0 != XF_FP);
	ASSERT_RUN_DONE(&vm, DONE_STORE);
	EXPECT_EQ(0x0b7f, get16(vm.mem, OUT_FCW));
	EXPECT_EQ(0x5f80, get32(vm.mem, OUT_MXCSR));
	EXPECT_EQ(0, memcmp(vm.mem + OUT_ST0, st0, 10));
	EXPECT_EQ(0, memcmp(vm.mem + OUT_ST1, st1, 10));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, memcmp(vm.mem + OUT_VEC + 32 * i, vec[i],
				    vm.avx ? 32 : 16))
			TH_LOG("%cmm%d as the guest stored it",
			       vm.avx ? 'y' : 'x', i);

	/* KVM_SET_FPU: every field it copies reads back. */
	memset(&fpu, 0, sizeof(fpu));
	for (i = 0; i < 8; i++)
		pattern(fpu.fpr[i], 10, 0x10 * i + 1);
	fpu.fcw = 0x077f;
	fpu.fsw = 0x2800;
	fpu.ftwx = 0x0f;
	fpu.last_opcode = 0x1d9;
	fpu.last_ip = 0x12345678;
	fpu.last_dp = 0x9abcdef0;
	pattern(&fpu.xmm[0][0], sizeof(fpu.xmm), 0x55);
	fpu.mxcsr = 0x1f80;
	r = kvmmu_ioctl(vm.fd, KVM_SET_FPU, (unsigned long)&fpu);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_FPU: %s", strerror(-r));
	memset(&back, 0xee, sizeof(back));
	r = kvmmu_ioctl(vm.fd, KVM_GET_FPU, (unsigned long)&back);
	ASSERT_EQ(0, r);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, memcmp(back.fpr[i], fpu.fpr[i], 10));
	EXPECT_EQ(fpu.fcw, back.fcw);
	EXPECT_EQ(fpu.fsw, back.fsw);
	EXPECT_EQ(fpu.ftwx, back.ftwx);
	EXPECT_EQ(fpu.last_opcode, back.last_opcode);
	EXPECT_EQ(fpu.last_ip, back.last_ip);
	EXPECT_EQ(fpu.last_dp, back.last_dp);
	EXPECT_EQ(0, memcmp(back.xmm, fpu.xmm, sizeof(fpu.xmm)));
	EXPECT_EQ(0, back.mxcsr);
	free(xs);
	vm_close(&vm);
}

/* KVM_SET_XSAVE of a changed copy of @good: @errno_, state unchanged. */
static void xsave_bad(struct __test_metadata *_metadata, struct svm_ *vm,
		      const uint8_t *good, size_t off, const void *val,
		      size_t len, const char *what)
{
	uint8_t *bad = malloc(4096), *now = calloc(1, 4096);
	long r;

	ASSERT_NE(NULL, bad);
	ASSERT_NE(NULL, now);
	memcpy(bad, good, 4096);
	memcpy(bad + off, val, len);
	r = kvmmu_ioctl(vm->fd, KVM_SET_XSAVE, (unsigned long)bad);
	EXPECT_EQ(-EINVAL, r) TH_LOG("%s: %s", what, strerror(-r));
	r = kvmmu_ioctl(vm->fd, KVM_GET_XSAVE, (unsigned long)now);
	ASSERT_EQ(0, r);
	EXPECT_EQ(0, memcmp(now, good, 4096)) TH_LOG("%s changed state", what);
	free(now);
	free(bad);
}

TEST(xsave_bad_input)
{
	uint32_t mask, mxcsr;
	struct svm_ vm;
	uint8_t *xs;
	long r;

	if (!host_xcr0())
		SKIP(return, "the host has not enabled XSAVE");
	fpu_vm(_metadata, &vm);
	xs = calloc(1, 4096);
	ASSERT_NE(NULL, xs);
	r = kvmmu_ioctl(vm.fd, KVM_GET_XSAVE, (unsigned long)xs);
	ASSERT_EQ(0, r);
	/* An SSE header bit so that MXCSR is checked. */
	memcpy(xs + XS_BV, &(uint64_t){ get64(xs, XS_BV) | XF_FP | XF_SSE },
	       8);
	r = kvmmu_ioctl(vm.fd, KVM_SET_XSAVE, (unsigned long)xs);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_XSAVE of its own state: %s",
			       strerror(-r));
	r = kvmmu_ioctl(vm.fd, KVM_GET_XSAVE, (unsigned long)xs);
	ASSERT_EQ(0, r);

	xsave_bad(_metadata, &vm, xs, XS_BV,
		  &(uint64_t){ get64(xs, XS_BV) | 1ull << 8 }, 8,
		  "XSTATE_BV bit 8");
	xsave_bad(_metadata, &vm, xs, XS_BV,
		  &(uint64_t){ get64(xs, XS_BV) | 1ull << 62 }, 8,
		  "XSTATE_BV bit 62");
	xsave_bad(_metadata, &vm, xs, XS_COMP,
		  &(uint64_t){ 1ull << 63 | 3 }, 8, "XCOMP_BV");
	xsave_bad(_metadata, &vm, xs, XS_RSVD + 8, &(uint8_t){ 1 }, 1,
		  "reserved header byte");
	mask = get32(xs, XS_MXCSR_MASK);
	if (!mask)
		mask = 0xffbf;
	if (mask != 0xffffffff) {
		mxcsr = 0x1f80 | ~mask;
		xsave_bad(_metadata, &vm, xs, XS_MXCSR, &mxcsr, 4,
			  "MXCSR outside the mask");
	}
	r = kvmmu_ioctl(vm.fd, KVM_SET_XSAVE, 8);
	EXPECT_EQ(-EFAULT, r);
	r = kvmmu_ioctl(vm.fd, KVM_GET_XSAVE, 8);
	EXPECT_EQ(-EFAULT, r);
	free(xs);
	vm_close(&vm);
}

static long set_xcr(struct svm_ *vm, uint32_t nr, uint32_t flags,
		    uint32_t xcr, uint64_t value)
{
	struct kvm_xcrs x;

	memset(&x, 0, sizeof(x));
	x.nr_xcrs = nr;
	x.flags = flags;
	x.xcrs[0].xcr = xcr;
	x.xcrs[0].value = value;
	return kvmmu_ioctl(vm->fd, KVM_SET_XCRS, (unsigned long)&x);
}

static uint64_t get_xcr0(struct __test_metadata *_metadata, struct svm_ *vm)
{
	struct kvm_xcrs x;
	long r;

	memset(&x, 0xee, sizeof(x));
	r = kvmmu_ioctl(vm->fd, KVM_GET_XCRS, (unsigned long)&x);
	EXPECT_EQ(0, r);
	EXPECT_EQ(1, x.nr_xcrs);
	EXPECT_EQ(0, x.flags);
	EXPECT_EQ(0, x.xcrs[0].xcr);
	/* kzalloc'ed by KVM: the rest reads 0. */
	EXPECT_EQ(0, x.xcrs[1].xcr);
	EXPECT_EQ(0, x.xcrs[1].value);
	return x.xcrs[0].value;
}

TEST(xcrs)
{
	struct kvm_cpuid2 *cpuid;
	struct svm_ vm;

	if (!host_xcr0())
		SKIP(return, "the host has not enabled XSAVE");
	vm_open(_metadata, &vm);
	cpuid = vcpu_cpuid(_metadata, vm.devfd, XF_FP | XF_SSE);
	vcpu_open(_metadata, &vm, cpuid);
	free(cpuid);

	EXPECT_EQ(1, get_xcr0(_metadata, &vm));
	EXPECT_EQ(0, set_xcr(&vm, 1, 0, 0, 3));
	EXPECT_EQ(3, get_xcr0(_metadata, &vm));
	EXPECT_EQ(-EINVAL, set_xcr(&vm, 1, 0, 0, 0));
	EXPECT_EQ(-EINVAL, set_xcr(&vm, 1, 0, 0, 2));
	EXPECT_EQ(-EINVAL, set_xcr(&vm, 1, 0, 0, 7));	/* AVX not offered */
	EXPECT_EQ(-EINVAL, set_xcr(&vm, 1, 0, 0, 5));
	EXPECT_EQ(-EINVAL, set_xcr(&vm, 1, 0, 0, 1ull << 63 | 3));
	EXPECT_EQ(-EINVAL, set_xcr(&vm, 1, 1, 0, 1));
	EXPECT_EQ(-EINVAL, set_xcr(&vm, 17, 0, 0, 1));
	EXPECT_EQ(3, get_xcr0(_metadata, &vm));
	/* Only XCR0 exists; another index is skipped, not refused. */
	EXPECT_EQ(0, set_xcr(&vm, 1, 0, 1, 1));
	EXPECT_EQ(0, set_xcr(&vm, 0, 0, 0, 0));
	EXPECT_EQ(3, get_xcr0(_metadata, &vm));
	EXPECT_EQ(0, set_xcr(&vm, 1, 0, 0, 1));
	EXPECT_EQ(1, get_xcr0(_metadata, &vm));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_SET_XCRS, 8));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_GET_XCRS, 8));
	vm_close(&vm);

	/*
	 * MPX offered in leaf 0xD, and enabled by the host (QEMU's -cpu max
	 * has it): kvm_amd never supports it, so XCR0 may not hold it.
	 */
	if ((host_xcr0() & XF_MPX) != XF_MPX)
		return;
	vm_open(_metadata, &vm);
	cpuid = vcpu_cpuid(_metadata, vm.devfd, XF_FP | XF_SSE | XF_MPX);
	vcpu_open(_metadata, &vm, cpuid);
	free(cpuid);
	EXPECT_EQ(-EINVAL, set_xcr(&vm, 1, 0, 0, XF_FP | XF_SSE | XF_MPX));
	EXPECT_EQ(0, set_xcr(&vm, 1, 0, 0, XF_FP | XF_SSE));
	EXPECT_EQ(XF_FP | XF_SSE, get_xcr0(_metadata, &vm));
	vm_close(&vm);
}

TEST(debugregs)
{
	struct kvm_debugregs d, back;
	struct svm_ vm;
	long r;

	vm_open(_metadata, &vm);
	vcpu_open(_metadata, &vm, NULL);

	memset(&d, 0xee, sizeof(d));
	r = kvmmu_ioctl(vm.fd, KVM_GET_DEBUGREGS, (unsigned long)&d);
	ASSERT_EQ(0, r) TH_LOG("KVM_GET_DEBUGREGS: %s", strerror(-r));
	EXPECT_EQ(0, d.db[0]);
	EXPECT_EQ(0, d.db[3]);
	EXPECT_EQ(0xffff0ff0, d.dr6);
	EXPECT_EQ(0x400, d.dr7);
	EXPECT_EQ(0, d.flags);

	memset(&d, 0, sizeof(d));
	d.db[0] = 0x1000;
	d.db[1] = 0x2345;
	d.db[2] = 0xfffff000;
	d.db[3] = 0xdeadbeef;
	d.dr6 = 0xffff0ff1;
	d.dr7 = 0x00f00400;	/* RW1/LEN1 set, no breakpoint enabled */
	r = kvmmu_ioctl(vm.fd, KVM_SET_DEBUGREGS, (unsigned long)&d);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_DEBUGREGS: %s", strerror(-r));
	memset(&back, 0xee, sizeof(back));
	r = kvmmu_ioctl(vm.fd, KVM_GET_DEBUGREGS, (unsigned long)&back);
	ASSERT_EQ(0, r);
	EXPECT_EQ(0, memcmp(&d, &back, sizeof(d)));

	/* Each bad field alone: EINVAL, nothing taken. */
	back = d;
	back.flags = 1;
	back.db[0] = 0x5000;
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.fd, KVM_SET_DEBUGREGS,
				       (unsigned long)&back));
	back = d;
	back.dr6 = 1ull << 32 | 0xffff0ff0;
	back.db[0] = 0x5000;
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.fd, KVM_SET_DEBUGREGS,
				       (unsigned long)&back));
	back = d;
	back.dr7 = 1ull << 32 | 0x400;
	back.db[0] = 0x5000;
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.fd, KVM_SET_DEBUGREGS,
				       (unsigned long)&back));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_SET_DEBUGREGS, 8));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_GET_DEBUGREGS, 8));
	memset(&back, 0xee, sizeof(back));
	r = kvmmu_ioctl(vm.fd, KVM_GET_DEBUGREGS, (unsigned long)&back);
	ASSERT_EQ(0, r);
	EXPECT_EQ(0, memcmp(&d, &back, sizeof(d)));

	/* The guest reads what the host set. */
	memset(vm.mem + OUT_DR, 0xee, 20);
	pmode(_metadata, &vm, vs_dr_guest, false);
	ASSERT_RUN_DONE(&vm, DONE_DR);
	EXPECT_EQ((uint32_t)d.db[0], get32(vm.mem, OUT_DR));
	EXPECT_EQ((uint32_t)d.db[1], get32(vm.mem, OUT_DR + 4));
	EXPECT_EQ((uint32_t)d.db[2], get32(vm.mem, OUT_DR + 8));
	EXPECT_EQ((uint32_t)d.db[3], get32(vm.mem, OUT_DR + 12));
	EXPECT_EQ((uint32_t)d.dr7, get32(vm.mem, OUT_DR + 16));
	vm_close(&vm);
}

TEST(vm_addresses)
{
	uint64_t addr = 0xfffbc000;
	struct svm_ vm;

	vm_open(_metadata, &vm);
	EXPECT_EQ(0, kvmmu_ioctl(vm.vmfd, KVM_SET_TSS_ADDR, 0xfffbd000));
	EXPECT_EQ(0, kvmmu_ioctl(vm.vmfd, KVM_SET_TSS_ADDR, 0xffffd000));
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.vmfd, KVM_SET_TSS_ADDR,
				       0xffffe000));
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.vmfd, KVM_SET_TSS_ADDR,
				       0x100000000ul));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.vmfd, KVM_SET_IDENTITY_MAP_ADDR, 8));
	EXPECT_EQ(0, kvmmu_ioctl(vm.vmfd, KVM_SET_IDENTITY_MAP_ADDR,
				 (unsigned long)&addr));
	vcpu_open(_metadata, &vm, NULL);
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.vmfd, KVM_SET_IDENTITY_MAP_ADDR,
				       (unsigned long)&addr));
	/* The vCPU check comes before the copy. */
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.vmfd, KVM_SET_IDENTITY_MAP_ADDR, 8));
	/* KVM_SET_TSS_ADDR has no such rule. */
	EXPECT_EQ(0, kvmmu_ioctl(vm.vmfd, KVM_SET_TSS_ADDR, 0xfffbd000));
	vm_close(&vm);
}

static uint32_t get_mp(struct __test_metadata *_metadata, struct svm_ *vm)
{
	struct kvm_mp_state mp = { .mp_state = 0xeeee };
	long r;

	r = kvmmu_ioctl(vm->fd, KVM_GET_MP_STATE, (unsigned long)&mp);
	EXPECT_EQ(0, r);
	return mp.mp_state;
}

TEST(mp_state)
{
	static const uint32_t refused[] = {
		KVM_MP_STATE_UNINITIALIZED, KVM_MP_STATE_INIT_RECEIVED,
		KVM_MP_STATE_HALTED, KVM_MP_STATE_SIPI_RECEIVED,
		KVM_MP_STATE_STOPPED, KVM_MP_STATE_CHECK_STOP,
		KVM_MP_STATE_OPERATING, KVM_MP_STATE_LOAD,
		KVM_MP_STATE_AP_RESET_HOLD, KVM_MP_STATE_SUSPENDED, 99,
	};
	struct kvm_mp_state mp;
	struct svm_ vm;
	unsigned int i;
	long r;

	vm_open(_metadata, &vm);
	vcpu_open(_metadata, &vm, NULL);
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, get_mp(_metadata, &vm));
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	EXPECT_EQ(0, kvmmu_ioctl(vm.fd, KVM_SET_MP_STATE, (unsigned long)&mp));
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		mp.mp_state = refused[i];
		r = kvmmu_ioctl(vm.fd, KVM_SET_MP_STATE, (unsigned long)&mp);
		EXPECT_EQ(-EINVAL, r) TH_LOG("mp_state %u without an in-kernel APIC",
					     refused[i]);
		EXPECT_EQ(KVM_MP_STATE_RUNNABLE, get_mp(_metadata, &vm));
	}
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_SET_MP_STATE, 8));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_GET_MP_STATE, 8));

	/* HLT goes to the VMM; the vCPU stays RUNNABLE and runs on. */
	pmode(_metadata, &vm, vs_hlt_guest, false);
	r = run_vcpu(&vm);
	ASSERT_EQ(0, r);
	EXPECT_EQ(KVM_EXIT_HLT, vm.run->exit_reason) TH_LOG("%s",
							     exit_str(&vm));
	EXPECT_EQ(KVM_MP_STATE_RUNNABLE, get_mp(_metadata, &vm));
	ASSERT_RUN_DONE(&vm, DONE_HLT);
	vm_close(&vm);
}

/* KVM_TRANSLATE of @gva: 0 or -errno; *@tr filled in. */
static long do_translate(struct svm_ *vm, uint64_t gva,
			 struct kvm_translation *tr)
{
	memset(tr, 0xee, sizeof(*tr));
	tr->linear_address = gva;
	return kvmmu_ioctl(vm->fd, KVM_TRANSLATE, (unsigned long)tr);
}

#define PT_P		(1ull << 0)
#define PT_W		(1ull << 1)
#define PT_U		(1ull << 2)
#define PT_PS		(1ull << 7)
#define TR_PML4		0x8000
#define TR_PDPT		0x9000
#define TR_PD		0xa000
#define TR_PT		0xb000

TEST(translate)
{
	uint64_t *pml4, *pdpt, *pd, *pt;
	struct kvm_translation tr;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs sregs;
	struct svm_ vm;
	long r;

	vm_open(_metadata, &vm);
	/* Long mode needs CPUID's LM (KVM's kvm_valid_efer()). */
	cpuid = get_cpuid(_metadata, vm.devfd);
	vcpu_open(_metadata, &vm, cpuid);
	free(cpuid);

	/* Paging off (the vCPU starts in real mode): the identity. */
	ASSERT_EQ(0, do_translate(&vm, 0x12345, &tr));
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(0x12345, tr.physical_address);
	EXPECT_EQ(1, tr.writeable);
	EXPECT_EQ(0, tr.usermode);

	/*
	 * 64-bit paging with the tables in the slot: GVA 0x400000 -> GPA
	 * 0xc000 (supervisor), 0x401000 not present, 0x402000 with a
	 * reserved bit, 0x403000 read-only and user, 0x600000 a 2M page
	 * at GPA 0x200000 (outside any slot: only the tables must be
	 * readable).
	 */
	pml4 = (uint64_t *)(vm.mem + TR_PML4);
	pdpt = (uint64_t *)(vm.mem + TR_PDPT);
	pd = (uint64_t *)(vm.mem + TR_PD);
	pt = (uint64_t *)(vm.mem + TR_PT);
	pml4[0] = TR_PDPT | PT_P | PT_W | PT_U;
	pdpt[0] = TR_PD | PT_P | PT_W | PT_U;
	pd[2] = TR_PT | PT_P | PT_W | PT_U;
	pd[3] = 0x200000 | PT_PS | PT_P | PT_W;
	pt[0] = 0xc000 | PT_P | PT_W;
	pt[2] = 0xd000 | (1ull << 51) | PT_P | PT_W;
	pt[3] = 0xe000 | PT_P | PT_U;
	r = kvmmu_ioctl(vm.fd, KVM_GET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r);
	flat(&sregs.cs, 0xb);
	sregs.cs.l = 1;
	sregs.cs.db = 0;
	flat(&sregs.ds, 0x3);
	sregs.cr0 = CR0_PE | CR0_ET | (1u << 31);
	sregs.cr4 = 1u << 5;			/* PAE */
	sregs.efer = (1u << 8) | (1u << 10);	/* LME, LMA */
	sregs.cr3 = TR_PML4;
	r = kvmmu_ioctl(vm.fd, KVM_SET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_SREGS: %s", strerror(-r));

	ASSERT_EQ(0, do_translate(&vm, 0x400abc, &tr));
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(0xcabc, tr.physical_address);
	EXPECT_EQ(1, tr.writeable);
	EXPECT_EQ(0, tr.usermode);

	ASSERT_EQ(0, do_translate(&vm, 0x6abcde, &tr));
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(0x2abcde, tr.physical_address);

	/* Read-only user page: still "writeable", not "usermode" (KVM). */
	ASSERT_EQ(0, do_translate(&vm, 0x403010, &tr));
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(0xe010, tr.physical_address);
	EXPECT_EQ(1, tr.writeable);
	EXPECT_EQ(0, tr.usermode);

	/* Not present, reserved bit, nothing mapped above: invalid. */
	ASSERT_EQ(0, do_translate(&vm, 0x401000, &tr));
	EXPECT_EQ(0, tr.valid);
	EXPECT_EQ(~0ull, tr.physical_address);
	ASSERT_EQ(0, do_translate(&vm, 0x402000, &tr));
	EXPECT_EQ(0, tr.valid);
	ASSERT_EQ(0, do_translate(&vm, 0x40000000, &tr));
	EXPECT_EQ(0, tr.valid);

	/* A table outside every slot: invalid, not an error. */
	pd[4] = 0x7fff000 | PT_P | PT_W;
	ASSERT_EQ(0, do_translate(&vm, 0x800000, &tr));
	EXPECT_EQ(0, tr.valid);

	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_TRANSLATE, 8));
	vm_close(&vm);
}

/*
 * sregs2's PAE tables: PDPTE 0 names PD A in memory, PD B by
 * KVM_SET_SREGS2; each maps GVA 0-0xffff to itself through its own PT and
 * GVA 0x10000 to its own data page.
 */
#define S2_DATA_A	0x6000
#define S2_PDPT		0xa000
#define S2_PD_A		0xb000
#define S2_PT_A		0xc000
#define S2_PD_B		0xd000
#define S2_PT_B		0xe000
#define S2_DATA_B	0xf000
#define S2_MAGIC_A	0xaaaa0001u
#define S2_MAGIC_B	0xbbbb0002u

static void s2_tables(uint8_t *mem, uint64_t pd, uint64_t pt, uint64_t data)
{
	uint64_t *t = (uint64_t *)(mem + pt);
	int i;

	for (i = 0; i < 16; i++)
		t[i] = (uint64_t)i << 12 | PT_P | PT_W;
	t[16] = data | PT_P | PT_W;
	*(uint64_t *)(mem + pd) = pt | PT_P | PT_W;
}

static void get_sregs2(struct __test_metadata *_metadata, struct svm_ *vm,
		       struct kvm_sregs2 *s2)
{
	long r;

	memset(s2, 0xa5, sizeof(*s2));
	r = kvmmu_ioctl(vm->fd, KVM_GET_SREGS2, (unsigned long)s2);
	ASSERT_EQ(0, r) TH_LOG("KVM_GET_SREGS2: %s", strerror((int)-r));
}

TEST(sregs2)
{
	int i, shadow = kvmmu_shadow_mode();
	struct kvm_translation tr;
	struct kvm_sregs2 s2, g2;
	struct kvm_sregs sregs;
	struct svm_ vm;
	long r;

	ASSERT_NE(-1, shadow) TH_LOG("cannot read the npt/tdp parameter");
	vm_open(_metadata, &vm);
	EXPECT_EQ(1, kvmmu_check_extension(vm.devfd, KVM_CAP_SREGS2));
	vcpu_open(_metadata, &vm, NULL);

	/* Real mode: the sregs without interrupt_bitmap, no PDPTEs. */
	r = kvmmu_ioctl(vm.fd, KVM_GET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r);
	get_sregs2(_metadata, &vm, &g2);
	EXPECT_EQ(0, memcmp(&g2, &sregs,
			    offsetof(struct kvm_sregs, interrupt_bitmap)));
	EXPECT_EQ(0, g2.flags);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, g2.pdptrs[i]);

	s2 = g2;
	s2.flags = 2;
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.fd, KVM_SET_SREGS2,
				       (unsigned long)&s2));
	s2.flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(vm.fd, KVM_SET_SREGS2,
				       (unsigned long)&s2));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_SET_SREGS2, 8));
	EXPECT_EQ(-EFAULT, kvmmu_ioctl(vm.fd, KVM_GET_SREGS2, 8));

	/* PAE paging by KVM_SET_SREGS: the PDPTEs come from memory. */
	s2_tables(vm.mem, S2_PD_A, S2_PT_A, S2_DATA_A);
	s2_tables(vm.mem, S2_PD_B, S2_PT_B, S2_DATA_B);
	*(uint64_t *)(vm.mem + S2_PDPT) = S2_PD_A | PT_P;
	*(uint32_t *)(vm.mem + S2_DATA_A) = S2_MAGIC_A;
	*(uint32_t *)(vm.mem + S2_DATA_B) = S2_MAGIC_B;
	pmode(_metadata, &vm, vs_pae_read, false);
	r = kvmmu_ioctl(vm.fd, KVM_GET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r);
	sregs.cr0 |= CR0_PG;
	sregs.cr4 |= CR4_PAE;
	sregs.cr3 = S2_PDPT;
	r = kvmmu_ioctl(vm.fd, KVM_SET_SREGS, (unsigned long)&sregs);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_SREGS: %s", strerror((int)-r));
	get_sregs2(_metadata, &vm, &g2);
	EXPECT_EQ(KVM_SREGS2_FLAGS_PDPTRS_VALID, g2.flags);
	EXPECT_EQ(S2_PD_A | PT_P, g2.pdptrs[0]);
	for (i = 1; i < 4; i++)
		EXPECT_EQ(0, g2.pdptrs[i]);
	ASSERT_EQ(0, do_translate(&vm, 0x10000, &tr));
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(S2_DATA_A, tr.physical_address);

	/* The VMM's PDPTEs, not memory's, until the CPU loads its own. */
	s2 = g2;
	s2.pdptrs[0] = S2_PD_B | PT_P;
	r = kvmmu_ioctl(vm.fd, KVM_SET_SREGS2, (unsigned long)&s2);
	ASSERT_EQ(0, r) TH_LOG("KVM_SET_SREGS2: %s", strerror((int)-r));
	get_sregs2(_metadata, &vm, &g2);
	EXPECT_EQ(KVM_SREGS2_FLAGS_PDPTRS_VALID, g2.flags);
	EXPECT_EQ(S2_PD_B | PT_P, g2.pdptrs[0]);
	EXPECT_EQ(S2_PDPT, g2.cr3);
	ASSERT_EQ(0, do_translate(&vm, 0x10000, &tr));
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(S2_DATA_B, tr.physical_address);

	ASSERT_RUN_DONE(&vm, DONE_PAE);
	EXPECT_EQ(shadow ? S2_MAGIC_B : S2_MAGIC_A,
		  *(uint32_t *)(vm.mem + OUT_PAE))
		TH_LOG("%s MMU: the guest read through the wrong PD",
		       shadow ? "shadow" : "NPT");
	/*
	 * The shadow MMU's copy outlives the run. With NPT, stock kvm_amd
	 * still reports the VMM's copy here (though svm_vcpu_run() drops
	 * VCPU_EXREG_PDPTR, whose next read loads the PDPT at CR3); kvmmu
	 * reads memory. The CPU uses neither: not asserted.
	 */
	get_sregs2(_metadata, &vm, &g2);
	if (shadow)
		EXPECT_EQ(S2_PD_B | PT_P, g2.pdptrs[0]);
	vm_close(&vm);
}

TEST_HARNESS_MAIN
