/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM, memslot and vCPU types every room of kvmmu shares.
 *
 * A VM is created by KVM_CREATE_VM on the device and lives as long as its
 * file (and anything else holding a reference through kvmmu_vm_get()). It
 * belongs to the mm of the process that created it: like KVM, every VM ioctl
 * from another mm fails with -EIO, so a VM fd inherited across fork() is inert
 * in the child.
 *
 * Memslots are the guest's physical memory map: each one maps a run of guest
 * frame numbers (GFNs) to a run of host virtual addresses (HVAs) of the VMM.
 * They are kept in two sets per address space (see memslot.c for why), read
 * under vm->srcu and changed under vm->slots_lock.
 */
#ifndef KVMMU_H
#define KVMMU_H

#include <linux/types.h>
#include <linux/bits.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/srcu.h>
#include <linux/rbtree.h>
#include <linux/interval_tree.h>
#include <linux/hashtable.h>
#include <linux/xarray.h>
#include <linux/atomic.h>
#include <linux/signal.h>
#include <asm/fpu/api.h>
#include <asm/processor-flags.h>

#include "compat.h"
#include "vm.h"

struct kvmmu_mmu;
struct kvmmu_mmu_vcpu;
struct kvmmu_vcpu;

typedef u64 gfn_t;
typedef u64 gpa_t;

/*
 * Limits, chosen to be KVM's on x86 so that a VMM sees the same numbers:
 * 32767 slot ids of which the top three are KVM-internal, two address spaces
 * (the second is SMM's), and 2^31 - 1 pages per slot.
 */
#define KVMMU_MEM_SLOTS_NUM		SHRT_MAX
#define KVMMU_USER_MEM_SLOTS		(KVMMU_MEM_SLOTS_NUM - 3)
#define KVMMU_ADDRESS_SPACE_NUM		2
#define KVMMU_MEM_MAX_NR_PAGES		((1UL << 31) - 1)
#define KVMMU_API_VERSION		12

/* Flags userspace may set on a slot, and kvmmu's own flag above them. */
#define KVMMU_MEM_USER_FLAGS	(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)
#define KVMMU_MEMSLOT_INVALID	BIT(16)

#define KVMMU_MEMSLOTS_ID_BITS	7

/**
 * struct kvmmu_rmap_head - a set of SPTE pointers in one word (rmap.c).
 * @val: 0 (empty), one SPTE pointer (bit 0 clear), or a pointer to a
 *       chain of descriptors with bit 0 set (KVM's KVM_RMAP_MANY).
 */
struct kvmmu_rmap_head {
	unsigned long val;
};

/* Reverse-map levels of a memslot: 4K, 2M, 1G (KVM_NR_PAGE_SIZES). */
#define KVMMU_RMAP_LEVELS	3

/**
 * struct kvmmu_slot_rmap - a memslot's reverse map, one array per level.
 * @base_gfn: the slot's first guest frame.
 * @npages: the slot's size in 4K pages.
 * @heads: per level (index level - 1), one head per guest page of that
 *         size the slot touches, partial ones at both ends included.
 *
 * Only a VM on the shadow MMU (tdp=0) has them (rmap.c, memslot.c): the
 * NPT is its own reverse map. All NULL otherwise.
 */
struct kvmmu_slot_rmap {
	gfn_t base_gfn;
	unsigned long npages;
	struct kvmmu_rmap_head *heads[KVMMU_RMAP_LEVELS];
};

/**
 * struct kvmmu_memory_slot - one GFN range backed by one HVA range.
 * @gfn_node: links in the GFN tree of each of the two sets of its as.
 * @hva_node: links in the HVA interval tree of each of the two sets.
 * @id_node: links in the id hash of each of the two sets.
 * @base_gfn: first guest frame.
 * @npages: number of 4 KiB pages, never 0.
 * @userspace_addr: HVA of @base_gfn, page aligned.
 * @flags: KVM_MEM_* from userspace plus KVMMU_MEMSLOT_INVALID.
 * @dirty_bitmap: one bit per page written since the last KVM_GET_DIRTY_LOG,
 *                when @flags has KVM_MEM_LOG_DIRTY_PAGES (else NULL). Set by
 *                the fault path and taken by dirty.c, both under the MMU
 *                lock; kept across moves and flags changes, as in KVM.
 * @rmap: shadow MMU only: guest frame -> leaf SPTEs (KVM's arch.rmap).
 *        Allocated before a create or a move publishes the slot, shared
 *        with the slot a flags change replaces it by, freed once the
 *        slot is unpublished and its SPTEs zapped (memslot.c).
 * @id: slot id within its address space.
 * @as_id: address space.
 *
 * A slot is immutable once published: a move or a flags change publishes a
 * new slot and frees the old one after an SRCU grace period. The nodes come
 * in pairs so that one slot object can sit in both sets at once.
 */
