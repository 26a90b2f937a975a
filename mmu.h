/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MMU: what the rest of kvmmu calls, and the MMU's own types.
 *
 * The MMU turns guest physical addresses into host physical ones in AMD's
 * nested page tables (NPT): a 4-level x86-64 page table per VM, built lazily
 * by nested page faults (mmu.c), torn down by zaps when memslots change or
 * the host mm changes under the guest (notifier.c). The NPT is indexed by
 * guest frame, so it is its own reverse map: whoever needs the entries that
 * map a GFN range walks that range of the tables (kvmmu_mmu_walk_leaves()).
 *
 * The first half of this file is the interface for the vCPU code, memslots
 * and debugfs. The second half, marked below, belongs to mmu.c, notifier.c
 * and their KUnit suite: nobody else may touch those fields.
 */
#ifndef KVMMU_MMU_H
#define KVMMU_MMU_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <asm/pgtable_types.h>

#include "kvmmu.h"

struct dentry;

/* kvmmu_mmu_page_fault(): the caller must emulate the access (MMIO). */
#define KVMMU_PF_EMULATE	1

int kvmmu_mmu_vm_init(struct kvmmu_vm *vm);
void kvmmu_mmu_notifier_stop(struct kvmmu_vm *vm);
void kvmmu_mmu_vm_destroy(struct kvmmu_vm *vm);
int kvmmu_mmu_vcpu_init(struct kvmmu_vcpu *vcpu);
void kvmmu_mmu_vcpu_destroy(struct kvmmu_vcpu *vcpu);
u64 kvmmu_mmu_root_pa(struct kvmmu_vm *vm);
unsigned int kvmmu_mmu_phys_bits(void);
int kvmmu_mmu_topup(struct kvmmu_vcpu *vcpu);
int kvmmu_mmu_page_fault(struct kvmmu_vcpu *vcpu, u64 gpa, u64 error_code);
void kvmmu_mmu_zap_all(struct kvmmu_vm *vm);
void kvmmu_mmu_zap_memslot(struct kvmmu_vm *vm,
			   const struct kvmmu_memory_slot *slot);
void kvmmu_mmu_memslot_flags_changed(struct kvmmu_vm *vm,
				     const struct kvmmu_memory_slot *old,
				     const struct kvmmu_memory_slot *new);
void kvmmu_mmu_debugfs_init(struct kvmmu_vm *vm, struct dentry *dir);

/**
 * struct kvmmu_mmu_counters - a snapshot of the MMU's counters.
 * @faults: nested page faults handled.
 * @mmio: of which emulated (no slot, READONLY write, beyond MAXPHYADDR).
 * @retries: faults that lost a race and let the guest fault again.
 * @fast: write faults on a present leaf fixed in place, without GUP.
 * @invalidations: mmu notifier invalidate_range_start calls.
 * @zaps: zap operations that removed something.
 * @zapped: leaves removed by zaps.
 * @leaves: present leaves now, per level (4K, 2M, 1G).
 * @tables: table pages now, root included.
 */
struct kvmmu_mmu_counters {
	u64 faults, mmio, retries, fast, invalidations, zaps, zapped;
	u64 leaves[PG_LEVEL_1G];
	u64 tables;
};

void kvmmu_mmu_read_counters(struct kvmmu_vm *vm,
			     struct kvmmu_mmu_counters *c);
unsigned long kvmmu_mmu_reprotect_dirty(struct kvmmu_vm *vm,
					struct kvmmu_memory_slot *slot,
					unsigned long first, unsigned long n,
					unsigned long *buf, bool harvest);

/*
 * ---- MMU internals: mmu.c, notifier.c and tests/kunit only ----
 */

/*
 * NPT entries are x86-64 long-mode page-table entries. A leaf maps 4K at
 * level 1, 2M at level 2 (PS) or 1G at level 3 (PS); level 4 is the root.
 * Bits 9-11 are ignored by the CPU and are ours.
 */
