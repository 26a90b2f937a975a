// SPDX-License-Identifier: GPL-2.0
/*
 * Guest MSRs: KVM_GET_MSR_INDEX_LIST, KVM_GET/SET_MSRS, KVM_X86_SETUP_MCE
 * and the guest's RDMSR/WRMSR, one code path for both, with KVM 6.12's
 * semantics (kvm_get_msr_common(), kvm_set_msr_common(), svm_get_msr(),
 * svm_set_msr(), mtrr.c, set_msr_mce()).
 *
 * Where the state lives
 * ---------------------
 * - STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE and the SYSENTER MSRs: in
 *   the VMCB (vendor op msr_slot), the state VMLOAD/VMSAVE switch. Around
 *   VMRUN svm_vmenter.S saves the host's to a per-CPU page and loads it
 *   back before any C code runs, so a guest value never reaches the host.
 * - FS/GS base, EFER, APIC base: in vcpu->sregs, as KVM_SET_SREGS sets
 *   them; svm.c copies sregs to the VMCB on every entry.
 * - TSC: an offset (guest TSC = host TSC + offset) that svm.c writes to the
 *   VMCB on every entry; RDTSC and RDTSCP are not intercepted.
 * - TSC_AUX: loaded by svm.c with GIF clear just before VMRUN and the host's
 *   put back before GIF is set again, so RDTSCP in the guest reads the
 *   guest's value and nothing on the host ever sees it. RDPID is not
 *   offered in CPUID (SVM cannot intercept it).
 * - PAT (the VMCB's g_pat under NPT), MTRRs, MCE banks, MISC_ENABLE: here,
 *   in vcpu->msr. The MTRRs are only stored: with NPT the guest's PAT and
 *   the host's memory types decide, as in KVM without non-coherent DMA.
 *
 * Intercepts: every MSR access exits, except the VMCB-resident set above
 * (the STAR family, FS/GS/KERNEL_GS base, SYSENTER_CS), which svm.c passes
 * through as KVM does: VMSAVE/VMLOAD switch them, so the guest can only
 * touch its own copy. SYSENTER_ESP/EIP stay intercepted so that the upper
 * halves follow KVM's rule for Intel CPUID (svm_set_msr()).
 *
 * kvmclock is not offered, but QEMU before 9.1 reads and writes
 * MSR_KVM_SYSTEM_TIME and MSR_KVM_WALL_CLOCK whatever the CPUID: the host
 * reads 0 and may write 0 (what a guest without kvmclock leaves there);
 * anything else, and any guest access, fails.
 *
 * Not offered: SPEC_CTRL, PRED_CMD, FLUSH_CMD (kvmmu switches none of them
 * and CPUID offers none), TSC_ADJUST, the PMU, VM_HSAVE_PA (no nested
 * SVM), SMBASE (no SMM), the feature MSRs (KVM_CAP_GET_MSR_FEATURES is 0).
 * They fail like any unknown MSR: #GP for the guest, the entry count for
 * KVM_GET/SET_MSRS.
 *
 * Exclusion rules: every function here runs under vcpu->mutex (vCPU ioctls
 * and the exit handler of KVM_RUN); nothing here is shared between vCPUs.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_para.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/page.h>

#include "kvmmu.h"

#define MAX_IO_MSRS		256	/* KVM's limit on one KVM_GET/SET_MSRS */
#define PAT_DEFAULT		0x0007040600070406ULL
#define MISC_ENABLE_PMU_RO	(MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL | \
				 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL)
#define MTRR_CAP		(0x500 | KVMMU_NR_VAR_MTRR)	/* WC, FIX */
#define UCODE_REV_DEFAULT	0x100000000ULL

/* The SDM's MTRR and MCA numbers (<asm/msr-index.h> spells them in CamelCase). */
#define MTRR_CAP_MSR		0x0fe
#define MTRR_VAR_FIRST		0x200	/* PHYSBASE0 */
#define MTRR_VAR_LAST		(MTRR_VAR_FIRST + 2 * KVMMU_NR_VAR_MTRR - 1)
#define MTRR_FIX64K_00000	0x250
#define MTRR_FIX16K_80000	0x258
#define MTRR_FIX16K_A0000	0x259
#define MTRR_FIX4K_C0000	0x268
#define MTRR_FIX4K_F8000	0x26f
#define MTRR_DEF_TYPE		0x2ff
#define MCI_CTL(x)		(MSR_IA32_MC0_CTL + 4 * (x))
#define MCI_CTL2(x)		(MSR_IA32_MC0_CTL2 + (x))