struct kvmmu_memory_slot {
	struct rb_node gfn_node[2];
	struct interval_tree_node hva_node[2];
	struct hlist_node id_node[2];
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	unsigned long *dirty_bitmap;
	struct kvmmu_slot_rmap rmap;
	u32 flags;
	u16 id;
	u16 as_id;
};

/**
 * struct kvmmu_memslots - one published set of slots of one address space.
 * @generation: bumped on every publication; lets caches notice changes.
 * @gfn_tree: slots ordered by base_gfn, for GFN lookup in O(log n).
 * @hva_tree: slots by HVA range, for mmu notifier invalidations.
 * @id_hash: slots by id.
 * @last_used: the slot the last GFN lookup hit; a hint, checked on use.
 * @node_idx: which of a slot's node pairs this set uses (0 or 1).
 */
struct kvmmu_memslots {
	u64 generation;
	struct rb_root gfn_tree;
	struct rb_root_cached hva_tree;
	DECLARE_HASHTABLE(id_hash, KVMMU_MEMSLOTS_ID_BITS);
	struct kvmmu_memory_slot *last_used;
	int node_idx;
};

/**
 * struct kvmmu_vm - a virtual machine.
 * @refcount: the VM file holds one reference; see kvmmu_vm_get().
 * @vm_list: on shrinker.c's list of VMs from MMU set-up to teardown.
 * @mm: the creator's mm (grabbed, not pinned); VM ioctls from others fail.
 * @slots_lock: serialises memslot updates (held across a whole update).
 * @srcu: protects readers of @memslots against the frees of an update.
 * @memslots: the active set of each address space, read under @srcu.
 * @__memslots: storage for the active and the inactive set of each as.
 * @generation: last generation published, in any address space.
 * @nr_memslot_pages: total pages over all slots, for the overflow check.
 * @n_requested_mmu_pages: KVM_SET_NR_MMU_PAGES (0: not set), the shadow
 *	MMU's page budget; changed under @slots_lock.
 * @debugfs_dentry: /sys/kernel/debug/kvmmu/<pid>-<fd>, or NULL.
 * @mmu: the MMU's per-VM state (mmu.c owns it), or NULL before MMU init.
 * @vcpus: vCPUs by index, read locklessly up to @online_vcpus.
 * @online_vcpus: number of fully created vCPUs.
 * @lock: serialises vCPU creation.
 * @manual_dirty_log_protect: KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE and
 *	KVM_DIRTY_LOG_INITIALLY_SET as enabled by KVM_ENABLE_CAP; changed
 *	under @slots_lock.
 * @disabled_quirks: KVM_X86_QUIRK_* bits disabled by KVM_CAP_DISABLE_QUIRKS2
 *	(only recorded: kvmmu behaves as if every supported one were off).
 * @remote_tlb_flush: kvmmu_flush_remote_tlbs() calls, for the stats fd.
 * @stats_id: "kvm-<pid>", the id of its binary stats (KVM's).
 * @tsc_offset: the TSC offset new vCPUs and matching host TSC writes take
 *	(msr.c, kvm_synchronize_tsc()); 0 until the first vCPU.
 * @user_set_tsc: the VMM has written a TSC: later writes may be matched.
 */
struct kvmmu_vm {
	struct kref refcount;
	struct list_head vm_list;	/* shrinker.c's, under its mutex */
	struct mm_struct *mm;
	struct mutex slots_lock;	/* see memslot.c: exclusion rules */
	struct srcu_struct srcu;
	struct kvmmu_memslots __rcu *memslots[KVMMU_ADDRESS_SPACE_NUM];
	struct kvmmu_memslots __memslots[KVMMU_ADDRESS_SPACE_NUM][2];
	u64 generation;
	unsigned long nr_memslot_pages;
	unsigned long n_requested_mmu_pages;
	struct dentry *debugfs_dentry;
	struct kvmmu_mmu *mmu;
	struct xarray vcpus;
	atomic_t online_vcpus;
	struct mutex lock;	/* vCPU creation */
	u64 manual_dirty_log_protect;
	u64 disabled_quirks;
	atomic64_t remote_tlb_flush;
	char stats_id[16];
	u64 tsc_offset;
	bool user_set_tsc;
};

