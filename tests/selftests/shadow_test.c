// SPDX-License-Identifier: GPL-2.0
/*
 * shadow_test - a 64-bit guest on the shadow MMU (kvmmu tdp=0; the control
 * is stock kvm_amd npt=0), editing its own page tables.
 *
 * The guest runs in long mode with 4-level paging from the start
 * (KVM_SET_SREGS). Its code (one page at GPA 0x1000) is a loop driven by
 * registers, as lib/guest32.h's: RAX = operation, RBX = address, RCX =
 * value; it reports at OUT to port 0x10. Its #PF handler reports at OUT to
 * port 0x11 with RDX = error code and RSI = CR2; any other exception at
 * port 0x12. The host builds address space A; the guest builds B itself,
 * and every later change of a page table is the guest's own store.
 *
 *   rw_through_mappings   guest <-> host bytes through 4K and 2M mappings
 *   sregs_are_the_guests  KVM_GET_SREGS: the guest's CR0/CR3/CR4/EFER, and
 *                         MOV from CR0/CR3 reads them too
 *   pf_not_present        read and write: error 0 and 2, CR2
 *   pf_write_read_only    error 3 (CR0.WP), the read works
 *   pf_user_supervisor    CPL 3 read of a supervisor page: error 5
 *   pte_edit_invlpg       PTE rewritten by the guest + INVLPG: new page
 *                         (fails if the MMU does not write-protect tables)
 *   pte_edit_self_mapped  the same in a table that maps itself (the store
 *                         goes through the table it changes)
 *   cr3_switch            guest-built space B vs A, and back
 *   accessed_dirty        A in every level, D in the leaf on writes only
 *   mmio_behind_mapping   an unmapped GPA behind a guest mapping: MMIO exit
 *                         with that GPA, load and store
 *   host_dontneed         MADV_DONTNEED under a mapped page: zeros
 *   dirty_log             LOG_DIRTY_PAGES: exactly the pages written, again
 *                         after each harvest
 *   slot_delete           a deleted slot behind a guest mapping: MMIO
 *   page_budget           KVM_SET_NR_MMU_PAGES: below 64 is -EINVAL; a
 *                         guest cycling through 150 address spaces keeps
 *                         running, and on kvmmu its shadow pages (stats
 *                         table_pages) stay within the budget of 64
 *   no_pku                KVM_GET_SUPPORTED_CPUID hides PKU and
 *                         KVM_SET_SREGS refuses CR4.PKE (no protection
 *                         keys without TDP)
 *   review_pt_in_rom      a guest page table in a KVM_MEM_READONLY slot:
 *                         the access works, its A bit is left clear
 *   review_pt_write_maps_code  a store, through an alias, to the PT that
 *                         maps the running code (no livelock)
 *   review_huge_dirty_again  D of a 2M page: set, cleared by the guest,
 *                         set again by the next write
 *   review_smsw           SMSW r64 at CPL 0: CR0[15:0]
 *   wp0_smep_no_exec      CR0.WP=0 with SMEP: a supervisor write to a
 *                         read-only user page works, a supervisor call
 *                         into it is a #PF (fetch), not executed
 *                         (skipped where SMEP is not offered: kvmmu)
 *   string_in_to_pt       INSL (emulated in the kernel) rewrites a PTE of
 *                         a shadowed table: INVLPG, the new page is seen
 *
 * Each test checks that the MMU really is the shadow one:
 * /sys/module/kvmmu/parameters/tdp or /sys/module/kvm_amd/parameters/npt
 * reads N (a test run on NPT would prove nothing).
 */
#include <errno.h>
#include <fcntl.h>
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

#define MEM_SIZE	(8UL << 20)
#define CODE_GPA	0x1000UL
#define GDT_GPA		0x2000UL
#define IDT_GPA		0x3000UL
#define TSS_GPA		0x4000UL
#define STACK_TOP	0x9000UL
#define PML4_A		0x10000UL
#define PDPT_A		0x11000UL
#define PD_A		0x12000UL
#define PT_A0		0x13000UL	/* 0-2M identity, 4K pages */
#define PT_A1		0x14000UL	/* the window at 2M-4M */
#define PML4_B		0x20000UL
#define PDPT_B		0x21000UL
#define PD_B		0x22000UL
#define PT_B1		0x24000UL
#define DATA_GPA	0x100000UL	/* data pages: 1M + n * 4K */
#define WINDOW		0x200000UL	/* VA of the window */
#define HUGE_VA		0x400000UL	/* a 2M page, identity */
#define MMIO_GPA	0x10000000UL	/* no slot */

#define P	0x1ULL
#define RW	0x2ULL
#define US	0x4ULL
#define ACC	0x20ULL
#define DIRTY	0x40ULL
#define PS	0x80ULL

#define OP_R64		1
#define OP_W64		2
#define OP_INVLPG	3
#define OP_SETCR3	4
#define OP_GETCR3	5
#define OP_USER_R64	6
#define OP_GETCR0	7
#define OP_SMSW		8
#define OP_CALL		9
#define OP_INSL		10

