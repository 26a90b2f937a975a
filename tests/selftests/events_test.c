// SPDX-License-Identifier: GPL-2.0
/*
 * events_test - interrupts and NMIs from a VMM without in-kernel irqchip
 * (QEMU's kernel_irqchip=off), and the vCPU event state a VMM saves.
 *
 * No test creates an irqchip: stock kvm_amd (KVMMU_DEV=/dev/kvm
 * KVMMU_STOCK=1, the control) then takes the same userspace-irqchip path
 * as kvmmu, and every test passes on both.  The guest runs in real mode
 * from GPA 0x1000 of a 64 KiB slot; its IVT sends vectors 0-63 to stubs
 * that count them (a byte per vector at CNT) and IRET.  The stack page is
 * one the guest has not touched before the first event, so the first
 * delivery faults on it (#NPF) and is cut short and re-injected.  The
 * guest reports progress with 8-bit OUTs to port 0x10.
 *
 *   interrupt_delivered
 *	The guest does STI; NOP and OUTs 0xa1.  Asserts: if_flag and
 *	ready_for_interrupt_injection are 1, apic_base is the vCPU's,
 *	KVM_INTERRUPT refuses vector 256 (EINVAL), takes 0x20, and
 *	KVM_GET_VCPU_EVENTS shows it injected.  That state is "migrated":
 *	memory, registers and events copied into a second VM, whose vCPU
 *	runs the handler for 0x20 once before repeating the OUT; the first
 *	vCPU, resumed, runs it once too and OUTs 0xa2; nothing else was
 *	counted.  Why: QEMU injects its PIC/APIC interrupts this way and
 *	saves the vCPU between an exit and the next entry.
 *
 *   interrupt_window
 *	The guest does CLI and OUTs 0xb1: if_flag and ready are 0.  With
 *	request_interrupt_window set, KVM_RUN must end with
 *	KVM_EXIT_IRQ_WINDOW_OPEN exactly after STI and the instruction in
 *	its shadow (RIP, BX), ready 1; the interrupt then injected is
 *	counted once.  Why: without the window exit a VMM never learns
 *	when to inject and a guest with interrupts pending hangs.
 *
 *   interrupt_shadow
 *	The guest's OUT right after STI exits inside STI's shadow: if_flag
 *	1 but ready_for_interrupt_injection 0, and KVM_GET_VCPU_EVENTS
 *	reports the shadow (STI|MOV_SS: SVM has one bit); at the next OUT
 *	the shadow is gone and ready is 1.  Why: QEMU migrates the shadow
 *	and must not inject inside it.
 *
 *   nmi_masked_until_iret
 *	KVM_NMI at the guest's first OUT: the NMI handler (vector 2) runs,
 *	OUTs 0xc1 (events: masked, none pending), where a second KVM_NMI
 *	stays pending (events: pending 1, masked) while the handler OUTs
 *	0xc2 with the count still 1; after its IRET the second NMI runs
 *	the handler again, and then the main code OUTs 0xc3 with NMIs
 *	unmasked.  Asserts the exact sequence of OUTs and counts.  Why:
 *	NMIs must not nest, and one sent while blocked must not be lost.
 *
 *   vcpu_events_abi
 *	On a fresh vCPU: KVM_CAP_VCPU_EVENTS and KVM_CAP_USER_NMI are 1;
 *	GET reports flags NMI_PENDING|SHADOW|SMM and nothing in flight;
 *	SET refuses unknown flags, VALID_PAYLOAD and VALID_TRIPLE_FAULT
 *	without their capabilities, exception vectors 2 and 32 (EINVAL);
 *	SET of an injected #GP with error code, interrupt 0x30, a shadow,
 *	a masked NMI with 5 pending reads back with the shadow as STI|MOV_SS
 *	and 1 NMI pending (2 when unmasked; stock KVM before 6.4 reports
 *	1, whether any is pending); KVM_SET_SREGS with bits in
 *	interrupt_bitmap queues the lowest, which KVM_GET_SREGS reports
 *	alone (the old way QEMU saves it).  On kvmmu only (KVM built
 *	without SMM), SMM state is refused.  Why: QEMU saves and restores
 *	exactly this for migration.
 *
 *   set_events_delivered
 *	KVM_SET_VCPU_EVENTS with an injected #UD: the guest's handler for
 *	vector 6 runs once before its first instruction; then with one NMI
 *	pending: the NMI handler runs once (its two OUTs) before the guest
 *	goes on.  Why: a restored vCPU must deliver what it was restored
 *	with, not only report it.
 *
 *   halt_ends_shadow
 *	The guest's STI; HLT: KVM_EXIT_HLT with RIP past the HLT, and the
 *	STI shadow ended with it: ready_for_interrupt_injection 1, no
 *	shadow in KVM_GET_VCPU_EVENTS; KVM_INTERRUPT then delivers before
 *	the next instruction.  Why: this is how Linux idles; QEMU wakes the
 *	halted vCPU with an interrupt only if kvm_run said "ready".
 *
 *   ready_waits_for_event
 *	With IF set, an exception or NMI restored as injected, or an
 *	interrupt already queued, KVM_RUN with immediate_exit returns
 *	EINTR with ready_for_interrupt_injection 0; once the guest has
 *	taken the event, 1.  Why: a VMM must not queue an interrupt behind
 *	an event that is half delivered (KVM says "ready" only at an
 *	instruction boundary with nothing in flight).
 *
 *   nmi_window_not_in_event_frame
 *	A #UD restored as injected and an NMI pending together: the NMI,
 *	blocked behind the #UD's delivery, must not single-step into the
 *	#UD's frame.  Asserts KVM's order (the #UD delivered, an immediate
 *	exit, the NMI handler's OUTs 0xc1 0xc2, then the #UD handler's
 *	0xe6, then the main code's 0xe7), each handler once, and no #DB.
 *	Why: a TF pushed with the #UD's frame comes back with its IRET and
 *	hands the guest a #DB it never asked for (svm_vcpu_run()'s
 *	immediate exit for nmi_singlestep with an event).
 *
 *   cpuid_offers_apic
 *	KVM_GET_SUPPORTED_CPUID's leaf 1 has EDX.APIC (bit 9).  Why:
 *	without it QEMU (-cpu host) builds its vCPU with no LAPIC, and a
 *	Linux guest's IOAPIC-routed interrupts then reach no CPU (its
 *	serial console stays silent).
 *
 *   run_cr8
 *	kvm_run->cr8 = 5 before KVM_RUN shows in KVM_GET_SREGS and in
 *	kvm_run after the exit; 16 fails KVM_RUN with EINVAL.  Why: QEMU's
 *	APIC TPR travels through it on every entry and exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvmmu_util.h"

#define S_(x)		#x
#define S(x)		S_(x)

#define MEM_SIZE	0x10000UL
#define CODE_GPA	0x1000
#define CNT		0x600		/* one byte per vector 0-63 */
#define NVEC		64
#define STACK		0x9000		/* page 0x8000: untouched until used */
#define PORT		0x10
#define RUN_TIMEOUT	10

