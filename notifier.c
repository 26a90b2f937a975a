// SPDX-License-Identifier: GPL-2.0
/*
 * Keeping the NPT in step with the host mm: the mmu notifier.
 *
 * What and why
 * ------------
 * The fault path holds no page reference once a leaf is installed: the
 * host may swap, migrate, compact, COW-break or unmap guest memory at any
 * time. Before it does, it calls invalidate_range_start() with the HVA
 * range; we find the memslots of both address spaces that map those HVAs,
 * zap their GFNs and flush TLBs, so the guest loses access before the page
 * changes. invalidate_range_end() then lets faults in again. Under tdp=0
 * only the leaves that map those GFNs go, as KVM's kvm_unmap_gfn_range():
 * shadow pages of guest tables there stay (see kvmmu_shadow_unmap_range()).
 *
 * A fault that did GUP before or during an invalidation must not install
 * what it got: start() counts the invalidation as in progress and widens
 * the in-progress HVA range, end() bumps the sequence and uncounts it; the
 * fault checks both under the MMU lock (see mmu.c, "Races with
 * invalidations"). Ranges are kept in HVAs so that a memslot created while
 * an invalidation runs is covered too (KVM instead makes the memslot
 * update wait for invalidations to finish).
 *
 * Aging (clear_flush_young, clear_young, test_young) reads and clears the
 * accessed bit of the leaves of those GFNs, with atomic bit operations
 * (the CPU sets A concurrently): found by walking the NPT
 * (kvmmu_mmu_walk_leaves()) under the read lock, or under tdp=0 through
 * the slots' rmaps (kvmmu_shadow_age_range(), KVM's
 * kvm_rmap_age_gfn_range()) under the write lock, as KVM's rmaps are.
 * release() (the mm exits) zaps everything.
 *
 * Exclusion rules
 * ---------------
 * - Callbacks may run in atomic context (aging runs under a host page-table
 *   lock; the OOM reaper calls start() non-blockable): nothing here sleeps,
 *   but for two exceptions: under tdp=0 start() of a blockable range may
 *   yield between gfns (after a flush, as KVM's may_block), and release()
 *   zaps everything with yields (KVM's kvm_arch_flush_shadow_all() too).
 *   mmu->lock is a spinning rwlock; vm->srcu readers do not sleep; the TLB
 *   flush must not sleep either (see kvmmu_flush_remote_tlbs()).
 * - Order: vm->srcu (read) -> mmu->lock.
 * - The bookkeeping (invalidate_seq, _in_progress, _start/_end) changes
 *   under mmu->lock held for write.
 */

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/srcu.h>

#include "mmu.h"
#include "trace.h"

static struct kvmmu_mmu *to_mmu(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvmmu_mmu, mn);
}

/* GFNs [*@gs, *@ge) of @slot whose HVAs meet [@start, @end); they must. */
static void slot_hva_to_gfns(const struct kvmmu_memory_slot *slot,
			     unsigned long start, unsigned long end,
			     gfn_t *gs, gfn_t *ge)
{
	unsigned long slot_end = slot->userspace_addr +
				 (slot->npages << PAGE_SHIFT);

	start = max(start, slot->userspace_addr);
	end = min(end, slot_end);
	*gs = slot->base_gfn + ((start - slot->userspace_addr) >> PAGE_SHIFT);
	*ge = slot->base_gfn +
	      ((end - slot->userspace_addr + PAGE_SIZE - 1) >> PAGE_SHIFT);
}

typedef bool (*gfn_range_fn)(struct kvmmu_mmu *mmu,
			     const struct kvmmu_memory_slot *slot,
			     gfn_t start, gfn_t end, void *data);

/*
 * Call @fn for each slot that maps HVAs [@start, @end), with its GFNs;
 * INVALID slots included (their SPTEs may not be zapped yet). Return the
 * OR of the calls. vm->srcu is held.
 *
 * Only address spaces with an NPT are looked at: address space 1 (SMM)
 * may have slots but nothing maps them. Always inlined, so that @fn is a
 * direct call: this runs for every host invalidation of the VMM's mm.
 */
