// SPDX-License-Identifier: GPL-2.0
/*
 * The AMD SVM backend behind struct kvmmu_vendor_ops.
 *
 * What it does
 * ------------
 * - Refuses to load, with one dmesg line, when the CPU has no SVM, firmware
 *   disabled it (VM_CR.SVMDIS), or another hypervisor already owns SVM
 *   (EFER.SVME set: kvm_amd). Without nested paging, or with tdp=0, every
 *   VM gets the shadow MMU (shadow_mmu.c).
 * - Enables SVM on every CPU (EFER.SVME, VM_HSAVE_PA) through a CPU hotplug
 *   state, so CPUs that come online later get it too, and disables it on
 *   unload, CPU offlining and emergency reboot.
 * - Gives each vCPU a VMCB: every instruction that could escape the guest
 *   (VMRUN and friends, port I/O, MSRs, CPUID, HLT, XSETBV) is intercepted;
 *   memory goes through the NPT of mmu.c (nCR3), or with the shadow MMU
 *   through the shadow root in the VMCB's CR3: then CR0/CR3/CR4 reads and
 *   writes, INVLPG and #PF exit too (init_vmcb() with !npt_enabled), the
 *   guest's CR0/CR3/CR4/EFER live in vcpu->sregs and the VMCB holds what
 *   the CPU must run with (shadow_cr_to_vmcb()). The MSRs that VMLOAD and
 *   VMSAVE switch are the exception (see msr.c): the guest reaches only
 *   its own copy in the VMCB.
 * - Runs the guest (svm_vmenter.S) with host interrupts held off by GIF and
 *   turned into #VMEXIT(INTR), then handled normally once GIF is set again.
 *
 * Hardware that is not there
 * --------------------------
 * QEMU's TCG, where this is tested, lacks NRIP save, decode assists, VMCB
 * clean bits and flush-by-ASID. So: the next RIP is computed here (or given
 * by EXITINFO2 for I/O), MMIO instructions are decoded by emulate.c from
 * guest memory, VMCB clean bits are always 0 (everything reloaded), and TLB
 * flushes use fresh ASIDs, which are only handed out after a full flush of
 * all ASIDs. TCG flushes its TLB on every VMRUN anyway, so a missing flush
 * would not show in tests: review the ASID code by reading.
 *
 * Exclusion rules
 * ---------------
 * - Per-CPU data (host save pages, ASID allocator) is used with interrupts
 *   off, on its own CPU.
 * - A vCPU's VMCB is touched only by the thread holding vcpu->mutex.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kvm_para.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/pkru.h>
#include <asm/reboot.h>
#include <asm/svm.h>
#include <asm/tlbflush.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/traps.h>
/* smp_send_reschedule() traces with it since 6.4. */
#include <trace/events/ipi.h>

#include "kvmmu.h"
#include "emulate.h"
#include "mmu.h"
#include "svm.h"
#include "trace.h"

/* Debug register bits (the SDM's; KVM keeps the same in kvm_host.h). */
#define DR6_ACTIVE_LOW	0xffff0ff0ULL	/* DR6 with no event */
#define DR6_FIXED_1	0xfffe0ff0ULL
#define DR6_VOLATILE	0x0001e80fULL
#define DR6_STATUS	0x0000e00fULL	/* B0-B3, BD, BS, BT */
/* RTM (16) and bus lock (11) read 1: neither is offered (kvm_dr6_fixed()) */
#define DR6_GUEST_FIXED_1	(DR6_FIXED_1 | BIT_ULL(16) | BIT_ULL(11))
#define DR7_VOLATILE	0xffff2bffULL

#define IOPM_ORDER	2	/* 12 KiB used */
#define MSRPM_ORDER	1	/* 8 KiB */

struct svm_cpu {
	struct page *hsave;	/* VM_HSAVE_PA: VMRUN's host save area */
	struct page *host_save;	/* VMSAVE/VMLOAD of host state */
	u64 asid_generation;
	u32 next_asid;
	struct vmcb *current_vmcb;	/* the last VMCB run here, for IBPB */
	u64 host_tsc_aux;	/* the host's TSC_AUX here (setup_getcpu()) */
};

struct svm_vcpu {
	struct kvmmu_vcpu vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	unsigned long gprs[16];	/* __VCPU_REGS_* order, for svm_vmenter.S */
	u64 asid_generation;
	int last_cpu;
	/*
	 * The guest's debug registers as it last wrote them. Every access
	 * is intercepted and none is ever loaded into the CPU: the VMCB's
	 * DR7 stays at its reset value, so guest breakpoints never fire
	 * (Documentation/security.rst) and the host's stay intact.
	 */
	u64 db[4];
	u64 dr6;
	u64 dr7;
	/*
	 * NMI masking without vNMI (svm_inject_nmi(), iret_interception()):
	 * the guest's IRET exits, and NMIs are unmasked once the guest has
	 * gone past it; to see that moment with an NMI waiting, the guest is
	 * single-stepped (TF|RF kept out of vcpu->regs).
	 */
	bool awaiting_iret_completion;
	u64 nmi_iret_rip;
	bool nmi_singlestep;
	u64 nmi_singlestep_guest_rflags;
	u8 injected;	/* enum svm_injected: what EVENTINJ holds */
	u64 shadow_root_pa;	/* tdp=0: the CR3 the CPU runs the guest on */
};

/* Which event of vcpu->ev the last entry put in EVENTINJ. */
enum svm_injected { SVM_INJ_NONE, SVM_INJ_EXC, SVM_INJ_NMI, SVM_INJ_IRQ };

/*
 * QEMU's TCG (7.2, and 8.x reads the same) delivers an external interrupt
 * from EVENTINJ inside its VMRUN helper but leaves the vector behind as
 * its pending exception (cs->exception_index). If its main loop then sees
 * an exit request before any other event, it delivers that vector again,
 * wherever the guest is by then: inside the first handler, with IF clear.
 * Seen with QEMU 7.2 under kvmmu: a Linux guest's timer interrupt taken a
 * second time on the entry stack (a #PF storm, "stack guard page was
 * hit"), and spinlock deadlocks in interrupt handlers. A physical
 * interrupt pending at VMRUN is processed first, as #VMEXIT(INTR), and
 * that clears the stale vector: so on TCG an entry that injects an
 * interrupt sends this CPU a reschedule IPI, KVM's force_immediate_exit
 * (svm_vcpu_run()). Real hardware needs none of it.
 */
static bool tcg_intr_quirk;

static bool host_is_qemu_tcg(void)
{
	u32 eax, sig[3];

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return false;
	cpuid(0x40000000, &eax, &sig[0], &sig[1], &sig[2]);
	return !memcmp(sig, "TCGTCGTCGTCG", sizeof(sig));
}

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);
static struct page *iopm_pages, *msrpm_pages;
static enum cpuhp_state svm_hp_state;
static u32 max_asid;
static u64 host_xcr0;	/* the kernel's XCR0, the same on every CPU */

static struct svm_vcpu *to_svm(struct kvmmu_vcpu *vcpu)
{
	return container_of(vcpu, struct svm_vcpu, vcpu);
}

static inline void clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

/* Per-CPU enable and disable --------------------------------------------- */

static void svm_disable_this_cpu(void)
{
	u64 efer;

	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		/* GIF may be clear if we crashed inside the run loop. */
		stgi();
		wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	}
}

static int svm_cpu_online(unsigned int cpu)
{
	struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_err("CPU %u: SVM is already in use by another hypervisor\n",
		       cpu);
		return -EBUSY;
	}
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sd->hsave));

	/* The kernel's value, written once at CPU bringup. */
	if (kvmmu_host_has_tsc_aux())
		rdmsrl(MSR_TSC_AUX, sd->host_tsc_aux);

	/* The first vCPU to run here starts a generation: full flush. */
	sd->asid_generation++;
	sd->next_asid = max_asid + 1;
	return 0;
}

static int svm_cpu_offline(unsigned int cpu)
{
	svm_disable_this_cpu();
	return 0;
}

/* Called on crash or emergency reboot, with interrupts off. */
static void svm_emergency_disable(void)
{
	svm_disable_this_cpu();
}

static void free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);

		if (sd->hsave)
			__free_page(sd->hsave);
		if (sd->host_save)
			__free_page(sd->host_save);
		sd->hsave = NULL;
		sd->host_save = NULL;
	}
}