#define ABS(l)		"(" #l " - .Lev0 + " S(CODE_GPA) ")"

#define VEC_LIST	"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19," \
			"20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36," \
			"37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53," \
			"54,55,56,57,58,59,60,61,62,63"

asm(".pushsection .rodata.events, \"a\"\n"
	".balign 16\n"
	".globl ev_guest_start\n"
	"ev_guest_start:\n"
	".Lev0:\n"
	".code16\n"
	".globl ev_stubs\n"
	"ev_stubs:\n"
	".irp v, " VEC_LIST "\n"
	"	.balign 8\n"
	"	incb " S(CNT) "+\\v\n"
	"	iret\n"
	".endr\n"

	".globl ev_irq_guest\n"
	"ev_irq_guest:\n"
	"	sti\n"
	"	nop\n"
	"	mov $0xa1, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	mov $0xa2, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	hlt\n"

	".globl ev_win_guest\n"
	"ev_win_guest:\n"
	"	cli\n"
	"	mov $0xb1, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	mov $1, %bx\n"
	"	sti\n"
	"	inc %bx\n"
	".globl ev_win_rip\n"
	"ev_win_rip:\n"
	"	mov $0xb2, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	hlt\n"

	".globl ev_shadow_guest\n"
	"ev_shadow_guest:\n"
	"	mov $0xd1, %al\n"
	"	sti\n"
	"	out %al, $" S(PORT) "\n"
	"	mov $0xd2, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	hlt\n"

	".globl ev_hlt_guest\n"
	"ev_hlt_guest:\n"
	"	sti\n"
	"	hlt\n"
	".globl ev_hlt_next\n"
	"ev_hlt_next:\n"
	"	mov $0xe1, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	hlt\n"

	".globl ev_ud_out_handler\n"
	"ev_ud_out_handler:\n"
	"	incb " S(CNT) "+6\n"
	"	mov $0xe6, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	iret\n"
	".globl ev_udnmi_guest\n"
	"ev_udnmi_guest:\n"
	"	mov $0xe7, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	hlt\n"

	".globl ev_nmi_guest\n"
	"ev_nmi_guest:\n"
	"	mov $0xc0, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	mov $0xc3, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	hlt\n"
	".globl ev_nmi_handler\n"
	"ev_nmi_handler:\n"
	"	incb " S(CNT) "+2\n"
	"	mov $0xc1, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	mov $0xc2, %al\n"
	"	out %al, $" S(PORT) "\n"
	"	iret\n"
	".code64\n"
	".globl ev_guest_end\n"
	"ev_guest_end:\n"
	".popsection\n");

