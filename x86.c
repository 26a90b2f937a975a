// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: their file, their state as a VMM sets it, and KVM_RUN.
 *
 * What it is
 * ----------
 * Everything about a vCPU that does not depend on SVM or VMX: the vCPU file
 * and its mmap (struct kvm_run, then a page for port I/O data), the register
 * ioctls with KVM's validation, CPUID as the VMM sets it, the KVM_RUN loop
 * (signals, need_resched, immediate_exit, the guest FPU) and the exits that
 * every backend turns into the same kvm_run contents: port I/O, MMIO, CPUID,
 * internal errors.
 *
 * Design
 * ------
 * The architectural state lives in vcpu->regs and vcpu->sregs in KVM's own
 * layout whenever the vCPU is outside the backend's vcpu_run(); the backend
 * copies it into its hardware structure before each entry and back after
 * each exit. That costs a few hundred bytes of copying per exit and buys a
 * backend-free definition of every ioctl and exit handler.
 *
 * An exit to the VMM that needs an answer (IN, an MMIO load) or that KVM
 * finishes on the next KVM_RUN (OUT, MMIO store) is recorded in
 * vcpu->pending. The next KVM_RUN completes it, and skips the instruction,
 * before anything else, including before honouring immediate_exit; if the VMM
 * moved RIP meanwhile, the completion is dropped as KVM does.
 *
 * Exclusion rules
 * ---------------
 * - vcpu->mutex is held by every vCPU ioctl; vCPU state is only touched under
 *   it (or, for vcpu->mode and vcpu->requests, with atomics: see
 *   vm.c).
 * - vCPUs are created under vm->lock and freed only when the VM is freed,
 *   after every vCPU file and the VM file are closed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/cpufeature.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/types.h>
#include <asm/processor.h>
#include <asm/trapnr.h>
#include <asm/tsc.h>

#include "kvmmu.h"
#include "mmu.h"
#include "emulate.h"
#include "trace.h"

#define KVMMU_VCPU_MMAP_PAGES	2	/* struct kvm_run, then PIO data */

static struct kvmmu_vcpu *vcpu_from_file(struct file *filp)
{
	return filp->private_data;
}

/* CPUID ---------------------------------------------------------------- */

/**
 * kvmmu_guest_phys_bits - MAXPHYADDR reported to guests.
 *
 * Return: kvmmu_mmu_phys_bits(), the limit of memslots and of the NPT.
 */
u32 kvmmu_guest_phys_bits(void)
{
	return kvmmu_mmu_phys_bits();
}

static bool guest_has(const struct kvmmu_vcpu *vcpu, u32 func, int reg,
		      u32 bit)
{
	const struct kvm_cpuid_entry2 *e;
	u32 val;

	e = kvmmu_find_cpuid(vcpu, func, 0);
	if (!e)
		return false;
	val = reg == 0 ? e->eax : reg == 1 ? e->ebx : reg == 2 ? e->ecx : e->edx;
	return val & bit;
}

#define CPUID_EAX	0
#define CPUID_EBX	1
#define CPUID_ECX	2
#define CPUID_EDX	3

/*
 * Features passed through from the host when it has them. Only what the
 * guest can use without help from us: no XSAVE/AVX yet (XCR0 is not
 * switched), no virtualization extensions. The APIC bit is offered as
 * KVM offers it: the VMM's own LAPIC serves it (MMIO at the APIC base,
 * KVM_INTERRUPT, kvm_run->cr8); without it QEMU builds a vCPU with no
 * LAPIC and Linux routes device interrupts through an IOAPIC that can
 * reach no CPU (the serial port's, for one).
 */
#define LEAF1_ECX	(BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | \
			 BIT(20) | BIT(22) | BIT(23) | BIT(25) | BIT(30))
#define LEAF1_EDX	(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | \
			 BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(9) | BIT(11) | \
			 BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16) | \
			 BIT(17) | BIT(19) | BIT(23) | BIT(24) | BIT(25) | \
			 BIT(26))
#define LEAF7_EBX	(BIT(0) | BIT(3) | BIT(7) | BIT(8) | BIT(9) | \
			 BIT(18) | BIT(19) | BIT(20) | BIT(29))
#define LEAF7_ECX	(BIT(2) | BIT(3) | BIT(16))	/* UMIP, PKU, LA57 */
#define EXT1_ECX	(BIT(0) | BIT(5) | BIT(6) | BIT(8))
#define EXT1_EDX	(BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29))

static int build_supported_cpuid(struct kvm_cpuid_entry2 *e)
{
	u32 max_basic = min_t(u32, cpuid_eax(0), 7);
	u32 max_ext = min_t(u32, cpuid_eax(0x80000000), 0x80000008);
	int n = 0;
	u32 f;

	for (f = 0; f <= max_basic; f++) {
		if (f != 0 && f != 1 && f != 7)
			continue;
		e[n].function = f;
		if (f == 7)
			e[n].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		cpuid_count(f, 0, &e[n].eax, &e[n].ebx, &e[n].ecx, &e[n].edx);
		if (f == 0) {
			e[n].eax = max_basic;
		} else if (f == 1) {
			/* No APIC ids to give: clear them, flag a hypervisor. */
			e[n].ebx &= 0xffff;
			e[n].ecx = (e[n].ecx & LEAF1_ECX) | BIT(31);
			e[n].edx &= LEAF1_EDX;
		} else {
			e[n].eax = 0;
			e[n].ebx &= LEAF7_EBX;
			/*
			 * kvm_set_cpu_caps(): SMEP and SMAP with either MMU
			 * (the walker checks both; the shadow MMU runs the
			 * guest's CR4 bits), when the kernel uses them.
			 */
			if (!boot_cpu_has(X86_FEATURE_SMEP))
				e[n].ebx &= ~BIT(7);
			if (!boot_cpu_has(X86_FEATURE_SMAP))
				e[n].ebx &= ~BIT(20);
			/* The CR4 bits valid_cr4() allows, as KVM offers them. */
			e[n].ecx &= LEAF7_ECX;
			if (!boot_cpu_has(X86_FEATURE_UMIP))
				e[n].ecx &= ~BIT(2);
			/* kvm_set_cpu_caps(): no PKU for shadow paging. */
			if (!kvmmu_tdp || !boot_cpu_has(X86_FEATURE_PKU) ||
			    !boot_cpu_has(X86_FEATURE_OSPKE))
				e[n].ecx &= ~BIT(3);
			/* The shadow MMU has no 5-level roots (yet). */
			if (!kvmmu_tdp)
				e[n].ecx &= ~BIT(16);
			e[n].edx = 0;
		}
		n++;
	}

	for (f = 0x80000000; f <= max_ext; f++) {
		if (f != 0x80000000 && f != 0x80000001 && f != 0x80000008)
			continue;
		e[n].function = f;
		cpuid(f, &e[n].eax, &e[n].ebx, &e[n].ecx, &e[n].edx);
		if (f == 0x80000000) {
			e[n].eax = max_ext;
		} else if (f == 0x80000001) {
			e[n].ecx &= EXT1_ECX;
			e[n].edx &= EXT1_EDX;
		} else {
			e[n].eax = kvmmu_guest_phys_bits() | 48 << 8;
			e[n].ebx = 0;
			e[n].ecx = 0;
			e[n].edx = 0;
		}
		n++;
	}
	return n;
}

/**
 * kvmmu_get_supported_cpuid - KVM_GET_SUPPORTED_CPUID.
 * @argp: user pointer to a struct kvm_cpuid2 followed by its entries.
 *
 * Return:
 * * 0       - the entries were written and nent set to their number.
 * * -E2BIG  - nent is smaller than the number of entries.
 * * -EFAULT - @argp cannot be read or written.
 * * -ENOMEM - out of memory.
 */