#define PORT_DONE	0x10
#define PORT_PF		0x11
#define PORT_BAD	0x12

#define S_(x) #x
#define S(x) S_(x)

#define OP(n, insn)			\
	"	cmp $" S(n) ", %eax\n"	\
	"	jne 1f\n"		\
	"	" insn "\n"		\
	"	jmp .Lsh_done\n"	\
	"1:\n"

/* 64-bit code, only RIP-relative references: it runs at CODE_GPA. */
asm(".pushsection .rodata.sh, \"a\"\n"
	".balign 16\n"
	".globl sh_code_start, sh_loop, sh_user, sh_pf, sh_bad, sh_code_end\n"
	"sh_code_start:\n"
	"sh_loop:\n"
	OP(OP_R64, "mov (%rbx), %rcx")
	OP(OP_W64, "mov %rcx, (%rbx)")
	OP(OP_INVLPG, "invlpg (%rbx)")
	OP(OP_SETCR3, "mov %rbx, %cr3")
	OP(OP_GETCR3, "mov %cr3, %rcx")
	OP(OP_GETCR0, "mov %cr0, %rcx")
	OP(OP_SMSW, "smsw %rcx")
	OP(OP_CALL, "call *%rbx")
	OP(OP_INSL, "mov %rbx, %rdi\n\tmov $0x20, %edx\n\tinsl (%dx), %es:(%rdi)")
	"	cmp $" S(OP_USER_R64) ", %eax\n"
	"	jne .Lsh_done\n"
	/* iretq to CPL 3 (IOPL 3: the user code may OUT) */
	"	pushq $0x1b\n"
	"	pushq $0\n"
	"	pushq $0x3002\n"
	"	pushq $0x23\n"
	"	lea .Lsh_user(%rip), %rdx\n"
	"	push %rdx\n"
	"	iretq\n"
	".Lsh_done:\n"
	"	out %al, $" S(PORT_DONE) "\n"
	"	jmp sh_loop\n"
	"sh_user:\n"
	".Lsh_user:\n"
	"	mov (%rbx), %rcx\n"
	"	out %al, $" S(PORT_DONE) "\n"
	"2:	jmp 2b\n"
	"sh_pf:\n"
	"	pop %rdx\n"
	"	mov %cr2, %rsi\n"
	"	out %al, $" S(PORT_PF) "\n"
	"3:	jmp 3b\n"
	"sh_bad:\n"
	"	out %al, $" S(PORT_BAD) "\n"
	"4:	jmp 4b\n"
	"sh_code_end:\n"
	".popsection\n");

extern const unsigned char sh_code_start[], sh_loop[], sh_user[], sh_pf[],
	sh_bad[], sh_code_end[];

#define OFF(sym)	(CODE_GPA + (uint64_t)((sym) - sh_code_start))

/* What one operation ended with. */
struct sh_result {
	int port;		/* PORT_*, or 0 for an MMIO exit */
	uint64_t rcx, rdx, rsi;
	struct kvm_run mmio;	/* the MMIO exit, when port is 0 */
};

FIXTURE(sh)
{
	int devfd, vmfd, vcpufd;
	struct kvm_run *run;
	long run_size;
	uint8_t *mem;
	struct kvm_sregs sregs0;
};

static uint64_t *pte(FIXTURE_DATA(sh) *self, uint64_t gpa)
{
	return (uint64_t *)(self->mem + gpa);
}

/* Is the MMU under test the shadow one? */
static int shadow_mode(void)
{
	const char *path = kvmmu_is_stock() ?
		"/sys/module/kvm_amd/parameters/npt" :
		"/sys/module/kvmmu/parameters/tdp";
	char c = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'N' || c == '0';
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = l;
	s->db = !l;
	s->g = 1;
	s->dpl = sel & 3;
}

/* Address space A: 0-2M identity (4K), the window (2M-4M), 4M-6M huge. */
static void build_space_a(FIXTURE_DATA(sh) *self)
{
	uint64_t i;

	*pte(self, PML4_A) = PDPT_A | P | RW | US;
	*pte(self, PDPT_A) = PD_A | P | RW | US;
	*pte(self, PD_A) = PT_A0 | P | RW | US;
	*pte(self, PD_A + 8) = PT_A1 | P | RW | US;
	*pte(self, PD_A + 16) = HUGE_VA | P | RW | PS;
	for (i = 0; i < 512; i++)
		*pte(self, PT_A0 + i * 8) = (i << 12) | P | RW;
	/* The code page is the user's too (OP_USER_R64). */
	*pte(self, PT_A0 + (CODE_GPA >> 12) * 8) |= US;
	*pte(self, PT_A0) = 0;	/* page 0 unmapped */
	/* Window: page n -> data page n, for n < 16. */
	for (i = 0; i < 16; i++)
		*pte(self, PT_A1 + i * 8) = (DATA_GPA + (i << 12)) | P | RW;
}