static __always_inline bool walk_hva_gfns(struct kvmmu_mmu *mmu,
					  unsigned long start,
					  unsigned long end, gfn_range_fn fn,
					  void *data)
{
	struct kvmmu_vm *vm = mmu->vm;
	bool ret = false;
	int as_id;

	if (end <= start)
		return false;

	for (as_id = 0; as_id < KVMMU_NPT_ADDRESS_SPACES; as_id++) {
		struct kvmmu_memslots *slots = kvmmu_memslots(vm, as_id);
		struct kvmmu_memory_slot *slot;

		for (slot = kvmmu_memslot_hva_first(slots, start, end - 1); slot;
		     slot = kvmmu_memslot_hva_next(slots, slot, start, end - 1)) {
			gfn_t gs, ge;

			slot_hva_to_gfns(slot, start, end, &gs, &ge);
			ret |= fn(mmu, slot, gs, ge, data);
		}
	}
	return ret;
}

/* What zap_gfns() needs: the NPT's detached tables, whether it may yield. */
struct zap_data {
	struct list_head *freed;
	bool may_block;
};

static bool zap_gfns(struct kvmmu_mmu *mmu,
		     const struct kvmmu_memory_slot *slot, gfn_t start,
		     gfn_t end, void *data)
{
	struct zap_data *z = data;

	/*
	 * tdp=0 zaps the leaves of the range through the slot's rmap, gfn by
	 * gfn, and leaves the shadow pages of guest tables alone, as KVM's
	 * kvm_unmap_gfn_range(). A big range (a slot munmapped) is long, so
	 * it yields when the notifier may block (range->may_block).
	 * invalidate_in_progress is raised already, so no fault maps the
	 * range meanwhile.
	 */
	if (mmu->shadow)
		return !slot->as_id &&
		       kvmmu_shadow_unmap_range(mmu, slot, start, end,
						z->may_block);
	return kvmmu_zap_gfn_range(mmu, slot->as_id, start, end, z->freed);
}

/*
 * The body of invalidate_range_start for HVAs [@start, @end); @may_block:
 * the range is blockable (the shadow zap may drop the lock to yield).
 */
static void invalidate_begin(struct kvmmu_mmu *mmu, unsigned long start,
			     unsigned long end, bool may_block)
{
	LIST_HEAD(freed);
	struct zap_data z = { .freed = &freed, .may_block = may_block };
	bool flush;
	int idx;

	trace_kvmmu_invalidate(start, end);
	idx = srcu_read_lock(&mmu->vm->srcu);
	write_lock(&mmu->lock);
	if (!mmu->invalidate_in_progress++) {
		mmu->invalidate_start = start;
		mmu->invalidate_end = end;
	} else {
		/* One range for all: false positives only delay faults. */
		mmu->invalidate_start = min(mmu->invalidate_start, start);
		mmu->invalidate_end = max(mmu->invalidate_end, end);
	}
	flush = walk_hva_gfns(mmu, start, end, zap_gfns, &z);
	/*
	 * Flushed before the lock goes (most invalidations of a VMM's mm
	 * meet no SPTE and flush nothing): an invalidation of the same
	 * range right after ours finds nothing to zap and must be able to
	 * return at once, as KVM's __kvm_handle_hva_range() allows.
	 */
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	srcu_read_unlock(&mmu->vm->srcu, idx);
	atomic64_inc(&mmu->stats.invalidations);
}

/* The body of invalidate_range_end. */
static void invalidate_finish(struct kvmmu_mmu *mmu)
{
	write_lock(&mmu->lock);
	/* Read locklessly by faults before GUP. */
	WRITE_ONCE(mmu->invalidate_seq, mmu->invalidate_seq + 1);
	mmu->invalidate_in_progress--;
	WARN_ON_ONCE(mmu->invalidate_in_progress < 0);
	kvmmu_mmu_write_unlock(mmu);
}

static int mn_invalidate_range_start(struct mmu_notifier *mn,
				     const struct mmu_notifier_range *range)
{
	/* Only a blockable range may yield (tdp=0's long zaps). */
	invalidate_begin(to_mmu(mn), range->start, range->end,
			 mmu_notifier_range_blockable(range));
	return 0;
}

static void mn_invalidate_range_end(struct mmu_notifier *mn,
				    const struct mmu_notifier_range *range)
{
	invalidate_finish(to_mmu(mn));
}