long kvmmu_get_supported_cpuid(void __user *argp)
{
	struct kvm_cpuid2 __user *ucpuid = argp;
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 cpuid;
	long r;
	int n;

	if (copy_from_user(&cpuid, ucpuid, sizeof(cpuid)))
		return -EFAULT;

	e = kcalloc(16, sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	n = build_supported_cpuid(e);

	r = -E2BIG;
	if (cpuid.nent < n)
		goto out;
	r = -EFAULT;
	cpuid.nent = n;
	if (copy_to_user(ucpuid, &cpuid, sizeof(cpuid)) ||
	    copy_to_user(ucpuid->entries, e, n * sizeof(*e)))
		goto out;
	r = 0;
out:
	kfree(e);
	return r;
}

#define ANY_INDEX	((u32)-1)	/* KVM_CPUID_INDEX_NOT_SIGNIFICANT */

/*
 * cpuid_entry2_find(): the first entry for @func and, where it matters,
 * @index; with ANY_INDEX the first for @func.
 */
static struct kvm_cpuid_entry2 *find_entry(struct kvm_cpuid_entry2 *e,
					   int nent, u32 func, u32 index)
{
	int i;

	for (i = 0; i < nent; i++) {
		if (e[i].function == func &&
		    (index == ANY_INDEX || e[i].index == index ||
		     !(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
			return &e[i];
	}
	return NULL;
}

/* xstate_required_size(): the XSAVE area for @xfeatures. */
static u32 xstate_size(u64 xfeatures, bool compacted)
{
	u32 size = 512 + 64;	/* legacy area, XSAVE header */
	u32 eax, ebx, ecx, edx, offset;
	int i;

	for (i = 2; i < 64; i++) {
		if (!(xfeatures & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		if (compacted)
			offset = ecx & 2 ? ALIGN(size, 64) : size;
		else
			offset = ebx;
		size = max(size, offset + eax);
	}
	return size;
}

/*
 * __kvm_update_cpuid_runtime(): the bits of @e that follow the vCPU's
 * state (CR4.OSXSAVE, the APIC enable, CR4.PKE, the XSAVE sizes for XCR0),
 * as KVM keeps them in the entries it stores and compares.
 */
static void cpuid_runtime(const struct kvmmu_vcpu *vcpu,
			  struct kvm_cpuid_entry2 *e, int nent)
{
	struct kvm_cpuid_entry2 *b;

	b = find_entry(e, nent, 1, ANY_INDEX);
	if (b) {
		if (boot_cpu_has(X86_FEATURE_XSAVE)) {
			b->ecx &= ~BIT(27);
			if (vcpu->sregs.cr4 & X86_CR4_OSXSAVE)
				b->ecx |= BIT(27);
		}
		b->edx &= ~BIT(9);
		if (vcpu->sregs.apic_base & MSR_IA32_APICBASE_ENABLE)
			b->edx |= BIT(9);
	}
	b = find_entry(e, nent, 7, 0);
	if (b && boot_cpu_has(X86_FEATURE_PKU) && b->function == 7) {
		b->ecx &= ~BIT(4);
		if (vcpu->sregs.cr4 & X86_CR4_PKE)
			b->ecx |= BIT(4);
	}
	b = find_entry(e, nent, 0xd, 0);
	if (b)
		b->ebx = xstate_size(vcpu->xcr0, false);
	b = find_entry(e, nent, 0xd, 1);
	if (b && (b->eax & (BIT(1) | BIT(3))))	/* XSAVEC, XSAVES */
		b->ebx = xstate_size(vcpu->xcr0, true);
}

/* kvm_cpuid_check_equal(): the entries the vCPU has, field by field. */
static bool cpuid_equal(const struct kvmmu_vcpu *vcpu,
			const struct kvm_cpuid_entry2 *e, int nent)
{
	const struct kvm_cpuid_entry2 *o = vcpu->cpuid;
	int i;

	if (nent != vcpu->cpuid_nent)
		return false;
	for (i = 0; i < nent; i++) {
		if (e[i].function != o[i].function || e[i].index != o[i].index ||
		    e[i].flags != o[i].flags || e[i].eax != o[i].eax ||
		    e[i].ebx != o[i].ebx || e[i].ecx != o[i].ecx ||
		    e[i].edx != o[i].edx)
			return false;
	}
	return true;
}

/* kvm_check_cpuid(): what KVM refuses before taking the entries. */
static int check_cpuid(struct kvm_cpuid_entry2 *e, int nent)
{
	struct kvm_cpuid_entry2 *b;
	u32 vaddr_bits;

	/* Canonical checks know 48 and 57 bits only. */
	b = find_entry(e, nent, 0x80000008, ANY_INDEX);
	if (b) {
		vaddr_bits = (b->eax >> 8) & 0xff;
		if (vaddr_bits != 48 && vaddr_bits != 57 && vaddr_bits != 0)
			return -EINVAL;
	}
	/*
	 * Dynamic features (AMX tile data) need the process's permission
	 * and a larger guest FPU: fpu_enable_guest_xfd_features() refuses
	 * them without it, and kvmmu never asks for it.
	 */
	b = find_entry(e, nent, 0xd, 0);
	if (b && ((u64)b->edx << 32 | b->eax) & XFEATURE_MASK_XTILE_DATA)
		return -EPERM;
	return 0;
}

/*
 * kvm_vcpu_ioctl_set_cpuid2() and kvm_set_cpuid(): after the vCPU has run,
 * only the CPUID it has is accepted again (VMMs reuse vCPUs for hotplug),
 * since what the MMU and the checks derived from it would go stale.
 */
static int set_cpuid2(struct kvmmu_vcpu *vcpu, struct kvm_cpuid2 __user *u)
{
	struct kvm_cpuid_entry2 *e = NULL;
	struct kvm_cpuid2 cpuid;
	int r;

	if (copy_from_user(&cpuid, u, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent > KVMMU_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (cpuid.nent) {
		e = vmemdup_user(u->entries, array_size(cpuid.nent, sizeof(*e)));
		if (IS_ERR(e))
			return PTR_ERR(e);
	}
	cpuid_runtime(vcpu, e, cpuid.nent);
	if (vcpu->has_run) {
		cpuid_runtime(vcpu, vcpu->cpuid, vcpu->cpuid_nent);
		r = cpuid_equal(vcpu, e, cpuid.nent) ? 0 : -EINVAL;
		kvfree(e);
		return r;
	}
	r = check_cpuid(e, cpuid.nent);
	if (r) {
		kvfree(e);
		return r;
	}
	kvfree(vcpu->cpuid);
	vcpu->cpuid = e;
	vcpu->cpuid_nent = cpuid.nent;
	vcpu->walk_cpuid_ok = false;
	return 0;
}

static int get_cpuid2(struct kvmmu_vcpu *vcpu, struct kvm_cpuid2 __user *u)
{
	struct kvm_cpuid2 cpuid;

	if (copy_from_user(&cpuid, u, sizeof(cpuid)))
		return -EFAULT;
	if (cpuid.nent < vcpu->cpuid_nent)
		return -E2BIG;
	cpuid.nent = vcpu->cpuid_nent;
	if (copy_to_user(u, &cpuid, sizeof(cpuid)) ||
	    copy_to_user(u->entries, vcpu->cpuid,
			 vcpu->cpuid_nent * sizeof(*vcpu->cpuid)))
		return -EFAULT;
	return 0;
}

/**
 * kvmmu_handle_cpuid - emulate CPUID from the entries the VMM set.
 * @vcpu: the vCPU, state in vcpu->regs.
 *
 * A leaf the VMM did not set reads as zeros.
 *
 * Return: 1, the guest continues.
 */
int kvmmu_handle_cpuid(struct kvmmu_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e;
	struct kvm_regs *regs = &vcpu->regs;

	u32 func = regs->rax;

	e = kvmmu_find_cpuid(vcpu, func, (u32)regs->rcx);
	regs->rax = e ? e->eax : 0;
	regs->rbx = e ? e->ebx : 0;
	regs->rcx = e ? e->ecx : 0;
	regs->rdx = e ? e->edx : 0;
	/*
	 * OSXSAVE and OSPKE mirror CR4, as kvm_update_cpuid_runtime() keeps
	 * them (OSPKE in the entry of leaf 7 subleaf 0, if the host has PKU).
	 */
	if (func == 1 && e) {
		regs->rcx &= ~(u64)BIT(27);
		if (vcpu->sregs.cr4 & X86_CR4_OSXSAVE)
			regs->rcx |= BIT(27);
	}
	if (func == 7 && e && e == kvmmu_find_cpuid(vcpu, 7, 0) &&
	    boot_cpu_has(X86_FEATURE_PKU)) {
		regs->rcx &= ~(u64)BIT(4);
		if (vcpu->sregs.cr4 & X86_CR4_PKE)
			regs->rcx |= BIT(4);
	}
	regs->rip += 2;
	kvmmu_insn_done(vcpu);
	return 1;
}

/* Registers ------------------------------------------------------------ */

static void reset_seg(struct kvm_segment *s, u16 sel, u64 base, u8 type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
}

/* The state of a vCPU after RESET, as KVM gives it. */
static void vcpu_reset(struct kvmmu_vcpu *vcpu)
{
	struct kvm_sregs *s = &vcpu->sregs;

	memset(&vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs.rip = 0xfff0;
	vcpu->regs.rflags = X86_EFLAGS_FIXED;
	vcpu->regs.rdx = 0x600;

	memset(s, 0, sizeof(*s));
	reset_seg(&s->cs, 0xf000, 0xffff0000, 0xb);
	reset_seg(&s->ds, 0, 0, 0x3);
	s->es = s->ds;
	s->fs = s->ds;
	s->gs = s->ds;
	s->ss = s->ds;
	reset_seg(&s->ldt, 0, 0, 0x2);
	s->ldt.s = 0;
	reset_seg(&s->tr, 0, 0, 0xb);
	s->tr.s = 0;
	s->gdt.limit = 0xffff;
	s->idt.limit = 0xffff;
	s->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	s->apic_base = 0xfee00000 | (vcpu->vcpu_id ? 0 : BIT(8)) | BIT(11);

	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	vcpu->pending = KVMMU_PENDING_NONE;
	vcpu->singlestep_pending = false;
	kvmmu_events_reset(vcpu);
	kvmmu_ops.vcpu_reset(vcpu);
	kvmmu_msr_reset(vcpu);
}

/*
 * LA57 as kvm_set_cpu_caps() takes it: from the raw CPUID, whether or not
 * the host kernel itself runs with five-level paging.
 */
static bool host_has_la57(void)
{
	static int cached;	/* 0: not read yet, 1: no, 2: yes */
	int v = READ_ONCE(cached);

	if (!v) {
		v = cpuid_eax(0) >= 7 && (cpuid_ecx(7) & BIT(16)) ? 2 : 1;
		WRITE_ONCE(cached, v);
	}
	return v == 2;
}

/*
 * __kvm_is_valid_cr4(): a bit is reserved unless KVM supports it on this
 * host (__cr4_reserved_bits() over kvm_cpu_caps) and the vCPU's CPUID has
 * it (cr4_guest_rsvd_bits). VMXE (an AMD host) and LAM_SUP (no LAM in
 * kvm_amd) are never allowed.
 */
static bool valid_cr4(const struct kvmmu_vcpu *vcpu, u64 cr4)
{
	u64 ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
		 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |
		 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

	/* Bits that need a feature of the host and of the guest's CPUID. */
	if (boot_cpu_has(X86_FEATURE_FSGSBASE) &&
	    guest_has(vcpu, 7, CPUID_EBX, BIT(0)))
		ok |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_SMEP) &&
	    guest_has(vcpu, 7, CPUID_EBX, BIT(7)))
		ok |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP) &&
	    guest_has(vcpu, 7, CPUID_EBX, BIT(20)))
		ok |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_PCID) &&
	    guest_has(vcpu, 1, CPUID_ECX, BIT(17)))
		ok |= X86_CR4_PCIDE;
	if (boot_cpu_has(X86_FEATURE_XSAVE) &&
	    guest_has(vcpu, 1, CPUID_ECX, BIT(26)))
		ok |= X86_CR4_OSXSAVE;
	/*
	 * kvm_set_cpu_caps(): PKU only with OSPKE and TDP (the shadow MMU
	 * does not check protection keys).
	 */
	if (kvmmu_tdp && boot_cpu_has(X86_FEATURE_PKU) &&
	    boot_cpu_has(X86_FEATURE_OSPKE) &&
	    guest_has(vcpu, 7, CPUID_ECX, BIT(3)))
		ok |= X86_CR4_PKE;
	if (boot_cpu_has(X86_FEATURE_UMIP) &&
	    guest_has(vcpu, 7, CPUID_ECX, BIT(2)))
		ok |= X86_CR4_UMIP;
	if (kvmmu_tdp && host_has_la57() &&
	    guest_has(vcpu, 7, CPUID_ECX, BIT(16)))
		ok |= X86_CR4_LA57;
	return !(cr4 & ~ok);
}

/**
 * kvmmu_efer_reserved - whether @efer sets a bit of efer_reserved_bits.
 * @efer: the value.
 *
 * The part of kvm_valid_efer() that also holds for a host-initiated
 * KVM_SET_MSRS (set_efer()): SCE, LME/LMA, NX, and FFXSR and AUTOIBRS if
 * the host has them, are the only bits that may be set.
 *
 * Return: true if a reserved bit is set.
 */
bool kvmmu_efer_reserved(u64 efer)
{
	u64 ok = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;

	if (boot_cpu_has(X86_FEATURE_FXSR_OPT))
		ok |= EFER_FFXSR;
	if (boot_cpu_has(X86_FEATURE_AUTOIBRS))
		ok |= EFER_AUTOIBRS;
	return efer & ~ok;
}

/*
 * kvm_valid_efer(): efer_reserved_bits as svm_hardware_setup() leaves them
 * (SCE, LME/LMA, NX; FFXSR and AUTOIBRS if the host has them), then
 * __kvm_valid_efer()'s guest CPUID checks. SVME and LMSLE, which kvm_amd
 * enables with nested=1, stay reserved: kvmmu has no nested SVM.
 */
static bool valid_efer(const struct kvmmu_vcpu *vcpu, u64 efer)
{
	if (kvmmu_efer_reserved(efer))
		return false;
	if ((efer & EFER_AUTOIBRS) &&
	    !guest_has(vcpu, 0x80000021, CPUID_EAX, BIT(8)))
		return false;
	if ((efer & EFER_FFXSR) &&
	    !guest_has(vcpu, 0x80000001, CPUID_EDX, BIT(25)))
		return false;
	if ((efer & (EFER_LME | EFER_LMA)) &&
	    !guest_has(vcpu, 0x80000001, CPUID_EDX, BIT(29)))
		return false;
	if ((efer & EFER_NX) && !guest_has(vcpu, 0x80000001, CPUID_EDX, BIT(20)))
		return false;
	return true;
}

/*
 * cpuid_query_maxphyaddr(): the guest's MAXPHYADDR is what the CPUID the
 * VMM set says in leaf 0x80000008, if leaf 0x80000000 reaches it, else 36.
 */
static u32 guest_maxphyaddr(const struct kvmmu_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e;

	e = kvmmu_find_cpuid(vcpu, 0x80000000, 0);
	if (!e || e->eax < 0x80000008)
		return 36;
	e = kvmmu_find_cpuid(vcpu, 0x80000008, 0);
	return e ? e->eax & 0xff : 36;
}

/* kvm_vcpu_is_legal_gpa(): no bit at or above the guest's MAXPHYADDR. */
static bool legal_gpa(const struct kvmmu_vcpu *vcpu, u64 gpa)
{
	u32 bits = guest_maxphyaddr(vcpu);

	return bits >= 64 || !(gpa >> bits);
}

/*
 * kvm_apic_set_base() for a host-initiated write, as __set_sregs_common()
 * makes it: no bit above the guest's MAXPHYADDR, none of 0x2ff, x2APIC
 * only with CPUID.1:ECX.x2APIC, and not x2APIC without the enable bit.
 */
static bool valid_apic_base(const struct kvmmu_vcpu *vcpu, u64 base)
{
	u64 mode = base & (X2APIC_ENABLE | MSR_IA32_APICBASE_ENABLE);

	if (!legal_gpa(vcpu, base) || (base & 0x2ff))
		return false;
	if ((base & X2APIC_ENABLE) && !guest_has(vcpu, 1, CPUID_ECX, BIT(21)))
		return false;
	return mode != X2APIC_ENABLE;
}

/* For msr.c: the checks above, shared with KVM_SET/GET_MSRS and WRMSR. */

/**
 * kvmmu_guest_has - whether the CPUID the VMM set has a feature bit.
 * @vcpu: the vCPU.
 * @func: leaf, subleaf 0.
 * @reg: 0-3 for EAX, EBX, ECX, EDX.
 * @bit: the bit mask.
 *
 * Return: true if the leaf exists and has the bit.
 */
bool kvmmu_guest_has(const struct kvmmu_vcpu *vcpu, u32 func, int reg,
		     u32 bit)
{
	return guest_has(vcpu, func, reg, bit);
}

/**
 * kvmmu_valid_efer - kvm_valid_efer(): reserved bits and guest CPUID.
 * @vcpu: the vCPU.
 * @efer: the value.
 *
 * Return: true if KVM_SET_SREGS or a guest WRMSR may set it.
 */
bool kvmmu_valid_efer(const struct kvmmu_vcpu *vcpu, u64 efer)
{
	return valid_efer(vcpu, efer);
}

/**
 * kvmmu_valid_apic_base - the APIC base checks of KVM_SET_SREGS.
 * @vcpu: the vCPU.
 * @base: the value.
 *
 * Return: true if kvm_apic_set_base() would accept it from the host.
 */
bool kvmmu_valid_apic_base(const struct kvmmu_vcpu *vcpu, u64 base)
{
	return valid_apic_base(vcpu, base);
}

/**
 * kvmmu_legal_gpa - kvm_vcpu_is_legal_gpa().
 * @vcpu: the vCPU.
 * @gpa: the address.
 *
 * Return: true if no bit at or above the guest's MAXPHYADDR is set.
 */
bool kvmmu_legal_gpa(const struct kvmmu_vcpu *vcpu, u64 gpa)
{
	return legal_gpa(vcpu, gpa);
}

/**
 * kvmmu_host_has_la57 - max_host_virt_addr_bits() is 57.
 *
 * Return: true if the host CPU has five-level paging.
 */
bool kvmmu_host_has_la57(void)
{
	return host_has_la57();
}

/* KVM's checks, in KVM's order; the state is untouched on failure. */
static bool valid_sregs(const struct kvmmu_vcpu *vcpu,
			const struct kvm_sregs *s)
{
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		/* kvm_vcpu_is_legal_cr3(); kvm_amd has no LAM. */
		if (!legal_gpa(vcpu, s->cr3))
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	if (!valid_cr4(vcpu, s->cr4))
		return false;
	if (s->cr0 >> 32)
		return false;
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return false;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return false;
	if (!valid_efer(vcpu, s->efer))
		return false;
	return valid_apic_base(vcpu, s->apic_base);
}

/* PIO and MMIO exits ----------------------------------------------------- */

/**
 * kvmmu_handle_pio - exit to the VMM for an IN or OUT.
 * @vcpu: the vCPU, state in vcpu->regs.
 * @in: IN (data flows to the guest) rather than OUT.
 * @port: the I/O port.
 * @size: 1, 2 or 4 bytes.
 * @next_rip: RIP of the following instruction.
 *
 * OUT data is copied from RAX to the PIO page now; IN data is copied to RAX,
 * and RIP advanced for both, by the next KVM_RUN.
 *
 * Return: 0, exit to the VMM with KVM_EXIT_IO.
 */
int kvmmu_handle_pio(struct kvmmu_vcpu *vcpu, bool in, u16 port, int size,
		     u64 next_rip)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = port;
	run->io.count = 1;
	run->io.data_offset = PAGE_SIZE;
	if (!in)
		memcpy(vcpu->pio_data, &vcpu->regs.rax, size);

	vcpu->pending = KVMMU_PENDING_PIO;
	vcpu->pending_string = false;
	vcpu->pending_in = in;
	vcpu->pending_size = size;
	vcpu->pending_rip = vcpu->regs.rip;
	vcpu->pending_len = next_rip - vcpu->regs.rip;
	return 0;
}

/* The guest's operand and address size, for the decoder. */
static int cpu_mode(const struct kvmmu_vcpu *vcpu)
{
	const struct kvm_sregs *s = &vcpu->sregs;

	if (!(s->cr0 & X86_CR0_PE) || (vcpu->regs.rflags & X86_EFLAGS_VM))
		return 16;
	if ((s->efer & EFER_LMA) && s->cs.l)
		return 64;
	return s->cs.db ? 32 : 16;
}

/*
 * Read or write guest RAM at @gpa for an instruction kvmmu emulates. A
 * store may hit a guest page table that the shadow MMU write-protects:
 * the SPTEs of the entries written are zapped (KVM's emulator ends in
 * kvm_page_track_write() -> kvm_mmu_track_write()).
 */
static int guest_rw(struct kvmmu_vcpu *vcpu, u64 gpa, void *buf,
		    unsigned int len, bool write)
{
	struct kvmmu_mmu *mmu = vcpu->vm->mmu;
	int r = kvmmu_guest_rw(vcpu->vm, gpa, buf, len, write);

	if (!r && write && mmu && mmu->shadow)
		kvmmu_shadow_track_write(vcpu->vm, gpa, len);
	return r;
}

/*
 * Translate the linear address of an access the CPU left to kvmmu, as
 * KVM's vcpu_mmio_gva_to_gpa() does: U at CPL 3, and A (D for a store)
 * set in the guest's entries (FNAME(update_accessed_dirty_bits)), since no
 * CPU walked them for this operand. 0 with *@gpa, 1 when the guest's
 * #PF was queued instead (CR2 = @la, the walker's error code, as
 * kvm_inject_emulated_page_fault(); a table outside guest memory too, as
 * not present), -EFAULT for a non-canonical address or a walk whose
 * entries kept changing.
 */
static int translate_la(struct kvmmu_vcpu *vcpu, u64 la, bool write,
			u64 *gpa)
{
	u32 access = write ? KVMMU_PFERR_WRITE : 0;
	struct kvmmu_walk walk;
	int idx, r;

	if (kvmmu_vcpu_cpl(vcpu) == 3)
		access |= KVMMU_PFERR_USER;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	r = kvmmu_shadow_walk(vcpu, la, access, &walk);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	if (r == KVMMU_WALK_PAGE_FAULT) {
		/*
		 * A #PF on a present entry drops what the TLB holds for @la:
		 * __kvm_inject_emulated_page_fault()'s
		 * kvm_mmu_invalidate_addr(), a shadow SPTE synced as for
		 * INVLPG and (no single-address flush) the ASID flushed.
		 */
		if ((walk.error_code & (KVMMU_PFERR_PRESENT |
					KVMMU_PFERR_RSVD)) ==
		    KVMMU_PFERR_PRESENT) {
			if (vcpu->vm->mmu && vcpu->vm->mmu->shadow)
				kvmmu_shadow_invlpg(vcpu, la);
			kvmmu_make_request(vcpu, KVMMU_REQ_TLB_FLUSH);
		}
		vcpu->sregs.cr2 = la;
		kvmmu_queue_exception(vcpu, X86_TRAP_PF, true, walk.error_code);
		return 1;
	}
	if (r)
		return -EFAULT;
	*gpa = walk.gpa;
	return 0;
}

/*
 * Copy @len bytes between @buf and guest linear address @la, where the
 * access starts @first bytes in (the top element when EFLAGS.DF is set:
 * CR2 is the address of what faults first). A string I/O chunk spans at
 * most two guest pages; both are translated before either is touched, so
 * a #PF leaves memory as it was. Return 0, 1 when a #PF was queued,
 * -EFAULT when it cannot be emulated.
 */
static int guest_linear_rw(struct kvmmu_vcpu *vcpu, u64 la, u8 *buf,
			   unsigned int len, unsigned int first, bool write)
{
	unsigned int n = min_t(u64, len, PAGE_SIZE - offset_in_page(la));
	u64 gpa, gpa2 = 0, la2 = la + n;
	int r;

	if (len > PAGE_SIZE || first >= n)
		return -EFAULT;
	if (cpu_mode(vcpu) != 64)
		la2 = (u32)la2;
	r = translate_la(vcpu, la + first, write, &gpa);
	if (!r && n < len)
		r = translate_la(vcpu, la2, write, &gpa2);
	if (r)
		return r;
	gpa -= first;
	if (guest_rw(vcpu, gpa, buf, n, write) ||
	    (n < len && guest_rw(vcpu, gpa2, buf + n, len - n, write)))
		return -EFAULT;
	return 0;
}

/* Reverse the order of @count elements of @size bytes in @buf. */
static void reverse_elements(u8 *buf, unsigned int count, unsigned int size)
{
	unsigned int i, j, k;

	for (i = 0, j = count - 1; i < j; i++, j--)
		for (k = 0; k < size; k++)
			swap(buf[i * size + k], buf[j * size + k]);
}

/*
 * Copy the @count elements of a string I/O chunk between the PIO data page
 * (element 0 first) and guest memory at @la, where element 0 lives and the
 * others follow upwards, or downwards when EFLAGS.DF is set.
 */
static int string_rw(struct kvmmu_vcpu *vcpu, u64 la, unsigned int count,
		     unsigned int size, bool write)
{
	bool down = vcpu->regs.rflags & X86_EFLAGS_DF;
	u8 *data = vcpu->pio_data;
	int r;

	if (!down)
		return guest_linear_rw(vcpu, la, data, count * size, 0, write);
	/* Downwards: memory holds the elements in reverse order. */
	la -= (u64)(count - 1) * size;
	if (cpu_mode(vcpu) != 64)
		la = (u32)la;
	if (write)
		reverse_elements(data, count, size);
	r = guest_linear_rw(vcpu, la, data, count * size,
			    (count - 1) * size, write);
	if (!write)
		reverse_elements(data, count, size);
	return r;
}

/* The segment a prefix byte selects, or NULL if it is no segment prefix. */
static const struct kvm_segment *prefix_segment(const struct kvm_sregs *s,
						u8 b)
{
	switch (b) {
	case 0x26:
		return &s->es;
	case 0x2e:
		return &s->cs;
	case 0x36:
		return &s->ss;
	case 0x3e:
		return &s->ds;
	case 0x64:
		return &s->fs;
	case 0x65:
		return &s->gs;
	default:
		return NULL;
	}
}

/*
 * The segment override (NULL: none) and address-size prefix of the
 * instruction at RIP. Needed because SVM reports neither without decode
 * assists, and QEMU's TCG leaves even the address size out.
 */
static const struct kvm_segment *string_prefixes(struct kvmmu_vcpu *vcpu,
						 bool *asize_prefix)
{
	const struct kvm_segment *seg = NULL, *p;
	u8 insn[15];
	int i, len;

	*asize_prefix = false;
	len = kvmmu_fetch_insn(vcpu, insn, sizeof(insn));
	for (i = 0; i < len; i++) {
		p = prefix_segment(&vcpu->sregs, insn[i]);
		if (p)
			seg = p;
		else if (insn[i] == 0x67)
			*asize_prefix = true;
		else if (insn[i] != 0x66 && insn[i] != 0xf0 &&
			 insn[i] != 0xf2 && insn[i] != 0xf3)
			break;
	}
	return seg;
}

/* The address size of a string instruction, in bytes, from the CPU mode. */
static int string_addr_bytes(struct kvmmu_vcpu *vcpu, bool asize_prefix)
{
	int mode = cpu_mode(vcpu);

	if (mode == 64)
		return asize_prefix ? 4 : 8;
	if (mode == 32)
		return asize_prefix ? 2 : 4;
	return asize_prefix ? 4 : 2;
}

/*
 * Linear address of a string operand: the segment base (none in 64-bit
 * mode, but for FS and GS) plus the index register cut to the address
 * size, cut to 32 bits outside 64-bit mode.
 */
static u64 string_la(struct kvmmu_vcpu *vcpu, const struct kvm_segment *seg,
		     u64 index)
{
	bool long64 = (vcpu->sregs.efer & EFER_LMA) && vcpu->sregs.cs.l;
	u64 base = seg->base;

	if (!long64)	/* linear addresses wrap at 4G */
		return (u32)(base + (index & vcpu->pending_amask));
	if (seg != &vcpu->sregs.fs && seg != &vcpu->sregs.gs)
		base = 0;
	return base + (index & vcpu->pending_amask);
}

/*
 * linearize() in 64-bit mode: a non-canonical @la of an operand based on
 * @seg is #SS(0) for SS, else #GP(0), before any walk. Return true with
 * the exception queued.
 */
static bool la_noncanonical(struct kvmmu_vcpu *vcpu,
			    const struct kvm_segment *seg, u64 la)
{
	unsigned int bits = (vcpu->sregs.cr4 & X86_CR4_LA57) ? 57 : 48;

	if (cpu_mode(vcpu) != 64 || sign_extend64(la, bits - 1) == la)
		return false;
	kvmmu_queue_exception(vcpu, seg == &vcpu->sregs.ss ? X86_TRAP_SS :
			      X86_TRAP_GP, true, 0);
	return true;
}

/* Move an index register by @delta within the address size, as x86 does. */
static u64 string_step(u64 reg, s64 delta, u64 amask)
{
	if (amask == 0xffff)
		return (reg & ~0xffffULL) | ((reg + delta) & 0xffff);
	return (reg + delta) & amask;
}

/**
 * kvmmu_handle_string_pio - exit to the VMM for an INS or OUTS.
 * @vcpu: the vCPU, state in vcpu->regs and vcpu->sregs.
 * @in: INS (data flows to guest memory) rather than OUTS.
 * @port: the I/O port.
 * @size: 1, 2 or 4 bytes.
 * @rep: the instruction has a REP prefix.
 * @addr_bytes: address size, 2, 4 or 8; 0 if the hardware did not say.
 * @next_rip: RIP of the following instruction.
 *
 * A REP with RCX 0 is skipped. Otherwise one exit moves a chunk of
 * elements: all of RCX, but no more than fit in the PIO data page or in
 * the guest page of the memory operand (at least one), as KVM batches
 * INS. The VMM sees io.count elements; if RCX is not exhausted after them,
 * RIP stays on the instruction and the guest re-executes it for the next
 * chunk, taking pending interrupts in between as REP does on hardware.
 * OUTS data is read from memory now; INS data is written, and RSI/RDI/RCX
 * (and RIP when done) advanced, by the next KVM_RUN.
 *
 * Return: 1 to re-enter the guest, 0 to exit to the VMM.
 */
int kvmmu_handle_string_pio(struct kvmmu_vcpu *vcpu, bool in, u16 port,
			    int size, bool rep, int addr_bytes, u64 next_rip)
{
	bool down = vcpu->regs.rflags & X86_EFLAGS_DF;
	const struct kvm_segment *seg;
	u64 amask, count, la, off, idx;
	unsigned int room;
	bool asize_prefix;

	seg = string_prefixes(vcpu, &asize_prefix);
	if (!addr_bytes)
		addr_bytes = string_addr_bytes(vcpu, asize_prefix);
	amask = addr_bytes == 8 ? ~0ULL : (1ULL << (addr_bytes * 8)) - 1;
	count = rep ? vcpu->regs.rcx & amask : 1;
	if (!count) {
		vcpu->regs.rip = next_rip;
		kvmmu_insn_done(vcpu);
		return 1;
	}

	/* The index register: ES:RDI for INS, seg:RSI (DS default) for OUTS. */
	vcpu->pending_amask = amask;
	idx = (in ? vcpu->regs.rdi : vcpu->regs.rsi) & amask;
	if (in) {
		la = string_la(vcpu, &vcpu->sregs.es, vcpu->regs.rdi);
	} else {
		seg = seg ? seg : &vcpu->sregs.ds;
		la = string_la(vcpu, seg, vcpu->regs.rsi);
		/* OUTS: before the port exit; INS: at its store, after. */
		if (la_noncanonical(vcpu, seg, la))
			return 1;
	}
	off = offset_in_page(la);
	room = down ? off / size + 1 : (PAGE_SIZE - off) / size;
	count = min3(count, (u64)max(room, 1U), (u64)(PAGE_SIZE / size));
	/* Nor past a wrap of the index (16-bit: inside a page, if the
	 * segment base is not page aligned); elements stay contiguous.
	 */
	count = min(count, (down ? idx : amask - idx) / size + 1);

	/* The port exit first: it would put RAX in the data page. */
	kvmmu_handle_pio(vcpu, in, port, size, next_rip);
	vcpu->run->io.count = count;
	vcpu->pending_string = true;
	vcpu->pending_rep = rep;
	vcpu->pending_count = count;
	if (!in) {
		/* OUTS reads its operand before the port (KVM: decode). */
		int r = string_rw(vcpu, la, count, size, false);

		if (r) {
			vcpu->pending = KVMMU_PENDING_NONE;
			if (r > 0)
				return 1;	/* #PF queued: no port access */
			return kvmmu_internal_error(vcpu,
						    KVM_INTERNAL_ERROR_EMULATION,
						    la);
		}
	}
	return 0;
}

/*
 * Finish an INS or OUTS chunk: memory for INS, then the index registers,
 * and RIP once RCX is exhausted.
 */
static int complete_string_pio(struct kvmmu_vcpu *vcpu)
{
	s64 delta = (s64)vcpu->pending_size * vcpu->pending_count;
	u64 amask = vcpu->pending_amask;
	struct kvm_regs *r = &vcpu->regs;

	if (r->rflags & X86_EFLAGS_DF)
		delta = -delta;
	if (vcpu->pending_in) {
		u64 la = string_la(vcpu, &vcpu->sregs.es, r->rdi);
		int ret = la_noncanonical(vcpu, &vcpu->sregs.es, la) ? 1 :
			  string_rw(vcpu, la, vcpu->pending_count,
				    vcpu->pending_size, true);

		/*
		 * A #PF on the store: the port was read, as with KVM's
		 * emulator (pio_in_emulated(), then writeback faults), and
		 * its data is dropped; registers and RIP stay.
		 */
		if (ret > 0)
			return 1;
		if (ret)
			return kvmmu_internal_error(vcpu,
						    KVM_INTERNAL_ERROR_EMULATION,
						    la);
		r->rdi = string_step(r->rdi, delta, amask);
	} else {
		r->rsi = string_step(r->rsi, delta, amask);
	}
	if (vcpu->pending_rep) {
		r->rcx = string_step(r->rcx, -(s64)vcpu->pending_count, amask);
		if (r->rcx & amask)
			return 1;	/* RIP stays: the next chunk */
	}
	r->rip += vcpu->pending_len;
	kvmmu_insn_done(vcpu);
	return 1;
}

/* String MMIO ---------------------------------------------------------- */

/* The segment register of enum kvmmu_sreg @seg. */
static const struct kvm_segment *sreg(struct kvmmu_vcpu *vcpu, u8 seg)
{
	struct kvm_sregs *s = &vcpu->sregs;

	switch (seg) {
	case KVMMU_SREG_ES:
		return &s->es;
	case KVMMU_SREG_CS:
		return &s->cs;
	case KVMMU_SREG_SS:
		return &s->ss;
	case KVMMU_SREG_FS:
		return &s->fs;
	case KVMMU_SREG_GS:
		return &s->gs;
	default:
		return &s->ds;
	}
}

/* Set up KVM_EXIT_MMIO for one element; the next KVM_RUN goes on. */
static int string_mmio_exit(struct kvmmu_vcpu *vcpu, u64 gpa,
			    const struct kvmmu_string_insn *s, bool write,
			    u64 val)
{
	struct kvm_run *run = vcpu->run;

	trace_kvmmu_mmio(vcpu->vcpu_id, gpa, s->size, write);
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = s->size;
	run->mmio.is_write = write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (write)
		memcpy(run->mmio.data, &val, s->size);
	vcpu->pending = KVMMU_PENDING_MMIO_STRING;
	vcpu->pending_in = !write;
	vcpu->pending_rip = vcpu->regs.rip;
	vcpu->pending_len = s->len;
	return 0;
}

/* string_mem(): the element's GPA has no memslot; a #PF was queued. */
#define STRING_MMIO	1
#define STRING_FAULT	2

/*
 * One element at linear address @la: read into or written from @val in
 * guest RAM, translated as translate_la() does (the operand that did not
 * fault is the CPU's no more than the one that did). An element across a
 * page has both pages translated before either is touched, as
 * guest_linear_rw(). Return 0 when done, STRING_MMIO when the GPA in
 * *@gpa has no memslot that allows the access (the VMM must do it),
 * STRING_FAULT when the guest's tables refuse it (a #PF queued), -EFAULT
 * when the element cannot be emulated (across a page, a half with no
 * memslot).
 */
static int string_mem(struct kvmmu_vcpu *vcpu, u64 la, unsigned int size,
		      bool write, u64 *val, u64 *gpa)
{
	unsigned int n = min_t(unsigned int, size,
			       PAGE_SIZE - offset_in_page(la));
	u64 la2 = la + n, gpa2 = 0;
	int r;

	if (cpu_mode(vcpu) != 64)
		la2 = (u32)la2;
	r = translate_la(vcpu, la, write, gpa);
	if (!r && n < size)
		r = translate_la(vcpu, la2, write, &gpa2);
	if (r)
		return r > 0 ? STRING_FAULT : r;
	if (n == size)
		return guest_rw(vcpu, *gpa, val, size, write) ? STRING_MMIO : 0;
	/* KVM's emulator_read_write() splits it into MMIO fragments. */
	if (guest_rw(vcpu, *gpa, val, n, write) ||
	    guest_rw(vcpu, gpa2, (u8 *)val + n, size - n, write))
		return -EFAULT;
	return 0;
}

/* The string instruction is over: RIP moves past it. */
static int string_done(struct kvmmu_vcpu *vcpu,
		       const struct kvmmu_string_insn *s)
{
	vcpu->regs.rip += s->len;
	if (s->mode != 64)
		vcpu->regs.rip = (u32)vcpu->regs.rip;
	kvmmu_insn_done(vcpu);
	return 1;
}

/*
 * After an element: RSI and/or RDI move by its size (down with EFLAGS.DF),
 * a REP counts RCX down and re-executes until RCX is 0; then RIP moves on.
 */
static int string_mmio_advance(struct kvmmu_vcpu *vcpu,
			       const struct kvmmu_string_insn *s)
{
	u64 amask = s->addr_size == 8 ? ~0ULL : BIT_ULL(s->addr_size * 8) - 1;
	s64 delta = vcpu->regs.rflags & X86_EFLAGS_DF ? -(s64)s->size : s->size;
	struct kvm_regs *r = &vcpu->regs;

	if (s->op != KVMMU_STR_STOS)
		r->rsi = string_step(r->rsi, delta, amask);
	if (s->op != KVMMU_STR_LODS)
		r->rdi = string_step(r->rdi, delta, amask);
	if (s->rep) {
		r->rcx = string_step(r->rcx, -1, amask);
		if (r->rcx & amask)
			return 1;	/* RIP stays: the next element */
	}
	return string_done(vcpu, s);
}

/*
 * The store half of an element whose value is @val: RAX for LODS, else
 * ES:RDI in RAM or, without a memslot there, an MMIO store exit. Return 1
 * to re-enter the guest, 0 to exit.
 */
static int string_mmio_store(struct kvmmu_vcpu *vcpu,
			     const struct kvmmu_string_insn *s, u64 val)
{
	struct kvm_regs *r = &vcpu->regs;
	u64 la, gpa;
	int ret;

	if (s->op == KVMMU_STR_LODS) {
		if (s->size == 4)
			r->rax = (u32)val;	/* zero-extends */
		else
			memcpy(&r->rax, &val, s->size);
		return string_mmio_advance(vcpu, s);
	}
	la = string_la(vcpu, &vcpu->sregs.es, r->rdi);
	if (la_noncanonical(vcpu, &vcpu->sregs.es, la))
		return 1;
	ret = string_mem(vcpu, la, s->size, true, &val, &gpa);
	if (ret < 0)
		return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					    la);
	if (ret == STRING_FAULT)
		return 1;
	if (ret)
		return string_mmio_exit(vcpu, gpa, s, true, val);
	return string_mmio_advance(vcpu, s);
}

/*
 * A MOVS, STOS or LODS that faulted on MMIO: one element, as KVM's
 * emulator does one iteration per MMIO exit. The source is RAX (STOS) or
 * seg:RSI, the destination ES:RDI or RAX (LODS); whichever side has no
 * memslot goes to the VMM, so MOVS from MMIO to MMIO takes a load exit
 * then a store exit. Elements in RAM around it are the CPU's: a REP
 * re-executes, and the guest runs on until the next MMIO element.
 */
static int handle_string_mmio(struct kvmmu_vcpu *vcpu,
			      const struct kvmmu_string_insn *s)
{
	u64 amask = s->addr_size == 8 ? ~0ULL : BIT_ULL(s->addr_size * 8) - 1;
	const struct kvm_segment *seg;
	struct kvm_regs *r = &vcpu->regs;
	u64 la, gpa, val = 0;
	int ret;

	/*
	 * A REP with RCX 0 makes no access, so it did not fault; the bytes
	 * at RIP changed since (another vCPU's store). Do as the CPU and
	 * KVM's x86_emulate_insn(): skip it, registers untouched.
	 */
	vcpu->pending_amask = amask;
	if (s->rep && !(r->rcx & amask))
		return string_done(vcpu, s);
	if (s->op == KVMMU_STR_STOS) {
		memcpy(&val, &r->rax, s->size);
		return string_mmio_store(vcpu, s, val);
	}
	seg = sreg(vcpu, s->seg == KVMMU_SREG_NONE ? KVMMU_SREG_DS : s->seg);
	la = string_la(vcpu, seg, r->rsi);
	if (la_noncanonical(vcpu, seg, la))
		return 1;
	ret = string_mem(vcpu, la, s->size, false, &val, &gpa);
	if (ret < 0)
		return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					    la);
	if (ret == STRING_FAULT)
		return 1;
	if (ret)
		return string_mmio_exit(vcpu, gpa, s, false, 0);
	return string_mmio_store(vcpu, s, val);
}