static void put_gate(FIXTURE_DATA(sh) *self, int vec, uint64_t handler)
{
	uint32_t *g = (uint32_t *)(self->mem + IDT_GPA + vec * 16);

	g[0] = (handler & 0xffff) | (0x08 << 16);
	g[1] = (handler & 0xffff0000) | 0x8e00;	/* P, DPL 0, interrupt gate */
	g[2] = handler >> 32;
	g[3] = 0;
}

FIXTURE_SETUP(sh)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
	};
	uint64_t *gdt;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs *s = &self->sregs0;
	int i, m;

	m = shadow_mode();
	ASSERT_EQ(1, m) TH_LOG("the MMU under test is not the shadow one (tdp/npt)");
	self->devfd = kvmmu_open_dev();
	ASSERT_LE(0, self->devfd);
	self->vmfd = kvmmu_create_vm(self->devfd, 0);
	ASSERT_LE(0, self->vmfd);
	self->mem = kvmmu_alloc(MEM_SIZE);
	ASSERT_NE(NULL, self->mem);
	r.userspace_addr = (uintptr_t)self->mem;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	self->vcpufd = kvmmu_ioctl(self->vmfd, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, self->vcpufd);
	self->run_size = kvmmu_ioctl(self->devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_LT(0, self->run_size);
	self->run = mmap(NULL, self->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->vcpufd, 0);
	ASSERT_NE(MAP_FAILED, self->run);
	cpuid = kvmmu_supported_cpuid(self->devfd);
	ASSERT_NE(NULL, cpuid);
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_CPUID2,
				 (unsigned long)cpuid));
	free(cpuid);

	memcpy(self->mem + CODE_GPA, sh_code_start, sh_code_end - sh_code_start);
	gdt = (uint64_t *)(self->mem + GDT_GPA);
	gdt[1] = 0x00209a0000000000ULL;	/* 0x08 code64 DPL 0 */
	gdt[2] = 0x0000920000000000ULL;	/* 0x10 data DPL 0 */
	gdt[3] = 0x0000f20000000000ULL;	/* 0x18 data DPL 3 */
	gdt[4] = 0x0020fa0000000000ULL;	/* 0x20 code64 DPL 3 */
	for (i = 0; i < 32; i++)
		put_gate(self, i, OFF(sh_bad));
	put_gate(self, 14, OFF(sh_pf));
	*(uint64_t *)(self->mem + TSS_GPA + 4) = STACK_TOP;	/* RSP0 */
	build_space_a(self);

	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS, (unsigned long)s));
	seg(&s->cs, 0x08, 11, 1);
	seg(&s->ds, 0x10, 3, 0);
	s->es = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	s->ss = s->ds;
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.selector = 0x28;
	s->tr.base = TSS_GPA;
	s->tr.limit = 0x67;
	s->tr.type = 11;
	s->tr.present = 1;
	s->gdt.base = GDT_GPA;
	s->gdt.limit = 0x37;
	s->idt.base = IDT_GPA;
	s->idt.limit = 0xfff;
	s->cr0 = 0x80010033;	/* PG WP NE ET MP PE */
	s->cr3 = PML4_A;
	s->cr4 = 0x20;		/* PAE */
	s->efer = 0x500;	/* LME LMA */
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS, (unsigned long)s));
}

FIXTURE_TEARDOWN(sh)
{
	if (self->run && self->run != MAP_FAILED)
		munmap(self->run, self->run_size);
	if (self->vcpufd >= 0)
		close(self->vcpufd);
	if (self->vmfd >= 0)
		close(self->vmfd);
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->mem)
		munmap(self->mem, MEM_SIZE);
}

/* Run until the guest reports; MMIO exits are returned to the caller. */
static int sh_run(FIXTURE_DATA(sh) *self, struct sh_result *res)
{
	struct kvm_regs regs;
	int r;

	r = kvmmu_ioctl(self->vcpufd, KVM_RUN, 0);
	if (r)
		return r;
	memset(res, 0, sizeof(*res));
	if (self->run->exit_reason == KVM_EXIT_MMIO) {
		res->mmio = *self->run;
		return 0;
	}
	if (self->run->exit_reason != KVM_EXIT_IO)
		return -1000 - (int)self->run->exit_reason;
	res->port = self->run->io.port;
	r = kvmmu_ioctl(self->vcpufd, KVM_GET_REGS, (unsigned long)&regs);
	if (r)
		return r;
	res->rcx = regs.rcx;
	res->rdx = regs.rdx;
	res->rsi = regs.rsi;
	return 0;
}

/* Start operation @op at the top of the loop, in ring 0, and run it. */
static int sh_do(FIXTURE_DATA(sh) *self, int op, uint64_t rbx, uint64_t rcx,
		 struct sh_result *res)
{
	struct kvm_regs regs = {
		.rax = op, .rbx = rbx, .rcx = rcx,
		.rip = OFF(sh_loop), .rsp = STACK_TOP, .rflags = 2,
	};
	struct kvm_sregs s;
	int r;

	/* Back to ring 0 after a user operation or an exception. */
	r = kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS, (unsigned long)&s);
	if (r)
		return r;
	s.cs = self->sregs0.cs;
	s.ss = self->sregs0.ss;
	s.ds = self->sregs0.ds;
	r = kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS, (unsigned long)&s);
	if (!r)
		r = kvmmu_ioctl(self->vcpufd, KVM_SET_REGS, (unsigned long)&regs);
	return r ? r : sh_run(self, res);
}