#define KVMMU_SPTE_PRESENT	BIT_ULL(0)
#define KVMMU_SPTE_WRITABLE_BIT	1
#define KVMMU_SPTE_WRITABLE	BIT_ULL(KVMMU_SPTE_WRITABLE_BIT)
#define KVMMU_SPTE_USER		BIT_ULL(2)
#define KVMMU_SPTE_ACCESSED_BIT	5
#define KVMMU_SPTE_ACCESSED	BIT_ULL(KVMMU_SPTE_ACCESSED_BIT)
#define KVMMU_SPTE_DIRTY	BIT_ULL(6)
#define KVMMU_SPTE_HUGE		BIT_ULL(7)
/* Software: the host page may be written (a write-protected leaf may be
 * made writable again without GUP; for dirty logging).
 */
#define KVMMU_SPTE_HOST_WRITABLE BIT_ULL(9)
#define KVMMU_SPTE_PFN_MASK	GENMASK_ULL(51, 12)
#define KVMMU_SPTE_NX		BIT_ULL(63)
/*
 * Software, never present: an entry a fault under the read lock took out
 * of service to replace it (KVM's FROZEN_SPTE). Other faults that meet it
 * retry; it is gone before the read lock is dropped.
 */
#define KVMMU_SPTE_FROZEN	BIT_ULL(10)

/* Address spaces with an NPT: only 0; SMM (1) is not supported. */
#define KVMMU_NPT_ADDRESS_SPACES	1

#define KVMMU_ROOT_LEVEL	4
#define KVMMU_MAX_HUGE_LEVEL	PG_LEVEL_1G
#define KVMMU_SPTE_PER_TABLE	512
#define KVMMU_LEVEL_SHIFT(l)	(((l) - 1) * 9)
#define KVMMU_PAGES_PER(l)	(1ULL << KVMMU_LEVEL_SHIFT(l))
#define KVMMU_MAX_PHYS_BITS	48

static inline bool kvmmu_spte_present(u64 spte)
{
	return spte & KVMMU_SPTE_PRESENT;
}

/* Whether a present SPTE of a table at @level maps memory (not a table). */
static inline bool kvmmu_spte_is_leaf(u64 spte, int level)
{
	return level == PG_LEVEL_4K || (spte & KVMMU_SPTE_HUGE);
}

static inline u64 kvmmu_spte_pfn(u64 spte)
{
	return (spte & KVMMU_SPTE_PFN_MASK) >> PAGE_SHIFT;
}

/* The index of the entry covering @gfn in a table of @level. */
static inline unsigned int kvmmu_spte_index(gfn_t gfn, int level)
{
	return (gfn >> KVMMU_LEVEL_SHIFT(level)) & (KVMMU_SPTE_PER_TABLE - 1);
}

/* The table a present non-leaf SPTE points to. */
static inline u64 *kvmmu_spte_table(u64 spte)
{
	return __va(spte & KVMMU_SPTE_PFN_MASK);
}

/* What a leaf allows, whatever the format spells (KVM's ACC_*_MASK). */
#define KVMMU_ACC_EXEC		BIT(0)
#define KVMMU_ACC_WRITE		BIT(1)
#define KVMMU_ACC_USER		BIT(2)
#define KVMMU_ACC_ALL		(KVMMU_ACC_EXEC | KVMMU_ACC_WRITE | \
				 KVMMU_ACC_USER)