/* What the next KVM_RUN must finish before entering the guest again. */
enum kvmmu_pending {
	KVMMU_PENDING_NONE,
	KVMMU_PENDING_PIO,	/* IN or OUT: RAX for IN, then skip */
	KVMMU_PENDING_MMIO,	/* MMIO load or store: register, then skip */
	KVMMU_PENDING_MMIO_STRING, /* one MOVS/STOS/LODS element: go on */
};

#define KVMMU_MAX_CPUID_ENTRIES	256
#define KVMMU_MAX_MCE_BANKS	32	/* KVM_MAX_MCE_BANKS */
#define KVMMU_NR_VAR_MTRR	8	/* KVM_NR_VAR_MTRR */

/**
 * struct kvmmu_msrs - guest MSRs that live outside the VMCB (msr.c).
 * @tsc_offset: guest TSC = host TSC + @tsc_offset (the VMCB's, each entry).
 * @pat: IA32_PAT, the VMCB's g_pat each entry.
 * @tsc_aux: TSC_AUX, loaded around VMRUN when the host has the MSR.
 * @misc_enable: IA32_MISC_ENABLE.
 * @ucode_rev: IA32_UCODE_REV as the VMM set it.
 * @sysenter_eip_hi: bits 63:32 of SYSENTER_EIP, kept for Intel CPUID only.
 * @sysenter_esp_hi: the same for SYSENTER_ESP.
 * @mcg_cap: MCG_CAP, set by KVM_X86_SETUP_MCE.
 * @mcg_status: MCG_STATUS.
 * @mcg_ctl: MCG_CTL.
 * @mce_banks: MCi_CTL, _STATUS, _ADDR, _MISC of each bank.
 * @mtrr_var: variable MTRRs, base and mask of each.
 * @mtrr_fixed: fixed MTRRs: 64K_00000, 16K_80000/A0000, 4K_C0000..F8000.
 * @mtrr_deftype: MTRRdefType.
 */
struct kvmmu_msrs {
	u64 tsc_offset;
	u64 pat;
	u64 tsc_aux;
	u64 misc_enable;
	u64 ucode_rev;
	u32 sysenter_eip_hi;
	u32 sysenter_esp_hi;
	u64 mcg_cap;
	u64 mcg_status;
	u64 mcg_ctl;
	u64 mce_banks[KVMMU_MAX_MCE_BANKS * 4];
	u64 mtrr_var[KVMMU_NR_VAR_MTRR * 2];
	u64 mtrr_fixed[11];
	u64 mtrr_deftype;
};

#define KVMMU_MAX_VCPUS		1024
#define KVMMU_MAX_VCPU_IDS	1024

/**
 * struct kvmmu_vcpu_stat - per-vCPU counters, for KVM_GET_STATS_FD.
 * @exits: every exit from the guest (KVM's "exits").
 * @halt_exits: HLT.
 * @io_exits: port I/O exits to the VMM.
 * @mmio_exits: MMIO exits to the VMM.
 * @signal_exits: KVM_RUN ended by a pending signal.
 * @irq_exits: exits for a host interrupt.
 * @npf_exits: nested page faults (ours; KVM counts pf_* instead).
 *
 * Written only by the vCPU's thread; readers may see them torn on 32-bit
 * hosts, which kvmmu does not support.
 */
struct kvmmu_vcpu_stat {
	u64 exits;
	u64 halt_exits;
	u64 io_exits;
	u64 mmio_exits;
	u64 signal_exits;
	u64 irq_exits;
	u64 npf_exits;
};

/**
 * struct kvmmu_events - events waiting to be (re)injected, KVM's
 * vcpu->arch.exception, .interrupt and .nmi_* fields (events.c).
 * @exc_pending: an exception an exit handler raised (kvm_queue_exception()).
 * @exc_injected: one whose delivery an exit cut short (EXITINTINFO), or set
 *	by KVM_SET_VCPU_EVENTS; delivered again on the next entry.
 * @exc_nr: its vector; kept after delivery, as KVM reports it.
 * @exc_has_err: it pushes @exc_err.
 * @exc_err: the error code.
 * @irq_injected: an external interrupt from KVM_INTERRUPT (the VMM's
 *	irqchip) or cut short by an exit: delivered on the next entry
 *	whatever RFLAGS.IF says, as KVM does.
 * @irq_nr: its vector; kept after delivery, as KVM reports it.
 * @nmi_injected: an NMI cut short by an exit, or set by the VMM.
 * @nmi_pending: NMIs from KVM_NMI not yet injected (at most 2, 1 while
 *	NMIs are masked: process_nmi()).
 * @nmi_masked: the guest is in its NMI handler: no NMI until its IRET.
 * @int_shadow: KVM_X86_SHADOW_INT_* (STI or MOV SS just executed);
 *	loaded into and saved from the VMCB's int_state around each entry.
 * @triple_fault: the next entry is a KVM_EXIT_SHUTDOWN instead.
 */
