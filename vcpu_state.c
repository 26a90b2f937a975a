// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU state a VMM saves and restores beside the registers: the FPU in its
 * legacy (KVM_GET/SET_FPU) and XSAVE (KVM_GET/SET_XSAVE, KVM_GET_XSAVE2)
 * layouts, XCR0 (KVM_GET/SET_XCRS), the debug registers
 * (KVM_GET/SET_DEBUGREGS), and the two VM addresses that only VMX uses
 * (KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR). QEMU reads and writes all
 * of them on every reset and migration.
 *
 * The guest's FPU state is the fpstate that fpu_alloc_guest_fpstate()
 * gave vcpu->guest_fpu. KVM_RUN swaps it in and saves it back before it
 * returns, so between ioctls, which all hold vcpu->mutex, it is in memory
 * and the kernel's own uABI copy helpers can read and write it, as KVM's
 * do. Those helpers check what the VMM hands in: xfeatures beyond what is
 * allowed, a compacted or reserved header, MXCSR bits the CPU lacks.
 *
 * The debug registers belong to the vendor backend (svm.c emulates every
 * guest access to them); this file only checks what the VMM sets.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>

#include "kvmmu.h"

/*
 * KVM_SUPPORTED_XCR0 less what kvm_amd takes out (MPX, in
 * svm_set_cpu_caps()) and less AMX, whose dynamic state the guest
 * fpstate, allocated without a guest permission, cannot hold.
 */
#define KVMMU_SUPPORTED_XCR0	(XFEATURE_MASK_FP | XFEATURE_MASK_SSE | \
				 XFEATURE_MASK_YMM | XFEATURE_MASK_AVX512 | \
				 XFEATURE_MASK_PKRU)

/**
 * kvmmu_supported_xcr0 - the XSAVE features a VMM may hand in (KVM's
 * kvm_caps.supported_xcr0).
 *
 * Return: the host's XCR0 within what kvmmu switches; 0 without XSAVE.
 */
u64 kvmmu_supported_xcr0(void)
{
	return kvmmu_host_xcr0() & KVMMU_SUPPORTED_XCR0;
}

/*
 * xstate_required_size(.., false): the standard (uncompacted) format's
 * size for @xfeatures, from each feature's offset and size in CPUID 0xD.
 */