/**
 * struct kvmmu_spte_format - how one kind of SPTE spells its bits.
 * @name: for messages.
 * @always: set in every present entry, table or leaf.
 * @table: set in a table entry besides @always.
 * @writable: a leaf allows writes.
 * @user: a leaf allows user accesses.
 * @exec: set in a leaf that allows fetches (EPT's X); 0 if @nx is used.
 * @nx: set in a leaf that forbids fetches (NPT and shadow: bit 63).
 * @accessed: A, set by the CPU (or preset by the MMU).
 * @dirty: D, set by the CPU (or preset for a write fault).
 * @huge: PS: a leaf above 4K.
 * @host_writable: software: the host lets the page be written, so a
 *                 write-protected leaf may get write access back without
 *                 asking the host again (dirty logging's fast path).
 * @mmu_writable: software: the MMU itself does not write-protect the
 *                page (a shadow MMU protects the guest's page tables);
 *                0 in a format where nothing is write-tracked.
 * @pfn_mask: where the host frame's address goes.
 *
 * The MMU builds entries from this (make_leaf_spte(), make_table_spte()),
 * so that a second format (EPT, shadow SPTEs with NX and U from the
 * guest's PTEs) is a second table, not a second set of functions, as
 * KVM's shadow_*_mask variables. Reads of an entry still use the NPT's
 * bits (KVMMU_SPTE_*): NPT and shadow SPTEs agree on them; EPT will not.
 */
struct kvmmu_spte_format {
	const char *name;
	u64 always;
	u64 table;
	u64 writable;
	u64 user;
	u64 exec;
	u64 nx;
	u64 accessed;
	u64 dirty;
	u64 huge;
	u64 host_writable;
	u64 mmu_writable;
	u64 pfn_mask;
};

extern const struct kvmmu_spte_format kvmmu_npt_format;

/* Counters for debugfs "stats"; racy reads are fine. */
struct kvmmu_mmu_stats {
	atomic64_t faults;
	atomic64_t emulate;
	atomic64_t retries;
	atomic64_t fast;
	atomic64_t invalidations;
	atomic64_t zaps;
	atomic64_t zapped;
	atomic64_t leaves[KVMMU_MAX_HUGE_LEVEL];
	atomic64_t tables;
	atomic64_t yields;
};

/**
 * struct kvmmu_mmu - the MMU state of one VM (vm->mmu).
 * @vm: the VM.
 * @fmt: how this MMU's SPTEs spell their bits.
 * @lock: the MMU lock: read for faults and aging, write for zaps and the
 *        invalidation bookkeeping (see Documentation/locking.rst).
 * @root: the level-4 table; never replaced while the VM lives.
 * @root5: with 5-level host paging, the level-5 table above @root: the
 *         hardware walks the NPT in the host's paging mode. Its entry 0
 *         points to @root and never changes (GPAs stay below 2^48).
 * @phys_bits: guest MAXPHYADDR the NPT covers.
 * @max_gfn: first GFN the NPT cannot map (1 << (@phys_bits - 12)).
 * @max_level: biggest leaf: PG_LEVEL_1G if the CPU has 1G pages, else 2M.
 * @invalidate_seq: bumped by every invalidate_range_end; read locklessly
 *                  by faults before GUP, written under @lock for write.
 * @invalidate_in_progress: invalidate_range_start calls not yet ended.
 * @invalidate_start: union of the HVA ranges in progress, [start, end).
 * @invalidate_end: see @invalidate_start.
 * @mn: our mmu_notifier on vm->mm.
 * @mn_registered: @mn is registered and must be unregistered.
 * @stats: counters.
 */
struct kvmmu_mmu {
	struct kvmmu_vm *vm;
	const struct kvmmu_spte_format *fmt;
	rwlock_t lock;	/* see Documentation/locking.rst */
	u64 *root;
	u64 *root5;
	unsigned int phys_bits;
	gfn_t max_gfn;
	int max_level;
	unsigned long invalidate_seq;
	long invalidate_in_progress;
	unsigned long invalidate_start;
	unsigned long invalidate_end;
	struct mmu_notifier mn;
	bool mn_registered;
	struct kvmmu_mmu_stats stats;
};

/* Table pages one fault may need (levels 3, 2, 1), plus slack. */
#define KVMMU_PAGE_CACHE_SIZE	4

/**
 * struct kvmmu_mmu_vcpu - per-vCPU MMU state (vcpu->mmu).
 * @nr_pages: zeroed table pages in @pages.
 * @pages: zeroed pages, filled outside any lock by kvmmu_mmu_topup().
 *
 * Used only by the vCPU's own thread under vcpu->mutex: no lock.
 */