struct kvmmu_events {
	bool exc_pending;
	bool exc_injected;
	u8 exc_nr;
	bool exc_has_err;
	u32 exc_err;
	bool irq_injected;
	u8 irq_nr;
	bool nmi_injected;
	u8 nmi_pending;
	bool nmi_masked;
	u8 int_shadow;
	bool triple_fault;
};

/**
 * struct kvmmu_vcpu - a virtual CPU, vendor-neutral part.
 * @vm: the VM (the vCPU file holds a reference on it).
 * @vcpu_id: the id given to KVM_CREATE_VCPU.
 * @mutex: held by every vCPU ioctl.
 * @run: the struct kvm_run page shared with the VMM by mmap.
 * @pio_data: the page after it, holding port I/O data.
 * @regs: general registers and RIP/RFLAGS in KVM's layout.
 * @sregs: segments, control registers and EFER in KVM's layout.
 * @mmu: the MMU's per-vCPU state (page cache), owned by mmu.c.
 * @cpu: the physical CPU while in guest mode, for kicks.
 * @mode: enum kvmmu_vcpu_mode, read by kickers (vm.c).
 * @requests: KVMMU_REQ_* bits (vm.c).
 * @guest_fpu: the guest's FPU/SSE state, swapped in for KVM_RUN.
 * @xcr0: the guest's XCR0 (XSETBV, checked by kvmmu_set_xcr()), loaded
 *        around VMRUN while the guest has CR4.OSXSAVE.
 * @msr: guest MSRs kept outside the VMCB (msr.c).
 * @pkru: the guest's PKRU, loaded around VMRUN while the guest has CR4.PKE
 *        or XCR0.PKRU (kvm_load_guest_xsave_state()); 0 at creation.
 * @sigset: the signal mask from KVM_SET_SIGNAL_MASK.
 * @sigset_active: KVM_SET_SIGNAL_MASK gave a mask.
 * @cpuid: entries from KVM_SET_CPUID2, @cpuid_nent of them.
 * @cpuid_nent: number of @cpuid entries.
 * @walk_cpuid_ok: @walk_maxphyaddr and @walk_gbpages follow @cpuid
 *                 (walker.c fills them on the first walk after
 *                 KVM_SET_CPUID2 clears it).
 * @walk_maxphyaddr: the guest's MAXPHYADDR for its page-table walks.
 * @walk_gbpages: the guest has 1G pages (CPUID 0x80000001 EDX[26]).
 * @walk_amd: the guest's CPUID vendor is AMD or Hygon (leaf 0).
 * @mp_state: KVM_MP_STATE_*.
 * @has_run: the vCPU entered the guest once (KVM's last_vmentry_cpu != -1):
 *           KVM_SET_CPUID2 then only takes the CPUID it has.
 * @pending: an exit the VMM must have answered, finished by the next run.
 * @pending_rip: RIP of the instruction @pending belongs to.
 * @pending_len: its length, to skip it once finished.
 * @pending_size: PIO/MMIO access size.
 * @pending_in: PIO IN or MMIO load (data flows into the guest).
 * @pending_string: the PIO is INS/OUTS: memory and RSI/RDI too.
 * @pending_rep: ...with a REP prefix: RCX counts down.
 * @pending_amask: address-size mask of the string instruction.
 * @pending_count: elements in this INS/OUTS chunk (run->io.count).
 * @pending_insn: emulate.c's decoded instruction for an MMIO exit.
 * @stat: counters for KVM_GET_STATS_FD.
 * @pdptrs: tdp=0, PAE paging: the PDPTEs loaded at the last CR0/CR3/CR4
 *          change or KVM_SET_SREGS (kvmmu_load_pdptrs(), KVM's
 *          mmu->pdptrs); walks and the shadow roots use them, never the
 *          PDPT in memory. With NPT (the CPU loads its own) only while
 *          @pdptrs_cached.
 * @pdptrs_cached: NPT: @pdptrs hold what KVM_SET_SREGS2 gave or
 *          KVM_GET_SREGS2 read, until the next VMRUN (KVM's
 *          VCPU_EXREG_PDPTR available); walks use them meanwhile.
 * @ev: interrupts, NMIs and exceptions to deliver (events.c).
 *
 * @regs and @sregs are the architectural state while the vCPU is outside
 * KVM_RUN; the vendor backend loads them into and saves them from its
 * hardware structure (the VMCB) around each guest entry.
 */