/* Operations that must simply complete. */
static uint64_t must(struct __test_metadata *_metadata,
		     FIXTURE_DATA(sh) *self, int op, uint64_t rbx,
		     uint64_t rcx)
{
	struct sh_result res;

	EXPECT_EQ(0, sh_do(self, op, rbx, rcx, &res));
	EXPECT_EQ(PORT_DONE, res.port) {
		TH_LOG("op %d at %#llx: port %#x error %#llx cr2 %#llx", op,
		       (unsigned long long)rbx, res.port,
		       (unsigned long long)res.rdx,
		       (unsigned long long)res.rsi);
	}
	return res.rcx;
}

static void expect_pf(struct __test_metadata *_metadata,
		      FIXTURE_DATA(sh) *self, int op, uint64_t addr,
		      uint64_t error)
{
	struct sh_result res;

	ASSERT_EQ(0, sh_do(self, op, addr, 0x1234, &res));
	ASSERT_EQ(PORT_PF, res.port);
	EXPECT_EQ(error, res.rdx);
	EXPECT_EQ(addr, res.rsi);
}

TEST_F(sh, rw_through_mappings)
{
	uint64_t v = 0x1122334455667788ULL;

	must(_metadata, self, OP_W64, WINDOW + 8, v);
	EXPECT_EQ(v, *(uint64_t *)(self->mem + DATA_GPA + 8));
	*(uint64_t *)(self->mem + DATA_GPA + 0x1010) = ~v;
	EXPECT_EQ(~v, must(_metadata, self, OP_R64, WINDOW + 0x1010, 0));
	/* Through the 0-2M identity map and the 2M page at 4M. */
	*(uint64_t *)(self->mem + 0x50000) = 0xfeedULL;
	EXPECT_EQ(0xfeedULL, must(_metadata, self, OP_R64, 0x50000, 0));
	*(uint64_t *)(self->mem + HUGE_VA + 0x12340) = 0xbeefULL;
	EXPECT_EQ(0xbeefULL, must(_metadata, self, OP_R64,
				  HUGE_VA + 0x12340, 0));
	must(_metadata, self, OP_W64, HUGE_VA + 0x1ff000, v);
	EXPECT_EQ(v, *(uint64_t *)(self->mem + HUGE_VA + 0x1ff000));
}

TEST_F(sh, sregs_are_the_guests)
{
	struct kvm_sregs s;

	EXPECT_EQ(PML4_A, must(_metadata, self, OP_GETCR3, 0, 0));
	EXPECT_EQ(0x80010033ULL, must(_metadata, self, OP_GETCR0, 0, 0));
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_GET_SREGS,
				 (unsigned long)&s));
	EXPECT_EQ(0x80010033ULL, s.cr0);
	EXPECT_EQ(PML4_A, s.cr3);
	EXPECT_EQ(0x20ULL, s.cr4);
	EXPECT_EQ(0x500ULL, s.efer);
}

TEST_F(sh, pf_not_present)
{
	*pte(self, PT_A1 + 3 * 8) = 0;
	expect_pf(_metadata, self, OP_R64, WINDOW + 0x3008, 0);
	expect_pf(_metadata, self, OP_W64, WINDOW + 0x3010, 2);
	/* Page 0 of the identity map is not present either. */
	expect_pf(_metadata, self, OP_R64, 0x18, 0);
	/* Nothing was written where the PTE used to point. */
	EXPECT_EQ(0ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x3010));
}

TEST_F(sh, pf_write_read_only)
{
	*pte(self, PT_A1 + 4 * 8) &= ~RW;
	*(uint64_t *)(self->mem + DATA_GPA + 0x4000) = 77;
	EXPECT_EQ(77ULL, must(_metadata, self, OP_R64, WINDOW + 0x4000, 0));
	expect_pf(_metadata, self, OP_W64, WINDOW + 0x4000, 3);
	EXPECT_EQ(77ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x4000));
}

TEST_F(sh, pf_user_supervisor)
{
	/* The window is supervisor-only. */
	expect_pf(_metadata, self, OP_USER_R64, WINDOW + 0x5000, 5);
	/* A user page reads fine from CPL 3. */
	*(uint64_t *)(self->mem + DATA_GPA + 0x5000) = 99;
	*pte(self, PT_A1 + 5 * 8) |= US;
	EXPECT_EQ(99ULL, must(_metadata, self, OP_USER_R64,
			      WINDOW + 0x5000, 0));
}

