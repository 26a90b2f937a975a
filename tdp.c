// SPDX-License-Identifier: GPL-2.0
/*
 * The TDP MMU's tables: AMD's nested page table (NPT), and EPT next.
 *
 * What it is
 * ----------
 * Everything that reads or writes the NPT itself: installing a leaf for a
 * fault (kvmmu_tdp_map(), and the in-place write upgrade of
 * kvmmu_tdp_fast_page_fault()), zapping GFN ranges and freeing the tables
 * they empty, the range walks that serve as the reverse map (aging, write
 * protection for dirty logging), the lookup of one leaf and the debugfs
 * dump. Every walk is a tdp_iter.h walk. mmu.c keeps what does not depend
 * on the table's shape: the fault's entry (memslot, GUP, host level,
 * invalidation retry), the flush-and-unlock of a zap, dirty logging's
 * bookkeeping, the VM's lifetime and debugfs; a shadow MMU (issue 18)
 * will sit beside this file, behind the same calls.
 *
 * The design (huge pages, races with invalidations, why the NPT needs no
 * reverse map) is described at the top of mmu.c; the locks in
 * Documentation/locking.rst.
 *
 * Exclusion rules
 * ---------------
 * - Every function here runs under mmu->lock, as its comment says: for
 *   read (faults, aging, lookups: entries change only by cmpxchg, tables
 *   are never detached) or for write (zaps, write protection: tables may
 *   be detached; what was zapped is flushed before the lock is dropped,
 *   kvmmu_mmu_zap_unlock()).
 * - Table pages detached here are queued on the caller's list and freed by
 *   mmu.c after the TLB flush and an RCU grace period.
 */

#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/swap.h>

#include "mmu.h"
#include "tdp_iter.h"
#include "trace.h"

/* ---- SPTE format ---- */

/*
 * AMD NPT: x86-64 long-mode entries. The hardware walks the NPT as a user
 * access, so U is on every level; permissions are the leaf's, so tables
 * allow everything. Nothing write-tracks guest tables under TDP: no
 * MMU-writable bit.
 */
const struct kvmmu_spte_format kvmmu_npt_format = {
	.name = "npt",
	.always = KVMMU_SPTE_PRESENT | KVMMU_SPTE_USER,
	.table = KVMMU_SPTE_WRITABLE,
	.writable = KVMMU_SPTE_WRITABLE,
	.user = KVMMU_SPTE_USER,
	.nx = KVMMU_SPTE_NX,
	.accessed = KVMMU_SPTE_ACCESSED,
	.dirty = KVMMU_SPTE_DIRTY,
	.huge = KVMMU_SPTE_HUGE,
	.host_writable = KVMMU_SPTE_HOST_WRITABLE,
	.pfn_mask = KVMMU_SPTE_PFN_MASK,
};

/*
 * A leaf SPTE whose old value was @old has left the NPT: what the guest
 * did through it reaches the host page, as in KVM's handle_changed_spte()
 * (kvm_set_pfn_accessed(), kvm_set_pfn_dirty()). Without this a page the
 * guest keeps using looks idle to reclaim once its SPTE is zapped, e.g.
 * by a memslot change, and a clean swap-cache page written through an
 * SPTE made writable in place (kvmmu_tdp_fast_page_fault()) would be dropped.
 * Reserved pages are the owner's business and are left alone.
 *
 * Called under mmu->lock, before the TLB flush: the page cannot be gone,
 * since the host tells the notifier before it unmaps a page, and the
 * notifier zaps (and gets here) first. Not for KUnit's made-up PFNs, which
 * lie beyond RAM (no memmap).
 */
void kvmmu_leaf_page_state(u64 old)
{
	u64 pfn = kvmmu_spte_pfn(old);
	struct page *page;

	if (!(old & (KVMMU_SPTE_ACCESSED | KVMMU_SPTE_DIRTY)) ||
	    !pfn_valid(pfn))
		return;
	page = pfn_to_page(pfn);
	if (PageReserved(page))
		return;
	if (old & KVMMU_SPTE_DIRTY)
		SetPageDirty(page);
	if (old & KVMMU_SPTE_ACCESSED)
		mark_page_accessed(page);
}