static int svm_check_cpu(void)
{
	u64 vm_cr, efer;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("refusing to load: this CPU has no AMD SVM\n");
		return -EOPNOTSUPP;
	}
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & SVM_VM_CR_SVM_DIS_MASK) {
		pr_err("refusing to load: SVM is disabled by firmware (VM_CR.SVMDIS)\n");
		return -EOPNOTSUPP;
	}
	if (!boot_cpu_has(X86_FEATURE_NPT) && kvmmu_tdp) {
		pr_info("no nested paging (NPT): using the shadow MMU\n");
		kvmmu_tdp = false;
	}
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_err("refusing to load: SVM is already in use by another hypervisor (EFER.SVME is set; is kvm_amd loaded?)\n");
		return -EBUSY;
	}
	return 0;
}

/*
 * The MSRs the guest reads and writes without an exit, as KVM's
 * direct_access_msrs marked "always": all live in the VMCB's save area and
 * are switched by VMLOAD/VMSAVE around VMRUN (svm_vmenter.S), so the guest
 * touches only its own. SYSENTER_ESP/EIP stay intercepted (msr.c).
 */
static const u32 svm_passthrough_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_FS_BASE, MSR_GS_BASE, MSR_IA32_SYSENTER_CS,
};

/* Clear the read and write intercept bits of @msr (APM 15.11, MSRPM). */
static void msrpm_pass(u8 *msrpm, u32 msr)
{
	static const u32 base[] = { 0, 0xc0000000, 0xc0010000 };
	u32 i, bit;

	for (i = 0; i < ARRAY_SIZE(base); i++) {
		if (msr - base[i] >= 0x2000)
			continue;
		bit = (msr - base[i]) * 2;
		msrpm[i * 0x800 + bit / 8] &= ~(3 << (bit % 8));
		return;
	}
	WARN_ON_ONCE(1);
}

static int svm_hardware_setup(void)
{
	unsigned int i;
	int cpu, r;

	r = svm_check_cpu();
	if (r)
		return r;

	host_xcr0 = kvmmu_host_xcr0();
	tcg_intr_quirk = host_is_qemu_tcg();
	if (tcg_intr_quirk)
		pr_info("QEMU TCG host: an exit is forced after each interrupt injection (TCG delivers EVENTINJ interrupts twice otherwise)\n");
	/* ASID 0 is the host's. */
	max_asid = cpuid_ebx(SVM_CPUID_FUNC) - 1;
	if (!max_asid) {
		pr_err("refusing to load: SVM reports no guest ASIDs\n");
		return -EOPNOTSUPP;
	}

	/* Every port and every MSR access exits, but for the VMCB's MSRs. */
	iopm_pages = alloc_pages(GFP_KERNEL, IOPM_ORDER);
	msrpm_pages = alloc_pages(GFP_KERNEL, MSRPM_ORDER);
	if (!iopm_pages || !msrpm_pages)
		goto err_nomem;
	memset(page_address(iopm_pages), 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(page_address(msrpm_pages), 0xff, PAGE_SIZE << MSRPM_ORDER);
	for (i = 0; i < ARRAY_SIZE(svm_passthrough_msrs); i++)
		msrpm_pass(page_address(msrpm_pages), svm_passthrough_msrs[i]);

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);

		sd->hsave = alloc_pages_node(cpu_to_node(cpu),
					     GFP_KERNEL | __GFP_ZERO, 0);
		sd->host_save = alloc_pages_node(cpu_to_node(cpu),
						 GFP_KERNEL | __GFP_ZERO, 0);
		if (!sd->hsave || !sd->host_save)
			goto err_nomem;
	}

	cpu_emergency_register_virt_callback(svm_emergency_disable);
	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "kvmmu/svm:online",
			      svm_cpu_online, svm_cpu_offline);
	if (r < 0) {
		cpu_emergency_unregister_virt_callback(svm_emergency_disable);
		goto err_free;
	}
	svm_hp_state = r;
	pr_info("AMD SVM enabled, %u ASIDs, MMU: %s\n", max_asid,
		kvmmu_tdp ? "nested paging (NPT)" : "shadow paging (tdp=0)");
	return 0;

err_nomem:
	r = -ENOMEM;
err_free:
	free_cpu_pages();
	if (msrpm_pages)
		__free_pages(msrpm_pages, MSRPM_ORDER);
	if (iopm_pages)
		__free_pages(iopm_pages, IOPM_ORDER);
	msrpm_pages = NULL;
	iopm_pages = NULL;
	return r;
}

static void svm_hardware_unsetup(void)
{
	cpuhp_remove_state(svm_hp_state);
	cpu_emergency_unregister_virt_callback(svm_emergency_disable);
	free_cpu_pages();
	__free_pages(msrpm_pages, MSRPM_ORDER);
	__free_pages(iopm_pages, IOPM_ORDER);
}

/* The VMCB ------------------------------------------------------------------ */

static void set_intercept(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] |= BIT(bit % 32);
}

static void clr_intercept(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] &= ~BIT(bit % 32);
}

/*
 * What KVM 6.12's init_vmcb() intercepts that a guest could use against the
 * host or other guests: #AC and #DB, whose delivery can loop in microcode
 * and lock a host CPU (CVE-2015-5307, CVE-2015-8104), #MC, which belongs to
 * the host's handler, CR4 writes (checked against the guest's CPUID and
 * the host, as kvm_set_cr4()), every debug register access,
 * WBINVD (a guest flushing every host cache), RDPMC and RDPRU (host
 * counters), and the instructions below.
 */
static const int svm_intercepts[] = {
	INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_CPUID,
	INTERCEPT_INVD, INTERCEPT_HLT, INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT,
	INTERCEPT_MSR_PROT, INTERCEPT_SHUTDOWN, INTERCEPT_VMRUN,
	INTERCEPT_VMMCALL, INTERCEPT_VMLOAD, INTERCEPT_VMSAVE, INTERCEPT_STGI,
	INTERCEPT_CLGI, INTERCEPT_SKINIT, INTERCEPT_MONITOR, INTERCEPT_MWAIT,
	INTERCEPT_XSETBV, INTERCEPT_CR4_WRITE, INTERCEPT_RDPMC,
	INTERCEPT_WBINVD, INTERCEPT_RDPRU,
	INTERCEPT_EXCEPTION_OFFSET + AC_VECTOR,
	INTERCEPT_EXCEPTION_OFFSET + DB_VECTOR,
	INTERCEPT_EXCEPTION_OFFSET + MC_VECTOR,
};

/* The control area; the guest state comes from vcpu->regs/sregs each run. */
static void init_vmcb(struct svm_vcpu *svm)
{
	struct vmcb *vmcb = svm->vmcb;
	int i;

	memset(vmcb, 0, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(svm_intercepts); i++)
		set_intercept(vmcb, svm_intercepts[i]);
	for (i = 0; i < 8; i++) {
		set_intercept(vmcb, INTERCEPT_DR0_READ + i);
		set_intercept(vmcb, INTERCEPT_DR0_WRITE + i);
	}
	memset(svm->db, 0, sizeof(svm->db));
	svm->dr6 = DR6_ACTIVE_LOW;
	svm->dr7 = DR7_FIXED_1;
	vmcb->control.iopm_base_pa = page_to_phys(iopm_pages);
	vmcb->control.msrpm_base_pa = page_to_phys(msrpm_pages);
	vmcb->control.int_ctl = V_INTR_MASKING_MASK;
	if (kvmmu_tdp) {
		vmcb->control.nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
		vmcb->control.nested_cr3 = kvmmu_mmu_root_pa(svm->vcpu.vm);
		/* The VMCB's CR4 has the host's MCE: see load_guest_state(). */
		set_intercept(vmcb, INTERCEPT_CR4_READ);
	} else {
		/* init_vmcb() with !npt_enabled. */
		set_intercept(vmcb, INTERCEPT_CR0_READ);
		set_intercept(vmcb, INTERCEPT_CR0_WRITE);
		set_intercept(vmcb, INTERCEPT_CR3_READ);
		set_intercept(vmcb, INTERCEPT_CR3_WRITE);
		set_intercept(vmcb, INTERCEPT_CR4_READ);
		set_intercept(vmcb, INTERCEPT_INVLPG);
		/* A guest TLB flush must sync the unsync pages too. */
		set_intercept(vmcb, INTERCEPT_INVPCID);
		set_intercept(vmcb, INTERCEPT_EXCEPTION_OFFSET + PF_VECTOR);
		/*
		 * A hardware task switch loads CR3 from the TSS, and without
		 * NPT that CR3 is a host-physical address (paging is forced
		 * on): never let the CPU do it.
		 */
		set_intercept(vmcb, INTERCEPT_TASK_SWITCH);
	}
	vmcb->save.g_pat = 0x0007040600070406ULL;
	vmcb->save.dr6 = DR6_ACTIVE_LOW;
	vmcb->save.dr7 = DR7_FIXED_1;
	/* Force a fresh ASID on the first run. */
	svm->asid_generation = 0;
	svm->last_cpu = -1;
	svm->awaiting_iret_completion = false;
	svm->nmi_singlestep = false;
	svm->injected = SVM_INJ_NONE;
}