/* The VMM answered a string element's exit: finish it and go on. */
static int complete_string_mmio(struct kvmmu_vcpu *vcpu)
{
	const struct kvmmu_string_insn *s = (void *)vcpu->pending_insn;
	u64 val = 0;

	if (!vcpu->pending_in)
		return string_mmio_advance(vcpu, s);
	memcpy(&val, vcpu->run->mmio.data, s->size);
	return string_mmio_store(vcpu, s, val);
}

/**
 * kvmmu_internal_error - exit with KVM_EXIT_INTERNAL_ERROR.
 * @vcpu: the vCPU.
 * @suberror: KVM_INTERNAL_ERROR_*.
 * @data0: first word of explanation (exit code, ...).
 *
 * Return: 0, exit to the VMM.
 */
int kvmmu_internal_error(struct kvmmu_vcpu *vcpu, u32 suberror, u64 data0)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = data0;
	run->internal.data[1] = vcpu->regs.rip;
	return 0;
}

static int emulation_failed(struct kvmmu_vcpu *vcpu, const u8 *insn, int len)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.ndata = 0;
	run->emulation_failure.flags = 0;
	if (len > 0) {
		/* KVM's layout: flags, insn_size, insn_bytes[16]. */
		run->emulation_failure.ndata = 4;
		run->emulation_failure.flags =
			KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
		run->emulation_failure.insn_size = len;
		memcpy(run->emulation_failure.insn_bytes, insn, len);
	}
	return 0;
}