/* A leaf is gone from a live table: count it out. */
static void leaf_gone(struct kvmmu_mmu *mmu, int level)
{
	atomic64_dec(&mmu->stats.leaves[level - 1]);
	atomic64_inc(&mmu->stats.zapped);
	kvmmu_ledger_zapped(1);
}

/* A table page leaves the NPT: queue it for freeing after the flush. */
static void queue_table(struct kvmmu_mmu *mmu, u64 *table,
			struct list_head *freed)
{
	list_add(&virt_to_page(table)->lru, freed);
	kvmmu_account_tables(mmu, table, -1);
	kvmmu_ledger_zapped(1);
}

/*
 * @table (entries of @level, first GFN @base) is detached: count its
 * leaves out and queue it and every table below it on @freed. The CPU may
 * still walk it until the TLB flush, and the pages stay until an RCU grace
 * period after that, so the walk may queue a table before visiting it.
 */
static void free_subtree(struct kvmmu_mmu *mmu, u64 *table, int level,
			 gfn_t base, struct list_head *freed)
{
	unsigned int leaves[KVMMU_MAX_HUGE_LEVEL] = {};
	struct kvmmu_iter iter;
	int l;

	for_each_spte(iter, table, level, PG_LEVEL_4K, base,
		      base + KVMMU_PAGES_PER(level + 1)) {
		if (!kvmmu_spte_present(iter.old_spte))
			continue;
		if (!kvmmu_spte_is_leaf(iter.old_spte, iter.level)) {
			queue_table(mmu, kvmmu_spte_table(iter.old_spte), freed);
			continue;
		}
		/*
		 * Until the flush a vCPU may still set A or D through a cached
		 * upper entry: take the last value.
		 */
		kvmmu_leaf_page_state(xchg(iter.sptep, 0));
		leaves[iter.level - 1]++;
	}
	for (l = 0; l < KVMMU_MAX_HUGE_LEVEL; l++) {
		if (!leaves[l])
			continue;
		atomic64_sub(leaves[l], &mmu->stats.leaves[l]);
		atomic64_add(leaves[l], &mmu->stats.zapped);
	}
	queue_table(mmu, table, freed);
}

/*
 * Clip GFNs [@start, *@end) of @as_id to what the NPT covers; false if
 * nothing is left (only address space 0 has an NPT).
 */
static bool npt_range(const struct kvmmu_mmu *mmu, int as_id, gfn_t start,
		      gfn_t *end)
{
	*end = min(*end, mmu->max_gfn);
	return as_id < KVMMU_NPT_ADDRESS_SPACES && start < *end;
}

/* Every NPT entry over GFNs [@start, @end) down to tables of @min_level. */
#define for_each_npt_spte(iter, mmu, min_level, start, end)		\
	for_each_spte(iter, (mmu)->root, KVMMU_ROOT_LEVEL, min_level, start, end)

/* Every present NPT leaf over GFNs [@start, @end). */
#define for_each_npt_leaf(iter, mmu, start, end)			\
	for_each_leaf_spte(iter, (mmu)->root, KVMMU_ROOT_LEVEL, start, end)

/*
 * A long walk under the write lock yields, as KVM's
 * tdp_mmu_iter_cond_resched(): when a reschedule is due or another thread
 * waits for mmu->lock, and only if it passed a GFN since it (re)started,
 * so that it always moves forward. It flushes what it changed (*@flush)
 * before dropping the lock, and restarts from the root (the tables it was
 * in may be gone by then).
 *
 * Return: true if it yielded; the caller skips the entry, which the
 * restart visits again.
 */