extern const uint8_t ev_guest_start[], ev_guest_end[], ev_stubs[];
extern const uint8_t ev_irq_guest[], ev_win_guest[], ev_win_rip[];
extern const uint8_t ev_nmi_guest[], ev_nmi_handler[], ev_shadow_guest[];
extern const uint8_t ev_hlt_guest[], ev_hlt_next[];
extern const uint8_t ev_ud_out_handler[], ev_udnmi_guest[];

static uint32_t gpa_of(const uint8_t *label)
{
	return CODE_GPA + (uint32_t)(label - ev_guest_start);
}

struct evm {
	int devfd;
	int vmfd;
	int fd;
	long run_size;
	struct kvm_run *run;
	uint8_t *mem;
};

static void noop_handler(int sig)
{
	(void)sig;
}

static void put16(uint8_t *mem, uint32_t gpa, uint16_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

/* A VM with one vCPU in real mode at @entry; the IVT counts vectors. */
static void vm_create(struct __test_metadata *_metadata, struct evm *vm,
		      uint32_t entry)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	long r;
	int v;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	vm->devfd = kvmmu_open_dev();
	ASSERT_GE(vm->devfd, 0) TH_LOG("open %s: %s", kvmmu_dev_path(),
				      strerror(-vm->devfd));
	vm->run_size = kvmmu_ioctl(vm->devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	ASSERT_GE(vm->run_size, (long)sizeof(struct kvm_run));
	vm->vmfd = kvmmu_create_vm(vm->devfd, 0);
	ASSERT_GE(vm->vmfd, 0);
	vm->mem = kvmmu_alloc(MEM_SIZE);
	ASSERT_NE(NULL, vm->mem);
	ASSERT_LE(ev_guest_end - ev_guest_start, 0x3000);
	memcpy(vm->mem + CODE_GPA, ev_guest_start,
	       ev_guest_end - ev_guest_start);
	for (v = 0; v < NVEC; v++) {
		put16(vm->mem, 4 * v, gpa_of(ev_stubs) + 8 * v);
		put16(vm->mem, 4 * v + 2, 0);
	}
	put16(vm->mem, 4 * 2, gpa_of(ev_nmi_handler));
	r = kvmmu_set_region(vm->vmfd, 0, 0, 0, MEM_SIZE,
			     (uint64_t)(unsigned long)vm->mem);
	ASSERT_EQ(0, r);

	vm->fd = kvmmu_ioctl(vm->vmfd, KVM_CREATE_VCPU, 0);
	ASSERT_GE(vm->fd, 0);
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->fd, 0);
	ASSERT_NE(MAP_FAILED, vm->run);

	ASSERT_EQ(0, kvmmu_ioctl(vm->fd, KVM_GET_SREGS, (unsigned long)&sregs));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	ASSERT_EQ(0, kvmmu_ioctl(vm->fd, KVM_SET_SREGS, (unsigned long)&sregs));
	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rsp = STACK;
	regs.rflags = 0x2;
	ASSERT_EQ(0, kvmmu_ioctl(vm->fd, KVM_SET_REGS, (unsigned long)&regs));
}