/**
 * kvmmu_decode_at_rip - fetch and decode the intercepted instruction.
 * @vcpu: the vCPU, state in vcpu->regs and vcpu->sregs.
 * @insn: filled with the decoded instruction.
 * @mode: set to the cpu mode (16, 32, 64) it was decoded in.
 *
 * For exits whose instruction the CPU does not measure or decode (no NRIP
 * save, no decode assists, as under QEMU TCG): RIP is advanced by the real
 * length, prefixes included, and MOV CR/DR operands are read from ModRM.
 *
 * Return: 1 on success; 0 with KVM_EXIT_INTERNAL_ERROR (emulation, with
 * the bytes) in vcpu->run when the bytes cannot be read or decoded.
 */
int kvmmu_decode_at_rip(struct kvmmu_vcpu *vcpu, struct kvmmu_sys_insn *insn,
			int *mode)
{
	u8 bytes[KVMMU_MAX_INSN_LEN];
	int len;

	*mode = cpu_mode(vcpu);
	len = kvmmu_fetch_insn(vcpu, bytes, sizeof(bytes));
	if (len < 0)
		return emulation_failed(vcpu, NULL, 0);
	if (kvmmu_decode_sys(bytes, len, *mode, insn))
		return emulation_failed(vcpu, bytes, len);
	return 1;
}

/**
 * kvmmu_skip_insn - advance RIP past an intercepted instruction.
 * @vcpu: the vCPU, state in vcpu->regs and vcpu->sregs.
 *
 * Return: 1, or 0 with an internal error exit (kvmmu_decode_at_rip()).
 */
int kvmmu_skip_insn(struct kvmmu_vcpu *vcpu)
{
	struct kvmmu_sys_insn insn;
	int mode;

	if (!kvmmu_decode_at_rip(vcpu, &insn, &mode))
		return 0;
	vcpu->regs.rip += insn.len;
	if (mode != 64)
		vcpu->regs.rip = (u32)vcpu->regs.rip;
	kvmmu_insn_done(vcpu);
	return 1;
}

/* CR4 bits whose change reloads PAE's PDPTEs (X86_CR4_PDPTR_BITS). */
#define CR4_PDPTR_BITS	(X86_CR4_PGE | X86_CR4_PSE | X86_CR4_PAE | \
			 X86_CR4_SMEP)

/**
 * kvmmu_load_pdptrs - load the four PAE PDPTEs at @cr3, as the CPU does.
 * @vcpu: the vCPU (tdp=0), in its thread, in the VMM's mm.
 * @cr3: the CR3 whose PDPT (32-byte aligned, at CR3[63:5]) to load.
 *
 * KVM's load_pdptrs(): a PDPT in no usable memslot, or a present PDPTE
 * with a reserved bit (beyond the guest's MAXPHYADDR, 63, 8:5, 2:1),
 * fails and leaves vcpu->pdptrs as they were; otherwise vcpu->pdptrs
 * takes them. The shadow MMU's walks and PAE roots use that copy until
 * the next load (kvmmu_shadow_load_root() sees a changed one and builds
 * new roots), never the PDPT in memory.
 *
 * Return: true if loaded; false if the guest must get #GP(0).
 */
bool kvmmu_load_pdptrs(struct kvmmu_vcpu *vcpu, u64 cr3)
{
	u64 pdpte[ARRAY_SIZE(vcpu->pdptrs)];
	int i;

	if (kvmmu_guest_rw(vcpu->vm, cr3 & ~0x1fULL, pdpte, sizeof(pdpte),
			   false))
		return false;
	for (i = 0; i < ARRAY_SIZE(pdpte); i++)
		if ((pdpte[i] & _PAGE_PRESENT) &&
		    (!legal_gpa(vcpu, pdpte[i]) ||
		     (pdpte[i] & (GENMASK_ULL(8, 5) | GENMASK_ULL(2, 1)))))
			return false;
	memcpy(vcpu->pdptrs, pdpte, sizeof(pdpte));
	return true;
}

/* CR4 bits whose change drops the guest's TLB (kvm_post_set_cr4()). */
#define CR4_TLB_BITS	(X86_CR4_PGE | X86_CR4_PAE | X86_CR4_PSE | \
			 X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP | \
			 X86_CR4_PKE | X86_CR4_LA57)

/**
 * kvmmu_set_cr4 - a guest MOV to CR4, checked as KVM's kvm_set_cr4() does.
 * @vcpu: the vCPU, state in vcpu->regs and vcpu->sregs.
 * @cr4: the value written.
 *
 * A bit that the vCPU's CPUID (KVM_SET_CPUID2) does not offer, or the host
 * lacks, is reserved; so are CR4.VMXE and the bits no CPU defines. In long
 * mode PAE cannot be cleared nor LA57 changed; PCIDE may be set only in
 * long mode with CR3[11:0] clear. Under tdp=0, PAE paging with a change
 * of PGE, PSE, PAE or SMEP reloads the PDPTEs (kvmmu_load_pdptrs(); #GP
 * if that fails), as kvm_set_cr4(). A change of a paging bit drops the
 * vCPU's TLB.
 *
 * Return: 0 when vcpu->sregs.cr4 took the value; 1 when the guest must get
 * #GP(0) instead (nothing changed).
 */