static bool zap_cond_resched(struct kvmmu_mmu *mmu, struct kvmmu_iter *iter,
			     bool *flush, struct list_head *freed)
	__must_hold(&mmu->lock)
{
	if (!kvmmu_iter_can_yield(iter) ||
	    (!need_resched() && !rwlock_needbreak(&mmu->lock)))
		return false;
	kvmmu_mmu_zap_unlock(mmu, *flush, freed);
	atomic64_inc(&mmu->stats.yields);
	cond_resched();
	write_lock(&mmu->lock);
	*flush = false;
	kvmmu_iter_yielded(iter);
	return true;
}

/* Whether the entry at @iter lies wholly inside GFNs [@start, @end). */
static bool iter_inside(const struct kvmmu_iter *iter, gfn_t start, gfn_t end)
{
	return iter->gfn >= start &&
	       iter->gfn + KVMMU_PAGES_PER(iter->level) <= end;
}

/* Detach the table at @iter and free it with everything below it. */
static void zap_table_spte(struct kvmmu_mmu *mmu, struct kvmmu_iter *iter,
			   struct list_head *freed)
{
	WRITE_ONCE(*iter->sptep, 0);
	free_subtree(mmu, kvmmu_spte_table(iter->old_spte), iter->level - 1,
		     iter->gfn, freed);
}

/**
 * kvmmu_tdp_zap_range - kvmmu_zap_gfn_range(), optionally yielding.
 * @mmu: the MMU; mmu->lock held for write.
 * @as_id: address space (only 0 has an NPT).
 * @start: first GFN.
 * @end: GFN after the last.
 * @freed: detached table pages are added here (see kvmmu_zap_gfn_range()).
 * @can_yield: the caller may sleep: on a long walk, flush, drop the lock
 *             and reschedule (zap_cond_resched()).
 *
 * Two passes. The first zaps the leaves that meet the range (a 2M leaf
 * partly inside goes entirely: zapping more is always safe) and detaches
 * whole the tables of 4K leaves wholly inside it (at most 512 entries to
 * count: never split by a yield). The bigger tables are walked, so that
 * the walk can yield inside them; the second pass, which never goes below
 * the 1G tables, detaches those wholly inside, now empty unless a fault
 * refilled them during a yield (free_subtree() counts such leaves out).
 *
 * Return: whether the TLBs must be flushed before mmu->lock is released
 * (what a yield flushed is not counted).
 */
bool kvmmu_tdp_zap_range(struct kvmmu_mmu *mmu, int as_id, gfn_t start,
			 gfn_t end, struct list_head *freed, bool can_yield)
{
	bool flush = false, zapped = false;
	struct kvmmu_iter iter;

	lockdep_assert_held_write(&mmu->lock);
	if (!npt_range(mmu, as_id, start, &end))
		return false;
	for_each_npt_spte(iter, mmu, PG_LEVEL_4K, start, end) {
		if (!kvmmu_spte_present(iter.old_spte))
			continue;
		if (can_yield && zap_cond_resched(mmu, &iter, &flush, freed))
			continue;
		if (kvmmu_spte_is_leaf(iter.old_spte, iter.level)) {
			kvmmu_leaf_page_state(xchg(iter.sptep, 0));
			leaf_gone(mmu, iter.level);
		} else if (iter.level == PG_LEVEL_2M &&
			   iter_inside(&iter, start, end)) {
			zap_table_spte(mmu, &iter, freed);
		} else {
			continue;
		}
		flush = true;
		zapped = true;
	}
	/* Only a range of 1G or more can hold a 1G table wholly. */
	if (end - start < KVMMU_PAGES_PER(PG_LEVEL_1G))
		goto out;
	for_each_npt_spte(iter, mmu, PG_LEVEL_1G, start, end) {
		if (!kvmmu_spte_present(iter.old_spte) ||
		    kvmmu_spte_is_leaf(iter.old_spte, iter.level) ||
		    !iter_inside(&iter, start, end))
			continue;
		zap_table_spte(mmu, &iter, freed);
		flush = true;
		zapped = true;
	}
out:
	trace_kvmmu_zap(as_id, start, end, zapped);
	if (zapped)
		atomic64_inc(&mmu->stats.zaps);
	/* What a yield flushed is flushed: the caller flushes the rest. */
	return flush || !list_empty(freed);
}