static void vm_destroy(struct evm *vm)
{
	munmap(vm->run, vm->run_size);
	close(vm->fd);
	munmap(vm->mem, MEM_SIZE);
	close(vm->vmfd);
	close(vm->devfd);
}

/* KVM_RUN until an exit to us: its reason, or -errno. */
static int run(struct evm *vm)
{
	long r;

	alarm(RUN_TIMEOUT);
	r = kvmmu_ioctl(vm->fd, KVM_RUN, 0);
	alarm(0);
	return r < 0 ? (int)r : (int)vm->run->exit_reason;
}

/* The byte of an 8-bit OUT to PORT, or -1 for any other exit. */
static int run_out(struct evm *vm)
{
	struct kvm_run *r = vm->run;

	if (run(vm) != KVM_EXIT_IO || r->io.direction != KVM_EXIT_IO_OUT ||
	    r->io.port != PORT || r->io.size != 1)
		return -1;
	return ((uint8_t *)r)[r->io.data_offset];
}

static int counted(const struct evm *vm, int vec)
{
	return vm->mem[CNT + vec];
}

static int counted_all(const struct evm *vm)
{
	int v, n = 0;

	for (v = 0; v < NVEC; v++)
		n += vm->mem[CNT + v];
	return n;
}

static void get_events(struct __test_metadata *_metadata, struct evm *vm,
		       struct kvm_vcpu_events *e)
{
	memset(e, 0xa5, sizeof(*e));
	ASSERT_EQ(0, kvmmu_ioctl(vm->fd, KVM_GET_VCPU_EVENTS,
				 (unsigned long)e));
}

/*
 * Whether the device follows KVM >= @major.@minor: the control's kernel
 * decides; kvmmu follows 6.12.
 */
static bool stock_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (!kvmmu_is_stock())
		return true;
	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

static long set_events(struct evm *vm, struct kvm_vcpu_events *e)
{
	return kvmmu_ioctl(vm->fd, KVM_SET_VCPU_EVENTS, (unsigned long)e);
}

static long interrupt(struct evm *vm, uint32_t irq)
{
	struct kvm_interrupt i = { .irq = irq };

	return kvmmu_ioctl(vm->fd, KVM_INTERRUPT, (unsigned long)&i);
}

/* Copy @from's memory and vCPU state into a new VM @to (migration). */
static void migrate(struct __test_metadata *_metadata, struct evm *from,
		    struct evm *to)
{
	struct kvm_vcpu_events e;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vm_create(_metadata, to, 0);
	memcpy(to->mem, from->mem, MEM_SIZE);
	ASSERT_EQ(0, kvmmu_ioctl(from->fd, KVM_GET_SREGS,
				 (unsigned long)&sregs));
	ASSERT_EQ(0, kvmmu_ioctl(to->fd, KVM_SET_SREGS,
				 (unsigned long)&sregs));
	ASSERT_EQ(0, kvmmu_ioctl(from->fd, KVM_GET_REGS, (unsigned long)&regs));
	ASSERT_EQ(0, kvmmu_ioctl(to->fd, KVM_SET_REGS, (unsigned long)&regs));
	get_events(_metadata, from, &e);
	ASSERT_EQ(0, set_events(to, &e));
	to->run->cr8 = from->run->cr8;
}