struct kvmmu_vcpu {
	struct kvmmu_vm *vm;
	u32 vcpu_id;
	struct mutex mutex;	/* vCPU ioctls */
	struct kvm_run *run;
	void *pio_data;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvmmu_mmu_vcpu *mmu;
	int cpu;
	int mode;
	unsigned long requests;
	struct fpu_guest guest_fpu;
	u64 xcr0;
	struct kvmmu_msrs msr;
	u32 pkru;
	sigset_t sigset;
	bool sigset_active;
	struct kvm_cpuid_entry2 *cpuid;
	int cpuid_nent;
	bool walk_cpuid_ok;
	u8 walk_maxphyaddr;
	bool walk_gbpages;
	bool walk_amd;
	u32 mp_state;
	bool has_run;
	enum kvmmu_pending pending;
	u64 pending_rip;
	u8 pending_len;
	u8 pending_size;
	bool pending_in;
	bool pending_string;
	bool pending_rep;
	u64 pending_amask;
	u32 pending_count;
	u64 pending_insn[4];
	bool singlestep_pending;	/* kvmmu_insn_done() with EFLAGS.TF */
	struct kvmmu_vcpu_stat stat;
	u64 pdptrs[4];
	bool pdptrs_cached;
	struct kvmmu_events ev;
};

/**
 * kvmmu_insn_done - an instruction that kvmmu completed for the guest has
 * retired (RIP is past it).
 * @vcpu: the vCPU, state in vcpu->regs.
 *
 * The CPU did not execute it, so it raised no single-step trap: with
 * EFLAGS.TF set the guest is owed one, which the next entry injects
 * (#DB, DR6.BS), as kvm_skip_emulated_instruction() does through
 * kvm_vcpu_do_singlestep(). Without it, a guest debugger stepping over
 * CPUID, IN/OUT or an MMIO access loses control.
 */
static inline void kvmmu_insn_done(struct kvmmu_vcpu *vcpu)
{
	/* The STI or MOV SS shadow covered this instruction only. */
	vcpu->ev.int_shadow = 0;
	if (vcpu->regs.rflags & X86_EFLAGS_TF)
		vcpu->singlestep_pending = true;
}

/**
 * struct kvmmu_vendor_ops - what a hardware backend (SVM, later VMX) does.
 * @name: for messages.
 * @hardware_setup: check the CPU, refuse with one dmesg line if unusable,
 *                  enable virtualization on every CPU (and hotplugged ones).
 * @hardware_unsetup: undo @hardware_setup.
 * @vcpu_size: bytes to allocate for a vCPU; struct kvmmu_vcpu comes first.
 * @vcpu_create: set up the vendor part of a zeroed vCPU.
 * @vcpu_free: free it.
 * @vcpu_reset: put the vendor state in the power-on state (after the
 *              generic reset of @regs and @sregs).
 * @vcpu_run: enter the guest once and handle the exit: 1 to enter again,
 *            0 to return to the VMM (vcpu->run filled), <0 an errno for
 *            KVM_RUN.
 * @get_debugregs: fill db, dr6 and dr7 with the guest's debug registers.
 * @set_debugregs: take the VMM's (already checked) debug registers.
 * @msr_slot: where the hardware structure keeps a guest MSR that the CPU
 *            switches itself (STAR family, SYSENTER, KERNEL_GS_BASE), or
 *            NULL for the others.
 *
 * Each backend defines one table as init data (kvmmu_svm_ops). At module
 * init, main.c's kvmmu_vendor_init() picks the table for the CPU, runs its
 * @hardware_setup, and only when that succeeds copies the table into
 * kvmmu_ops (read-only after init), as KVM's kvm_x86_vendor_init() and
 * kvm_ops_update() fill kvm_x86_ops. Every call goes through kvmmu_ops;
 * no file outside main.c names a backend's table (modpost reports a
 * section mismatch if one does).
 */