TEST_F(sh, pte_edit_invlpg)
{
	uint64_t va = WINDOW + 6 * 0x1000, ptep = PT_A1 + 6 * 8;

	*(uint64_t *)(self->mem + DATA_GPA + 0x6000) = 0x6666;
	*(uint64_t *)(self->mem + DATA_GPA + 0x7000) = 0x7777;
	EXPECT_EQ(0x6666ULL, must(_metadata, self, OP_R64, va, 0));
	/* The guest points the PTE at data page 7, through its identity map. */
	must(_metadata, self, OP_W64, ptep, (DATA_GPA + 0x7000) | P | RW);
	EXPECT_EQ((DATA_GPA + 0x7000) | P | RW, *pte(self, ptep) & ~ACC);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0x7777ULL, must(_metadata, self, OP_R64, va, 0));
	/* ...and a write goes to page 7 too. */
	must(_metadata, self, OP_W64, va + 8, 0xabcd);
	EXPECT_EQ(0xabcdULL, *(uint64_t *)(self->mem + DATA_GPA + 0x7008));
	EXPECT_EQ(0ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x6008));
	/* Unmapped by the guest: not present. */
	must(_metadata, self, OP_W64, ptep, 0);
	must(_metadata, self, OP_INVLPG, va, 0);
	expect_pf(_metadata, self, OP_R64, va, 0);
}

TEST_F(sh, pte_edit_self_mapped)
{
	/* PT_A0 maps itself: the store's own walk goes through it. */
	uint64_t va = 0x60000, ptep = PT_A0 + (va >> 12) * 8;

	*(uint64_t *)(self->mem + 0x60000) = 0x60;
	*(uint64_t *)(self->mem + 0x61000) = 0x61;
	EXPECT_EQ(0x60ULL, must(_metadata, self, OP_R64, va, 0));
	must(_metadata, self, OP_R64, ptep, 0);
	must(_metadata, self, OP_W64, ptep, 0x61000 | P | RW);
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0x61ULL, must(_metadata, self, OP_R64, va, 0));
	EXPECT_EQ(0x61000 | P | RW, *pte(self, ptep) & ~(ACC | DIRTY));
}

TEST_F(sh, cr3_switch)
{
	uint64_t i;

	*(uint64_t *)(self->mem + DATA_GPA + 0x8000) = 0xaaaa;
	*(uint64_t *)(self->mem + DATA_GPA + 0x9000) = 0xbbbb;
	/* The guest builds space B: same low 2M, window page 0 -> data 9. */
	must(_metadata, self, OP_W64, PML4_B, PDPT_B | P | RW | US);
	must(_metadata, self, OP_W64, PDPT_B, PD_B | P | RW | US);
	must(_metadata, self, OP_W64, PD_B, PT_A0 | P | RW | US);
	must(_metadata, self, OP_W64, PD_B + 8, PT_B1 | P | RW | US);
	must(_metadata, self, OP_W64, PT_B1, (DATA_GPA + 0x9000) | P | RW);
	*pte(self, PT_A1) = (DATA_GPA + 0x8000) | P | RW;

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0xaaaaULL, must(_metadata, self, OP_R64, WINDOW, 0));
		must(_metadata, self, OP_SETCR3, PML4_B, 0);
		EXPECT_EQ(PML4_B, must(_metadata, self, OP_GETCR3, 0, 0));
		EXPECT_EQ(0xbbbbULL, must(_metadata, self, OP_R64, WINDOW, 0));
		/* Window page 1: mapped in A only. */
		expect_pf(_metadata, self, OP_R64, WINDOW + 0x1000, 0);
		must(_metadata, self, OP_W64, WINDOW + 16, 0xb0 + i);
		must(_metadata, self, OP_SETCR3, PML4_A, 0);
	}
	EXPECT_EQ(0xb2ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x9010));
	EXPECT_EQ(0ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x8010));
}

TEST_F(sh, accessed_dirty)
{
	uint64_t w = PT_A1 + 10 * 8, r = PT_A1 + 11 * 8;

	/* Fresh entries without A: the host cleared them at build time. */
	*pte(self, PML4_A) &= ~(ACC | DIRTY);
	*pte(self, PDPT_A) &= ~(ACC | DIRTY);
	*pte(self, PD_A + 8) &= ~(ACC | DIRTY);
	EXPECT_EQ(0ULL, *pte(self, w) & (ACC | DIRTY));
	must(_metadata, self, OP_R64, WINDOW + 11 * 0x1000, 0);
	must(_metadata, self, OP_W64, WINDOW + 10 * 0x1000, 5);
	EXPECT_EQ(ACC | DIRTY, *pte(self, w) & (ACC | DIRTY));
	EXPECT_EQ(ACC, *pte(self, r) & (ACC | DIRTY));
	EXPECT_EQ(ACC, *pte(self, PML4_A) & ACC);
	EXPECT_EQ(ACC, *pte(self, PDPT_A) & ACC);
	EXPECT_EQ(ACC, *pte(self, PD_A + 8) & ACC);
	/* A read-then-write page gets D at the write. */
	must(_metadata, self, OP_W64, WINDOW + 11 * 0x1000, 6);
	EXPECT_EQ(ACC | DIRTY, *pte(self, r) & (ACC | DIRTY));
	EXPECT_EQ(6ULL, *(uint64_t *)(self->mem + DATA_GPA + 11 * 0x1000));
}