/**
 * kvmmu_zap_gfn_range - remove every mapping of GFNs [@start, @end).
 * @mmu: the MMU; mmu->lock held for write.
 * @as_id: address space (only 0 has an NPT; others have nothing to zap).
 * @start: first GFN.
 * @end: GFN after the last.
 * @freed: detached table pages are added here; pass the list and the
 *         return value to kvmmu_mmu_zap_unlock().
 *
 * Never drops the lock (callable from mmu notifiers in atomic context).
 *
 * Return: whether SPTEs were removed, i.e. whether TLBs must be flushed
 * before mmu->lock is released.
 */
bool kvmmu_zap_gfn_range(struct kvmmu_mmu *mmu, int as_id, gfn_t start,
			 gfn_t end, struct list_head *freed)
{
	/*
	 * The NPT's: tdp=0 zaps through the slots' rmaps instead, leaves only
	 * for the notifier (kvmmu_shadow_unmap_range()), pages too for a
	 * memslot change (kvmmu_shadow_zap_range()).
	 */
	if (WARN_ON_ONCE(mmu->shadow))
		return false;
	return kvmmu_tdp_zap_range(mmu, as_id, start, end, freed, false);
}

/* ---- range walks: the NPT is its own reverse map ---- */

/**
 * kvmmu_mmu_walk_leaves - call @fn for each leaf that maps part of a range.
 * @mmu: the MMU; mmu->lock held, for read or write.
 * @as_id: address space (only 0 has an NPT).
 * @start: first GFN.
 * @end: GFN after the last.
 * @fn: called with the leaf's SPTE pointer, level and first GFN; a huge
 *      leaf that only partly meets the range is passed whole, once.
 * @data: passed to @fn.
 *
 * Under the read lock the tables walked stay linked, but a fault may turn
 * a leaf into another leaf, an empty entry or a table meanwhile: @fn must
 * read the SPTE once and check it.
 *
 * Return: whether any call of @fn returned true.
 */
bool kvmmu_mmu_walk_leaves(struct kvmmu_mmu *mmu, int as_id, gfn_t start,
			   gfn_t end, kvmmu_leaf_fn fn, void *data)
{
	struct kvmmu_iter iter;
	bool ret = false;

	lockdep_assert_held(&mmu->lock);
	if (!npt_range(mmu, as_id, start, &end))
		return false;
	for_each_npt_leaf(iter, mmu, start, end)
		ret |= fn(iter.sptep, iter.level, iter.gfn, data);
	return ret;
}

/* Take write access away from a leaf; true if it had it. */
static bool wrprot_spte(u64 *sptep, int level, gfn_t gfn, void *data)
{
	u64 spte = READ_ONCE(*sptep);

	if (!kvmmu_spte_present(spte) || !kvmmu_spte_is_leaf(spte, level) ||
	    !(spte & KVMMU_SPTE_WRITABLE))
		return false;
	/* Atomic: the CPU may set A or D at the same time. */
	clear_bit(KVMMU_SPTE_WRITABLE_BIT, (unsigned long *)sptep);
	kvmmu_ledger_zapped(1);
	return true;
}

/**
 * kvmmu_tdp_write_protect_range - take write access from a range's leaves.
 * @mmu: the MMU; mmu->lock held for write, so that no fault makes a leaf
 *       writable again before the TLB flush.
 * @as_id: address space (only 0 has an NPT).
 * @start: first GFN.
 * @end: GFN after the last; huge leaves that meet the range go whole.
 * @freed: the zap list the caller passes to kvmmu_mmu_zap_unlock().
 *
 * The walk yields on the way, flushing first (zap_cond_resched()).
 *
 * Return: whether leaves lost write access since the last yield (the TLBs
 * must then be flushed before the lock is released).
 */
bool kvmmu_tdp_write_protect_range(struct kvmmu_mmu *mmu, int as_id,
				   gfn_t start, gfn_t end,
				   struct list_head *freed)
{
	struct kvmmu_iter iter;
	bool flush = false;