static void seg_to_vmcb(struct vmcb_seg *v, const struct kvm_segment *s)
{
	v->selector = s->selector;
	v->base = s->base;
	v->limit = s->limit;
	if (s->unusable || !s->present) {
		v->attrib = 0;
		return;
	}
	v->attrib = (s->type & SVM_SELECTOR_TYPE_MASK) |
		    s->s << SVM_SELECTOR_S_SHIFT |
		    (s->dpl & 3) << SVM_SELECTOR_DPL_SHIFT |
		    s->present << SVM_SELECTOR_P_SHIFT |
		    s->avl << SVM_SELECTOR_AVL_SHIFT |
		    s->l << SVM_SELECTOR_L_SHIFT |
		    s->db << SVM_SELECTOR_DB_SHIFT |
		    s->g << SVM_SELECTOR_G_SHIFT;
}

static void seg_from_vmcb(struct kvm_segment *s, const struct vmcb_seg *v)
{
	u16 a = v->attrib;

	s->selector = v->selector;
	s->base = v->base;
	s->limit = v->limit;
	s->type = a & SVM_SELECTOR_TYPE_MASK;
	s->s = !!(a & SVM_SELECTOR_S_MASK);
	s->dpl = (a & SVM_SELECTOR_DPL_MASK) >> SVM_SELECTOR_DPL_SHIFT;
	s->present = !!(a & SVM_SELECTOR_P_MASK);
	s->avl = !!(a & SVM_SELECTOR_AVL_MASK);
	s->l = !!(a & SVM_SELECTOR_L_MASK);
	s->db = !!(a & SVM_SELECTOR_DB_MASK);
	s->g = !!(a & SVM_SELECTOR_G_MASK);
	s->unusable = !s->present;
}

/*
 * The shadow MMU: what the CPU runs the guest with, from the guest's
 * values (svm_set_cr0(), svm_set_cr4(), svm_set_efer() with !npt_enabled):
 * paging always on (paged real mode, or PAE for a guest with paging off)
 * and WP on, so that read-only shadow leaves protect the guest's tables;
 * NX on for the shadow SPTEs' NX; LME only with LMA; CR3 the shadow root.
 */
static void shadow_cr_to_vmcb(struct svm_vcpu *svm)
{
	const struct kvm_sregs *s = &svm->vcpu.sregs;
	struct vmcb_save_area *save = &svm->vmcb->save;

	save->cr0 = s->cr0 | X86_CR0_PG | X86_CR0_WP;
	save->cr3 = svm->shadow_root_pa;
	save->cr4 = s->cr4 | X86_CR4_PAE;
	if (!(s->cr0 & X86_CR0_PG))
		save->cr4 &= ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE);
	save->efer |= EFER_NX;
	if (!(s->efer & EFER_LMA))
		save->efer &= ~EFER_LME;
}

static void load_guest_state(struct svm_vcpu *svm)
{
	struct kvm_regs *r = &svm->vcpu.regs;
	struct kvm_sregs *s = &svm->vcpu.sregs;
	struct vmcb_save_area *save = &svm->vmcb->save;

	svm->gprs[__VCPU_REGS_RCX] = r->rcx;
	svm->gprs[__VCPU_REGS_RDX] = r->rdx;
	svm->gprs[__VCPU_REGS_RBX] = r->rbx;
	svm->gprs[__VCPU_REGS_RBP] = r->rbp;
	svm->gprs[__VCPU_REGS_RSI] = r->rsi;
	svm->gprs[__VCPU_REGS_RDI] = r->rdi;
	svm->gprs[__VCPU_REGS_R8] = r->r8;
	svm->gprs[__VCPU_REGS_R9] = r->r9;
	svm->gprs[__VCPU_REGS_R10] = r->r10;
	svm->gprs[__VCPU_REGS_R11] = r->r11;
	svm->gprs[__VCPU_REGS_R12] = r->r12;
	svm->gprs[__VCPU_REGS_R13] = r->r13;
	svm->gprs[__VCPU_REGS_R14] = r->r14;
	svm->gprs[__VCPU_REGS_R15] = r->r15;
	save->rax = r->rax;
	save->rsp = r->rsp;
	save->rip = r->rip;
	save->rflags = r->rflags | X86_EFLAGS_FIXED;
	if (svm->nmi_singlestep)
		save->rflags |= X86_EFLAGS_TF | X86_EFLAGS_RF;

	seg_to_vmcb(&save->es, &s->es);
	seg_to_vmcb(&save->cs, &s->cs);
	seg_to_vmcb(&save->ss, &s->ss);
	seg_to_vmcb(&save->ds, &s->ds);
	seg_to_vmcb(&save->fs, &s->fs);
	seg_to_vmcb(&save->gs, &s->gs);
	seg_to_vmcb(&save->tr, &s->tr);
	seg_to_vmcb(&save->ldtr, &s->ldt);
	save->gdtr.base = s->gdt.base;
	save->gdtr.limit = s->gdt.limit;
	save->idtr.base = s->idt.base;
	save->idtr.limit = s->idt.limit;

	save->cpl = kvmmu_vcpu_cpl(&svm->vcpu);

	save->cr0 = s->cr0;
	save->cr2 = s->cr2;
	save->cr3 = s->cr3;
	save->cr4 = s->cr4;
	/* VMRUN refuses a guest EFER without SVME; the guest never sees it. */
	save->efer = s->efer | EFER_SVME;
	if (!kvmmu_tdp)
		shadow_cr_to_vmcb(svm);
	/*
	 * The host's CR4.MCE stays on while the guest runs, whatever the
	 * guest's (svm_set_cr4()): a machine check then raises #MC, which
	 * exits to the host's handler, instead of shutting the CPU down.
	 * CR4 reads are intercepted: the guest sees its own value.
	 */
	save->cr4 |= cr4_read_shadow() & X86_CR4_MCE;
	save->g_pat = svm->vcpu.msr.pat;
	svm->vmcb->control.tsc_offset = svm->vcpu.msr.tsc_offset;
	/* No in-kernel LAPIC: CR8 is V_TPR (sync_lapic_to_cr8()). */
	svm->vmcb->control.int_ctl &= ~V_TPR_MASK;
	svm->vmcb->control.int_ctl |= s->cr8 & V_TPR_MASK;
	svm->vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
	if (svm->vcpu.ev.int_shadow)
		svm->vmcb->control.int_state |= SVM_INTERRUPT_SHADOW_MASK;
	svm->vmcb->control.clean = 0;
}

static void save_guest_state(struct svm_vcpu *svm)
{
	struct kvm_regs *r = &svm->vcpu.regs;
	struct kvm_sregs *s = &svm->vcpu.sregs;
	struct vmcb_save_area *save = &svm->vmcb->save;

	r->rcx = svm->gprs[__VCPU_REGS_RCX];
	r->rdx = svm->gprs[__VCPU_REGS_RDX];
	r->rbx = svm->gprs[__VCPU_REGS_RBX];
	r->rbp = svm->gprs[__VCPU_REGS_RBP];
	r->rsi = svm->gprs[__VCPU_REGS_RSI];
	r->rdi = svm->gprs[__VCPU_REGS_RDI];
	r->r8 = svm->gprs[__VCPU_REGS_R8];
	r->r9 = svm->gprs[__VCPU_REGS_R9];
	r->r10 = svm->gprs[__VCPU_REGS_R10];
	r->r11 = svm->gprs[__VCPU_REGS_R11];
	r->r12 = svm->gprs[__VCPU_REGS_R12];
	r->r13 = svm->gprs[__VCPU_REGS_R13];
	r->r14 = svm->gprs[__VCPU_REGS_R14];
	r->r15 = svm->gprs[__VCPU_REGS_R15];
	r->rax = save->rax;
	r->rsp = save->rsp;
	r->rip = save->rip;
	r->rflags = save->rflags;
	/* svm_get_rflags(): the single-step for an NMI window is ours. */
	if (svm->nmi_singlestep) {
		r->rflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_RF);
		r->rflags |= svm->nmi_singlestep_guest_rflags &
			     (X86_EFLAGS_TF | X86_EFLAGS_RF);
	}

	seg_from_vmcb(&s->es, &save->es);
	seg_from_vmcb(&s->cs, &save->cs);
	seg_from_vmcb(&s->ss, &save->ss);
	seg_from_vmcb(&s->ds, &save->ds);
	seg_from_vmcb(&s->fs, &save->fs);
	seg_from_vmcb(&s->gs, &save->gs);
	seg_from_vmcb(&s->tr, &save->tr);
	seg_from_vmcb(&s->ldt, &save->ldtr);
	s->gdt.base = save->gdtr.base;
	s->gdt.limit = save->gdtr.limit;
	s->idt.base = save->idtr.base;
	s->idt.limit = save->idtr.limit;

	s->cr2 = save->cr2;
	/*
	 * Shadow MMU: every change of these exits, and the VMCB's are ours.
	 * CR4 likewise with NPT (every write exits; the VMCB's has the
	 * host's MCE).
	 */
	if (kvmmu_tdp) {
		s->cr0 = save->cr0;
		s->cr3 = save->cr3;
		s->efer = save->efer & ~EFER_SVME;
	}
	s->cr8 = svm->vmcb->control.int_ctl & V_TPR_MASK;
	/* svm_get_interrupt_shadow(): one bit, reported as both kinds. */
	svm->vcpu.ev.int_shadow =
		svm->vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK ?
		KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS : 0;
}