TEST_F(sh, mmio_behind_mapping)
{
	struct sh_result res;
	uint64_t va = WINDOW + 12 * 0x1000 + 0x18;
	uint64_t v = 0x0102030405060708ULL;

	*pte(self, PT_A1 + 12 * 8) = MMIO_GPA | P | RW;
	ASSERT_EQ(0, sh_do(self, OP_R64, va, 0, &res));
	ASSERT_EQ(0, res.port);
	EXPECT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA + 0x18, res.mmio.mmio.phys_addr);
	EXPECT_EQ(8U, res.mmio.mmio.len);
	EXPECT_EQ(0, res.mmio.mmio.is_write);
	memcpy(self->run->mmio.data, &v, 8);
	ASSERT_EQ(0, sh_run(self, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(v, res.rcx);

	ASSERT_EQ(0, sh_do(self, OP_W64, va, ~v, &res));
	ASSERT_EQ(0, res.port);
	EXPECT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA + 0x18, res.mmio.mmio.phys_addr);
	EXPECT_EQ(1, res.mmio.mmio.is_write);
	EXPECT_EQ(0, memcmp(res.mmio.mmio.data, &(uint64_t){ ~v }, 8));
	ASSERT_EQ(0, sh_run(self, &res));
	EXPECT_EQ(PORT_DONE, res.port);
}

TEST_F(sh, host_dontneed)
{
	uint64_t va = WINDOW + 13 * 0x1000;
	uint8_t *page = self->mem + DATA_GPA + 13 * 0x1000;

	*(uint64_t *)page = 0x1313;
	EXPECT_EQ(0x1313ULL, must(_metadata, self, OP_R64, va, 0));
	must(_metadata, self, OP_W64, va + 8, 0x1414);
	ASSERT_EQ(0, madvise(page, 0x1000, MADV_DONTNEED));
	EXPECT_EQ(0ULL, must(_metadata, self, OP_R64, va, 0));
	EXPECT_EQ(0ULL, must(_metadata, self, OP_R64, va + 8, 0));
	must(_metadata, self, OP_W64, va, 0x1515);
	EXPECT_EQ(0x1515ULL, *(uint64_t *)page);
}

/* KVM_GET_DIRTY_LOG of slot 0: is the page at @gpa logged? */
static int logged(const uint64_t *bits, uint64_t gpa)
{
	return !!(bits[(gpa >> 12) / 64] & (1ULL << ((gpa >> 12) % 64)));
}

static int get_log(FIXTURE_DATA(sh) *self, uint64_t *bits)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };

	memset(bits, 0, MEM_SIZE / 4096 / 8);
	return kvmmu_ioctl(self->vmfd, KVM_GET_DIRTY_LOG, (unsigned long)&log);
}

TEST_F(sh, dirty_log)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)self->mem,
	};
	uint64_t bits[MEM_SIZE / 4096 / 64];
	int i;

	/* Map pages 0-3 of the window writable in the shadow tables first. */
	for (i = 0; i < 4; i++)
		must(_metadata, self, OP_W64, WINDOW + i * 0x1000, i);
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	ASSERT_EQ(0, get_log(self, bits));
	for (i = 0; i < 3; i++) {
		must(_metadata, self, OP_W64, WINDOW + 0x1000, 0x100 + i);
		must(_metadata, self, OP_R64, WINDOW + 0x2000, 0);
		ASSERT_EQ(0, get_log(self, bits));
		EXPECT_EQ(1, logged(bits, DATA_GPA + 0x1000));
		EXPECT_EQ(0, logged(bits, DATA_GPA + 0x2000));
		EXPECT_EQ(0, logged(bits, DATA_GPA));
		EXPECT_EQ(0, logged(bits, DATA_GPA + 0x3000));
	}
	EXPECT_EQ(0x102ULL, *(uint64_t *)(self->mem + DATA_GPA + 0x1000));
	/* Nothing written since the last harvest: nothing logged. */
	must(_metadata, self, OP_R64, WINDOW + 0x1000, 0);
	ASSERT_EQ(0, get_log(self, bits));
	EXPECT_EQ(0, logged(bits, DATA_GPA + 0x1000));
}

TEST_F(sh, slot_delete)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1, .guest_phys_addr = MMIO_GPA, .memory_size = 0x10000,
	};
	uint64_t va = WINDOW + 14 * 0x1000;
	uint8_t *mem2 = kvmmu_alloc(0x10000);
	struct sh_result res;

	ASSERT_NE(NULL, mem2);
	r.userspace_addr = (uintptr_t)mem2;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	*(uint64_t *)(mem2 + 0x2000) = 0x2222;
	*pte(self, PT_A1 + 14 * 8) = (MMIO_GPA + 0x2000) | P | RW;
	EXPECT_EQ(0x2222ULL, must(_metadata, self, OP_R64, va, 0));
	r.memory_size = 0;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	ASSERT_EQ(0, sh_do(self, OP_R64, va, 0, &res));
	ASSERT_EQ(0, res.port);
	EXPECT_EQ(KVM_EXIT_MMIO, res.mmio.exit_reason);
	EXPECT_EQ(MMIO_GPA + 0x2000, res.mmio.mmio.phys_addr);
	munmap(mem2, 0x10000);
}