/* CPUID bits this file checks (registers as kvmmu_guest_has() numbers them). */
#define CPUID_ECX		2
#define CPUID_EDX		3
#define EXT1_RDTSCP		BIT(27)
#define LEAF7_RDPID		BIT(22)

/*
 * What KVM_GET_MSR_INDEX_LIST reports: the MSRs a VMM must save and restore
 * (KVM's msrs_to_save and emulated_msrs, cut down to what kvmmu emulates).
 * QEMU sends exactly what it finds here plus the always-present ones, and
 * asserts that all were handled: every entry must read and write.
 */
static const u32 msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_TSC_AUX,
	MSR_IA32_MISC_ENABLE, MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL,
};

/**
 * kvmmu_host_has_tsc_aux - the host has the TSC_AUX MSR.
 *
 * kvm_is_supported_user_return_msr(MSR_TSC_AUX): without RDTSCP and RDPID
 * the MSR does not exist and is neither listed nor emulated.
 *
 * Return: true if TSC_AUX is emulated and switched around VMRUN.
 */
bool kvmmu_host_has_tsc_aux(void)
{
	return boot_cpu_has(X86_FEATURE_RDTSCP) ||
	       boot_cpu_has(X86_FEATURE_RDPID);
}

/* guest_cpuid_is_intel_compatible(): GenuineIntel, CentaurHauls, Shanghai. */
static bool guest_is_intel(const struct kvmmu_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e = kvmmu_find_cpuid(vcpu, 0, 0);

	if (!e)
		return false;
	return (e->ebx == 0x756e6547 && e->ecx == 0x6c65746e &&
		e->edx == 0x49656e69) ||
	       (e->ebx == 0x746e6543 && e->ecx == 0x736c7561 &&
		e->edx == 0x48727561) ||
	       (e->ebx == 0x68532020 && e->ecx == 0x20206961 &&
		e->edx == 0x68676e61);
}

/* is_noncanonical_msr_address(): the host's width, not CR4.LA57. */
static bool noncanonical(u64 la)
{
	u8 bits = kvmmu_host_has_la57() ? 57 : 48;

	return (u64)((s64)(la << (64 - bits)) >> (64 - bits)) != la;
}

static u64 canonicalize(u64 la)
{
	u8 bits = kvmmu_host_has_la57() ? 57 : 48;

	return (u64)((s64)(la << (64 - bits)) >> (64 - bits));
}

/**
 * kvmmu_msr_reset - the MSRs of a new vCPU, as kvm_arch_vcpu_create() and
 * kvm_vcpu_reset(init_event = false) leave them.
 * @vcpu: the vCPU, after the vendor reset (the VMCB-resident MSRs are 0).
 *
 * The guest's TSC starts at 0 with the first vCPU and later vCPUs are in
 * step with it (kvm_synchronize_tsc() without a value), MCG_CAP has KVM's
 * 32 banks and no capability until KVM_X86_SETUP_MCE.
 */
void kvmmu_msr_reset(struct kvmmu_vcpu *vcpu)
{
	struct kvmmu_msrs *m = &vcpu->msr;

	memset(m, 0, sizeof(*m));
	/* Under vm->lock: the first vCPU starts the VM's TSC at 0. */
	if (!READ_ONCE(vcpu->vm->tsc_offset))
		WRITE_ONCE(vcpu->vm->tsc_offset, -rdtsc());
	m->tsc_offset = READ_ONCE(vcpu->vm->tsc_offset);
	m->pat = PAT_DEFAULT;
	m->misc_enable = MISC_ENABLE_PMU_RO;
	m->ucode_rev = UCODE_REV_DEFAULT;
	m->mcg_cap = KVMMU_MAX_MCE_BANKS;
}

/* MTRRs: mtrr.c's find_mtrr() and kvm_mtrr_valid() ---------------------- */