struct kvmmu_vendor_ops {
	const char *name;
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	size_t vcpu_size;
	int (*vcpu_create)(struct kvmmu_vcpu *vcpu);
	void (*vcpu_free)(struct kvmmu_vcpu *vcpu);
	void (*vcpu_reset)(struct kvmmu_vcpu *vcpu);
	int (*vcpu_run)(struct kvmmu_vcpu *vcpu);
	void (*get_debugregs)(struct kvmmu_vcpu *vcpu,
			      struct kvm_debugregs *dbg);
	void (*set_debugregs)(struct kvmmu_vcpu *vcpu,
			      const struct kvm_debugregs *dbg);
	u64 *(*msr_slot)(struct kvmmu_vcpu *vcpu, u32 index);
};

/* The backends' tables: init data, read only by kvmmu_vendor_init(). */
extern const struct kvmmu_vendor_ops kvmmu_svm_ops;
/* The chosen backend's ops: every call goes through this copy. */
extern struct kvmmu_vendor_ops kvmmu_ops;

void kvmmu_vm_get(struct kvmmu_vm *vm);
void kvmmu_vm_put(struct kvmmu_vm *vm);

/* shrinker.c */
void kvmmu_vm_list_add(struct kvmmu_vm *vm);
void kvmmu_vm_list_del(struct kvmmu_vm *vm);
int kvmmu_shrinker_init(void);
void kvmmu_shrinker_exit(void);

/* memslot.c */
int kvmmu_memslots_init(struct kvmmu_vm *vm);
void kvmmu_memslots_destroy(struct kvmmu_vm *vm);
int kvmmu_set_memory_region(struct kvmmu_vm *vm,
			    const struct kvm_userspace_memory_region2 *mem,
			    bool v1);
struct kvmmu_memory_slot *__kvmmu_gfn_to_memslot(struct kvmmu_memslots *slots,
						 gfn_t gfn);

/**
 * kvmmu_memslots - the active memslot set of an address space.
 * @vm: the VM.
 * @as_id: address space, below KVMMU_ADDRESS_SPACE_NUM.
 *
 * The caller holds vm->srcu or vm->slots_lock; the set and its slots stay
 * valid until it drops that. Inline: a fault asks for it several times.
 *
 * Return: the set; never NULL.
 */
static inline struct kvmmu_memslots *kvmmu_memslots(struct kvmmu_vm *vm,
						    int as_id)
{
	return srcu_dereference_check(vm->memslots[as_id], &vm->srcu,
				      lockdep_is_held(&vm->slots_lock));
}

/**
 * kvmmu_gfn_to_memslot - find the slot that contains a guest frame.
 * @slots: a set from kvmmu_memslots().
 * @gfn: the guest frame number.
 *
 * O(log n), and O(1) when the same slot as last time is hit (inline, as
 * KVM's ____gfn_to_memslot() tries its last-used slot). The result may
 * carry KVMMU_MEMSLOT_INVALID (a delete or move is under way): a fault
 * must treat that as no slot.
 *
 * Return: the slot, or NULL when no slot holds @gfn.
 */
static inline struct kvmmu_memory_slot *
kvmmu_gfn_to_memslot(struct kvmmu_memslots *slots, gfn_t gfn)
{
	struct kvmmu_memory_slot *slot = READ_ONCE(slots->last_used);

	if (slot && gfn >= slot->base_gfn &&
	    gfn - slot->base_gfn < slot->npages)
		return slot;
	return __kvmmu_gfn_to_memslot(slots, gfn);
}

struct kvmmu_memory_slot *kvmmu_id_to_memslot(struct kvmmu_memslots *slots,
					      int id);
struct kvmmu_memory_slot *kvmmu_memslot_first(struct kvmmu_memslots *slots);
struct kvmmu_memory_slot *kvmmu_memslot_gfn_first(struct kvmmu_memslots *slots,
						  gfn_t start);
struct kvmmu_memory_slot *kvmmu_memslot_next(struct kvmmu_memslots *slots,
					     struct kvmmu_memory_slot *slot);
struct kvmmu_memory_slot *
kvmmu_memslot_hva_first(struct kvmmu_memslots *slots,
			unsigned long start, unsigned long last);
struct kvmmu_memory_slot *
kvmmu_memslot_hva_next(struct kvmmu_memslots *slots,
		       struct kvmmu_memory_slot *slot,
		       unsigned long start, unsigned long last);

/**
 * kvmmu_memslot_gfn_to_hva - translate a GFN inside @slot to its HVA.
 * @slot: a slot containing @gfn.
 * @gfn: the guest frame.
 *
 * Return: the host virtual address backing the first byte of @gfn.
 */
static inline unsigned long
kvmmu_memslot_gfn_to_hva(const struct kvmmu_memory_slot *slot, gfn_t gfn)
{
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}