/* A VM statistic from KVM_GET_STATS_FD, or -1 if there is none. */
static long long vm_stat(struct __test_metadata *_metadata, int vmfd,
			 const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	long long r = -1;
	unsigned int i;
	size_t dsize;
	char *descs;
	uint64_t v;
	int fd = kvmmu_ioctl(vmfd, KVM_GET_STATS_FD, 0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(h), pread(fd, &h, sizeof(h), 0));
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	ASSERT_NE(NULL, descs);
	ASSERT_EQ((ssize_t)(h.num_desc * dsize),
		  pread(fd, descs, h.num_desc * dsize, h.desc_offset));
	for (i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		if (strcmp(d->name, name))
			continue;
		ASSERT_EQ(sizeof(v), pread(fd, &v, sizeof(v),
					   h.data_offset + d->offset));
		r = (long long)v;
	}
	free(descs);
	close(fd);
	return r;
}

#define SPACES_GPA	0x600000UL	/* 3 pages per space, up to 8M */
#define NR_SPACES	150

/*
 * The shadow page budget (KVM's n_max_mmu_pages): each address space has
 * its own PML4, PDPT and PD (PD[0] is space A's PT_A0), so each CR3 load
 * and the code fetch after it shadow three new guest tables. Without
 * reclaim the VM would keep about 450 shadow pages.
 */
TEST_F(sh, page_budget)
{
	long long tables;
	uint64_t base;
	int i;

	EXPECT_EQ(-EINVAL, kvmmu_ioctl(self->vmfd, KVM_SET_NR_MMU_PAGES, 63));
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_NR_MMU_PAGES, 64));
	for (i = 0; i < NR_SPACES; i++) {
		base = SPACES_GPA + i * 3 * 0x1000UL;
		*pte(self, base) = (base + 0x1000) | P | RW | US;
		*pte(self, base + 0x1000) = (base + 0x2000) | P | RW | US;
		*pte(self, base + 0x2000) = PT_A0 | P | RW | US;
	}
	for (i = 0; i < NR_SPACES; i++) {
		base = SPACES_GPA + i * 3 * 0x1000UL;
		must(_metadata, self, OP_SETCR3, base, 0);
		ASSERT_EQ(base, must(_metadata, self, OP_GETCR3, 0, 0));
	}
	must(_metadata, self, OP_SETCR3, PML4_A, 0);
	*(uint64_t *)(self->mem + DATA_GPA) = 0xb0d6e7;
	EXPECT_EQ(0xb0d6e7ULL, must(_metadata, self, OP_R64, WINDOW, 0));
	tables = vm_stat(_metadata, self->vmfd, "table_pages");
	if (kvmmu_is_stock())
		return;
	EXPECT_LE(1, tables);
	/* KVM's check is soft too: a fault may pass it by a few pages. */
	EXPECT_GE(64 + 8, tables);
}

/* Without TDP KVM offers no PKU (kvm_set_cpu_caps()), so CR4.PKE is reserved. */
TEST_F(sh, no_pku)
{
	struct kvm_cpuid2 *cpuid = kvmmu_supported_cpuid(self->devfd);
	struct kvm_sregs s = self->sregs0;
	unsigned int i;

	ASSERT_NE(NULL, cpuid);
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 7 && !cpuid->entries[i].index)
			EXPECT_EQ(0, cpuid->entries[i].ecx & (1U << 3));
	free(cpuid);
	s.cr4 |= 1ULL << 22;	/* PKE */
	EXPECT_EQ(-EINVAL, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS,
				       (unsigned long)&s));
}

/* A guest PT in a read-only slot, A clear: KVM skips the A update. */
TEST_F(sh, review_pt_in_rom)
{
	struct kvm_userspace_memory_region r = {
		.slot = 1, .guest_phys_addr = 0x800000, .memory_size = 0x1000,
		.flags = KVM_MEM_READONLY,
	};
	uint64_t *rom = kvmmu_alloc(0x1000);

	ASSERT_NE(NULL, rom);
	rom[0] = (DATA_GPA + 14 * 0x1000) | P | RW;
	r.userspace_addr = (uintptr_t)rom;
	ASSERT_EQ(0, kvmmu_ioctl(self->vmfd, KVM_SET_USER_MEMORY_REGION,
				 (unsigned long)&r));
	*pte(self, PD_A + 24) = 0x800000 | P | RW;
	*(uint64_t *)(self->mem + DATA_GPA + 14 * 0x1000) = 0x1414;
	EXPECT_EQ(0x1414ULL, must(_metadata, self, OP_R64, 0x600000, 0));
	EXPECT_EQ(0ULL, rom[0] & ACC);
}

/* A write to the PT that maps the running code, through an alias. */
TEST_F(sh, review_pt_write_maps_code)
{
	uint64_t alias = WINDOW + 13 * 0x1000;

	*pte(self, PT_A1 + 13 * 8) = PT_A0 | P | RW;
	*(uint64_t *)(self->mem + 0x61000) = 0x61;
	must(_metadata, self, OP_W64, alias + (0x60000 >> 12) * 8,
	     0x61000 | P | RW);
	must(_metadata, self, OP_INVLPG, 0x60000, 0);
	EXPECT_EQ(0x61ULL, must(_metadata, self, OP_R64, 0x60000, 0));
}