/* vCPUs --------------------------------------------------------------------- */

static int svm_vcpu_create(struct kvmmu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct page *page;

	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	init_vmcb(svm);
	return 0;
}

static void svm_vcpu_free(struct kvmmu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	int cpu;

	if (!svm->vmcb)
		return;
	/*
	 * A new VMCB at the same address must still get its IBPB
	 * (svm_clear_current_vmcb()): no CPU may remember this one.
	 */
	for_each_possible_cpu(cpu)
		cmpxchg(&per_cpu(svm_cpu, cpu).current_vmcb, svm->vmcb, NULL);
	free_page((unsigned long)svm->vmcb);
}

static void svm_vcpu_reset(struct kvmmu_vcpu *vcpu)
{
	init_vmcb(to_svm(vcpu));
}

/*
 * A fresh ASID has no TLB entries: ASIDs are handed out in increasing order
 * and, when they run out, a new generation starts with a flush of all ASIDs.
 */
static void new_asid(struct svm_vcpu *svm, struct svm_cpu *sd)
{
	if (sd->next_asid > max_asid) {
		sd->asid_generation++;
		sd->next_asid = 1;
		svm->vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	svm->asid_generation = sd->asid_generation;
	svm->vmcb->control.asid = sd->next_asid++;
}

/* Error code 0 where there is one: #GP(0), #AC(0). */
static void inject_exception(struct svm_vcpu *svm, int vector, bool has_err)
{
	kvmmu_queue_exception(&svm->vcpu, vector, has_err, 0);
}

/* Events ------------------------------------------------------------------ */

static void svm_set_vintr(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	/*
	 * svm_set_vintr(): a dummy virtual interrupt that the guest takes
	 * as soon as it can take any, intercepted: the window exit. Real
	 * interrupts go through EVENTINJ.
	 */
	set_intercept(svm->vmcb, INTERCEPT_VINTR);
	c->int_vector = 0;
	c->int_ctl &= ~(V_INTR_PRIO_MASK | V_IGN_TPR_MASK);
	c->int_ctl |= V_IRQ_MASK | (0xf << V_INTR_PRIO_SHIFT);
}

static void svm_clear_vintr(struct svm_vcpu *svm)
{
	clr_intercept(svm->vmcb, INTERCEPT_VINTR);
	svm->vmcb->control.int_ctl &= ~V_IRQ_INJECTION_BITS_MASK;
}

static void svm_inject_nmi(struct svm_vcpu *svm)
{
	svm->vmcb->control.event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI;
	svm->vcpu.ev.nmi_masked = true;
	svm->injected = SVM_INJ_NMI;
}

/*
 * svm_enable_nmi_window(): while the guest is in its handler the IRET
 * intercept will tell; past that (IRET seen, an interrupt shadow, another
 * event being injected) step one instruction and look again.
 */
static void svm_enable_nmi_window(struct svm_vcpu *svm)
{
	if (svm->vcpu.ev.nmi_masked && !svm->awaiting_iret_completion)
		return;
	if (!svm->nmi_singlestep) {
		svm->nmi_singlestep_guest_rflags = svm->vcpu.regs.rflags;
		svm->nmi_singlestep = true;
	}
	svm->vmcb->save.rflags |= X86_EFLAGS_TF | X86_EFLAGS_RF;
}

/*
 * Before an entry, after load_guest_state(): kvm_check_and_inject_events()
 * for a vCPU without in-kernel irqchip. An exception raised by the last
 * exit comes first, then an event cut short by it (EXITINTINFO); only when
 * nothing is re-injected may a new NMI go in. An interrupt from
 * KVM_INTERRUPT is "injected" already: the VMM checked the guest could
 * take it (ready_for_interrupt_injection), so IF is not looked at.
 */
static void svm_inject_events(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	struct kvmmu_events *ev = &vcpu->ev;
	bool can_inject;

	c->event_inj = 0;
	c->event_inj_err = 0;
	svm->injected = SVM_INJ_NONE;
	if (ev->exc_pending || ev->exc_injected) {
		/* kvm_inject_exception(): real mode pushes no error code. */
		if (!(vcpu->sregs.cr0 & X86_CR0_PE))
			ev->exc_has_err = false;
		c->event_inj = ev->exc_nr | SVM_EVTINJ_VALID |
			       SVM_EVTINJ_TYPE_EXEPT |
			       (ev->exc_has_err ? SVM_EVTINJ_VALID_ERR : 0);
		c->event_inj_err = ev->exc_err;
		ev->exc_pending = false;
		ev->exc_injected = true;
		svm->injected = SVM_INJ_EXC;
	} else if (ev->nmi_injected) {
		svm_inject_nmi(svm);
	} else if (ev->irq_injected) {
		c->event_inj = ev->irq_nr | SVM_EVTINJ_VALID |
			       SVM_EVTINJ_TYPE_INTR;
		svm->injected = SVM_INJ_IRQ;
	}
	/* kvm_event_needs_reinjection() */
	can_inject = !ev->exc_injected && !ev->nmi_injected &&
		     !ev->irq_injected;

	if (ev->nmi_pending) {
		if (can_inject && kvmmu_nmi_allowed(vcpu)) {
			ev->nmi_pending--;
			ev->nmi_injected = true;
			svm_inject_nmi(svm);
		}
		if (ev->nmi_pending)
			svm_enable_nmi_window(svm);
	}

	/*
	 * The VMM's window, or an interrupt that an exception kept out of
	 * this entry (KVM forces an immediate exit for it instead).
	 */
	if (vcpu->run->request_interrupt_window ||
	    (ev->irq_injected && svm->injected != SVM_INJ_IRQ))
		svm_set_vintr(svm);

	if (ev->nmi_masked && !svm->awaiting_iret_completion)
		set_intercept(svm->vmcb, INTERCEPT_IRET);
	else
		clr_intercept(svm->vmcb, INTERCEPT_IRET);
}

/*
 * After an exit, before handling it: svm_complete_interrupts(). What was
 * injected is delivered unless EXITINTINFO says its delivery was cut
 * short, in which case it goes back into vcpu->ev to be injected again
 * (and reported by KVM_GET_VCPU_EVENTS meanwhile).
 *
 * Software interrupts (INTn) and exceptions (INT3, INTO) that the guest
 * raised itself are not re-injected: RIP is still at the instruction,
 * which raises them again when it is re-executed, as KVM did up to 5.19.
 * KVM 6.12 re-injects them (with next_rip or by skipping the instruction)
 * so that a code breakpoint on the INTn does not fire twice; kvmmu never
 * arms guest breakpoints, and has no nested guest that would see the
 * difference.
 */
static void svm_complete_interrupts(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct kvmmu_events *ev = &svm->vcpu.ev;
	u32 info = c->exit_int_info;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;
	u8 injected = svm->injected;

	/* Past the IRET that ended the NMI handler: NMIs are open again. */
	if (svm->awaiting_iret_completion &&
	    svm->vcpu.regs.rip != svm->nmi_iret_rip) {
		svm->awaiting_iret_completion = false;
		ev->nmi_masked = false;
	}

	/* Only what went in: the others wait for their turn. */
	if (injected == SVM_INJ_EXC)
		ev->exc_injected = false;
	else if (injected == SVM_INJ_NMI)
		ev->nmi_injected = false;
	else if (injected == SVM_INJ_IRQ)
		ev->irq_injected = false;
	c->event_inj = 0;
	svm->injected = SVM_INJ_NONE;

	if (!(info & SVM_EXITINTINFO_VALID))
		return;

	switch (info & SVM_EXITINTINFO_TYPE_MASK) {
	case SVM_EXITINTINFO_TYPE_NMI:
		ev->nmi_injected = true;
		break;
	case SVM_EXITINTINFO_TYPE_EXEPT:
		/* The guest's INT3/INTO; not an injected #BP/#OF of ours. */
		if ((vector == X86_TRAP_BP || vector == X86_TRAP_OF) &&
		    !(injected == SVM_INJ_EXC && ev->exc_nr == vector))
			break;
		ev->exc_pending = false;
		ev->exc_injected = true;
		ev->exc_nr = vector;
		ev->exc_has_err = info & SVM_EXITINTINFO_VALID_ERR;
		ev->exc_err = ev->exc_has_err ? c->exit_int_info_err : 0;
		break;
	case SVM_EXITINTINFO_TYPE_INTR:
		ev->irq_injected = true;
		ev->irq_nr = vector;
		break;
	default:	/* SVM_EXITINTINFO_TYPE_SOFT: re-executed */
		break;
	}
}

static int handle_ioio(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 info = c->exit_info_1;
	int size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;

	/* SZ8/SZ16/SZ32 and A16/A32/A64 are one-hot: 1, 2, 4 -> bytes. */
	if (info & SVM_IOIO_STR_MASK)
		return kvmmu_handle_string_pio(&svm->vcpu,
					       info & SVM_IOIO_TYPE_MASK,
					       info >> 16, size,
					       info & SVM_IOIO_REP_MASK,
					       ((info & SVM_IOIO_ASIZE_MASK) >>
						SVM_IOIO_ASIZE_SHIFT) * 2,
					       c->exit_info_2);
	return kvmmu_handle_pio(&svm->vcpu, info & SVM_IOIO_TYPE_MASK,
				info >> 16, size, c->exit_info_2);
}

/* A guest MOV to CR4: decoded here, checked by kvmmu_set_cr4(). */
static int handle_cr4_write(struct svm_vcpu *svm)
{
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	struct kvmmu_sys_insn insn;
	u64 val;
	int mode;

	if (!kvmmu_decode_at_rip(vcpu, &insn, &mode))
		return 0;
	if (!insn.two_byte || insn.opcode != 0x22 || insn.reg != 4)
		return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					    SVM_EXIT_WRITE_CR4);
	val = *kvmmu_gpr(&vcpu->regs, insn.gpr);
	if (mode != 64)
		val = (u32)val;
	if (kvmmu_vcpu_cpl(vcpu) || kvmmu_set_cr4(vcpu, val)) {
		inject_exception(svm, X86_TRAP_GP, true);
		return 1;
	}
	vcpu->regs.rip += insn.len;
	if (mode != 64)
		vcpu->regs.rip = (u32)vcpu->regs.rip;
	kvmmu_insn_done(vcpu);
	return 1;
}