static u64 *find_mtrr(struct kvmmu_vcpu *vcpu, u32 msr)
{
	struct kvmmu_msrs *m = &vcpu->msr;

	switch (msr) {
	case MTRR_VAR_FIRST ... MTRR_VAR_LAST:
		return &m->mtrr_var[array_index_nospec(msr - MTRR_VAR_FIRST,
						       KVMMU_NR_VAR_MTRR * 2)];
	case MTRR_FIX64K_00000:
		return &m->mtrr_fixed[0];
	case MTRR_FIX16K_80000:
	case MTRR_FIX16K_A0000:
		return &m->mtrr_fixed[1 + msr - MTRR_FIX16K_80000];
	case MTRR_FIX4K_C0000 ... MTRR_FIX4K_F8000:
		return &m->mtrr_fixed[3 + array_index_nospec(msr - MTRR_FIX4K_C0000, 8)];
	case MTRR_DEF_TYPE:
		return &m->mtrr_deftype;
	}
	return NULL;
}

/* UC, WC, WT, WP, WB */
static bool valid_mtrr_type(unsigned int t)
{
	return t < 8 && (BIT(t) & 0x73);
}

static bool mtrr_valid(struct kvmmu_vcpu *vcpu, u32 msr, u64 data)
{
	int i;

	if (msr == MTRR_DEF_TYPE)
		return !(data & ~0xcffULL) && valid_mtrr_type(data & 0xff);
	if (msr >= MTRR_FIX64K_00000 && msr <= MTRR_FIX4K_F8000) {
		for (i = 0; i < 8; i++)
			if (!valid_mtrr_type((data >> (i * 8)) & 0xff))
				return false;
		return true;
	}
	/* Variable: no bit above MAXPHYADDR; base 11:8, mask 10:0 reserved. */
	if (!kvmmu_legal_gpa(vcpu, data))
		return false;
	if (!(msr & 1))
		return valid_mtrr_type(data & 0xff) && !(data & 0xf00);
	return !(data & 0x7ff);
}

/* Machine check: get_msr_mce() and set_msr_mce() ------------------------ */

static bool is_mci_ctl(u32 msr)
{
	return ((msr - MSR_IA32_MC0_CTL) & 3) == 0;
}

static bool is_mci_status(u32 msr)
{
	return ((msr - MSR_IA32_MC0_CTL) & 3) == 1;
}

static int get_msr_mce(struct kvmmu_vcpu *vcpu, u32 msr, u64 *data, bool host)
{
	struct kvmmu_msrs *m = &vcpu->msr;
	unsigned int banks = m->mcg_cap & 0xff;
	u32 last;

	switch (msr) {
	case MSR_IA32_P5_MC_ADDR:
	case MSR_IA32_P5_MC_TYPE:
		*data = 0;
		return 0;
	case MSR_IA32_MCG_CAP:
		*data = m->mcg_cap;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(m->mcg_cap & MCG_CTL_P) && !host)
			return 1;
		*data = m->mcg_ctl;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = m->mcg_status;
		return 0;
	case MSR_IA32_MC0_CTL2 ... MCI_CTL2(KVMMU_MAX_MCE_BANKS) - 1:
		/* No CMCI is offered: the host reads 0, the guest #GP. */
		if (msr > MCI_CTL2(banks) - 1 || !host)
			return 1;
		*data = 0;
		return 0;
	case MSR_IA32_MC0_CTL ... MCI_CTL(KVMMU_MAX_MCE_BANKS) - 1:
		last = MCI_CTL(banks) - 1;
		if (msr > last)
			return 1;
		*data = m->mce_banks[array_index_nospec(msr - MSR_IA32_MC0_CTL,
							last + 1 - MSR_IA32_MC0_CTL)];
		return 0;
	}
	return 1;
}