TEST(interrupt_delivered)
{
	struct kvm_vcpu_events e;
	struct kvm_sregs sregs;
	struct evm vm, vm2;

	vm_create(_metadata, &vm, gpa_of(ev_irq_guest));
	ASSERT_EQ(0xa1, run_out(&vm));
	EXPECT_EQ(1, vm.run->if_flag);
	EXPECT_EQ(1, vm.run->ready_for_interrupt_injection);
	EXPECT_EQ(0xfee00900ULL, vm.run->apic_base);
	EXPECT_EQ(0, vm.run->cr8);

	EXPECT_EQ(-EINVAL, interrupt(&vm, 256));
	ASSERT_EQ(0, interrupt(&vm, 0x20));
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(1, e.interrupt.injected);
	EXPECT_EQ(0x20, e.interrupt.nr);
	EXPECT_EQ(0, e.exception.injected);
	EXPECT_EQ(0, e.nmi.pending);
	/* The old way of saving it: KVM_GET_SREGS's interrupt_bitmap. */
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_GET_SREGS, (unsigned long)&sregs));
	EXPECT_EQ(1ULL << 0x20, sregs.interrupt_bitmap[0]);
	EXPECT_EQ(0, sregs.interrupt_bitmap[1] | sregs.interrupt_bitmap[2] |
		     sregs.interrupt_bitmap[3]);

	/* The destination delivers it, then repeats the unfinished OUT. */
	migrate(_metadata, &vm, &vm2);
	get_events(_metadata, &vm2, &e);
	EXPECT_EQ(1, e.interrupt.injected);
	EXPECT_EQ(0x20, e.interrupt.nr);
	EXPECT_EQ(0, counted_all(&vm2));
	EXPECT_EQ(0xa1, run_out(&vm2));
	EXPECT_EQ(1, counted(&vm2, 0x20));
	EXPECT_EQ(1, counted_all(&vm2));
	EXPECT_EQ(0xa2, run_out(&vm2));
	EXPECT_EQ(1, counted_all(&vm2));
	vm_destroy(&vm2);

	/* The source, resumed, delivers it once too. */
	ASSERT_EQ(0xa2, run_out(&vm));
	EXPECT_EQ(1, counted(&vm, 0x20));
	EXPECT_EQ(1, counted_all(&vm));
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(0, e.interrupt.injected);
	EXPECT_EQ(1, vm.run->ready_for_interrupt_injection);
	vm_destroy(&vm);
}

TEST(interrupt_window)
{
	struct kvm_regs regs;
	struct evm vm;

	vm_create(_metadata, &vm, gpa_of(ev_win_guest));
	ASSERT_EQ(0xb1, run_out(&vm));
	EXPECT_EQ(0, vm.run->if_flag);
	EXPECT_EQ(0, vm.run->ready_for_interrupt_injection);

	vm.run->request_interrupt_window = 1;
	ASSERT_EQ(KVM_EXIT_IRQ_WINDOW_OPEN, run(&vm));
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_GET_REGS, (unsigned long)&regs));
	/* After STI and the INC in its shadow, not before. */
	EXPECT_EQ(gpa_of(ev_win_rip), regs.rip);
	EXPECT_EQ(2, regs.rbx & 0xffff);
	EXPECT_EQ(1, vm.run->if_flag);
	EXPECT_EQ(1, vm.run->ready_for_interrupt_injection);
	EXPECT_EQ(0, counted_all(&vm));

	ASSERT_EQ(0, interrupt(&vm, 0x21));
	vm.run->request_interrupt_window = 0;
	ASSERT_EQ(0xb2, run_out(&vm));
	EXPECT_EQ(1, counted(&vm, 0x21));
	EXPECT_EQ(1, counted_all(&vm));
	vm_destroy(&vm);
}

TEST(interrupt_shadow)
{
	struct kvm_vcpu_events e;
	struct evm vm;

	vm_create(_metadata, &vm, gpa_of(ev_shadow_guest));
	ASSERT_EQ(0xd1, run_out(&vm));
	EXPECT_EQ(1, vm.run->if_flag);
	EXPECT_EQ(0, vm.run->ready_for_interrupt_injection);
	get_events(_metadata, &vm, &e);
	EXPECT_TRUE(e.flags & KVM_VCPUEVENT_VALID_SHADOW);
	EXPECT_EQ(KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS,
		  e.interrupt.shadow);

	/* Completing the OUT ends the shadow. */
	ASSERT_EQ(0xd2, run_out(&vm));
	EXPECT_EQ(1, vm.run->ready_for_interrupt_injection);
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(0, e.interrupt.shadow);
	vm_destroy(&vm);
}

TEST(halt_ends_shadow)
{
	struct kvm_vcpu_events e;
	struct kvm_regs regs;
	struct evm vm;

	vm_create(_metadata, &vm, gpa_of(ev_hlt_guest));
	ASSERT_EQ(KVM_EXIT_HLT, run(&vm));
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_GET_REGS, (unsigned long)&regs));
	EXPECT_EQ(gpa_of(ev_hlt_next), regs.rip);
	EXPECT_EQ(1, vm.run->if_flag);
	EXPECT_EQ(1, vm.run->ready_for_interrupt_injection);
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(0, e.interrupt.shadow);

	ASSERT_EQ(0, interrupt(&vm, 0x22));
	ASSERT_EQ(0xe1, run_out(&vm));
	EXPECT_EQ(1, counted(&vm, 0x22));
	EXPECT_EQ(1, counted_all(&vm));
	vm_destroy(&vm);
}