int kvmmu_set_cr4(struct kvmmu_vcpu *vcpu, u64 cr4)
{
	struct kvm_sregs *s = &vcpu->sregs;
	u64 old = s->cr4;

	if (!valid_cr4(vcpu, cr4))
		return 1;
	if (s->efer & EFER_LMA) {
		if (!(cr4 & X86_CR4_PAE) || ((cr4 ^ old) & X86_CR4_LA57))
			return 1;
	} else if (!kvmmu_tdp && (s->cr0 & X86_CR0_PG) &&
		   (cr4 & X86_CR4_PAE) && ((cr4 ^ old) & CR4_PDPTR_BITS) &&
		   !kvmmu_load_pdptrs(vcpu, s->cr3)) {
		return 1;
	}
	if ((cr4 & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
	    (!(s->efer & EFER_LMA) || (s->cr3 & 0xfff)))
		return 1;
	s->cr4 = cr4;
	if ((cr4 ^ old) & CR4_TLB_BITS) {
		/* tdp=0: a guest TLB flush syncs (kvm_vcpu_flush_tlb_guest()). */
		if (!kvmmu_tdp)
			kvmmu_make_request(vcpu, KVMMU_REQ_MMU_SYNC);
		kvmmu_make_request(vcpu, KVMMU_REQ_TLB_FLUSH);
	}
	return 0;
}

/**
 * kvmmu_host_xcr0 - the host's XCR0, which the kernel's FPU code relies on.
 *
 * Return: XCR0, or 0 if the host has not enabled XSAVE.
 */
u64 kvmmu_host_xcr0(void)
{
	return boot_cpu_has(X86_FEATURE_OSXSAVE) ?
	       xgetbv(XCR_XFEATURE_ENABLED_MASK) : 0;
}

/**
 * kvmmu_set_xcr - a guest XSETBV, checked as KVM's __kvm_set_xcr() does.
 * @vcpu: the vCPU; the caller checked CR4.OSXSAVE (else #UD) and CPL 0.
 * @index: ECX: only XCR0 exists.
 * @xcr: EDX:EAX.
 *
 * XCR0 may hold only features that the vCPU's CPUID leaf 0xD offers and
 * kvmmu_supported_xcr0() allows (the host has them enabled, so that the
 * guest's FPU state, sized for the host's features, holds them all; no
 * MPX, which kvm_amd does not offer either), x87 always, AVX only with SSE, MPX's
 * two states together, AVX-512's three together and with AVX, AMX's two
 * together.
 *
 * Return: 0 when vcpu->xcr0 took the value; 1 when the guest must get
 * #GP(0) instead.
 */
int kvmmu_set_xcr(struct kvmmu_vcpu *vcpu, u32 index, u64 xcr)
{
	const struct kvm_cpuid_entry2 *e = kvmmu_find_cpuid(vcpu, 0xd, 0);
	u64 valid = XFEATURE_MASK_FP;

	if (index != XCR_XFEATURE_ENABLED_MASK)
		return 1;
	if (e)
		valid |= (u64)e->edx << 32 | e->eax;
	valid &= kvmmu_supported_xcr0() | XFEATURE_MASK_FP;
	if ((xcr & ~valid) || !(xcr & XFEATURE_MASK_FP))
		return 1;
	if ((xcr & XFEATURE_MASK_YMM) && !(xcr & XFEATURE_MASK_SSE))
		return 1;
	if (!(xcr & XFEATURE_MASK_BNDREGS) != !(xcr & XFEATURE_MASK_BNDCSR))
		return 1;
	if ((xcr & XFEATURE_MASK_AVX512) &&
	    ((xcr & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512 ||
	     !(xcr & XFEATURE_MASK_YMM)))
		return 1;
	if ((xcr & XFEATURE_MASK_XTILE) &&
	    (xcr & XFEATURE_MASK_XTILE) != XFEATURE_MASK_XTILE)
		return 1;
	vcpu->xcr0 = xcr;
	return 0;
}

static int emulate_mmio(struct kvmmu_vcpu *vcpu, u64 gpa);

/**
 * kvmmu_handle_npf - a nested page fault: map the page, or emulate MMIO.
 * @vcpu: the vCPU, state in vcpu->regs and vcpu->sregs.
 * @gpa: the faulting guest physical address.
 * @error_code: KVMMU_PFERR_* (SVM's #NPF EXITINFO1 has that layout).
 *
 * Return: 1 to re-enter the guest, 0 to exit to the VMM (KVM_EXIT_MMIO or
 * KVM_EXIT_INTERNAL_ERROR), KVMMU_NPF_INJECT_GP to re-enter it with #GP(0),
 * or a negative errno for KVM_RUN (-EFAULT when the memory behind a
 * memslot cannot be reached).
 */
int kvmmu_handle_npf(struct kvmmu_vcpu *vcpu, u64 gpa, u64 error_code)
{
	int r;

	BUILD_BUG_ON(sizeof(struct kvmmu_mmio_insn) > sizeof(vcpu->pending_insn));

	vcpu->stat.npf_exits++;
	r = kvmmu_mmu_page_fault(vcpu, gpa, error_code);
	if (r != KVMMU_PF_EMULATE)
		return r < 0 ? r : 1;
	return emulate_mmio(vcpu, gpa);
}

/*
 * The instruction at RIP touched @gpa, which no memslot backs (or a write
 * to a READONLY one): decode it and exit to the VMM with KVM_EXIT_MMIO.
 */
static int emulate_mmio(struct kvmmu_vcpu *vcpu, u64 gpa)
{
	struct kvmmu_mmio_insn *insn = (struct kvmmu_mmio_insn *)vcpu->pending_insn;
	const struct kvm_segment *cs = &vcpu->sregs.cs;
	struct kvm_run *run = vcpu->run;
	u8 bytes[15];
	int r, len;

	/*
	 * The fetch's own check in __linearize(): outside 64-bit mode a RIP
	 * past CS's limit is #GP(0), whatever faulted. A CPU checks the
	 * limit before fetching; QEMU's TCG does not, and faults in the NPT
	 * at CS.base + RIP instead, where KVM's emulator raises the #GP.
	 */
	if (!(vcpu->sregs.efer & EFER_LMA && cs->l) &&
	    vcpu->regs.rip > (cs->g ? cs->limit | 0xfff : cs->limit))
		return KVMMU_NPF_INJECT_GP;

	len = kvmmu_fetch_insn(vcpu, bytes, sizeof(bytes));
	if (len < 0)
		return emulation_failed(vcpu, NULL, 0);
	r = kvmmu_decode_mmio(bytes, len, cpu_mode(vcpu), insn);
	if (r) {
		struct kvmmu_string_insn *str = (void *)vcpu->pending_insn;

		BUILD_BUG_ON(sizeof(*str) > sizeof(vcpu->pending_insn));
		if (kvmmu_decode_string(bytes, len, cpu_mode(vcpu), str))
			return emulation_failed(vcpu, bytes, len);
		return handle_string_mmio(vcpu, str);
	}

	trace_kvmmu_mmio(vcpu->vcpu_id, gpa, insn->mem_size, insn->is_write);
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = insn->mem_size;
	run->mmio.is_write = insn->is_write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (insn->is_write) {
		u64 val = kvmmu_mmio_store_value(vcpu, insn);

		memcpy(run->mmio.data, &val, insn->mem_size);
	}
	vcpu->pending = KVMMU_PENDING_MMIO;
	vcpu->pending_in = !insn->is_write;
	vcpu->pending_rip = vcpu->regs.rip;
	vcpu->pending_len = insn->len;
	return 0;
}

/* Page-table stores (tdp=0) --------------------------------------------- */

static u64 size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : BIT_ULL(size * 8) - 1;
}

#define ARITH_FLAGS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

/* ZF, SF and PF of an @size-byte result. */
static u64 result_flags(u64 res, unsigned int size)
{
	u64 f = 0;

	res &= size_mask(size);
	if (!res)
		f |= X86_EFLAGS_ZF;
	if (res >> (size * 8 - 1))
		f |= X86_EFLAGS_SF;
	if (!(hweight8(res & 0xff) & 1))
		f |= X86_EFLAGS_PF;
	return f;
}

/* The arithmetic flags of CMP @a, @b (@a - @b) at @size bytes. */
static u64 cmp_flags(u64 a, u64 b, unsigned int size)
{
	unsigned int top = size * 8 - 1;
	u64 m = size_mask(size), res;
	u64 f;

	a &= m;
	b &= m;
	res = (a - b) & m;
	f = result_flags(res, size);
	if (a < b)
		f |= X86_EFLAGS_CF;
	if ((((a ^ b) & (a ^ res)) >> top) & 1)
		f |= X86_EFLAGS_OF;
	if ((a ^ b ^ res) & 0x10)
		f |= X86_EFLAGS_AF;
	return f;
}

static void set_flags(struct kvmmu_vcpu *vcpu, u64 mask, u64 flags)
{
	vcpu->regs.rflags = (vcpu->regs.rflags & ~mask) | (flags & mask);
}

/**
 * kvmmu_operand_la - the linear address of a decoded memory operand.
 * @vcpu: the vCPU (registers and segments).
 * @ea: the operand.
 * @len: the instruction's length, for a RIP-relative operand.
 * @mode: 16, 32 or 64, as it was decoded in.
 * @extra: bytes to add to the effective address.
 *
 * KVM's linearize(), without its limit and canonical checks; the
 * page-table store emulation checks the latter (la_noncanonical()).
 *
 * Return: the linear address.
 */
u64 kvmmu_operand_la(struct kvmmu_vcpu *vcpu,
		     const struct kvmmu_mem_operand *ea, unsigned int len,
		     int mode, s64 extra)
{
	const struct kvm_segment *seg = sreg(vcpu, ea->seg);
	u64 la = ea->disp + extra;

	if (ea->base != KVMMU_EA_NO_REG)
		la += *kvmmu_gpr(&vcpu->regs, ea->base);
	if (ea->index != KVMMU_EA_NO_REG)
		la += *kvmmu_gpr(&vcpu->regs, ea->index) * ea->scale;
	if (ea->rip_rel)
		la += vcpu->regs.rip + len;
	la &= size_mask(ea->addr_size);
	if (mode == 64)
		return seg == &vcpu->sregs.fs || seg == &vcpu->sregs.gs ?
		       seg->base + la : la;
	return (u32)(seg->base + la);
}

static u64 operand_la(struct kvmmu_vcpu *vcpu, const struct kvmmu_pt_insn *pt,
		      s64 extra)
{
	return kvmmu_operand_la(vcpu, &pt->ea, pt->mov.len, pt->mov.mode, extra);
}

/* The translation of a store. */
static int pt_translate(struct kvmmu_vcpu *vcpu, u64 la, u64 *gpa)
{
	return translate_la(vcpu, la, true, gpa);
}

/*
 * A store of @bytes into guest RAM at @gpa is done: the SPTEs of the
 * entries written go (kvmmu_shadow_track_write()).
 */
static void pt_written(struct kvmmu_vcpu *vcpu, u64 gpa, unsigned int bytes)
{
	struct kvmmu_mmu *mmu = vcpu->vm->mmu;

	if (mmu && mmu->shadow)
		kvmmu_shadow_track_write(vcpu->vm, gpa, bytes);
}

/*
 * The part of a store at @gpa that no memslot takes (none, or a read-only
 * one) goes to the VMM as KVM_EXIT_MMIO, as any write KVM's emulator makes
 * to such a GPA (emulator_read_write_onepage()); the instruction
 * @insn completes when the VMM has seen it (complete_pending()).
 */
static int store_mmio_exit(struct kvmmu_vcpu *vcpu, u64 gpa, u64 val,
			   unsigned int size,
			   const struct kvmmu_mmio_insn *insn)
{
	struct kvmmu_mmio_insn *p = (struct kvmmu_mmio_insn *)vcpu->pending_insn;
	struct kvm_run *run = vcpu->run;

	*p = *insn;
	p->is_write = true;
	p->mem_size = size;
	trace_kvmmu_mmio(vcpu->vcpu_id, gpa, size, true);
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = size;
	run->mmio.is_write = 1;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	memcpy(run->mmio.data, &val, size);
	vcpu->pending = KVMMU_PENDING_MMIO;
	vcpu->pending_in = false;
	vcpu->pending_rip = vcpu->regs.rip;
	vcpu->pending_len = insn->len;
	return 0;
}

/*
 * A store of @size bytes of @val at linear address @la by the instruction
 * @insn, which completes with it (KVM's emulator_write_emulated() ->
 * emulator_read_write()): one store of its size where it fits a page (an
 * aligned entry is never seen half written), else split in two at the
 * page boundary with both halves translated first. A part in RAM is
 * stored there; a part whose GPA no writable memslot backs is an MMIO
 * exit with its bytes. Both parts MMIO (KVM: two exits, one per fragment)
 * is refused: a page-table store reaches it only through a translation
 * changed meanwhile, SMSW m16 only across two device pages.
 * Return 1 to re-enter (done, or a #PF queued), 0 for an MMIO exit,
 * -EFAULT when it cannot be emulated.
 */
static int emulated_store(struct kvmmu_vcpu *vcpu, u64 la, u64 val,
			  unsigned int size, const struct kvmmu_mmio_insn *insn)
{
	unsigned int first = min_t(unsigned int, size,
				   PAGE_SIZE - offset_in_page(la));
	u64 gpa, gpa2 = 0, la2 = la + first;
	bool ram, ram2;
	int r;

	/* Linear addresses wrap at 4G outside long mode: CR2 too. */
	if (insn->mode != 64)
		la2 = (u32)la2;
	r = pt_translate(vcpu, la, &gpa);
	if (!r && first < size)
		r = pt_translate(vcpu, la2, &gpa2);
	if (r)
		return r < 0 ? -EFAULT : 1;
	if (first == size) {
		if (kvmmu_guest_fill(vcpu->vm, gpa, val, size, 1))
			return store_mmio_exit(vcpu, gpa, val, size, insn);
		pt_written(vcpu, gpa, size);
		kvmmu_mmio_skip(vcpu, insn);
		return 1;
	}
	ram = !guest_rw(vcpu, gpa, &val, first, true);
	ram2 = !guest_rw(vcpu, gpa2, (u8 *)&val + first, size - first, true);
	if (!ram && !ram2)
		return -EFAULT;
	if (!ram)
		return store_mmio_exit(vcpu, gpa, val, first, insn);
	if (!ram2)
		return store_mmio_exit(vcpu, gpa2, val >> (first * 8),
				       size - first, insn);
	kvmmu_mmio_skip(vcpu, insn);
	return 1;
}

/**
 * kvmmu_sys_mem_write - store to the memory operand of SMSW m16.
 * @vcpu: the vCPU (tdp=0), state in vcpu->regs and vcpu->sregs.
 * @insn: the instruction, decoded with a memory operand (@insn->mem).
 * @mode: the cpu mode it was decoded in (16, 32 or 64).
 * @val: the value, in its low @size bytes.
 * @size: 1, 2, 4 or 8.
 *
 * As KVM's emulator writes a memory destination (segmented_write() ->
 * emulator_write_emulated()): translated as a write at the vCPU's CPL, a
 * #PF queued if the guest's tables refuse it, RAM written (a guest table
 * there has the SPTEs of the entry zapped), a part with no writable memslot an
 * MMIO exit. The instruction completes with the store (RIP moves on).
 *
 * Return: 1 to re-enter the guest, 0 to exit to the VMM (KVM_EXIT_MMIO,
 * or KVM_EXIT_INTERNAL_ERROR when it cannot be emulated).
 */
int kvmmu_sys_mem_write(struct kvmmu_vcpu *vcpu,
			const struct kvmmu_sys_insn *insn, int mode, u64 val,
			unsigned int size)
{
	struct kvmmu_mmio_insn m = {
		.len = insn->len, .mode = mode, .is_write = true,
		.mem_size = size,
	};
	u64 la = kvmmu_operand_la(vcpu, &insn->ea, insn->len, mode, 0);
	int r = emulated_store(vcpu, la, val & size_mask(size), size, &m);

	if (r < 0)
		return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					    la);
	return r;
}