static int set_msr_mce(struct kvmmu_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvmmu_msrs *m = &vcpu->msr;
	unsigned int banks = m->mcg_cap & 0xff;
	u32 last;

	switch (msr) {
	case MSR_IA32_MCG_STATUS:
		m->mcg_status = data;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(m->mcg_cap & MCG_CTL_P) && (data || !host))
			return 1;
		if (data != 0 && data != ~0ULL)
			return 1;
		m->mcg_ctl = data;
		return 0;
	case MSR_IA32_MC0_CTL2 ... MCI_CTL2(KVMMU_MAX_MCE_BANKS) - 1:
		if (msr > MCI_CTL2(banks) - 1)
			return 1;
		/* Without MCG_CMCI_P only the host's 0 is accepted. */
		return data || !host;
	case MSR_IA32_MC0_CTL ... MCI_CTL(KVMMU_MAX_MCE_BANKS) - 1:
		last = MCI_CTL(banks) - 1;
		if (msr > last)
			return 1;
		/* 0 or all ones, bit 10 and bit 0 may be clear (K8, UnixWare). */
		if (is_mci_ctl(msr) && data && (data | BIT(10) | 1) != ~0ULL)
			return 1;
		/* HWCR.McStatusWrEn is not offered: the guest may only clear. */
		if (!host && is_mci_status(msr) && data)
			return 1;
		m->mce_banks[array_index_nospec(msr - MSR_IA32_MC0_CTL,
						last + 1 - MSR_IA32_MC0_CTL)] = data;
		return 0;
	}
	return 1;
}

/* kvm_vcpu_ioctl_x86_setup_mce(), with svm_setup_mce()'s mask. */
static int setup_mce(struct kvmmu_vcpu *vcpu, u64 mcg_cap)
{
	struct kvmmu_msrs *m = &vcpu->msr;
	unsigned int banks = mcg_cap & 0xff, i;

	if (!banks || banks > KVMMU_MAX_MCE_BANKS)
		return -EINVAL;
	if (mcg_cap & ~(KVMMU_MCE_CAP_SUPPORTED | 0xff | 0xff0000))
		return -EINVAL;
	m->mcg_cap = mcg_cap & 0x1ff;
	if (mcg_cap & MCG_CTL_P)
		m->mcg_ctl = ~0ULL;
	for (i = 0; i < banks; i++)
		m->mce_banks[i * 4] = ~0ULL;
	return 0;
}

/* The MSRs ---------------------------------------------------------------- */

/* kvm_apic_set_base(): the host's checks, then the guest's mode rules. */
static int set_apic_base(struct kvmmu_vcpu *vcpu, u64 data, bool host)
{
	u64 old = vcpu->sregs.apic_base;
	u64 both = X2APIC_ENABLE | MSR_IA32_APICBASE_ENABLE;

	if (old == data)
		return 0;
	if (!kvmmu_valid_apic_base(vcpu, data))
		return 1;
	if (!host) {
		/* x2APIC -> xAPIC, disabled -> x2APIC: not in one step. */
		if ((old & both) == both &&
		    (data & both) == MSR_IA32_APICBASE_ENABLE)
			return 1;
		if (!(old & both) && (data & both) == both)
			return 1;
	}
	vcpu->sregs.apic_base = data;
	return 0;
}

/* set_efer(): a host write checks only reserved bits; LMA is kept. */
static int set_efer(struct kvmmu_vcpu *vcpu, u64 efer, bool host)
{
	struct kvm_sregs *s = &vcpu->sregs;

	if (kvmmu_efer_reserved(efer))
		return 1;
	if (!host) {
		if (!kvmmu_valid_efer(vcpu, efer))
			return 1;
		if ((s->cr0 & X86_CR0_PG) && ((s->efer ^ efer) & EFER_LME))
			return 1;
	}
	s->efer = (efer & ~EFER_LMA) | (s->efer & EFER_LMA);
	return 0;
}

/* kvm_pat_valid(): each byte 0, 1, 4, 5, 6 or 7. */
static bool pat_valid(u64 data)
{
	if (data & 0xF8F8F8F8F8F8F8F8ULL)
		return false;
	return (data | ((data & 0x0202020202020202ULL) << 1)) == data;
}

static bool guest_has_tsc_aux(const struct kvmmu_vcpu *vcpu)
{
	return kvmmu_guest_has(vcpu, 0x80000001, CPUID_EDX, EXT1_RDTSCP) ||
	       kvmmu_guest_has(vcpu, 7, CPUID_ECX, LEAF7_RDPID);
}

/*
 * kvm_synchronize_tsc() for a host write: 0, or after an earlier host write
 * a value within a second of what the VM's TSC reads now, keeps the vCPU
 * in step with the others (a VMM restoring each vCPU's TSC a little apart
 * must not skew them); anything else sets a new offset, which later vCPUs
 * will match. Racing writers under different vCPU mutexes each leave a
 * valid offset, as with KVM's lock one of them wins.
 */