static u32 xstate_size(u64 xfeatures)
{
	u32 size = 512 + 64;	/* legacy area and XSAVE header */
	u32 eax, ebx, ecx, edx;
	int i;

	for (i = 2; i < 64; i++) {
		if (!(xfeatures & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		size = max(size, eax + ebx);
	}
	return size;
}

/**
 * kvmmu_xsave2_size - KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2).
 *
 * Return: bytes KVM_GET_XSAVE2 writes for the supported features, at
 * least sizeof(struct kvm_xsave).
 */
int kvmmu_xsave2_size(void)
{
	return max_t(u32, xstate_size(kvmmu_supported_xcr0()),
		     sizeof(struct kvm_xsave));
}

/* What the vCPU's CPUID leaf 0xD offers (guest_supported_xcr0). */
static u64 guest_supported_xcr0(const struct kvmmu_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e = kvmmu_find_cpuid(vcpu, 0xd, 0);

	if (!e)
		return 0;
	return ((u64)e->edx << 32 | e->eax) & kvmmu_supported_xcr0();
}

/* FPU ------------------------------------------------------------------- */

static long get_fpu(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct fxregs_state *fx = &vcpu->guest_fpu.fpstate->regs.fxsave;
	struct kvm_fpu *fpu;
	long r = 0;

	fpu = kzalloc(sizeof(*fpu), GFP_KERNEL_ACCOUNT);
	if (!fpu)
		return -ENOMEM;
	/* kvm_arch_vcpu_ioctl_get_fpu(): MXCSR is not among them. */
	memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
	fpu->fcw = fx->cwd;
	fpu->fsw = fx->swd;
	fpu->ftwx = fx->twd;
	fpu->last_opcode = fx->fop;
	fpu->last_ip = fx->rip;
	fpu->last_dp = fx->rdp;
	memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
	if (copy_to_user(argp, fpu, sizeof(*fpu)))
		r = -EFAULT;
	kfree(fpu);
	return r;
}

static long set_fpu(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct fxregs_state *fx = &vcpu->guest_fpu.fpstate->regs.fxsave;
	struct kvm_fpu *fpu;

	fpu = memdup_user(argp, sizeof(*fpu));
	if (IS_ERR(fpu))
		return PTR_ERR(fpu);
	memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
	fx->cwd = fpu->fcw;
	fx->swd = fpu->fsw;
	fx->twd = fpu->ftwx;
	fx->fop = fpu->last_opcode;
	fx->rip = fpu->last_ip;
	fx->rdp = fpu->last_dp;
	memcpy(fx->xmm_space, fpu->xmm, sizeof(fx->xmm_space));
	kfree(fpu);
	return 0;
}

/* XSAVE ----------------------------------------------------------------- */

/*
 * kvm_vcpu_ioctl_x86_get_xsave2(): only the features offered to the guest
 * (and x87/SSE always), so that a destination without the host's other
 * features accepts the state.
 */
static long get_xsave(struct kvmmu_vcpu *vcpu, void __user *argp,
		      unsigned int size)
{
	void *buf;
	long r = 0;

	buf = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, buf, size,
				       guest_supported_xcr0(vcpu) |
				       XFEATURE_MASK_FPSSE, vcpu->pkru);
	if (copy_to_user(argp, buf, size))
		r = -EFAULT;
	kfree(buf);
	return r;
}

static long set_xsave(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	union fpregs_state *xs;
	long r;

	xs = memdup_user(argp, vcpu->guest_fpu.uabi_size);
	if (IS_ERR(xs))
		return PTR_ERR(xs);
	/* A feature XFD disables must stay in its init state, or #NM. */
	xs->xsave.header.xfeatures &= ~vcpu->guest_fpu.fpstate->xfd;
	r = fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, xs,
					   kvmmu_supported_xcr0(), &vcpu->pkru);
	kfree(xs);
	return r;
}

/* XCRs ------------------------------------------------------------------ */

static long get_xcrs(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_xcrs *x;
	long r = 0;

	x = kzalloc(sizeof(*x), GFP_KERNEL_ACCOUNT);
	if (!x)
		return -ENOMEM;
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		x->nr_xcrs = 1;
		x->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
		x->xcrs[0].value = vcpu->xcr0;
	}
	if (copy_to_user(argp, x, sizeof(*x)))
		r = -EFAULT;
	kfree(x);
	return r;
}

/*
 * kvm_vcpu_ioctl_x86_set_xcrs(): the first XCR0 entry is set with the
 * checks of a guest XSETBV; other indexes are ignored.
 */
static long set_xcrs(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_xcrs *x;
	long r = 0;
	u32 i;

	x = memdup_user(argp, sizeof(*x));
	if (IS_ERR(x))
		return PTR_ERR(x);
	if (!boot_cpu_has(X86_FEATURE_XSAVE) || x->nr_xcrs > KVM_MAX_XCRS ||
	    x->flags) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < x->nr_xcrs; i++) {
		if (x->xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		if (kvmmu_set_xcr(vcpu, XCR_XFEATURE_ENABLED_MASK,
				  x->xcrs[i].value))
			r = -EINVAL;
		break;
	}
out:
	kfree(x);
	return r;
}

/* Debug registers ------------------------------------------------------- */

static long get_debugregs(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_debugregs dbg;

	memset(&dbg, 0, sizeof(dbg));
	kvmmu_ops.get_debugregs(vcpu, &dbg);
	return copy_to_user(argp, &dbg, sizeof(dbg)) ? -EFAULT : 0;
}