/* KVM_RUN that returns at once: only kvm_run's x86 fields are filled. */
static int run_ready(struct __test_metadata *_metadata, struct evm *vm)
{
	long r;

	vm->run->immediate_exit = 1;
	r = kvmmu_ioctl(vm->fd, KVM_RUN, 0);
	vm->run->immediate_exit = 0;
	EXPECT_EQ(-EINTR, r);
	return vm->run->ready_for_interrupt_injection;
}

TEST(ready_waits_for_event)
{
	struct kvm_vcpu_events e;
	struct kvm_regs regs;
	struct evm vm;
	int kind;

	/* 0: an exception, 1: an NMI, 2: an interrupt, each as restored. */
	for (kind = 0; kind < 3; kind++) {
		vm_create(_metadata, &vm, gpa_of(ev_irq_guest));
		ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_GET_REGS,
					 (unsigned long)&regs));
		regs.rflags |= 0x200;
		ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_SET_REGS,
					 (unsigned long)&regs));
		EXPECT_EQ(1, run_ready(_metadata, &vm)) TH_LOG("kind %d", kind);

		get_events(_metadata, &vm, &e);
		e.flags = 0;
		if (kind == 0) {
			e.exception.injected = 1;
			e.exception.nr = 6;
		} else if (kind == 1) {
			e.nmi.injected = 1;
		} else {
			e.interrupt.injected = 1;
			e.interrupt.nr = 0x23;
		}
		ASSERT_EQ(0, set_events(&vm, &e));
		EXPECT_EQ(0, run_ready(_metadata, &vm)) TH_LOG("kind %d", kind);

		/*
		 * Taken (the handler counts, IRETs; the NMI handler OUTs
		 * twice on its way), then STI; NOP; OUT.
		 */
		if (kind == 1) {
			ASSERT_EQ(0xc1, run_out(&vm));
			ASSERT_EQ(0xc2, run_out(&vm));
		}
		ASSERT_EQ(0xa1, run_out(&vm));
		EXPECT_EQ(1, counted_all(&vm));
		EXPECT_EQ(1, vm.run->ready_for_interrupt_injection);
		vm_destroy(&vm);
	}
}

TEST(nmi_window_not_in_event_frame)
{
	static const int want[] = { 0xc1, 0xc2, 0xe6, 0xe7 };
	struct kvm_vcpu_events e;
	struct evm vm;
	int i;

	vm_create(_metadata, &vm, gpa_of(ev_udnmi_guest));
	put16(vm.mem, 4 * 6, gpa_of(ev_ud_out_handler));
	get_events(_metadata, &vm, &e);
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.exception.injected = 1;
	e.exception.nr = 6;
	e.exception.has_error_code = 0;
	e.nmi.pending = 1;
	e.nmi.injected = 0;
	e.nmi.masked = 0;
	ASSERT_EQ(0, set_events(&vm, &e));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(want[i], run_out(&vm)) TH_LOG("OUT number %d", i);
	EXPECT_EQ(1, counted(&vm, 6));
	EXPECT_EQ(1, counted(&vm, 2));
	EXPECT_EQ(0, counted(&vm, 1)) TH_LOG("a #DB the guest never asked for");
	EXPECT_EQ(2, counted_all(&vm));
	vm_destroy(&vm);
}

TEST(cpuid_offers_apic)
{
	struct kvm_cpuid2 *c;
	int devfd, found = 0;
	uint32_t i;

	devfd = kvmmu_open_dev();
	ASSERT_GE(devfd, 0);
	c = kvmmu_supported_cpuid(devfd);
	ASSERT_NE(NULL, c) TH_LOG("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function != 1)
			continue;
		found = 1;
		EXPECT_TRUE(c->entries[i].edx & (1u << 9))
			TH_LOG("leaf 1 EDX 0x%08x has no APIC bit", c->entries[i].edx);
	}
	EXPECT_EQ(1, found);
	free(c);
	close(devfd);
}