static void host_set_tsc(struct kvmmu_vcpu *vcpu, u64 data)
{
	u64 hz = (u64)kvmmu_tsc_khz() * 1000;
	u64 offset = READ_ONCE(vcpu->vm->tsc_offset);
	u64 now = rdtsc();
	u64 vm_tsc = now + offset;

	if (data && (!READ_ONCE(vcpu->vm->user_set_tsc) ||
		     data + hz <= vm_tsc || data >= vm_tsc + hz)) {
		offset = data - now;
		WRITE_ONCE(vcpu->vm->tsc_offset, offset);
	}
	WRITE_ONCE(vcpu->vm->user_set_tsc, true);
	vcpu->msr.tsc_offset = offset;
}

/**
 * kvmmu_get_msr - read a guest MSR, as __kvm_get_msr() does.
 * @vcpu: the vCPU, outside guest mode, under its mutex.
 * @index: the MSR.
 * @data: where the value goes; 0 on failure.
 * @host: KVM_GET_MSRS (true) or the guest's RDMSR (false).
 *
 * Return: 0, or 1 for an MSR that does not exist for this reader (the
 * guest gets #GP; KVM_GET_MSRS stops there).
 */
int kvmmu_get_msr(struct kvmmu_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	struct kvmmu_msrs *m = &vcpu->msr;
	u64 *slot;
	u64 *mtrr;

	*data = 0;
	slot = kvmmu_ops.msr_slot(vcpu, index);
	if (slot) {
		*data = *slot;
		if (index == MSR_IA32_SYSENTER_EIP && guest_is_intel(vcpu))
			*data |= (u64)m->sysenter_eip_hi << 32;
		if (index == MSR_IA32_SYSENTER_ESP && guest_is_intel(vcpu))
			*data |= (u64)m->sysenter_esp_hi << 32;
		return 0;
	}

	switch (index) {
	case MSR_FS_BASE:
		*data = vcpu->sregs.fs.base;
		return 0;
	case MSR_GS_BASE:
		*data = vcpu->sregs.gs.base;
		return 0;
	case MSR_EFER:
		*data = vcpu->sregs.efer;
		return 0;
	case MSR_IA32_APICBASE:
		*data = vcpu->sregs.apic_base;
		return 0;
	case MSR_IA32_TSC:
		*data = rdtsc() + m->tsc_offset;
		return 0;
	case MSR_TSC_AUX:
		if (!kvmmu_host_has_tsc_aux() ||
		    (!host && !guest_has_tsc_aux(vcpu)))
			return 1;
		*data = m->tsc_aux;
		return 0;
	case MSR_IA32_CR_PAT:
		*data = m->pat;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = m->misc_enable;
		return 0;
	case MSR_IA32_UCODE_REV:
		*data = m->ucode_rev;
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
		return !host;
	case MTRR_CAP_MSR:
		*data = MTRR_CAP;
		return 0;
	case MTRR_VAR_FIRST ... MTRR_FIX4K_F8000:
	case MTRR_DEF_TYPE:
		mtrr = find_mtrr(vcpu, index);
		if (!mtrr)
			return 1;
		*data = *mtrr;
		return 0;
	case MSR_IA32_P5_MC_ADDR:
	case MSR_IA32_P5_MC_TYPE:
	case MSR_IA32_MCG_CAP:
	case MSR_IA32_MCG_CTL:
	case MSR_IA32_MCG_STATUS:
	case MSR_IA32_MC0_CTL ... MCI_CTL(KVMMU_MAX_MCE_BANKS) - 1:
	case MSR_IA32_MC0_CTL2 ... MCI_CTL2(KVMMU_MAX_MCE_BANKS) - 1:
		return get_msr_mce(vcpu, index, data, host);
	}
	return 1;
}

/**
 * kvmmu_set_msr - write a guest MSR, as __kvm_set_msr() does.
 * @vcpu: the vCPU, outside guest mode, under its mutex.
 * @index: the MSR.
 * @data: the value.
 * @host: KVM_SET_MSRS (true) or the guest's WRMSR (false). The host may
 *        write what the guest may not: TSC_AUX without CPUID, EFER without
 *        the CPUID checks, MCi_STATUS, IA32_UCODE_REV.
 *
 * Return: 0, or 1 for an unknown MSR, a reserved bit or a value this
 * writer may not set (the guest gets #GP; KVM_SET_MSRS stops there).
 */