/* x86.c: vCPUs, and the exits every backend shares */
int kvmmu_create_vcpu(struct kvmmu_vm *vm, unsigned long id);
void kvmmu_vcpu_destroy_all(struct kvmmu_vm *vm);
long kvmmu_get_supported_cpuid(void __user *argp);
u32 kvmmu_guest_phys_bits(void);
int kvmmu_handle_pio(struct kvmmu_vcpu *vcpu, bool in, u16 port, int size,
		     u64 next_rip);
int kvmmu_handle_string_pio(struct kvmmu_vcpu *vcpu, bool in, u16 port,
			    int size, bool rep, int addr_bytes, u64 next_rip);
/*
 * Page-fault error codes: one vocabulary for every fault. The low bits
 * are the #PF error code: the guest walker's access argument and result
 * (walker.c). The MMU's faults use the same bits plus GUEST_FINAL (the
 * access was to the final GPA) and GUEST_PAGE (to a guest page table
 * during the guest's walk): SVM's #NPF EXITINFO1 has exactly this
 * layout; VMX will translate its EPT violation qualification into it,
 * as KVM's handle_ept_violation() does into its PFERR_* bits.
 */
#define KVMMU_PFERR_PRESENT	BIT(0)
#define KVMMU_PFERR_WRITE	BIT(1)
#define KVMMU_PFERR_USER	BIT(2)
#define KVMMU_PFERR_RSVD	BIT(3)
#define KVMMU_PFERR_FETCH	BIT(4)
#define KVMMU_PFERR_GUEST_FINAL	BIT_ULL(32)
#define KVMMU_PFERR_GUEST_PAGE	BIT_ULL(33)

/* kvmmu_handle_npf(): the backend injects #GP(0) and enters again. */
#define KVMMU_NPF_INJECT_GP	2
int kvmmu_handle_npf(struct kvmmu_vcpu *vcpu, u64 gpa, u64 error_code);
int kvmmu_handle_shadow_pf(struct kvmmu_vcpu *vcpu, u64 gva, u64 error_code);
int kvmmu_handle_cpuid(struct kvmmu_vcpu *vcpu);
int kvmmu_internal_error(struct kvmmu_vcpu *vcpu, u32 suberror, u64 data0);
struct kvmmu_sys_insn;
int kvmmu_decode_at_rip(struct kvmmu_vcpu *vcpu, struct kvmmu_sys_insn *insn,
			int *mode);
int kvmmu_skip_insn(struct kvmmu_vcpu *vcpu);
int kvmmu_sys_mem_write(struct kvmmu_vcpu *vcpu,
			const struct kvmmu_sys_insn *insn, int mode, u64 val,
			unsigned int size);
bool kvmmu_sys_mem_read(struct kvmmu_vcpu *vcpu,
			const struct kvmmu_sys_insn *insn, int mode, u64 *val,
			unsigned int size, int *ret);
struct kvmmu_mem_operand;
u64 kvmmu_operand_la(struct kvmmu_vcpu *vcpu,
		     const struct kvmmu_mem_operand *ea, unsigned int len,
		     int mode, s64 extra);
int kvmmu_set_cr4(struct kvmmu_vcpu *vcpu, u64 cr4);
bool kvmmu_load_pdptrs(struct kvmmu_vcpu *vcpu, u64 cr3);
int kvmmu_set_xcr(struct kvmmu_vcpu *vcpu, u32 index, u64 xcr);
u64 kvmmu_host_xcr0(void);
long kvmmu_tsc_khz(void);
bool kvmmu_guest_has(const struct kvmmu_vcpu *vcpu, u32 func, int reg,
		     u32 bit);
bool kvmmu_efer_reserved(u64 efer);
bool kvmmu_valid_efer(const struct kvmmu_vcpu *vcpu, u64 efer);
bool kvmmu_valid_apic_base(const struct kvmmu_vcpu *vcpu, u64 base);
bool kvmmu_legal_gpa(const struct kvmmu_vcpu *vcpu, u64 gpa);
bool kvmmu_host_has_la57(void);