/* CR0 bits whose change reloads PAE's PDPTEs (X86_CR0_PDPTR_BITS). */
#define CR0_PDPTR_BITS	(X86_CR0_CD | X86_CR0_NW | X86_CR0_PG)

#define CR0_KNOWN	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | \
			 X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | \
			 X86_CR0_NW | X86_CR0_CD | X86_CR0_PG)

/*
 * Shadow MMU: a guest write to CR0, checked as kvm_set_cr0() and applied
 * as svm_set_cr0(): paging turned on with EFER.LME enters long mode (LMA),
 * turned off leaves it; PAE paging turned on (or CD/NW changed under it)
 * loads the PDPTEs, #GP if that fails (load_pdptrs()). A change of PG or
 * WP changes the MMU's role: the next entry loads another root
 * (kvmmu_shadow_load_root()) and flushes.
 * Return: 0, or 1 for #GP (nothing changed).
 */
static int shadow_set_cr0(struct kvmmu_vcpu *vcpu, u64 cr0)
{
	struct kvm_sregs *s = &vcpu->sregs;
	u64 old = s->cr0;

	if (cr0 >> 32)
		return 1;
	cr0 = (cr0 & CR0_KNOWN) | X86_CR0_ET;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return 1;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return 1;
	/* Paging off: not from 64-bit code, nor with PCIDE (kvm_set_cr0()). */
	if (!(cr0 & X86_CR0_PG) &&
	    (((s->efer & EFER_LMA) && s->cs.l) || (s->cr4 & X86_CR4_PCIDE)))
		return 1;
	/* PAE paging turned on, or CD/NW changed under it: the PDPTEs. */
	if (!(s->efer & EFER_LME) && (cr0 & X86_CR0_PG) &&
	    (s->cr4 & X86_CR4_PAE) && ((cr0 ^ old) & CR0_PDPTR_BITS) &&
	    !kvmmu_load_pdptrs(vcpu, s->cr3))
		return 1;
	if (!(old & X86_CR0_PG) && (cr0 & X86_CR0_PG) &&
	    (s->efer & EFER_LME)) {
		if (!(s->cr4 & X86_CR4_PAE) || s->cs.l)
			return 1;
		s->efer |= EFER_LMA;
	}
	if ((old & X86_CR0_PG) && !(cr0 & X86_CR0_PG))
		s->efer &= ~EFER_LMA;
	s->cr0 = cr0;
	if ((cr0 ^ old) & (X86_CR0_PG | X86_CR0_WP)) {
		kvmmu_make_request(vcpu, KVMMU_REQ_MMU_SYNC);
		kvmmu_make_request(vcpu, KVMMU_REQ_TLB_FLUSH);
	}
	return 0;
}

/*
 * Shadow MMU: a guest write to CR3 (kvm_set_cr3()): a GPA beyond
 * MAXPHYADDR is #GP; with PCIDE bit 63 (no flush) is
 * dropped, and every write flushes the whole ASID all the same (no
 * PCID-tagged roots). Under PAE paging every write loads the PDPTEs at
 * the new CR3, #GP if that fails (load_pdptrs()).
 */
static int shadow_set_cr3(struct kvmmu_vcpu *vcpu, u64 cr3)
{
	struct kvm_sregs *s = &vcpu->sregs;

	if (s->cr4 & X86_CR4_PCIDE)
		cr3 &= ~BIT_ULL(63);
	/* In any mode, as kvm_set_cr3(): MAXPHYADDR may be below 32. */
	if (!kvmmu_legal_gpa(vcpu, cr3 & PAGE_MASK))
		return 1;
	if ((s->cr0 & X86_CR0_PG) && (s->cr4 & X86_CR4_PAE) &&
	    !(s->efer & EFER_LMA) && !kvmmu_load_pdptrs(vcpu, cr3))
		return 1;
	s->cr3 = cr3;
	/* A full flush: the unsync pages are synced (kvm_mmu_new_pgd()). */
	vcpu->mmu->cr3_loads++;
	kvmmu_make_request(vcpu, KVMMU_REQ_MMU_SYNC);
	kvmmu_make_request(vcpu, KVMMU_REQ_TLB_FLUSH);
	return 0;
}

/*
 * With NPT: MOV from CR4 (its read intercept). Shadow MMU: MOV to and
 * from CR0/CR3/CR4, CLTS, LMSW (the CR0 write intercept takes them all)
 * and SMSW (the CR0 read intercept), as
 * cr_interception(), which without decode assists hands them all to the
 * emulator: kvm_lmsw(), em_lmsw() and em_smsw(); the guest reads its own
 * values, never the VMCB's. The memory forms (SMSW m16, LMSW m16) access
 * their operand as the emulator does (kvmmu_sys_mem_write/read()).
 */