int kvmmu_set_msr(struct kvmmu_vcpu *vcpu, u32 index, u64 data, bool host)
{
	struct kvmmu_msrs *m = &vcpu->msr;
	u64 *slot, *mtrr;

	switch (index) {
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_CSTAR:
	case MSR_LSTAR:
		if (noncanonical(data))
			return 1;
		break;
	case MSR_IA32_SYSENTER_EIP:
	case MSR_IA32_SYSENTER_ESP:
		/* AMD ignores bits 63:32; keep them deterministic. */
		data = canonicalize(data);
		break;
	}

	slot = kvmmu_ops.msr_slot(vcpu, index);
	if (slot) {
		u32 hi = guest_is_intel(vcpu) ? data >> 32 : 0;

		if (index == MSR_IA32_SYSENTER_EIP) {
			m->sysenter_eip_hi = hi;
			data = (u32)data;
		} else if (index == MSR_IA32_SYSENTER_ESP) {
			m->sysenter_esp_hi = hi;
			data = (u32)data;
		}
		*slot = data;
		return 0;
	}

	switch (index) {
	case MSR_FS_BASE:
		vcpu->sregs.fs.base = data;
		return 0;
	case MSR_GS_BASE:
		vcpu->sregs.gs.base = data;
		return 0;
	case MSR_EFER:
		return set_efer(vcpu, data, host);
	case MSR_IA32_APICBASE:
		return set_apic_base(vcpu, data, host);
	case MSR_IA32_TSC:
		/* The guest moves only its own (no TSC_ADJUST is offered). */
		if (host)
			host_set_tsc(vcpu, data);
		else
			m->tsc_offset = data - rdtsc();
		return 0;
	case MSR_TSC_AUX:
		if (!kvmmu_host_has_tsc_aux() ||
		    (!host && !guest_has_tsc_aux(vcpu)))
			return 1;
		/* Intel's bits 63:32 are reserved; AMD ignores them. */
		if (guest_is_intel(vcpu) && (data >> 32))
			return 1;
		m->tsc_aux = (u32)data;
		return 0;
	case MSR_IA32_CR_PAT:
		if (!pat_valid(data))
			return 1;
		m->pat = data;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		if (!host) {
			if ((m->misc_enable ^ data) & MISC_ENABLE_PMU_RO)
				return 1;
			/* EMON reads as it was: writes to it are ignored. */
			data &= ~MSR_IA32_MISC_ENABLE_EMON;
			data |= m->misc_enable & MSR_IA32_MISC_ENABLE_EMON;
		}
		m->misc_enable = data;
		return 0;
	case MSR_IA32_UCODE_REV:
		if (host)
			m->ucode_rev = data;
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
		return !host || data;
	case MTRR_VAR_FIRST ... MTRR_FIX4K_F8000:
	case MTRR_DEF_TYPE:
		mtrr = find_mtrr(vcpu, index);
		if (!mtrr || !mtrr_valid(vcpu, index, data))
			return 1;
		*mtrr = data;
		return 0;
	case MSR_IA32_MCG_CTL:
	case MSR_IA32_MCG_STATUS:
	case MSR_IA32_MC0_CTL ... MCI_CTL(KVMMU_MAX_MCE_BANKS) - 1:
	case MSR_IA32_MC0_CTL2 ... MCI_CTL2(KVMMU_MAX_MCE_BANKS) - 1:
		return set_msr_mce(vcpu, index, data, host);
	}
	return 1;
}

/**
 * kvmmu_emulate_msr - the guest's intercepted RDMSR or WRMSR.
 * @vcpu: the vCPU, state saved in vcpu->regs.
 * @write: WRMSR (EXITINFO1 = 1) rather than RDMSR.
 *
 * ECX names the MSR, EDX:EAX is the value; RDMSR zero-extends both halves
 * into RAX and RDX (kvm_emulate_rdmsr()). RIP is not moved.
 *
 * Return: 0 done, the caller skips the instruction; 1 the guest gets
 * #GP(0) and RIP stays.
 */