/*
 * kvm_vcpu_ioctl_x86_set_debugregs(): no flags are defined, and DR6/DR7
 * have nothing above bit 31 (kvm_dr6_valid(), kvm_dr7_valid()); the
 * values are taken as they are, without forcing the fixed bits.
 */
static long set_debugregs(struct kvmmu_vcpu *vcpu, void __user *argp)
{
	struct kvm_debugregs dbg;

	if (copy_from_user(&dbg, argp, sizeof(dbg)))
		return -EFAULT;
	if (dbg.flags || (dbg.dr6 >> 32) || (dbg.dr7 >> 32))
		return -EINVAL;
	kvmmu_ops.set_debugregs(vcpu, &dbg);
	return 0;
}

/**
 * kvmmu_vcpu_state_ioctl - the vCPU ioctls of this file.
 * @vcpu: the vCPU, vcpu->mutex held, outside KVM_RUN.
 * @ioctl: KVM_GET/SET_FPU, KVM_GET/SET_XSAVE, KVM_GET_XSAVE2,
 *         KVM_GET/SET_XCRS or KVM_GET/SET_DEBUGREGS.
 * @argp: the user's struct.
 *
 * Return: 0, or -EFAULT, -ENOMEM, or -EINVAL for what KVM 6.12 refuses
 * (and for an @ioctl not listed).
 */
long kvmmu_vcpu_state_ioctl(struct kvmmu_vcpu *vcpu, unsigned int ioctl,
			    void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_FPU:
		return get_fpu(vcpu, argp);
	case KVM_SET_FPU:
		return set_fpu(vcpu, argp);
	case KVM_GET_XSAVE:
		/* A state that does not fit is for KVM_GET_XSAVE2 only. */
		if (vcpu->guest_fpu.uabi_size > sizeof(struct kvm_xsave))
			return -EINVAL;
		return get_xsave(vcpu, argp, sizeof(struct kvm_xsave));
	case KVM_GET_XSAVE2:
		return get_xsave(vcpu, argp, vcpu->guest_fpu.uabi_size);
	case KVM_SET_XSAVE:
		return set_xsave(vcpu, argp);
	case KVM_GET_XCRS:
		return get_xcrs(vcpu, argp);
	case KVM_SET_XCRS:
		return set_xcrs(vcpu, argp);
	case KVM_GET_DEBUGREGS:
		return get_debugregs(vcpu, argp);
	case KVM_SET_DEBUGREGS:
		return set_debugregs(vcpu, argp);
	default:
		return -EINVAL;
	}
}

/* VM addresses ---------------------------------------------------------- */

/**
 * kvmmu_set_tss_addr - KVM_SET_TSS_ADDR.
 * @addr: GPA of the three pages VMX uses for real-mode emulation.
 *
 * kvm_vm_ioctl_set_tss_addr() checks that they fit below 4 GiB; on SVM
 * (svm_set_tss_addr()) there is nothing to set up.
 *
 * Return: 0, or -EINVAL when they do not fit.
 */
int kvmmu_set_tss_addr(unsigned long addr)
{
	if (addr > (unsigned int)(-3 * PAGE_SIZE))
		return -EINVAL;
	return 0;
}

/**
 * kvmmu_set_identity_map_addr - KVM_SET_IDENTITY_MAP_ADDR.
 * @vm: the VM.
 * @argp: user pointer to the u64 GPA of VMX's identity-mapped page table.
 *
 * Only before the first vCPU, as KVM's vm ioctl; SVM has no use for the
 * address (svm_set_identity_map_addr()).
 *
 * Return: 0, -EINVAL once a vCPU exists, -EFAULT.
 */
int kvmmu_set_identity_map_addr(struct kvmmu_vm *vm, const void __user *argp)
{
	u64 addr;
	int r;

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (!xa_empty(&vm->vcpus))
		goto out;
	r = -EFAULT;
	if (copy_from_user(&addr, argp, sizeof(addr)))
		goto out;
	r = 0;
out:
	mutex_unlock(&vm->lock);
	return r;
}