/* D of a 2M page set again after the guest cleared it. */
TEST_F(sh, review_huge_dirty_again)
{
	uint64_t pde = PD_A + 16;

	must(_metadata, self, OP_W64, HUGE_VA + 0x1000, 1);
	must(_metadata, self, OP_W64, HUGE_VA, 2);
	EXPECT_EQ(DIRTY, *pte(self, pde) & DIRTY);
	must(_metadata, self, OP_W64, pde, HUGE_VA | P | RW | PS | ACC);
	must(_metadata, self, OP_INVLPG, HUGE_VA, 0);
	EXPECT_EQ(0ULL, *pte(self, pde) & DIRTY);
	must(_metadata, self, OP_R64, HUGE_VA, 0);
	must(_metadata, self, OP_W64, HUGE_VA + 0x1008, 3);
	EXPECT_EQ(DIRTY, *pte(self, pde) & DIRTY);
}

/* SMSW at CPL 0 reads CR0 (a CR0 read intercept on AMD). */
TEST_F(sh, review_smsw)
{
	EXPECT_EQ(0x0033ULL, must(_metadata, self, OP_SMSW, 0, 0) & 0xffff);
}

/*
 * CR0.WP=0 and CR4.SMEP: the shadow leaf that lets the supervisor write a
 * read-only user page is a supervisor one, so SMEP would no longer see a
 * user page: it must not be executable (FNAME(page_fault)).
 */
TEST_F(sh, wp0_smep_no_exec)
{
	struct kvm_cpuid2 *cpuid = kvmmu_supported_cpuid(self->devfd);
	struct kvm_sregs s = self->sregs0;
	uint64_t va = WINDOW + 12 * 0x1000;
	struct sh_result res;
	int smep = 0;
	unsigned int i;

	ASSERT_NE(NULL, cpuid);
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 7 && !cpuid->entries[i].index)
			smep = !!(cpuid->entries[i].ebx & (1U << 7));
	free(cpuid);
	/* kvmmu offers no SMEP yet (x86.c LEAF7_EBX). */
	if (!smep)
		SKIP(return, "SMEP not in KVM_GET_SUPPORTED_CPUID");
	s.cr0 &= ~(1ULL << 16);	/* WP */
	s.cr4 |= 1ULL << 20;	/* SMEP */
	ASSERT_EQ(0, kvmmu_ioctl(self->vcpufd, KVM_SET_SREGS,
				 (unsigned long)&s));
	/* The code must be the supervisor's under SMEP. */
	*pte(self, PT_A0 + (CODE_GPA >> 12) * 8) &= ~US;
	*pte(self, PT_A1 + 12 * 8) = (DATA_GPA + 12 * 0x1000) | P | US;
	must(_metadata, self, OP_W64, va, 0xc3);	/* RET */
	EXPECT_EQ(0xc3ULL, *(uint64_t *)(self->mem + DATA_GPA + 12 * 0x1000));
	ASSERT_EQ(0, sh_do(self, OP_CALL, va, 0, &res));
	EXPECT_EQ(PORT_PF, res.port);
	EXPECT_EQ(0x11ULL, res.rdx);	/* P, fetch */
	EXPECT_EQ(va, res.rsi);
}

/*
 * A PTE rewritten by INSL, which the kernel emulates (IOIO intercept):
 * the store bypasses write protection, so it must zap the table's shadow
 * pages itself (KVM: kvm_page_track_write()).
 */
TEST_F(sh, string_in_to_pt)
{
	uint64_t va = WINDOW + 5 * 0x1000;
	uint32_t newpte = (DATA_GPA + 6 * 0x1000) | P | RW;
	struct sh_result res;

	*(uint64_t *)(self->mem + DATA_GPA + 5 * 0x1000) = 0x5555;
	*(uint64_t *)(self->mem + DATA_GPA + 6 * 0x1000) = 0x6666;
	EXPECT_EQ(0x5555ULL, must(_metadata, self, OP_R64, va, 0));
	ASSERT_EQ(0, sh_do(self, OP_INSL, PT_A1 + 5 * 8, 0, &res));
	ASSERT_EQ(0x20, res.port);
	ASSERT_EQ(KVM_EXIT_IO_IN, self->run->io.direction);
	ASSERT_EQ(4, self->run->io.size);
	memcpy((uint8_t *)self->run + self->run->io.data_offset, &newpte, 4);
	ASSERT_EQ(0, sh_run(self, &res));
	ASSERT_EQ(PORT_DONE, res.port);
	EXPECT_EQ(newpte, (uint32_t)*pte(self, PT_A1 + 5 * 8));
	must(_metadata, self, OP_INVLPG, va, 0);
	EXPECT_EQ(0x6666ULL, must(_metadata, self, OP_R64, va, 0));
}

TEST_HARNESS_MAIN