int kvmmu_emulate_msr(struct kvmmu_vcpu *vcpu, bool write)
{
	struct kvm_regs *r = &vcpu->regs;
	u32 index = r->rcx;
	u64 data;

	if (write)
		return kvmmu_set_msr(vcpu, index,
				     (u32)r->rax | (r->rdx << 32), false);
	if (kvmmu_get_msr(vcpu, index, &data, false))
		return 1;
	r->rax = (u32)data;
	r->rdx = data >> 32;
	return 0;
}

/**
 * kvmmu_get_msr_index_list - KVM_GET_MSR_INDEX_LIST.
 * @argp: user pointer to a struct kvm_msr_list.
 *
 * nmsrs is always set to the number of MSRs, even when the list does not
 * fit, so that a VMM can ask with 0 first (KVM's semantics).
 *
 * Return: 0, -E2BIG if nmsrs was too small, -EFAULT.
 */
long kvmmu_get_msr_index_list(void __user *argp)
{
	struct kvm_msr_list __user *ulist = argp;
	u32 list[ARRAY_SIZE(msrs_to_save)];
	struct kvm_msr_list hdr;
	u32 n = 0, asked;
	int i;

	for (i = 0; i < ARRAY_SIZE(msrs_to_save); i++)
		if (msrs_to_save[i] != MSR_TSC_AUX || kvmmu_host_has_tsc_aux())
			list[n++] = msrs_to_save[i];

	if (copy_from_user(&hdr, ulist, sizeof(hdr)))
		return -EFAULT;
	asked = hdr.nmsrs;
	hdr.nmsrs = n;
	if (copy_to_user(ulist, &hdr, sizeof(hdr)))
		return -EFAULT;
	if (asked < n)
		return -E2BIG;
	if (copy_to_user(ulist->indices, list, n * sizeof(u32)))
		return -EFAULT;
	return 0;
}

/*
 * msr_io(): nmsrs at or above MAX_IO_MSRS is -E2BIG; otherwise the number
 * of entries done before the first failure, with the entries written back
 * for KVM_GET_MSRS.
 */
static long msr_io(struct kvmmu_vcpu *vcpu, struct kvm_msrs __user *umsrs,
		   bool write)
{
	struct kvm_msr_entry *e;
	struct kvm_msrs msrs;
	size_t size;
	long r;
	u32 i;

	if (copy_from_user(&msrs, umsrs, sizeof(msrs)))
		return -EFAULT;
	if (msrs.nmsrs >= MAX_IO_MSRS)
		return -E2BIG;
	size = sizeof(*e) * msrs.nmsrs;
	e = memdup_user(umsrs->entries, size);
	if (IS_ERR(e))
		return PTR_ERR(e);

	for (i = 0; i < msrs.nmsrs; i++) {
		if (write ? kvmmu_set_msr(vcpu, e[i].index, e[i].data, true) :
			    kvmmu_get_msr(vcpu, e[i].index, &e[i].data, true))
			break;
	}
	r = i;
	if (!write && copy_to_user(umsrs->entries, e, size))
		r = -EFAULT;
	kfree(e);
	return r;
}

/**
 * kvmmu_msr_ioctl - the vCPU's MSR ioctls.
 * @vcpu: the vCPU, under its mutex.
 * @ioctl: KVM_GET_MSRS, KVM_SET_MSRS or KVM_X86_SETUP_MCE.
 * @argp: user argument.
 *
 * Return: entries processed for GET/SET_MSRS, 0 for SETUP_MCE, or an
 * errno (-EFAULT, -E2BIG, -ENOMEM, -EINVAL for a bad MCG_CAP).
 */
long kvmmu_msr_ioctl(struct kvmmu_vcpu *vcpu, unsigned int ioctl,
		     void __user *argp)
{
	u64 mcg_cap;

	switch (ioctl) {
	case KVM_GET_MSRS:
		return msr_io(vcpu, argp, false);
	case KVM_SET_MSRS:
		return msr_io(vcpu, argp, true);
	case KVM_X86_SETUP_MCE:
		if (copy_from_user(&mcg_cap, argp, sizeof(mcg_cap)))
			return -EFAULT;
		return setup_mce(vcpu, mcg_cap);
	}
	return -EINVAL;
}