static int handle_cr(struct svm_vcpu *svm)
{
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	struct kvm_sregs *s = &vcpu->sregs;
	struct kvmmu_sys_insn insn;
	u64 val, *gpr;
	int mode, r;

	if (!kvmmu_decode_at_rip(vcpu, &insn, &mode))
		return 0;
	if (!insn.two_byte)
		goto bad;
	/* With NPT only a CR4 read exits: nothing else is emulated. */
	if (kvmmu_tdp && (insn.opcode != 0x20 || insn.reg != 4))
		goto bad;
	/* SMSW (0F 01 /4): any CPL unless UMIP (em_smsw()). */
	if (insn.opcode == 0x01 && ((insn.reg >> 3) & 7) == 4) {
		if ((s->cr4 & X86_CR4_UMIP) && kvmmu_vcpu_cpl(vcpu)) {
			inject_exception(svm, X86_TRAP_GP, true);
			return 1;
		}
		/* m16: always 16 bits stored, whatever the operand size. */
		if (insn.mem)
			return kvmmu_sys_mem_write(vcpu, &insn, mode,
						   (u16)s->cr0, 2);
		gpr = kvmmu_gpr(&vcpu->regs, insn.gpr);
		if (insn.op_size == 2)
			*gpr = (*gpr & ~0xffffULL) | (u16)s->cr0;
		else if (insn.op_size == 4)
			*gpr = (u32)s->cr0;
		else
			*gpr = s->cr0;
		goto done;
	}
	if (kvmmu_vcpu_cpl(vcpu)) {
		inject_exception(svm, X86_TRAP_GP, true);
		return 1;
	}
	switch (insn.opcode) {
	case 0x06:	/* CLTS */
		s->cr0 &= ~X86_CR0_TS;
		break;
	case 0x01:	/* LMSW r16 or m16: PE can be set, not cleared */
		if (((insn.reg >> 3) & 7) != 6)
			goto bad;
		if (!insn.mem)
			val = *kvmmu_gpr(&vcpu->regs, insn.gpr);
		else if (!kvmmu_sys_mem_read(vcpu, &insn, mode, &val, 2, &r))
			return r;
		if (shadow_set_cr0(vcpu, (s->cr0 & ~0x0eULL) | (val & 0x0f))) {
			inject_exception(svm, X86_TRAP_GP, true);
			return 1;
		}
		break;
	case 0x20:	/* MOV from CRn */
		if (insn.reg != 0 && insn.reg != 3 && insn.reg != 4)
			goto bad;
		val = insn.reg == 0 ? s->cr0 : insn.reg == 3 ? s->cr3 : s->cr4;
		gpr = kvmmu_gpr(&vcpu->regs, insn.gpr);
		*gpr = mode == 64 ? val : (u32)val;
		break;
	case 0x22:	/* MOV to CRn */
		if (insn.reg == 4)
			return handle_cr4_write(svm);
		if (insn.reg != 0 && insn.reg != 3)
			goto bad;
		val = *kvmmu_gpr(&vcpu->regs, insn.gpr);
		if (mode != 64)
			val = (u32)val;
		r = insn.reg ? shadow_set_cr3(vcpu, val) :
			       shadow_set_cr0(vcpu, val);
		if (r) {
			inject_exception(svm, X86_TRAP_GP, true);
			return 1;
		}
		break;
	default:
		goto bad;
	}
done:
	vcpu->regs.rip += insn.len;
	if (mode != 64)
		vcpu->regs.rip = (u32)vcpu->regs.rip;
	kvmmu_insn_done(vcpu);
	return 1;
bad:
	return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
				    svm->vmcb->control.exit_code);
}

/*
 * Shadow MMU: INVLPG, as invlpg_interception() without decode assists
 * (none under TCG): the instruction is decoded at RIP, as KVM's emulator
 * does, for its length and its operand's linear address; the SPTE that
 * maps that address is synced if its page is unsync
 * (kvmmu_shadow_invlpg(), kvm_mmu_invlpg()) and the whole ASID flushed
 * (no single-address flush of the VMCB's ASID).
 */
static int handle_invlpg(struct svm_vcpu *svm)
{
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	struct kvmmu_sys_insn insn;
	int mode;

	if (!kvmmu_decode_at_rip(vcpu, &insn, &mode))
		return 0;
	if (!insn.two_byte || insn.opcode != 0x01 ||
	    ((insn.reg >> 3) & 7) != 7 || (insn.reg >> 6) == 3)
		return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					    SVM_EXIT_INVLPG);
	if (kvmmu_vcpu_cpl(vcpu)) {
		inject_exception(svm, X86_TRAP_GP, true);
		return 1;
	}
	kvmmu_shadow_invlpg(vcpu, kvmmu_operand_la(vcpu, &insn.ea, insn.len,
						   mode, 0));
	kvmmu_make_request(vcpu, KVMMU_REQ_TLB_FLUSH);
	vcpu->regs.rip += insn.len;
	if (mode != 64)
		vcpu->regs.rip = (u32)vcpu->regs.rip;
	kvmmu_insn_done(vcpu);
	return 1;
}

/*
 * INVPCID, intercepted without NPT only (KVM's svm_recalc_instruction_
 * intercepts() also intercepts it with NPT for a guest whose CPUID lacks
 * it; kvmmu leaves that to the CPU). KVM_GET_SUPPORTED_CPUID never offers
 * it: a guest whose CPUID lacks it gets #UD, as on KVM. One whose VMM set
 * the bit anyway gets every type done as the widest, a flush of all
 * contexts that syncs the unsync pages (kvm_handle_invpcid()'s
 * INVPCID_TYPE_ALL_INCL_GLOBAL), without reading the descriptor or the
 * type: none of its #GP and #PF cases.
 */
static int handle_invpcid(struct svm_vcpu *svm)
{
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	const struct kvm_cpuid_entry2 *e = kvmmu_find_cpuid(vcpu, 7, 0);

	if (!e || !(e->ebx & BIT(10))) {	/* CPUID.7.0:EBX.INVPCID */
		inject_exception(svm, X86_TRAP_UD, false);
		return 1;
	}
	if (kvmmu_vcpu_cpl(vcpu)) {
		inject_exception(svm, X86_TRAP_GP, true);
		return 1;
	}
	kvmmu_make_request(vcpu, KVMMU_REQ_MMU_SYNC);
	kvmmu_make_request(vcpu, KVMMU_REQ_TLB_FLUSH);
	return kvmmu_skip_insn(vcpu);
}

/*
 * A guest MOV to or from DR0-DR7, emulated on svm->db/dr6/dr7 as the
 * architecture defines it (kvm_get_dr()/kvm_set_dr()): DR4/DR5 alias
 * DR6/DR7 unless CR4.DE makes them #UD; CPL > 0 is #GP; so are bits
 * 63:32 of DR6/DR7.
 */
static int handle_dr(struct svm_vcpu *svm, bool write)
{
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	struct kvmmu_sys_insn insn;
	u64 *gpr, val;
	int mode, dr;

	if (!kvmmu_decode_at_rip(vcpu, &insn, &mode))
		return 0;
	if (!insn.two_byte || insn.opcode != (write ? 0x23 : 0x21) ||
	    insn.reg > 7)
		return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					    svm->vmcb->control.exit_code);
	dr = insn.reg;
	if (dr == 4 || dr == 5) {
		if (vcpu->sregs.cr4 & X86_CR4_DE) {
			inject_exception(svm, X86_TRAP_UD, false);
			return 1;
		}
		dr += 2;
	}
	if (kvmmu_vcpu_cpl(vcpu)) {
		inject_exception(svm, X86_TRAP_GP, true);
		return 1;
	}
	gpr = kvmmu_gpr(&vcpu->regs, insn.gpr);
	if (!write) {
		val = dr < 4 ? svm->db[dr] : dr == 6 ? svm->dr6 : svm->dr7;
		*gpr = mode == 64 ? val : (u32)val;
	} else {
		val = mode == 64 ? *gpr : (u32)*gpr;
		if (dr >= 6 && (val >> 32)) {
			inject_exception(svm, X86_TRAP_GP, true);
			return 1;
		}
		if (dr < 4)
			svm->db[dr] = val;
		else if (dr == 6)
			svm->dr6 = (val & DR6_VOLATILE) | DR6_GUEST_FIXED_1;
		else
			svm->dr7 = (val & DR7_VOLATILE) | DR7_FIXED_1;
	}
	vcpu->regs.rip += insn.len;
	kvmmu_insn_done(vcpu);
	return 1;
}

/* KVM_GET_DEBUGREGS: what the guest's MOV from DRn reads (handle_dr()). */
static void svm_get_debugregs(struct kvmmu_vcpu *vcpu,
			      struct kvm_debugregs *dbg)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	BUILD_BUG_ON(sizeof(dbg->db) != sizeof(svm->db));
	memcpy(dbg->db, svm->db, sizeof(dbg->db));
	dbg->dr6 = svm->dr6;
	dbg->dr7 = svm->dr7;
}

/*
 * KVM_SET_DEBUGREGS, checked by vcpu_state.c. Taken as given, as
 * kvm_vcpu_ioctl_x86_set_debugregs() does; never loaded into the CPU.
 */