TEST(nmi_masked_until_iret)
{
	struct kvm_vcpu_events e;
	struct evm vm;

	vm_create(_metadata, &vm, gpa_of(ev_nmi_guest));
	ASSERT_EQ(0xc0, run_out(&vm));
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_NMI, 0));
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(1, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.masked);

	ASSERT_EQ(0xc1, run_out(&vm));
	EXPECT_EQ(1, counted(&vm, 2));
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.injected);
	EXPECT_EQ(1, e.nmi.masked);

	/* Blocked in the handler: pending until its IRET. */
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_NMI, 0));
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(1, e.nmi.pending);
	EXPECT_EQ(1, e.nmi.masked);
	ASSERT_EQ(0xc2, run_out(&vm));
	EXPECT_EQ(1, counted(&vm, 2));

	ASSERT_EQ(0xc1, run_out(&vm));
	EXPECT_EQ(2, counted(&vm, 2));
	ASSERT_EQ(0xc2, run_out(&vm));
	ASSERT_EQ(0xc3, run_out(&vm));
	EXPECT_EQ(2, counted(&vm, 2));
	EXPECT_EQ(2, counted_all(&vm));
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.masked);
	vm_destroy(&vm);
}

TEST(vcpu_events_abi)
{
	struct kvm_vcpu_events e, g;
	struct kvm_sregs sregs;
	int nr2;
	struct evm vm;

	vm_create(_metadata, &vm, gpa_of(ev_irq_guest));
	EXPECT_EQ(1, kvmmu_check_extension(vm.devfd, KVM_CAP_VCPU_EVENTS));
	EXPECT_EQ(1, kvmmu_check_extension(vm.devfd, KVM_CAP_USER_NMI));

	get_events(_metadata, &vm, &g);
	EXPECT_EQ(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		  KVM_VCPUEVENT_VALID_SMM, g.flags);
	EXPECT_EQ(0, g.exception.injected);
	EXPECT_EQ(0, g.interrupt.injected);
	EXPECT_EQ(0, g.interrupt.shadow);
	EXPECT_EQ(0, g.nmi.injected);
	EXPECT_EQ(0, g.nmi.pending);
	EXPECT_EQ(0, g.nmi.masked);
	EXPECT_EQ(0, g.smi.smm);

	memset(&e, 0, sizeof(e));
	e.flags = 0x80000000u;
	EXPECT_EQ(-EINVAL, set_events(&vm, &e));
	e.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	EXPECT_EQ(-EINVAL, set_events(&vm, &e));
	e.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	EXPECT_EQ(-EINVAL, set_events(&vm, &e));
	e.flags = 0;
	e.exception.injected = 1;
	e.exception.nr = 2;
	EXPECT_EQ(-EINVAL, set_events(&vm, &e));
	e.exception.nr = 32;
	EXPECT_EQ(-EINVAL, set_events(&vm, &e));
	if (!kvmmu_is_stock()) {
		/* kvmmu is KVM without SMM; Debian's kvm_amd has SMM. */
		memset(&e, 0, sizeof(e));
		e.flags = KVM_VCPUEVENT_VALID_SMM;
		e.smi.smm = 1;
		EXPECT_EQ(-EINVAL, set_events(&vm, &e));
		e.smi.smm = 0;
		e.smi.pending = 1;
		EXPECT_EQ(-EINVAL, set_events(&vm, &e));
	}

	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	e.exception.injected = 1;
	e.exception.nr = 13;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0x18;
	e.interrupt.injected = 1;
	e.interrupt.nr = 0x30;
	e.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	e.nmi.pending = 5;
	e.nmi.masked = 1;
	ASSERT_EQ(0, set_events(&vm, &e));
	get_events(_metadata, &vm, &g);
	EXPECT_EQ(1, g.exception.injected);
	EXPECT_EQ(0, g.exception.pending);
	EXPECT_EQ(13, g.exception.nr);
	EXPECT_EQ(1, g.exception.has_error_code);
	EXPECT_EQ(0x18u, g.exception.error_code);
	EXPECT_EQ(1, g.interrupt.injected);
	EXPECT_EQ(0x30, g.interrupt.nr);
	/* SVM keeps one shadow bit and reports both kinds. */
	EXPECT_EQ(KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS,
		  g.interrupt.shadow);
	EXPECT_EQ(0, g.nmi.injected);
	EXPECT_EQ(1, g.nmi.pending);
	EXPECT_EQ(1, g.nmi.masked);

	/*
	 * Unmasked, two NMIs may wait; without the flag pending stays.
	 * KVM before 6.4 reported only whether any was pending.
	 */
	nr2 = stock_at_least(6, 4) ? 2 : 1;
	e.nmi.masked = 0;
	ASSERT_EQ(0, set_events(&vm, &e));
	get_events(_metadata, &vm, &g);
	EXPECT_EQ(nr2, g.nmi.pending);
	e.flags = 0;
	e.nmi.pending = 0;
	e.interrupt.shadow = 0;
	ASSERT_EQ(0, set_events(&vm, &e));
	get_events(_metadata, &vm, &g);
	EXPECT_EQ(nr2, g.nmi.pending);
	EXPECT_EQ(KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS,
		  g.interrupt.shadow);

	/* KVM_SET_SREGS queues the lowest vector of interrupt_bitmap. */
	memset(&e, 0, sizeof(e));
	ASSERT_EQ(0, set_events(&vm, &e));
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_GET_SREGS, (unsigned long)&sregs));
	sregs.interrupt_bitmap[0] = 1ULL << 0x33 | 1ULL << 0x3f;
	sregs.interrupt_bitmap[2] = 1;
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_SET_SREGS, (unsigned long)&sregs));
	get_events(_metadata, &vm, &g);
	EXPECT_EQ(1, g.interrupt.injected);
	EXPECT_EQ(0x33, g.interrupt.nr);
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_GET_SREGS, (unsigned long)&sregs));
	EXPECT_EQ(1ULL << 0x33, sregs.interrupt_bitmap[0]);
	EXPECT_EQ(0, sregs.interrupt_bitmap[2]);

	/* Cleared again, the guest runs as if nothing had been set. */
	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	ASSERT_EQ(0, set_events(&vm, &e));
	ASSERT_EQ(0xa1, run_out(&vm));
	EXPECT_EQ(0, counted_all(&vm));
	vm_destroy(&vm);
}