	lockdep_assert_held_write(&mmu->lock);
	if (!npt_range(mmu, as_id, start, &end))
		return false;
	for_each_npt_spte(iter, mmu, PG_LEVEL_4K, start, end) {
		/* Tables too: a slot of 4K leaves has few huge entries. */
		if (!kvmmu_spte_present(iter.old_spte) ||
		    zap_cond_resched(mmu, &iter, &flush, freed))
			continue;
		if (kvmmu_spte_is_leaf(iter.old_spte, iter.level))
			flush |= wrprot_spte(iter.sptep, iter.level, iter.gfn,
					     NULL);
	}
	return flush;
}

/* One word of a dirty bitmap: its first GFN and the bits to protect. */
struct wrprot_word {
	gfn_t base;
	unsigned long mask;
};

/* wrprot_spte() for a leaf that maps a page whose bit is set. */
static bool wrprot_masked(u64 *sptep, int level, gfn_t gfn, void *data)
{
	const struct wrprot_word *w = data;
	gfn_t first = max(gfn, w->base);
	gfn_t last = min(gfn + KVMMU_PAGES_PER(level), w->base + BITS_PER_LONG);

	/* The walk covers part of the word only: first < last. */
	if (!(w->mask & GENMASK(last - 1 - w->base, first - w->base)))
		return false;
	return wrprot_spte(sptep, level, gfn, NULL);
}

/**
 * kvmmu_tdp_write_protect_mask - write-protect the pages of a log word.
 * @mmu: the MMU; mmu->lock held for write.
 * @as_id: address space.
 * @base: the GFN of the word's bit 0.
 * @mask: the bits (pages) to protect; not 0.
 *
 * One walk from the first set bit to the last, which skips the leaves of
 * clear bits. The caller flushes before releasing the lock.
 */
void kvmmu_tdp_write_protect_mask(struct kvmmu_mmu *mmu, int as_id,
				  gfn_t base, unsigned long mask)
{
	struct wrprot_word w = { .base = base, .mask = mask };

	lockdep_assert_held_write(&mmu->lock);
	kvmmu_mmu_walk_leaves(mmu, as_id, base + __ffs(mask),
			      base + __fls(mask) + 1, wrprot_masked, &w);
}

/* Whether @spte, a leaf at @level, maps the fault's GFN as it needs. */
static bool leaf_serves(u64 spte, int level,
			const struct kvmmu_page_fault *fault)
{
	u64 offset = fault->gfn & (KVMMU_PAGES_PER(level) - 1);

	if (kvmmu_spte_pfn(spte) + offset != fault->pfn)
		return false;
	return !fault->write || (spte & KVMMU_SPTE_WRITABLE);
}

/*
 * Under the read lock, replace the present SPTE @old at @sptep with @new
 * the way KVM's tdp_mmu_zap_spte_atomic() does: frozen (other faults that
 * meet it retry), every vCPU's TLB flushed, then set. False if another
 * fault changed the entry first.
 */
static bool replace_spte_atomic(struct kvmmu_mmu *mmu, u64 *sptep, u64 old,
				u64 new, int gone_level)
{
	lockdep_assert_held_read(&mmu->lock);
	if (!try_cmpxchg64(sptep, &old, KVMMU_SPTE_FROZEN))
		return false;
	/* @old is a leaf in both callers; frozen, it gets no more A/D. */
	kvmmu_leaf_page_state(old);
	/* A leaf that @new does not replace by another leaf is counted out. */
	if (gone_level)
		leaf_gone(mmu, gone_level);
	else
		kvmmu_ledger_zapped(1);
	kvmmu_mmu_flush_locked(mmu);
	WRITE_ONCE(*sptep, new);
	return true;
}