static void svm_set_debugregs(struct kvmmu_vcpu *vcpu,
			      const struct kvm_debugregs *dbg)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	memcpy(svm->db, dbg->db, sizeof(svm->db));
	svm->dr6 = dbg->dr6;
	svm->dr7 = dbg->dr7;
}

/*
 * VMMCALL: no hypercall is implemented; the guest gets KVM's answer for an
 * unknown one in RAX (-KVM_ENOSYS, -KVM_EPERM above CPL 0), truncated to
 * 32 bits outside 64-bit mode, as kvm_emulate_hypercall() does.
 */
static int handle_vmmcall(struct svm_vcpu *svm)
{
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	struct kvmmu_sys_insn insn;
	u64 ret;
	int mode;

	if (!kvmmu_decode_at_rip(vcpu, &insn, &mode))
		return 0;
	if (!insn.two_byte || insn.opcode != 0x01 || insn.reg != 0xd9)
		return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					    SVM_EXIT_VMMCALL);
	ret = kvmmu_vcpu_cpl(vcpu) ? -KVM_EPERM : -KVM_ENOSYS;
	vcpu->regs.rax = mode == 64 ? ret : (u32)ret;
	vcpu->regs.rip += insn.len;
	kvmmu_insn_done(vcpu);
	return 1;
}

/* XSETBV: #UD without CR4.OSXSAVE, #GP above CPL 0 or for a bad value. */
static int handle_xsetbv(struct svm_vcpu *svm)
{
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	struct kvm_regs *r = &vcpu->regs;

	if (!(vcpu->sregs.cr4 & X86_CR4_OSXSAVE)) {
		inject_exception(svm, X86_TRAP_UD, false);
		return 1;
	}
	if (kvmmu_vcpu_cpl(vcpu) ||
	    kvmmu_set_xcr(vcpu, r->rcx, (r->rdx << 32) | (u32)r->rax)) {
		inject_exception(svm, X86_TRAP_GP, true);
		return 1;
	}
	return kvmmu_skip_insn(vcpu);
}

/* RDMSR and WRMSR (EXITINFO1 0 or 1), emulated by msr.c. */
static int handle_msr(struct svm_vcpu *svm)
{
	if (kvmmu_emulate_msr(&svm->vcpu, svm->vmcb->control.exit_info_1)) {
		/* Real mode pushes no error code (kvm_inject_exception()). */
		inject_exception(svm, X86_TRAP_GP,
				 svm->vcpu.sregs.cr0 & X86_CR0_PE);
		return 1;
	}
	return kvmmu_skip_insn(&svm->vcpu);
}

/* The VMCB field of an MSR that VMLOAD/VMSAVE switch, for msr.c. */
static u64 *svm_msr_slot(struct kvmmu_vcpu *vcpu, u32 index)
{
	struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;

	switch (index) {
	case MSR_STAR:
		return &save->star;
	case MSR_LSTAR:
		return &save->lstar;
	case MSR_CSTAR:
		return &save->cstar;
	case MSR_SYSCALL_MASK:
		return &save->sfmask;
	case MSR_KERNEL_GS_BASE:
		return &save->kernel_gs_base;
	case MSR_IA32_SYSENTER_CS:
		return &save->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:
		return &save->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:
		return &save->sysenter_eip;
	}
	return NULL;
}

/* #MC in guest mode: the host's handler does not run by itself. */
static void handle_mce(void)
{
#ifdef CONFIG_X86_MCE
	/* What KVM's kvm_machine_check() passes: a fake user-mode frame. */
	struct pt_regs regs = {
		.cs = 3,
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

static int handle_exit(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct kvmmu_vcpu *vcpu = &svm->vcpu;
	struct kvm_run *run = vcpu->run;
	u32 code = c->exit_code;
	int r;

	trace_kvmmu_exit(vcpu->vcpu_id, code, vcpu->regs.rip);
	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		/* Taken by the host once GIF was set again. */
		vcpu->stat.irq_exits++;
		return 1;
	case SVM_EXIT_HLT:
		/* No in-kernel APIC: the VMM decides what HLT means. */
		vcpu->stat.halt_exits++;
		if (!kvmmu_skip_insn(vcpu))
			return 0;
		run->exit_reason = KVM_EXIT_HLT;
		return 0;
	case SVM_EXIT_WRITE_CR4:
		return handle_cr4_write(svm);
	case SVM_EXIT_READ_CR0:
	case SVM_EXIT_READ_CR3:
	case SVM_EXIT_READ_CR4:
	case SVM_EXIT_WRITE_CR0:
	case SVM_EXIT_WRITE_CR3:
		return handle_cr(svm);
	case SVM_EXIT_INVLPG:
		return handle_invlpg(svm);
	case SVM_EXIT_INVPCID:
		return handle_invpcid(svm);
	case SVM_EXIT_TASK_SWITCH:
		/* Shadow MMU only; not emulated yet (kvm_task_switch()). */
		return kvmmu_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					    code);
	case SVM_EXIT_EXCP_BASE + PF_VECTOR:
		/* Shadow MMU: EXITINFO1 the error code, EXITINFO2 CR2. */
		return kvmmu_handle_shadow_pf(vcpu, c->exit_info_2,
					      c->exit_info_1);
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR0 + 7:
		return handle_dr(svm, false);
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR0 + 7:
		return handle_dr(svm, true);
	case SVM_EXIT_EXCP_BASE + AC_VECTOR:
		/* Delivered by us: each delivery is an entry, no loop. */
		inject_exception(svm, X86_TRAP_AC, true);
		return 1;
	case SVM_EXIT_EXCP_BASE + DB_VECTOR:
		/*
		 * Our own step towards an NMI window (db_interception()): the
		 * guest's TF/RF are back in vcpu->regs already.
		 */
		if (svm->nmi_singlestep) {
			svm->nmi_singlestep = false;
			svm->vmcb->save.dr6 = DR6_ACTIVE_LOW;
			return 1;
		}
		/*
		 * The CPU wrote why to the VMCB's DR6 (active-low bits
		 * inverted): add it to the guest's, whose status bits are
		 * sticky, and clear the VMCB's for the next one.
		 */
		svm->dr6 |= (svm->vmcb->save.dr6 ^ DR6_ACTIVE_LOW) &
			    DR6_STATUS;
		svm->vmcb->save.dr6 = DR6_ACTIVE_LOW;
		inject_exception(svm, X86_TRAP_DB, false);
		return 1;
	case SVM_EXIT_EXCP_BASE + MC_VECTOR:
		/* Handled right after #VMEXIT, see svm_vcpu_run(). */
		return 1;
	case SVM_EXIT_RDPMC:
		/* No PMU is offered: #GP, as KVM without a vPMU. */
		inject_exception(svm, X86_TRAP_GP, true);
		return 1;
	case SVM_EXIT_RDPRU:
		inject_exception(svm, X86_TRAP_UD, false);
		return 1;
	case SVM_EXIT_WBINVD:
		/* Nothing of the guest's is in a cache only it can flush. */
		return kvmmu_skip_insn(vcpu);
	case SVM_EXIT_IOIO:
		return handle_ioio(svm);
	case SVM_EXIT_NPF:
		r = kvmmu_handle_npf(vcpu, c->exit_info_2, c->exit_info_1);
		if (r != KVMMU_NPF_INJECT_GP)
			return r;
		/* Real mode has no error code (kvm_inject_exception()). */
		inject_exception(svm, X86_TRAP_GP,
				 vcpu->sregs.cr0 & X86_CR0_PE);
		return 1;
	case SVM_EXIT_CPUID:
		return kvmmu_handle_cpuid(vcpu);
	case SVM_EXIT_VINTR:
		/* interrupt_window_interception(): vcpu_run() checks the rest. */
		svm_clear_vintr(svm);
		return 1;
	case SVM_EXIT_IRET:
		/* iret_interception(): NMIs open once the IRET is done. */
		svm->awaiting_iret_completion = true;
		svm->nmi_iret_rip = vcpu->regs.rip;
		clr_intercept(svm->vmcb, INTERCEPT_IRET);
		return 1;
	case SVM_EXIT_SHUTDOWN:
		/*
		 * The VMCB is undefined after SHUTDOWN: start it over, with
		 * nothing in flight (KVM INITs the vCPU).
		 */
		init_vmcb(svm);
		kvmmu_events_reset(vcpu);
		run->exit_reason = KVM_EXIT_SHUTDOWN;
		return 0;
	case SVM_EXIT_MSR:
		return handle_msr(svm);
	case SVM_EXIT_INVD:
		return kvmmu_skip_insn(vcpu);
	case SVM_EXIT_VMMCALL:
		return handle_vmmcall(svm);
	case SVM_EXIT_XSETBV:
		return handle_xsetbv(svm);
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
		/* Not offered in CPUID: the guest gets #UD. */
		inject_exception(svm, X86_TRAP_UD, false);
		return 1;
	case SVM_EXIT_ERR:
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = code;
		run->fail_entry.cpu = svm->last_cpu;
		return 0;
	default:
		return kvmmu_internal_error(vcpu,
					    KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
					    code);
	}
}