TEST(set_events_delivered)
{
	struct kvm_vcpu_events e;
	struct evm vm;

	vm_create(_metadata, &vm, gpa_of(ev_irq_guest));
	memset(&e, 0, sizeof(e));
	e.exception.injected = 1;
	e.exception.nr = 6;
	ASSERT_EQ(0, set_events(&vm, &e));
	ASSERT_EQ(0xa1, run_out(&vm));
	EXPECT_EQ(1, counted(&vm, 6));
	EXPECT_EQ(1, counted_all(&vm));
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(0, e.exception.injected);

	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.nmi.pending = 1;
	ASSERT_EQ(0, set_events(&vm, &e));
	ASSERT_EQ(0xc1, run_out(&vm));
	ASSERT_EQ(0xc2, run_out(&vm));
	ASSERT_EQ(0xa2, run_out(&vm));
	EXPECT_EQ(1, counted(&vm, 2));
	EXPECT_EQ(2, counted_all(&vm));
	get_events(_metadata, &vm, &e);
	EXPECT_EQ(0, e.nmi.pending);
	EXPECT_EQ(0, e.nmi.masked);
	vm_destroy(&vm);
}

TEST(run_cr8)
{
	struct kvm_sregs sregs;
	struct evm vm;

	vm_create(_metadata, &vm, gpa_of(ev_irq_guest));
	vm.run->cr8 = 5;
	ASSERT_EQ(0xa1, run_out(&vm));
	EXPECT_EQ(5, vm.run->cr8);
	ASSERT_EQ(0, kvmmu_ioctl(vm.fd, KVM_GET_SREGS, (unsigned long)&sregs));
	EXPECT_EQ(5, sregs.cr8);

	vm.run->cr8 = 16;
	EXPECT_EQ(-EINVAL, run(&vm));
	vm.run->cr8 = 0;
	ASSERT_EQ(0xa2, run_out(&vm));
	EXPECT_EQ(0, vm.run->cr8);
	vm_destroy(&vm);
}

TEST_HARNESS_MAIN