/**
 * kvmmu_sys_mem_read - read the memory operand of LMSW m16.
 * @vcpu: the vCPU (tdp=0), state in vcpu->regs and vcpu->sregs.
 * @insn: the instruction, decoded with a memory operand (@insn->mem).
 * @mode: the cpu mode it was decoded in (16, 32 or 64).
 * @val: set to the value read, zero-extended.
 * @size: 1, 2, 4 or 8.
 * @ret: when false is returned, what the exit handler returns.
 *
 * As KVM's segmented_read(): translated as a read at the vCPU's CPL (a
 * page-crossing operand page by page, the second address wrapped at 4G
 * outside long mode), a #PF queued if the guest's tables refuse it. A
 * part with no memslot would be an MMIO load in KVM; here it is an
 * emulation error (LMSW from a device is not worth a completion path).
 *
 * Return: true with *@val set; false with *@ret 1 (a #PF queued: re-enter
 * the guest) or 0 (KVM_EXIT_INTERNAL_ERROR set up).
 */
bool kvmmu_sys_mem_read(struct kvmmu_vcpu *vcpu,
			const struct kvmmu_sys_insn *insn, int mode, u64 *val,
			unsigned int size, int *ret)
{
	u64 la = kvmmu_operand_la(vcpu, &insn->ea, insn->len, mode, 0);
	unsigned int first = min_t(unsigned int, size,
				   PAGE_SIZE - offset_in_page(la));
	u64 la2 = mode == 64 ? la + first : (u32)(la + first);
	u64 gpa, gpa2 = 0;
	int r;

	*val = 0;
	r = translate_la(vcpu, la, false, &gpa);
	if (!r && first < size)
		r = translate_la(vcpu, la2, false, &gpa2);
	if (!r && (guest_rw(vcpu, gpa, val, first, false) ||
		   (first < size &&
		    guest_rw(vcpu, gpa2, (u8 *)val + first, size - first,
			     false))))
		r = -EFAULT;
	if (!r)
		return true;
	*ret = r > 0 ? 1 : kvmmu_internal_error(vcpu,
						KVM_INTERNAL_ERROR_EMULATION,
						la);
	return false;
}

/*
 * The value the read-modify-write of @pt leaves in an operand that held
 * @cur; *@stored is false when it is @cur itself (a CMPXCHG or CMPXCHG8B
 * that compared unequal).
 */
static u64 pt_rmw_value(struct kvmmu_vcpu *vcpu,
			const struct kvmmu_pt_insn *pt, u64 cur, u64 src,
			unsigned int bit, bool *stored)
{
	u64 m = size_mask(pt->mov.mem_size);

	*stored = true;
	switch (pt->op) {
	case KVMMU_OP_XCHG:
		return src & m;
	case KVMMU_OP_OR:
		return (cur | src) & m;
	case KVMMU_OP_AND:
		return (cur & src) & m;
	case KVMMU_OP_XOR:
		return (cur ^ src) & m;
	case KVMMU_OP_BTS:
		return (cur | BIT_ULL(bit)) & m;
	case KVMMU_OP_BTR:
		return (cur & ~BIT_ULL(bit)) & m;
	case KVMMU_OP_BTC:
		return (cur ^ BIT_ULL(bit)) & m;
	case KVMMU_OP_CMPXCHG8B:
		if (cur == ((vcpu->regs.rdx << 32) | (u32)vcpu->regs.rax))
			return (vcpu->regs.rcx << 32) | (u32)vcpu->regs.rbx;
		break;
	default:	/* CMPXCHG */
		if (cur == (vcpu->regs.rax & m))
			return src & m;
		break;
	}
	*stored = false;
	return cur;
}

/*
 * The read-modify-write of @pt at @gpa: compute the new value from the
 * one in memory and swap it in with a cmpxchg on the host page, again if
 * another vCPU changed the operand in between (KVM's emulator writes a
 * locked operand back with emulator_cmpxchg_emulated()). XCHG is always
 * locked; the unlocked forms are made atomic too, which the guest cannot
 * tell apart. *@old is the value replaced; *@stored is false when the
 * value was left as it was (a CMPXCHG that compared unequal: its write
 * cycle puts the same value back with the cmpxchg, as em_cmpxchg() does,
 * so that the value compared and returned is one the operand really held,
 * never a torn or stale read). Return 0, 1 to re-execute the instruction
 * (the operand kept changing), or -EFAULT.
 */
static int pt_rmw(struct kvmmu_vcpu *vcpu, const struct kvmmu_pt_insn *pt,
		  u64 gpa, u64 src, unsigned int bit, u64 *old, bool *stored)
{
	unsigned int size = pt->mov.mem_size;
	u64 m = size_mask(size), new, cur = 0;
	int tries, r;

	if (kvmmu_guest_rw(vcpu->vm, gpa, &cur, size, false))
		return -EFAULT;
	cur &= m;
	for (tries = 0; tries < 16; tries++) {
		*old = cur;
		new = pt_rmw_value(vcpu, pt, cur, src, bit, stored);
		r = kvmmu_guest_cmpxchg(vcpu->vm, gpa, &cur, new, size);
		if (r == -EINVAL) {
			/* The same value back: no plain write over another's. */
			if (!*stored)
				return 0;
			/*
			 * Splits a cache line where the host traps split
			 * locks: a plain write, as emulator_cmpxchg_emulated()
			 * falls back to.
			 */
			r = kvmmu_guest_rw(vcpu->vm, gpa, &new, size, true);
		}
		if (r < 0)
			return -EFAULT;
		if (!r) {
			if (*stored)
				pt_written(vcpu, gpa, size);
			return 0;
		}
		cur &= m;
	}
	return 1;
}

/*
 * pt_rmw() for an operand whose first @first bytes are at @gpa and the
 * rest at @gpa2, the start of the next guest page; both translated before
 * this. KVM reads such an operand page by page and writes it back with
 * emulator_cmpxchg_emulated(), which falls back to a plain
 * emulator_write_emulated() for a page-crossing operand: not atomic, and
 * so it is here. The second part is written first and put back if the
 * first cannot be, so a failure leaves memory as it was. A part outside
 * writable RAM is refused (KVM: an MMIO fragment). Return 0 or -EFAULT.
 */
static int pt_rmw_split(struct kvmmu_vcpu *vcpu,
			const struct kvmmu_pt_insn *pt, u64 gpa, u64 gpa2,
			unsigned int first, u64 src, unsigned int bit,
			u64 *old, bool *stored)
{
	unsigned int rest = pt->mov.mem_size - first;
	u64 cur = 0, new;

	if (guest_rw(vcpu, gpa, &cur, first, false) ||
	    guest_rw(vcpu, gpa2, (u8 *)&cur + first, rest, false))
		return -EFAULT;
	*old = cur;
	new = pt_rmw_value(vcpu, pt, cur, src, bit, stored);
	if (!*stored)
		return 0;	/* an unequal CMPXCHG: nothing to put back */
	if (guest_rw(vcpu, gpa2, (u8 *)&new + first, rest, true))
		return -EFAULT;
	if (guest_rw(vcpu, gpa, &new, first, true)) {
		guest_rw(vcpu, gpa2, (u8 *)&cur + first, rest, true);
		return -EFAULT;
	}
	return 0;
}

/*
 * REP STOS into a page table: the chunk of elements within the page of
 * ES:RDI (all of RCX if it fits), stored at once; a REP not done stays on
 * its RIP and the guest re-executes it for the next chunk, as
 * kvmmu_handle_string_pio() batches INS (KVM's emulator loops over the
 * elements, re-entering the guest every 1024).
 */
static int emulate_pt_stos(struct kvmmu_vcpu *vcpu,
			   const struct kvmmu_string_insn *s, const u8 *bytes,
			   int len)
{
	u64 amask = s->addr_size == 8 ? ~0ULL : BIT_ULL(s->addr_size * 8) - 1;
	bool down = vcpu->regs.rflags & X86_EFLAGS_DF;
	struct kvm_regs *regs = &vcpu->regs;
	u64 count, la, idx, off, first, gpa;
	s64 delta;
	int r;

	vcpu->pending_amask = amask;
	count = s->rep ? regs->rcx & amask : 1;
	if (!count)
		return string_done(vcpu, s);
	idx = regs->rdi & amask;
	la = string_la(vcpu, &vcpu->sregs.es, regs->rdi);
	if (la_noncanonical(vcpu, &vcpu->sregs.es, la))
		return 1;
	off = offset_in_page(la);
	if (off + s->size > PAGE_SIZE)
		return emulation_failed(vcpu, bytes, len);
	count = min(count, down ? off / s->size + 1 :
				  (PAGE_SIZE - off) / s->size);
	/* Nor past a wrap of the index. */
	count = min(count, (down ? idx : amask - idx) / s->size + 1);
	first = down ? off - (count - 1) * s->size : off;

	r = pt_translate(vcpu, la, &gpa);
	if (r < 0)
		return emulation_failed(vcpu, bytes, len);
	if (r)
		return 1;
	gpa = (gpa & PAGE_MASK) + first;
	if (kvmmu_guest_fill(vcpu->vm, gpa, regs->rax, s->size, count)) {
		/* No writable memslot there: MMIO, an element per exit. */
		memcpy(vcpu->pending_insn, s, sizeof(*s));
		return handle_string_mmio(vcpu,
					  (void *)vcpu->pending_insn);
	}
	pt_written(vcpu, gpa, count * s->size);

	delta = (s64)(count * s->size);
	regs->rdi = string_step(regs->rdi, down ? -delta : delta, amask);
	if (s->rep) {
		regs->rcx = string_step(regs->rcx, -(s64)count, amask);
		if (regs->rcx & amask)
			return 1;	/* RIP stays: the next chunk */
	}
	return string_done(vcpu, s);
}

/* A write fault on a guest table: CR2, its GPA, whether a retry may do. */
struct pt_fault {
	u64 gva;
	u64 gpa;
	bool retry;
};

/*
 * What a page-table store that emulate_pt_write() cannot emulate becomes:
 * with @f->retry, the table is unprotected and the instruction retried
 * (KVM's kvm_unprotect_and_retry_on_failure()), else an emulation error.
 */
static int pt_write_failed(struct kvmmu_vcpu *vcpu, const struct pt_fault *f,
			   const u8 *bytes, int len)
{
	if (!f->retry)
		return emulation_failed(vcpu, bytes, len);
	kvmmu_shadow_unprotect_retry(vcpu, f->gva, f->gpa);
	return 1;
}

/*
 * A store to a guest page table that cannot go unsync (tdp=0), emulated
 * first as KVM's kvm_mmu_write_protect_fault() does: do the store here at
 * the instruction's own operand, then zap the SPTEs of the entry written
 * (kvm_mmu_track_write()), so the table's other entries stay shadowed.
 * MOV (any form; split at a page boundary, a part with no writable
 * memslot an MMIO exit: emulated_store()), XCHG, CMPXCHG, CMPXCHG8B,
 * OR/AND/XOR and BTS/BTR/BTC, locked or not, each atomic on the host
 * page (KVM's em_xchg(), em_cmpxchg(), em_cmpxchg8b(), em_or(), em_and(),
 * em_bts()..., written back through emulator_cmpxchg_emulated()), and
 * STOS (clear_page(): REP STOSQ) a page-bounded chunk at a time. A
 * read-modify-write operand that crosses a page has both pages
 * translated first (a #PF on either writes nothing) and is then written
 * part by part (pt_rmw_split()). Anything else is refused.
 *
 * With @f->retry (the store's own walk did not use the table: a retry
 * does not loop), what is refused, and an instruction KVM's emulator does
 * not mark PageTable (XOR, BTR, STOS: x86_page_table_writing_insn(), a
 * sign that the page is a table no more), unprotects the table and
 * retries instead (x86_emulate_instruction()). Without it, the store's
 * translation went through the table it writes, or a retry came back:
 * retrying would rebuild the table's shadow page and fault again.
 */