static int svm_vcpu_run(struct kvmmu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct svm_cpu *sd;
	bool osxsave, guest_pkru, tsc_aux, force_exit;
	u32 host_pkru;
	int cpu;

	/* A fault while delivering #DF (kvm_multiple_exception()). */
	if (vcpu->ev.triple_fault) {
		vcpu->ev.triple_fault = false;
		vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
		return 0;
	}
	/* The single-step trap owed for an instruction kvmmu completed. */
	if (vcpu->singlestep_pending) {
		vcpu->singlestep_pending = false;
		if (!vcpu->ev.exc_pending && !vcpu->ev.exc_injected) {
			svm->dr6 |= DR_STEP;
			inject_exception(svm, X86_TRAP_DB, false);
		}
	}
	if (!kvmmu_tdp) {
		int r = kvmmu_shadow_load_root(vcpu, &svm->shadow_root_pa);

		if (r == -EOPNOTSUPP)
			return kvmmu_internal_error(vcpu,
						    KVM_INTERNAL_ERROR_EMULATION,
						    vcpu->sregs.cr0);
		if (r)
			return r;
	}
	load_guest_state(svm);
	svm_inject_events(svm);
	/*
	 * svm_vcpu_run(): our single-step towards an NMI window must not go
	 * in with an event, whose frame would keep our TF and hand the
	 * guest a #DB after its IRET: step no more, exit right after the
	 * delivery instead and look at the window again.
	 */
	force_exit = svm->nmi_singlestep && svm->vmcb->control.event_inj;
	if (force_exit) {
		svm->nmi_singlestep = false;
		svm->vmcb->save.rflags = vcpu->regs.rflags | X86_EFLAGS_FIXED;
	}

	local_irq_disable();
	/*
	 * KVM_RUN swapped the guest's FPU state in, but a reschedule since
	 * (cond_resched(), a GUP that slept, a softirq using the FPU) saved
	 * it to memory and left TIF_NEED_FPU_LOAD: the registers may now be
	 * another task's. Load the guest's with interrupts off, so that they
	 * stay loaded until VMRUN, as vcpu_enter_guest() does.
	 */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	cpu = smp_processor_id();
	sd = this_cpu_ptr(&svm_cpu);
	WRITE_ONCE(vcpu->cpu, cpu);
	WRITE_ONCE(vcpu->mode, KVMMU_IN_GUEST_MODE);
	/* Pairs with make_all_cpus_request(): see vm.c. */
	smp_mb();
	if (kvmmu_check_request(vcpu, KVMMU_REQ_TLB_FLUSH) ||
	    svm->asid_generation != sd->asid_generation ||
	    svm->last_cpu != cpu)
		new_asid(svm, sd);
	svm->last_cpu = cpu;
	/*
	 * Another vCPU ran here last: keep its branch predictions from
	 * steering this one's, as svm_vcpu_load() does.
	 */
	if (sd->current_vmcb != svm->vmcb) {
		sd->current_vmcb = svm->vmcb;
		indirect_branch_prediction_barrier();
	}

	clgi();
	/*
	 * kvm_load_guest_xsave_state(), inside the CLGI window so that not
	 * even an NMI sees it: the guest's XCR0, after its FPU state was
	 * loaded under the host's, and the guest's PKRU while it has CR4.PKE
	 * or XCR0.PKRU (VMRUN switches neither; read_pkru() and write_pkru()
	 * do nothing without the host's OSPKE).
	 */
	host_pkru = read_pkru();
	osxsave = vcpu->sregs.cr4 & X86_CR4_OSXSAVE;
	guest_pkru = (vcpu->sregs.cr4 & X86_CR4_PKE) ||
		     (vcpu->xcr0 & XFEATURE_MASK_PKRU);
	if (osxsave && vcpu->xcr0 != host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	if (guest_pkru && vcpu->pkru != host_pkru)
		write_pkru(vcpu->pkru);
	/*
	 * The guest's TSC_AUX for RDTSCP, and the host's back before GIF is
	 * set (KVM does it on return to user space instead).
	 */
	tsc_aux = kvmmu_host_has_tsc_aux() &&
		  vcpu->msr.tsc_aux != sd->host_tsc_aux;
	if (tsc_aux)
		wrmsrl(MSR_TSC_AUX, vcpu->msr.tsc_aux);
	/* Taken as #VMEXIT(INTR) right after the injection: see above. */
	if (force_exit || (tcg_intr_quirk && svm->injected == SVM_INJ_IRQ))
		smp_send_reschedule(cpu);
	/*
	 * VMRUN takes the host's RFLAGS.IF as the mask for physical
	 * interrupts (V_INTR_MASKING): set it, GIF=0 keeps them held here.
	 */
	/*
	 * Never a guest run with the host's MCE off: checked on every
	 * kernel (two loads), since the debug one has no MCE support.
	 */
	WARN_ON_ONCE((cr4_read_shadow() & X86_CR4_MCE) &&
		     !(svm->vmcb->save.cr4 & X86_CR4_MCE));
	raw_local_irq_enable();
	__kvmmu_svm_run(svm->vmcb_pa, svm->gprs, page_to_phys(sd->host_save));
	raw_local_irq_disable();
	vcpu->has_run = true;
	/* NPT: the CPU used the PDPT in memory (SVM_REGS_LAZY_LOAD_SET). */
	if (kvmmu_tdp)
		vcpu->pdptrs_cached = false;
	/*
	 * kvm_load_host_xsave_state(): the guest's PKRU saved, then the
	 * host's XCR0 and PKRU back before GIF is set, so that no NMI or
	 * interrupt handler saves FPU state under the guest's. Read back
	 * rather than trust vcpu->xcr0: an emulator that does not intercept
	 * XSETBV (QEMU 7.2's TCG) lets the guest change it, so the host's
	 * PKRU is checked even when the guest should not own it, and the
	 * guest keeps the XCR0 it set across exits (on hardware XSETBV
	 * always exits, and this reads back vcpu->xcr0).
	 */
	if (guest_pkru)
		vcpu->pkru = read_pkru();
	if (osxsave) {
		vcpu->xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
		if (vcpu->xcr0 != host_xcr0)
			xsetbv(XCR_XFEATURE_ENABLED_MASK, host_xcr0);
	}
	if (read_pkru() != host_pkru)
		write_pkru(host_pkru);
	if (tsc_aux)
		wrmsrl(MSR_TSC_AUX, sd->host_tsc_aux);
	stgi();

	WRITE_ONCE(vcpu->mode, KVMMU_OUTSIDE_GUEST_MODE);
	c->tlb_ctl = TLB_CONTROL_DO_NOTHING;
	/* svm_vcpu_run(): a machine check goes to the host with IRQs off. */
	if (unlikely(c->exit_code == SVM_EXIT_EXCP_BASE + MC_VECTOR))
		handle_mce();
	/*
	 * #VMEXIT resets DR7: re-arm the host's breakpoints (ptrace, perf)
	 * if it has any, as vcpu_enter_guest() does.
	 */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	local_irq_enable();

	save_guest_state(svm);
	/*
	 * An event cut short by the exit (e.g. an #NPF while delivering a
	 * guest #PF) is queued to be delivered again on the next entry.
	 */
	svm_complete_interrupts(svm);
	return handle_exit(svm);
}

/* Copied into kvmmu_ops by kvmmu_vendor_init(), then freed with init data. */
const struct kvmmu_vendor_ops kvmmu_svm_ops __initconst = {
	.name			= "svm",
	.hardware_setup		= svm_hardware_setup,
	.hardware_unsetup	= svm_hardware_unsetup,
	.vcpu_size		= sizeof(struct svm_vcpu),
	.vcpu_create		= svm_vcpu_create,
	.vcpu_free		= svm_vcpu_free,
	.vcpu_reset		= svm_vcpu_reset,
	.vcpu_run		= svm_vcpu_run,
	.get_debugregs		= svm_get_debugregs,
	.set_debugregs		= svm_set_debugregs,
	.msr_slot		= svm_msr_slot,
};