/* msr.c */
#define KVMMU_MCE_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)
void kvmmu_msr_init(struct kvmmu_vcpu *vcpu);
void kvmmu_msr_reset(struct kvmmu_vcpu *vcpu);
bool kvmmu_host_has_tsc_aux(void);
int kvmmu_get_msr(struct kvmmu_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmmu_set_msr(struct kvmmu_vcpu *vcpu, u32 index, u64 data, bool host);
int kvmmu_emulate_msr(struct kvmmu_vcpu *vcpu, bool write);
long kvmmu_get_msr_index_list(void __user *argp);
long kvmmu_msr_ioctl(struct kvmmu_vcpu *vcpu, unsigned int ioctl,
		     void __user *argp);

/* vcpu_state.c: FPU, XSAVE, XCRs, debug registers, VMX-only addresses */
u64 kvmmu_supported_xcr0(void);
int kvmmu_xsave2_size(void);
long kvmmu_vcpu_state_ioctl(struct kvmmu_vcpu *vcpu, unsigned int ioctl,
			    void __user *argp);
int kvmmu_set_tss_addr(unsigned long addr);
int kvmmu_set_identity_map_addr(struct kvmmu_vm *vm, const void __user *argp);

/* events.c: interrupts, NMIs and exceptions (KVM's x86.c parts) */
void kvmmu_queue_exception(struct kvmmu_vcpu *vcpu, u8 nr, bool has_err,
			   u32 err);
void kvmmu_events_reset(struct kvmmu_vcpu *vcpu);
bool kvmmu_interrupt_allowed(const struct kvmmu_vcpu *vcpu);
bool kvmmu_nmi_allowed(const struct kvmmu_vcpu *vcpu);
bool kvmmu_ready_for_interrupt_injection(const struct kvmmu_vcpu *vcpu);
bool kvmmu_irq_window_open(const struct kvmmu_vcpu *vcpu);
void kvmmu_post_run_save(struct kvmmu_vcpu *vcpu);
void kvmmu_sregs_irq_in(struct kvmmu_vcpu *vcpu);
void kvmmu_sregs_irq_out(const struct kvmmu_vcpu *vcpu, struct kvm_sregs *s);
long kvmmu_events_ioctl(struct kvmmu_vcpu *vcpu, unsigned int ioctl,
			void __user *argp);

/* stats.c */
int kvmmu_vm_stats_fd(struct kvmmu_vm *vm);
int kvmmu_vcpu_stats_fd(struct kvmmu_vcpu *vcpu);

/* dirty.c */
#define KVMMU_DIRTY_LOG_MANUAL_CAPS \
	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)
long kvmmu_get_dirty_log(struct kvmmu_vm *vm, void __user *argp);
long kvmmu_clear_dirty_log(struct kvmmu_vm *vm, void __user *argp);
int kvmmu_enable_manual_dirty_log(struct kvmmu_vm *vm,
				  const struct kvm_enable_cap *cap);

/**
 * kvmmu_dirty_bitmap_bytes - size of a slot's dirty bitmap, as KVM's.
 * @npages: pages in the slot.
 *
 * Return: bytes, a whole number of longs.
 */
static inline unsigned long kvmmu_dirty_bitmap_bytes(unsigned long npages)
{
	return ALIGN(npages, BITS_PER_LONG) / 8;
}

/**
 * kvmmu_find_cpuid - the CPUID entry the VMM set for a leaf.
 * @vcpu: the vCPU.
 * @func: leaf (EAX).
 * @index: subleaf (ECX), compared only for entries that say it matters.
 *
 * Return: the entry, or NULL.
 */
static inline const struct kvm_cpuid_entry2 *
kvmmu_find_cpuid(const struct kvmmu_vcpu *vcpu, u32 func, u32 index)
{
	const struct kvm_cpuid_entry2 *e = vcpu->cpuid;
	int i;

	for (i = 0; i < vcpu->cpuid_nent; i++) {
		if (e[i].function != func)
			continue;
		if ((e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e[i].index != index)
			continue;
		return &e[i];
	}
	return NULL;
}

/**
 * kvmmu_vcpu_cpl - the vCPU's privilege level from its saved state.
 * @vcpu: the vCPU.
 *
 * Return: 0 in real mode, 3 in VM86 mode, else SS.DPL.
 */
static inline unsigned int kvmmu_vcpu_cpl(const struct kvmmu_vcpu *vcpu)
{
	if (!(vcpu->sregs.cr0 & X86_CR0_PE))
		return 0;
	if (vcpu->regs.rflags & X86_EFLAGS_VM)
		return 3;
	return vcpu->sregs.ss.dpl & 3;
}

/* debugfs.c */
void kvmmu_debugfs_init(void);
void kvmmu_debugfs_exit(void);
void kvmmu_debugfs_vm_create(struct kvmmu_vm *vm, int fd);
void kvmmu_debugfs_vm_destroy(struct kvmmu_vm *vm);

#endif /* KVMMU_H */