static int emulate_pt_write(struct kvmmu_vcpu *vcpu, const struct pt_fault *f)
{
	struct kvm_regs *regs = &vcpu->regs;
	struct kvmmu_string_insn str;
	struct kvmmu_pt_insn pt;
	unsigned int size, first, bit = 0;
	u64 la, la2, gpa, gpa2 = 0, src, old = 0;
	bool stored;
	s64 extra = 0;
	u8 bytes[15];
	int len, r;

	len = kvmmu_fetch_insn(vcpu, bytes, sizeof(bytes));
	if (len < 0)
		return pt_write_failed(vcpu, f, NULL, 0);
	if (kvmmu_decode_pt_store(bytes, len, cpu_mode(vcpu), &pt)) {
		if (!f->retry &&
		    !kvmmu_decode_string(bytes, len, cpu_mode(vcpu), &str) &&
		    str.op == KVMMU_STR_STOS)
			return emulate_pt_stos(vcpu, &str, bytes, len);
		return pt_write_failed(vcpu, f, bytes, len);
	}
	if (!pt.mov.is_write ||
	    (f->retry && (pt.op == KVMMU_OP_XOR || pt.op == KVMMU_OP_BTR)))
		return pt_write_failed(vcpu, f, bytes, len);
	size = pt.mov.mem_size;
	src = pt.op == KVMMU_OP_CMPXCHG8B ? 0 :
	      kvmmu_mmio_store_value(vcpu, &pt.mov);
	if (pt.op >= KVMMU_OP_BTS) {
		/* fetch_bit_operand(): a register offset picks the operand. */
		unsigned int bits = size * 8;

		if (pt.bit_reg) {
			s64 sv = sign_extend64(src, bits - 1) &
				 ~(s64)(bits - 1);

			extra = sv >> 3;
		}
		bit = src & (bits - 1);
	}

	la = operand_la(vcpu, &pt, extra);
	if (la_noncanonical(vcpu, sreg(vcpu, pt.ea.seg), la))
		return 1;
	if (pt.op == KVMMU_OP_MOV) {
		r = emulated_store(vcpu, la, src, size, &pt.mov);
		return r < 0 ? pt_write_failed(vcpu, f, bytes, len) : r;
	}
	/*
	 * Both pages of a crossing operand translated before any write: for
	 * a read first, as KVM's emulator reads the operand (a page the
	 * guest does not map is a #PF without W), then for the write.
	 */
	first = min_t(unsigned int, size, PAGE_SIZE - offset_in_page(la));
	la2 = pt.mov.mode == 64 ? la + first : (u32)(la + first);
	r = 0;
	if (first < size) {
		r = translate_la(vcpu, la, false, &gpa);
		if (!r)
			r = translate_la(vcpu, la2, false, &gpa2);
	}
	if (!r)
		r = pt_translate(vcpu, la, &gpa);
	if (!r && first < size)
		r = pt_translate(vcpu, la2, &gpa2);
	if (r < 0)
		return pt_write_failed(vcpu, f, bytes, len);
	if (r)
		return 1;
	if (first < size)
		r = pt_rmw_split(vcpu, &pt, gpa, gpa2, first, src, bit, &old,
				 &stored);
	else
		r = pt_rmw(vcpu, &pt, gpa, src, bit, &old, &stored);
	if (r < 0)
		return pt_write_failed(vcpu, f, bytes, len);
	if (r)
		return 1;	/* contended: the guest executes it again */

	switch (pt.op) {
	case KVMMU_OP_XCHG:
		kvmmu_set_gpr(regs, pt.mov.reg, size, pt.mov.high_byte, old);
		break;
	case KVMMU_OP_OR:
	case KVMMU_OP_AND:
	case KVMMU_OP_XOR:
		/* CF and OF cleared, AF undefined (cleared, as KVM does). */
		set_flags(vcpu, ARITH_FLAGS,
			  result_flags(pt.op == KVMMU_OP_OR ? old | src :
				       pt.op == KVMMU_OP_AND ? old & src :
				       old ^ src, size));
		break;
	case KVMMU_OP_BTS:
	case KVMMU_OP_BTR:
	case KVMMU_OP_BTC:
		set_flags(vcpu, X86_EFLAGS_CF,
			  (old >> bit) & 1 ? X86_EFLAGS_CF : 0);
		break;
	case KVMMU_OP_CMPXCHG8B:
		set_flags(vcpu, X86_EFLAGS_ZF, stored ? X86_EFLAGS_ZF : 0);
		if (!stored) {
			regs->rax = (u32)old;
			regs->rdx = old >> 32;
		}
		break;
	default:	/* CMPXCHG: the flags of CMP rAX, old */
		set_flags(vcpu, ARITH_FLAGS, cmp_flags(regs->rax, old, size));
		if (!stored)
			kvmmu_set_gpr(regs, KVMMU_GPR_RAX, size, false, old);
		break;
	}
	kvmmu_mmio_skip(vcpu, &pt.mov);
	return 1;
}

/**
 * kvmmu_handle_shadow_pf - a #PF exit under the shadow MMU (tdp=0).
 * @vcpu: the vCPU, state in vcpu->regs and vcpu->sregs.
 * @gva: the faulting linear address (SVM: EXITINFO2).
 * @error_code: the #PF error code (SVM: EXITINFO1).
 *
 * KVM's kvm_mmu_page_fault() for the shadow MMU: the shadow tables are
 * filled, the guest's own fault is injected (CR2 = @gva), an access to
 * no memory exits as MMIO.
 *
 * Return: 1 to re-enter the guest, 0 to exit to the VMM, or a negative
 * errno for KVM_RUN, as kvmmu_handle_npf() but for KVMMU_NPF_INJECT_GP.
 */
int kvmmu_handle_shadow_pf(struct kvmmu_vcpu *vcpu, u64 gva, u64 error_code)
{
	u32 inject_error = 0;
	u64 gpa = 0;
	int r;

	vcpu->stat.npf_exits++;
	r = kvmmu_shadow_page_fault(vcpu, gva, error_code, &gpa, &inject_error);
	switch (r) {
	case KVMMU_PF_INJECT:
		/*
		 * A #PF for a present entry drops what maps @gva
		 * (__kvm_inject_emulated_page_fault() ->
		 * kvm_mmu_invalidate_addr()): an unsync SPTE that still
		 * grants what the guest's entry took away is synced, and
		 * every vCPU flushed if it changed. No other flush: the TLB
		 * holds nothing the SPTEs do not say.
		 */
		if ((inject_error & (KVMMU_PFERR_PRESENT | KVMMU_PFERR_RSVD)) ==
		    KVMMU_PFERR_PRESENT)
			kvmmu_shadow_invlpg(vcpu, gva);
		vcpu->sregs.cr2 = gva;
		kvmmu_queue_exception(vcpu, X86_TRAP_PF, true, inject_error);
		return 1;
	case KVMMU_PF_EMULATE:
		r = emulate_mmio(vcpu, gpa);
		if (r != KVMMU_NPF_INJECT_GP)
			return r;
		/* Real mode has no error code (kvm_inject_exception()). */
		kvmmu_queue_exception(vcpu, X86_TRAP_GP,
				      vcpu->sregs.cr0 & X86_CR0_PE, 0);
		return 1;
	case KVMMU_PF_WRITE_PT:
	case KVMMU_PF_WRITE_PT_RETRY: {
		struct pt_fault f = {
			.gva = gva, .gpa = gpa,
			.retry = r == KVMMU_PF_WRITE_PT_RETRY,
		};

		return emulate_pt_write(vcpu, &f);
	}
	default:
		return r < 0 ? r : 1;
	}
}

/*
 * Finish the exit the VMM has just answered; 1 to go on, 0 if that failed
 * and vcpu->run says why. Like KVM, a VMM that moved RIP
 * in between (KVM_SET_REGS) has taken over: the completion is dropped.
 */
static int complete_pending(struct kvmmu_vcpu *vcpu)
{
	struct kvmmu_mmio_insn *insn = (struct kvmmu_mmio_insn *)vcpu->pending_insn;
	enum kvmmu_pending pending = vcpu->pending;
	int r;

	vcpu->pending = KVMMU_PENDING_NONE;
	if (pending == KVMMU_PENDING_NONE || vcpu->regs.rip != vcpu->pending_rip)
		return 1;

	if (pending == KVMMU_PENDING_PIO && vcpu->pending_string)
		return complete_string_pio(vcpu);
	if (pending == KVMMU_PENDING_MMIO_STRING) {
		r = complete_string_mmio(vcpu);
		/* A MOVS from MMIO to MMIO: its store is a second exit. */
		if (!r && vcpu->run->exit_reason == KVM_EXIT_MMIO)
			vcpu->stat.mmio_exits++;
		return r;
	}
	if (pending == KVMMU_PENDING_PIO) {
		if (vcpu->pending_in) {
			u64 val = 0;

			memcpy(&val, vcpu->pio_data, vcpu->pending_size);
			if (vcpu->pending_size == 4)
				vcpu->regs.rax = val;	/* zero-extends */
			else
				memcpy(&vcpu->regs.rax, &val, vcpu->pending_size);
		}
		vcpu->regs.rip += vcpu->pending_len;
		kvmmu_insn_done(vcpu);
	} else if (vcpu->pending_in) {
		/* Advances RIP itself. */
		kvmmu_mmio_complete_load(vcpu, insn, vcpu->run->mmio.data);
	} else {
		/* A store: RIP as after the instruction in its mode. */
		kvmmu_mmio_skip(vcpu, insn);
	}
	return 1;
}

/* KVM_RUN ---------------------------------------------------------------- */

/*
 * KVM_TRANSLATE: a debugger's GVA -> GPA, as KVM's
 * kvm_arch_vcpu_ioctl_translate(): the guest's own tables walked in its
 * current mode as a supervisor read. A walk that faults, or that meets a
 * table outside the memslots, is "not valid" (physical_address all ones),
 * not an error. writeable and usermode say nothing about the entries:
 * KVM reports 1 and 0 whatever they hold, and so do we.
 */
static int translate(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_translation tr;
	u64 gpa;

	if (copy_from_user(&tr, argp, sizeof(tr)))
		return -EFAULT;
	tr.valid = !kvmmu_gva_to_gpa(vcpu, tr.linear_address, 0, &gpa, NULL);
	tr.physical_address = tr.valid ? gpa : ~0ULL;
	tr.writeable = 1;
	tr.usermode = 0;
	return copy_to_user(argp, &tr, sizeof(tr)) ? -EFAULT : 0;
}

/* kvm_sync_valid_fields(): what kvm_valid_regs and kvm_dirty_regs name. */
#define SYNC_VALID_FIELDS	(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | \
				 KVM_SYNC_X86_EVENTS)

static void set_regs(struct kvmmu_vcpu *vcpu, const struct kvm_regs *regs)
{
	vcpu->regs = *regs;
	vcpu->regs.rflags |= X86_EFLAGS_FIXED;
}

static bool pae_paging(const struct kvm_sregs *s)
{
	return (s->cr0 & X86_CR0_PG) && (s->cr4 & X86_CR4_PAE) &&
	       !(s->efer & EFER_LMA);
}

/*
 * __set_sregs_common(): all or nothing. A CR8 with reserved bits is
 * ignored, not refused, as kvm_set_cr8()'s failure is there. @pdptrs:
 * KVM_SET_SREGS2's PDPTEs, taken as they are (kvm_pdptr_write()), or NULL
 * to load them at CR3 under PAE paging, a failure ignored.
 */
static int set_sregs_checked(struct kvmmu_vcpu *vcpu, struct kvm_sregs *s,
			     const u64 *pdptrs)
{
	if (!valid_sregs(vcpu, s))
		return -EINVAL;
	if (s->cr8 & ~0xfULL)
		s->cr8 = vcpu->sregs.cr8;
	vcpu->sregs = *s;
	kvmmu_sregs_irq_in(vcpu);
	/* tdp=0: as kvm_mmu_reset_context(), the next entry syncs. */
	if (!kvmmu_tdp)
		kvmmu_make_request(vcpu, KVMMU_REQ_MMU_SYNC);
	vcpu->pdptrs_cached = false;
	if (pdptrs) {
		memcpy(vcpu->pdptrs, pdptrs, sizeof(vcpu->pdptrs));
		vcpu->pdptrs_cached = true;
	} else if (!kvmmu_tdp && pae_paging(s)) {
		kvmmu_load_pdptrs(vcpu, s->cr3);
	}
	return 0;
}

/*
 * sync_regs(): the state the VMM put in kvm_run for KVM_SYNC_X86_REGS and
 * KVM_SYNC_X86_SREGS. kvmmu does not offer KVM_CAP_SYNC_REGS, and refuses
 * KVM_SYNC_X86_EVENTS (KVM_SET_VCPU_EVENTS is the way in).
 */
static int sync_regs(struct kvmmu_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_sregs *s;
	int r;

	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
		set_regs(vcpu, &run->s.regs.regs);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		/* A copy: the VMM may write the page meanwhile. */
		s = kmemdup(&run->s.regs.sregs, sizeof(*s), GFP_KERNEL_ACCOUNT);
		if (!s)
			return -ENOMEM;
		r = set_sregs_checked(vcpu, s, NULL);
		kfree(s);
		if (r)
			return r;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS)
		return -EINVAL;
	return 0;
}

/* store_regs() and post_kvm_run_save(), on every way out of KVM_RUN. */
static void post_run_save(struct kvmmu_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		run->s.regs.regs = vcpu->regs;
	if (run->kvm_valid_regs & KVM_SYNC_X86_SREGS) {
		run->s.regs.sregs = vcpu->sregs;
		kvmmu_sregs_irq_out(vcpu, &run->s.regs.sregs);
	}
	kvmmu_post_run_save(vcpu);
}

/*
 * kvm_arch_vcpu_ioctl_run()'s checks of kvm_run, in its order, before a
 * pending exit is finished: unknown sync fields, the synced state, and
 * CR8 (the TPR without an in-kernel APIC: 4 bits, EINVAL above).
 */
static int run_prepare(struct kvmmu_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u64 cr8;
	int r;

	run->flags = 0;
	if ((run->kvm_valid_regs & ~SYNC_VALID_FIELDS) ||
	    (run->kvm_dirty_regs & ~SYNC_VALID_FIELDS))
		return -EINVAL;
	if (run->kvm_dirty_regs) {
		r = sync_regs(vcpu);
		if (r)
			return r;
	}
	cr8 = READ_ONCE(run->cr8);
	if (cr8 & ~0xfULL)
		return -EINVAL;
	vcpu->sregs.cr8 = cr8;
	return 1;
}