struct kvmmu_mmu_vcpu {
	int nr_pages;
	void *pages[KVMMU_PAGE_CACHE_SIZE];
};

/* mmu.c, for notifier.c: zaps under mmu->lock held for write. */
bool kvmmu_zap_gfn_range(struct kvmmu_mmu *mmu, int as_id, gfn_t start,
			 gfn_t end, struct list_head *freed);
void kvmmu_mmu_zap_unlock(struct kvmmu_mmu *mmu, bool flush,
			  struct list_head *freed) __releases(&mmu->lock);
void kvmmu_mmu_flush_locked(struct kvmmu_mmu *mmu);

/*
 * The unflushed-zap ledger (debug kernels: lockdep on)
 * ----------------------------------------------------
 * KVM's rule: an SPTE that was zapped or lost a permission is flushed
 * from every vCPU's TLB before mmu->lock is released, so that whoever
 * takes the lock next (another invalidation of the same range that finds
 * nothing to zap, say) may trust that no vCPU still translates through
 * it. QEMU TCG flushes on every VMRUN and cannot show a break of this
 * rule, so debug builds count zaps per CPU (mmu->lock is a spinning
 * lock: its holder cannot migrate) and WARN when the lock is released
 * with zaps not followed by a flush. KUnit sets kvmmu_ledger_quiet to
 * count such releases in kvmmu_ledger_fired instead of warning.
 */
#define KVMMU_DEBUG	IS_ENABLED(CONFIG_PROVE_LOCKING)

DECLARE_PER_CPU(unsigned int, kvmmu_unflushed);
extern atomic_t kvmmu_ledger_fired;
extern bool kvmmu_ledger_quiet;

/* @n SPTEs were zapped or lost write access under mmu->lock. */
static inline void kvmmu_ledger_zapped(unsigned int n)
{
	if (KVMMU_DEBUG)
		this_cpu_add(kvmmu_unflushed, n);
}

/* Every vCPU was made to flush, under mmu->lock: the ledger is square. */
static inline void kvmmu_ledger_flushed(void)
{
	if (KVMMU_DEBUG)
		this_cpu_write(kvmmu_unflushed, 0);
}

/* mmu->lock is about to be released: nothing may be left unflushed. */
static inline void kvmmu_ledger_check(void)
{
	if (!KVMMU_DEBUG || likely(!this_cpu_read(kvmmu_unflushed)))
		return;
	this_cpu_write(kvmmu_unflushed, 0);
	atomic_inc(&kvmmu_ledger_fired);
	WARN_ONCE(!READ_ONCE(kvmmu_ledger_quiet),
		  "kvmmu: mmu->lock released with zapped SPTEs not flushed\n");
}

static inline void kvmmu_mmu_write_unlock(struct kvmmu_mmu *mmu)
	__releases(&mmu->lock)
{
	kvmmu_ledger_check();
	write_unlock(&mmu->lock);
}

static inline void kvmmu_mmu_read_unlock(struct kvmmu_mmu *mmu)
	__releases(&mmu->lock)
{
	kvmmu_ledger_check();
	read_unlock(&mmu->lock);
}

/* Called for each leaf of a walk; returns whether it counted (young). */
typedef bool (*kvmmu_leaf_fn)(u64 *sptep, int level, gfn_t gfn, void *data);
bool kvmmu_mmu_walk_leaves(struct kvmmu_mmu *mmu, int as_id, gfn_t start,
			   gfn_t end, kvmmu_leaf_fn fn, void *data);

/* notifier.c */
int kvmmu_mmu_notifier_register(struct kvmmu_mmu *mmu, struct mm_struct *mm);
void kvmmu_mmu_notifier_unregister(struct kvmmu_mmu *mmu, struct mm_struct *mm);

#endif /* KVMMU_MMU_H */