static int map_leaf(struct kvmmu_mmu *mmu,
		    const struct kvmmu_page_fault *fault, u64 *sptep, u64 old)
{
	int level = fault->level;
	u64 pfn = fault->pfn & ~(KVMMU_PAGES_PER(level) - 1);
	unsigned int access = fault->writable ? KVMMU_ACC_ALL :
				KVMMU_ACC_ALL & ~KVMMU_ACC_WRITE;
	u64 new = kvmmu_make_leaf_spte(mmu->fmt, pfn, level, access, fault->write);

	if (kvmmu_spte_present(old)) {
		if (!kvmmu_spte_is_leaf(old, level))
			return KVMMU_MAP_LOWER;
		if (leaf_serves(old, level, fault))
			return KVMMU_MAP_SPURIOUS;
		/* Read-only -> writable of the same frame: nothing to flush. */
		if (kvmmu_spte_pfn(old) == pfn) {
			if (!try_cmpxchg64(sptep, &old, new))
				return KVMMU_MAP_RETRY;
		} else if (!replace_spte_atomic(mmu, sptep, old, new, 0)) {
			/* Another frame (never seen: a zap comes first). */
			return KVMMU_MAP_RETRY;
		}
	} else {
		if (!try_cmpxchg64(sptep, &old, new))
			return KVMMU_MAP_RETRY;
		atomic64_inc(&mmu->stats.leaves[level - 1]);
	}
	return KVMMU_MAP_DONE;
}

/**
 * kvmmu_tdp_map - install the leaf a fault wants, as kvm_tdp_mmu_map().
 * @mmu: the MMU; mmu->lock held for read.
 * @cache: the faulting vCPU's table pages, topped up.
 * @fault: the fault; @fault->gfn, ->pfn, ->level, ->writable, ->write.
 *
 * Walks from the root to @fault->level, linking tables from @cache where
 * there are none, and installs the leaf; a bigger leaf in the way is
 * replaced by a table (frozen and flushed first).
 *
 * Return: an enum kvmmu_map_result.
 */
int kvmmu_tdp_map(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *cache,
		  const struct kvmmu_page_fault *fault)
{
	struct kvmmu_iter iter;
	u64 *child;

	lockdep_assert_held_read(&mmu->lock);
	for_each_npt_spte(iter, mmu, fault->level, fault->gfn,
			  fault->gfn + 1) {
		/* Another fault is replacing this entry. */
		if (iter.old_spte == KVMMU_SPTE_FROZEN)
			return KVMMU_MAP_RETRY;

		if (iter.level == fault->level)
			return map_leaf(mmu, fault, iter.sptep, iter.old_spte);

		/* A table: the iterator goes down into it. */
		if (kvmmu_spte_present(iter.old_spte) &&
		    !kvmmu_spte_is_leaf(iter.old_spte, iter.level))
			continue;

		if (kvmmu_spte_present(iter.old_spte)) {
			/* A bigger leaf than wanted, e.g. before a split. */
			if (leaf_serves(iter.old_spte, iter.level, fault))
				return KVMMU_MAP_SPURIOUS;
			child = kvmmu_cache_pop(cache);
			if (!child)
				return KVMMU_MAP_NOMEM;
			if (!replace_spte_atomic(mmu, iter.sptep, iter.old_spte,
						 kvmmu_make_table_spte(mmu->fmt, child),
						 iter.level)) {
				kvmmu_cache_push(cache, child);
				return KVMMU_MAP_RETRY;
			}
		} else {
			child = kvmmu_cache_pop(cache);
			if (!child)
				return KVMMU_MAP_NOMEM;
			if (!try_cmpxchg64(iter.sptep, &iter.old_spte,
					   kvmmu_make_table_spte(mmu->fmt, child))) {
				/*
				 * Another vCPU linked something: the iterator
				 * re-reads the entry and goes down into it if
				 * it is a table, else the fault retries.
				 */
				kvmmu_cache_push(cache, child);
				continue;
			}
		}
		/* The iterator goes down into the new table. */
		kvmmu_account_tables(mmu, child, 1);
	}
	return KVMMU_MAP_RETRY;
}