/* Report (and with *@data true, clear) the accessed bit of a leaf. */
static bool age_spte(u64 *sptep, int level, gfn_t gfn, void *data)
{
	const bool *clear = data;
	u64 spte = READ_ONCE(*sptep);

	/* Under the read lock a fault may have replaced the leaf. */
	if (!kvmmu_spte_present(spte) || !kvmmu_spte_is_leaf(spte, level) ||
	    !(spte & KVMMU_SPTE_ACCESSED))
		return false;
	if (*clear)
		clear_bit(KVMMU_SPTE_ACCESSED_BIT, (unsigned long *)sptep);
	return true;
}

static bool age_gfns(struct kvmmu_mmu *mmu,
		     const struct kvmmu_memory_slot *slot, gfn_t start,
		     gfn_t end, void *clear)
{
	/* tdp=0: the shadow leaves, through the slot's rmap. */
	if (mmu->shadow)
		return !slot->as_id &&
		       kvmmu_shadow_age_range(mmu, slot, start, end,
					      *(bool *)clear);
	return kvmmu_mmu_walk_leaves(mmu, slot->as_id, start, end, age_spte,
				     clear);
}

static bool age_hva_range(struct kvmmu_mmu *mmu, unsigned long start,
			  unsigned long end, bool clear, bool flush)
{
	bool young;
	int idx;

	idx = srcu_read_lock(&mmu->vm->srcu);
	/* The shadow MMU's rmaps are walked under the write lock (rmap.c). */
	if (mmu->shadow)
		write_lock(&mmu->lock);
	else
		read_lock(&mmu->lock);
	young = walk_hva_gfns(mmu, start, end, age_gfns, &clear);
	/* Cached translations would hide the next access: drop them. */
	if (young && flush)
		kvmmu_mmu_flush_locked(mmu);
	if (mmu->shadow)
		kvmmu_mmu_write_unlock(mmu);
	else
		kvmmu_mmu_read_unlock(mmu);
	srcu_read_unlock(&mmu->vm->srcu, idx);
	return young;
}

static int mn_clear_flush_young(struct mmu_notifier *mn, struct mm_struct *mm,
				unsigned long start, unsigned long end)
{
	return age_hva_range(to_mmu(mn), start, end, true, true);
}

static int mn_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			  unsigned long start, unsigned long end)
{
	return age_hva_range(to_mmu(mn), start, end, true, false);
}

static int mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			 unsigned long address)
{
	return age_hva_range(to_mmu(mn), address, address + 1, false, false);
}

static void mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	kvmmu_mmu_zap_all(to_mmu(mn)->vm);
}

static const struct mmu_notifier_ops kvmmu_mn_ops = {
	.invalidate_range_start	= mn_invalidate_range_start,
	.invalidate_range_end	= mn_invalidate_range_end,
	.clear_flush_young	= mn_clear_flush_young,
	.clear_young		= mn_clear_young,
	.test_young		= mn_test_young,
	.release		= mn_release,
};

/**
 * kvmmu_mmu_notifier_register - start following @mm's changes.
 * @mmu: the MMU, fully set up: callbacks may run before this returns.
 * @mm: the VM's mm, with users (the caller runs in it).
 *
 * May sleep (takes @mm's mmap lock for write).
 *
 * Return: 0, or the errno of mmu_notifier_register() (-ENOMEM, -EINTR).
 */
int kvmmu_mmu_notifier_register(struct kvmmu_mmu *mmu, struct mm_struct *mm)
{
	int r;

	mmu->mn.ops = &kvmmu_mn_ops;
	r = mmu_notifier_register(&mmu->mn, mm);
	if (!r)
		mmu->mn_registered = true;
	return r;
}

/**
 * kvmmu_mmu_notifier_unregister - stop following @mm; waits for callbacks.
 * @mmu: the MMU; nothing happens if its notifier is not registered.
 * @mm: the mm it was registered on; grabbed (mm_count) by the caller, its
 *      address space may be gone already (then release() has run).
 *
 * May sleep.
 */
void kvmmu_mmu_notifier_unregister(struct kvmmu_mmu *mmu, struct mm_struct *mm)
{
	if (!mmu->mn_registered)
		return;
	mmu_notifier_unregister(&mmu->mn, mm);
	mmu->mn_registered = false;
}