static int __vcpu_run(struct kvmmu_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	sigset_t saved;
	int r;

	/* 0: finishing it failed, run->exit_reason says why. */
	r = complete_pending(vcpu);
	if (r <= 0)
		return r;
	if (kvmmu_run_immediate_exit(run))
		return -EINTR;

	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &saved);
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, true);

	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			vcpu->stat.signal_exits++;
			r = -EINTR;
			break;
		}
		cond_resched();
		r = kvmmu_ops.vcpu_run(vcpu);
		vcpu->stat.exits++;
		if (r <= 0)
			break;
		if (kvmmu_irq_window_open(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
	}
	if (!r && run->exit_reason == KVM_EXIT_IO)
		vcpu->stat.io_exits++;
	else if (!r && run->exit_reason == KVM_EXIT_MMIO)
		vcpu->stat.mmio_exits++;

	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, false);
	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	return r;
}

/*
 * kvm_arch_vcpu_ioctl_run(): without an in-kernel LAPIC the VMM's TPR comes
 * in through kvm_run->cr8 (kvm_set_cr8(): 4 bits), and kvm_run's x86 fields
 * are filled on every way out, errors included.
 */
static int vcpu_run(struct kvmmu_vcpu *vcpu)
{
	int r = run_prepare(vcpu);

	if (r > 0)
		r = __vcpu_run(vcpu);
	post_run_save(vcpu);
	return r;
}

/* The vCPU file ---------------------------------------------------------- */

static long get_sregs(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_sregs *s;
	long r = 0;

	s = kmemdup(&vcpu->sregs, sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	kvmmu_sregs_irq_out(vcpu, s);
	if (copy_to_user(argp, s, sizeof(*s)))
		r = -EFAULT;
	kfree(s);
	return r;
}

static long set_sregs(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_sregs *s;
	long r;

	s = memdup_user(argp, sizeof(*s));
	if (IS_ERR(s))
		return PTR_ERR(s);
	r = set_sregs_checked(vcpu, s, NULL);
	kfree(s);
	return r;
}

/* The head kvm_sregs and kvm_sregs2 share (__get_sregs_common()). */
#define SREGS_COMMON	offsetof(struct kvm_sregs, interrupt_bitmap)
static_assert(offsetof(struct kvm_sregs2, flags) == SREGS_COMMON);

/*
 * KVM_GET_SREGS2: the sregs without interrupt_bitmap, and under PAE
 * paging the PDPTEs in use (kvm_vcpu_ioctl_x86_get_sregs2()): the shadow
 * MMU's copy; with NPT, what KVM_SET_SREGS2 gave since the last VMRUN,
 * else the PDPT at CR3 (kvm_pdptr_read() -> svm_cache_reg()), the last
 * copy if that cannot be read.
 */
static long get_sregs2(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_sregs2 *s2;
	long r = 0;

	s2 = kzalloc(sizeof(*s2), GFP_KERNEL);
	if (!s2)
		return -ENOMEM;
	memcpy(s2, &vcpu->sregs, SREGS_COMMON);
	if (pae_paging(&vcpu->sregs)) {
		if (kvmmu_tdp && !vcpu->pdptrs_cached)
			vcpu->pdptrs_cached =
				kvmmu_load_pdptrs(vcpu, vcpu->sregs.cr3);
		memcpy(s2->pdptrs, vcpu->pdptrs, sizeof(s2->pdptrs));
		s2->flags |= KVM_SREGS2_FLAGS_PDPTRS_VALID;
	}
	if (copy_to_user(argp, s2, sizeof(*s2)))
		r = -EFAULT;
	kfree(s2);
	return r;
}

/*
 * KVM_SET_SREGS2 (kvm_vcpu_ioctl_x86_set_sregs2()): as KVM_SET_SREGS, no
 * interrupt_bitmap (a queued interrupt stays); with
 * KVM_SREGS2_FLAGS_PDPTRS_VALID, which only PAE paging may carry, the
 * PDPTEs are the ones given, not those in memory at CR3. Other flags:
 * -EINVAL.
 */
static long set_sregs2(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_sregs2 *s2;
	struct kvm_sregs *s;
	bool valid;
	long r;

	s2 = memdup_user(argp, sizeof(*s2));
	if (IS_ERR(s2))
		return PTR_ERR(s2);
	r = -EINVAL;
	valid = s2->flags & KVM_SREGS2_FLAGS_PDPTRS_VALID;
	if (s2->flags & ~KVM_SREGS2_FLAGS_PDPTRS_VALID)
		goto out;
	r = -ENOMEM;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		goto out;
	memcpy(s, s2, SREGS_COMMON);
	r = -EINVAL;
	if (!valid || pae_paging(s))
		r = set_sregs_checked(vcpu, s, valid ? s2->pdptrs : NULL);
	kfree(s);
out:
	kfree(s2);
	return r;
}

static long set_signal_mask(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_signal_mask __user *umask = argp;
	struct kvm_signal_mask kmask;
	sigset_t set;

	if (!argp) {
		vcpu->sigset_active = false;
		return 0;
	}
	if (copy_from_user(&kmask, umask, sizeof(kmask)))
		return -EFAULT;
	if (kmask.len != sizeof(set))
		return -EINVAL;
	if (copy_from_user(&set, umask->sigset, sizeof(set)))
		return -EFAULT;
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigset = set;
	vcpu->sigset_active = true;
	return 0;
}

static long vcpu_ioctl_locked(struct kvmmu_vcpu *vcpu, unsigned int ioctl,
			      unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct kvm_mp_state mp;

	switch (ioctl) {
	case KVM_RUN:
		if (arg)
			return -EINVAL;
		return vcpu_run(vcpu);
	case KVM_GET_REGS:
		return copy_to_user(argp, &vcpu->regs, sizeof(vcpu->regs)) ?
		       -EFAULT : 0;
	case KVM_SET_REGS: {
		struct kvm_regs regs;

		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		set_regs(vcpu, &regs);
		return 0;
	}
	case KVM_GET_SREGS:
		return get_sregs(vcpu, argp);
	case KVM_SET_SREGS:
		return set_sregs(vcpu, argp);
	case KVM_GET_SREGS2:
		return get_sregs2(vcpu, argp);
	case KVM_SET_SREGS2:
		return set_sregs2(vcpu, argp);
	case KVM_SET_CPUID2:
		return set_cpuid2(vcpu, argp);
	case KVM_GET_CPUID2:
		return get_cpuid2(vcpu, argp);
	case KVM_GET_MP_STATE:
		mp.mp_state = vcpu->mp_state;
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	case KVM_SET_MP_STATE:
		if (copy_from_user(&mp, argp, sizeof(mp)))
			return -EFAULT;
		/*
		 * kvm_arch_vcpu_ioctl_set_mpstate() without an in-kernel
		 * LAPIC (KVM_CREATE_IRQCHIP creates none here): every other
		 * state is the LAPIC's, and the VMM's own APIC emulation
		 * does INIT and SIPI with the register ioctls.
		 */
		if (mp.mp_state != KVM_MP_STATE_RUNNABLE)
			return -EINVAL;
		vcpu->mp_state = mp.mp_state;
		return 0;
	case KVM_SET_SIGNAL_MASK:
		return set_signal_mask(vcpu, argp);
	case KVM_TRANSLATE:
		return translate(vcpu, argp);
	case KVM_GET_FPU:
	case KVM_SET_FPU:
	case KVM_GET_XSAVE:
	case KVM_SET_XSAVE:
	case KVM_GET_XSAVE2:
	case KVM_GET_XCRS:
	case KVM_SET_XCRS:
	case KVM_GET_DEBUGREGS:
	case KVM_SET_DEBUGREGS:
		return kvmmu_vcpu_state_ioctl(vcpu, ioctl, argp);
	case KVM_GET_STATS_FD:
		return kvmmu_vcpu_stats_fd(vcpu);
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
	case KVM_X86_SETUP_MCE:
		return kvmmu_msr_ioctl(vcpu, ioctl, argp);
	case KVM_INTERRUPT:
	case KVM_NMI:
	case KVM_GET_VCPU_EVENTS:
	case KVM_SET_VCPU_EVENTS:
		return kvmmu_events_ioctl(vcpu, ioctl, argp);
	default:
		return -EINVAL;
	}
}

static long vcpu_ioctl(struct file *filp, unsigned int ioctl,
		       unsigned long arg)
{
	struct kvmmu_vcpu *vcpu = vcpu_from_file(filp);
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	r = vcpu_ioctl_locked(vcpu, ioctl, arg);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static vm_fault_t vcpu_fault(struct vm_fault *vmf)
{
	struct kvmmu_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == 1)
		page = virt_to_page(vcpu->pio_data);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vcpu_vm_ops = {
	.fault = vcpu_fault,
};

static int vcpu_mmap(struct file *filp, struct vm_area_struct *vma)
{
	vma->vm_ops = &vcpu_vm_ops;
	return 0;
}

static int vcpu_release(struct inode *inode, struct file *filp)
{
	kvmmu_vm_put(vcpu_from_file(filp)->vm);
	return 0;
}

static const struct file_operations vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= vcpu_release,
	.unlocked_ioctl	= vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vcpu_mmap,
	.llseek		= noop_llseek,
};

static void vcpu_free(struct kvmmu_vcpu *vcpu)
{
	kvmmu_ops.vcpu_free(vcpu);
	kvmmu_mmu_vcpu_destroy(vcpu);
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
	kvfree(vcpu->cpuid);
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	mutex_destroy(&vcpu->mutex);
	kfree(vcpu);
}

static struct kvmmu_vcpu *vcpu_alloc(struct kvmmu_vm *vm, u32 id)
{
	struct kvmmu_vcpu *vcpu;

	vcpu = kzalloc(kvmmu_ops.vcpu_size, GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->vcpu_id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);

	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data)
		goto err_pages;
	if (!fpu_alloc_guest_fpstate(&vcpu->guest_fpu))
		goto err_pages;
	if (kvmmu_mmu_vcpu_init(vcpu))
		goto err_fpu;
	if (kvmmu_ops.vcpu_create(vcpu))
		goto err_mmu;
	vcpu_reset(vcpu);
	return vcpu;

err_mmu:
	kvmmu_mmu_vcpu_destroy(vcpu);
err_fpu:
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
err_pages:
	free_page((unsigned long)vcpu->pio_data);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
	return NULL;
}

/**
 * kvmmu_create_vcpu - KVM_CREATE_VCPU.
 * @vm: the VM.
 * @id: the vCPU id.
 *
 * Return:
 * * a new vCPU fd.
 * * -EINVAL - @id >= KVMMU_MAX_VCPU_IDS, or KVMMU_MAX_VCPUS already exist.
 * * -EEXIST - a vCPU with @id exists.
 * * -ENOMEM - out of memory.
 * * -EMFILE and friends - no fd available.
 */
int kvmmu_create_vcpu(struct kvmmu_vm *vm, unsigned long id)
{
	struct kvmmu_vcpu *vcpu, *other;
	char name[24];
	unsigned long i;
	int fd, r;

	if (id >= KVMMU_MAX_VCPU_IDS)
		return -EINVAL;

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (atomic_read(&vm->online_vcpus) >= KVMMU_MAX_VCPUS)
		goto out_unlock;
	r = -EEXIST;
	xa_for_each(&vm->vcpus, i, other) {
		if (other->vcpu_id == id)
			goto out_unlock;
	}

	r = -ENOMEM;
	vcpu = vcpu_alloc(vm, id);
	if (!vcpu)
		goto out_unlock;

	r = xa_insert(&vm->vcpus, atomic_read(&vm->online_vcpus), vcpu,
		      GFP_KERNEL_ACCOUNT);
	if (r)
		goto out_free;

	/* The file's reference; taken before the fd can be used. */
	kvmmu_vm_get(vm);
	snprintf(name, sizeof(name), "kvmmu-vcpu:%lu", id);
	/*
	 * Another thread may use the fd as soon as it exists: hold its ioctls
	 * off (vcpu->mutex) until the vCPU is online, so that no vCPU enters
	 * the guest while TLB flushes, which walk only online vCPUs, cannot
	 * see it (KVM later closed the same window this way).
	 */
	mutex_lock(&vcpu->mutex);
	fd = anon_inode_getfd(name, &vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		mutex_unlock(&vcpu->mutex);
		r = fd;
		xa_erase(&vm->vcpus, atomic_read(&vm->online_vcpus));
		kvmmu_vm_put(vm);
		goto out_free;
	}
	/* Lockless readers (flushes) see it whole through the xarray. */
	atomic_inc(&vm->online_vcpus);
	mutex_unlock(&vcpu->mutex);
	mutex_unlock(&vm->lock);
	return fd;

out_free:
	vcpu_free(vcpu);
out_unlock:
	mutex_unlock(&vm->lock);
	return r;
}

/**
 * kvmmu_vcpu_destroy_all - free every vCPU of a VM that is being freed.
 * @vm: the VM; no vCPU file is open any more and its mmu notifier is
 *      unregistered, so no flush can walk the vCPUs being freed.
 */
void kvmmu_vcpu_destroy_all(struct kvmmu_vm *vm)
{
	struct kvmmu_vcpu *vcpu;
	unsigned long i;

	/*
	 * An invalidation's flush walks the vCPUs: the notifier must be gone
	 * before they are freed (kvm_destroy_vm()'s order).
	 */
	if (KVMMU_DEBUG)
		WARN_ON_ONCE(vm->mmu && vm->mmu->mn_registered);
	atomic_set(&vm->online_vcpus, 0);
	xa_for_each(&vm->vcpus, i, vcpu)
		vcpu_free(vcpu);
	xa_destroy(&vm->vcpus);
}

/**
 * kvmmu_tsc_khz - KVM_GET_TSC_KHZ: the guest TSC runs at the host's rate.
 *
 * Return: the frequency in kHz.
 */
long kvmmu_tsc_khz(void)
{
	return tsc_khz;
}