/**
 * kvmmu_tdp_lookup_leaf - the leaf entry that maps a GFN.
 * @mmu: the MMU; mmu->lock held, for read or write. The tables walked
 *       stay linked, though under the read lock a fault may turn the leaf
 *       into an empty entry or a table: re-read it before use.
 * @gfn: the GFN.
 * @level: set to the leaf's level when one is found.
 *
 * Return: a pointer to the leaf entry, or NULL.
 */
u64 *kvmmu_tdp_lookup_leaf(struct kvmmu_mmu *mmu, gfn_t gfn, int *level)
{
	struct kvmmu_iter iter;

	lockdep_assert_held(&mmu->lock);
	for_each_npt_leaf(iter, mmu, gfn, gfn + 1) {
		*level = iter.level;
		return iter.sptep;
	}
	return NULL;
}

/**
 * kvmmu_tdp_fast_page_fault - give write access back without GUP.
 * @mmu: the MMU; no lock held (the read lock is taken here).
 * @slot: the memslot of @gfn, under vm->srcu.
 * @gfn: the GFN of a write fault on a present page.
 *
 * A write fault on a leaf that dirty logging made read-only: give the
 * write access back in place, as KVM's fast_page_fault(). Safe because
 * the host gave write access when the leaf was installed (HOST_WRITABLE)
 * and has not taken it back since: any change the host makes to the page,
 * writeback's write protection included, is an invalidation, which zaps
 * the leaf. No TLB flush: the fault itself dropped the read-only
 * translation.
 *
 * Under the read lock, which kvmmu_mmu_reprotect_dirty() takes for write:
 * the page is logged before a harvest can see the leaf writable. A huge
 * leaf in a logged slot is left to the slow path, which splits it.
 *
 * Return: true if the leaf now allows the write (or already did).
 */
bool kvmmu_tdp_fast_page_fault(struct kvmmu_mmu *mmu,
			       const struct kvmmu_memory_slot *slot, gfn_t gfn)
{
	bool fixed = false;
	u64 *sptep, spte;
	int level;

	read_lock(&mmu->lock);
	sptep = kvmmu_tdp_lookup_leaf(mmu, gfn, &level);
	if (!sptep)
		goto out;
	if (level > PG_LEVEL_4K && slot->dirty_bitmap)
		goto out;
	spte = READ_ONCE(*sptep);
	do {
		if (!kvmmu_spte_present(spte) ||
		    !kvmmu_spte_is_leaf(spte, level) ||
		    !(spte & KVMMU_SPTE_HOST_WRITABLE))
			goto out;
		/* Another vCPU's fault, fast or slow, got there first. */
		if (spte & KVMMU_SPTE_WRITABLE) {
			fixed = true;
			goto out;
		}
	} while (!try_cmpxchg64(sptep, &spte, spte | KVMMU_SPTE_WRITABLE |
						     KVMMU_SPTE_DIRTY));
	if (slot->dirty_bitmap)
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
	atomic64_inc(&mmu->stats.fast);
	fixed = true;
out:
	kvmmu_mmu_read_unlock(mmu);
	return fixed;
}

/**
 * kvmmu_tdp_dump_collect - the next batch of leaves for debugfs.
 * @mmu: the MMU; mmu->lock held for read.
 * @b: collects leaves at or after @b->next, up to KVMMU_DUMP_BATCH, and
 *     moves @b->next past the last one.
 *
 * Return: false when the batch filled up before the end of the NPT.
 */
bool kvmmu_tdp_dump_collect(struct kvmmu_mmu *mmu, struct kvmmu_dump_batch *b)
{
	struct kvmmu_iter iter;

	for_each_npt_leaf(iter, mmu, b->next, mmu->max_gfn) {
		if (iter.gfn < b->next)
			continue;	/* appeared since the last batch */
		if (b->n == KVMMU_DUMP_BATCH)
			return false;
		b->leaf[b->n].gfn = iter.gfn;
		b->leaf[b->n].spte = iter.old_spte;
		b->leaf[b->n].level = iter.level;
		b->n++;
		b->next = iter.gfn + KVMMU_PAGES_PER(iter.level);
	}
	return true;
}
