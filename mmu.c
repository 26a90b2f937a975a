// SPDX-License-Identifier: GPL-2.0
/*
 * The TDP MMU for AMD nested paging (NPT).
 *
 * This file is the MMU's core: the fault's entry (memslot, GUP, host
 * mapping level, the invalidation retry), the flush-and-unlock that ends
 * every zap, dirty logging's bookkeeping, the VM's lifetime and debugfs.
 * The NPT's own walks and changes are in tdp.c (all through the iterator
 * of tdp_iter.h), the SPTE format in spte.h.
 *
 * What it is
 * ----------
 * Each VM has one nested page table: a 4-level x86-64 page table whose root
 * goes into the VMCB's nCR3 and which maps guest physical addresses (of
 * address space 0; SMM is not supported) to host physical ones. It starts
 * empty. When the guest touches a GPA the table does not map, the CPU exits
 * with #NPF and kvmmu_mmu_page_fault() builds the mapping:
 *
 *   GPA -> memslot -> HVA -> (GUP) host page -> leaf SPTE, 4K, 2M or 1G
 *
 * (An HVA in a VM_IO or VM_PFNMAP mapping, e.g. a PCI BAR, has no page for
 * GUP: its PFN is read from the host PTE instead, as KVM does.) The host
 * stays the owner of the memory: the page reference taken by GUP is
 * dropped as soon as the SPTE is in place, and when a leaf goes, its
 * accessed and dirty bits are handed to the page. What keeps the SPTE honest is
 * the mmu notifier (notifier.c): before the host changes or frees a page
 * it calls invalidate_range_start, which zaps the SPTEs of that range.
 *
 * Races with invalidations
 * ------------------------
 * A fault reads mmu->invalidate_seq before GUP. Under the MMU lock, before
 * installing, it retries (returns 0 and lets the guest fault again) if an
 * invalidation ran since (the sequence moved) or is running over the HVAs
 * the new leaf would map. Otherwise any later invalidation starts after
 * the install and will zap it. Like KVM, the host mapping level is read
 * locklessly; unlike KVM it is read before the lock: a huge page that
 * splits or collapses meanwhile is an invalidation, caught the same way.
 * The in-progress range is kept in HVAs, not GFNs, so a slot created
 * during an invalidation cannot slip through.
 *
 * Concurrency
 * -----------
 * Faults of several vCPUs run in parallel under mmu->lock taken for read:
 * they only ever turn an SPTE from one value into another with cmpxchg
 * and give up (retry) when they lose a race. Tables are linked in with
 * cmpxchg; a loser returns its page to its vCPU's cache. Faults never
 * detach a table. Zaps (notifiers, memslot changes, zap_all) take the lock
 * for write and may detach whole tables; detached pages are freed only
 * after the remote TLB flush and then an RCU grace period, so neither a
 * vCPU's paging-structure cache nor a lockless walker (none today) can see
 * a reused page. A write to a present leaf that dirty logging made
 * read-only skips GUP: kvmmu_tdp_fast_page_fault() gives the write access
 * back in place, under the read lock too. See Documentation/locking.rst.
 *
 * No reverse map
 * --------------
 * Everybody who needs the leaves of a guest frame range (notifiers, after
 * the HVA -> GFN step through the memslots; write protection for dirty
 * logging; aging) asks by GFN, and the NPT is indexed by GFN: the range
 * walk kvmmu_mmu_walk_leaves() finds them in the tables themselves, as
 * KVM's TDP MMU does. Until 2026-12 kvmmu kept a GFN -> SPTE xarray beside
 * the NPT (rmap.c); every fault and every zap paid for it with xarray
 * reserve, add and remove, and no walk needed it. A shadow MMU, which maps
 * one GFN from many shadow pages, needs such a map again: rmap.c, built
 * for it (issue 18) and not used by the TDP MMU.
 *
 * Huge pages: the level is min(host mapping level, memslot alignment, 4K
 * when the slot logs dirty pages). If a table already sits where a huge
 * leaf would go, the fault maps the smaller size instead of replacing the
 * table under the read lock; zaps of whole ranges free such tables, so huge
 * mappings come back after e.g. a THP collapse.
 *
 * Exclusion rules
 * ---------------
 * - SPTEs change only under mmu->lock: with cmpxchg under the read lock,
 *   with xchg/WRITE_ONCE under the write lock. The CPU may set A/D at any
 *   time, hence atomic updates even under the write lock for leaves.
 * - Table pages are linked under either lock, detached only under the
 *   write lock, freed after a TLB flush plus call_rcu().
 * - invalidate_seq/in_progress/range change only under the write lock.
 * - The vCPU page cache (vcpu->mmu) belongs to the vCPU's thread.
 *
 * debugfs (kvmmu_mmu_debugfs_init)
 * --------------------------------
 *   mappings  one line per present leaf, in GPA order:
 *               "<gpa> <pfn> <4K|2M|1G> <w|-><a|-><d|->"
 *             gpa and pfn in hex with 0x, w = writable, a = accessed,
 *             d = dirty; then "pages_4k N", "pages_2m N", "pages_1g N"
 *             counting the leaves listed. Built in batches under the read
 *             lock, so a dump racing with faults is not one snapshot.
 *             tdp=0: one 4K line per guest frame some shadow leaf maps
 *             (the GPA -> HPA half of GVA -> HPA), w/a/d of any of them.
 *   stats     "name value" lines: faults, mmio (KVMMU_PF_EMULATE
 *             returns), retries (faults that lost to an invalidation or
 *             a racing vCPU), fast (write faults fixed in place by
 *             kvmmu_tdp_fast_page_fault()), invalidations
 *             (invalidate_range_start calls), zaps (zap operations that removed something),
 *             zapped (leaves removed), pages_4k, pages_2m, pages_1g
 *             (present leaves now), table_pages (root included).
 *   pagemap   binary, one u64 per GFN: present, PFN, level, w/a/d, slot,
 *             dirty-logging state; the format is in pagemap.h, the tool
 *             that reads it is tools/gpa-pagemap.
 *   shadow_pages  tdp=0: a header, then one line per shadow page (gfn,
 *             role fields, root count, parents, present SPTEs, unsync);
 *             made by shadow_mmu.c, format in Documentation/mmu.rst.
 *             The header only with the NPT.
 */

#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>

#include "mmu.h"
#include "emulate.h"
#include "pagemap.h"
#include "trace.h"

/*
 * tdp=0, or a CPU without nested paging (svm.c clears it then): every VM
 * gets the shadow MMU (shadow_mmu.c). Read-only once loaded: /sys/module
 * shows the MMU in use.
 */
bool kvmmu_tdp = true;
module_param_named(tdp, kvmmu_tdp, bool, 0444);
MODULE_PARM_DESC(tdp, "use nested paging (NPT); 0: the shadow MMU");

/**
 * kvmmu_mmu_phys_bits - the one guest physical address limit.
 *
 * Memslots may not reach past it (memslot.c), the NPT covers it, and
 * CPUID 0x80000008 reports it to guests (x86.c). The host's MAXPHYADDR is
 * read raw from CPUID, as KVM's kvm_host.maxphyaddr is; the NPT has four
 * levels below the fixed level-5 entry, hence at most 48 bits (KVM maps
 * up to 52 with a level-5 NPT: a host with more than 48 bits sees EINVAL
 * from kvmmu where KVM accepts the slot).
 *
 * Return: min(host MAXPHYADDR, 48).
 */
unsigned int kvmmu_mmu_phys_bits(void)
{
	static unsigned int cached;	/* CPUID exits when we are a guest */
	unsigned int bits = READ_ONCE(cached);

	if (bits)
		return bits;
	bits = 36;
	if (cpuid_eax(0x80000000) >= 0x80000008)
		bits = cpuid_eax(0x80000008) & 0xff;
	bits = min_t(unsigned int, bits, KVMMU_MAX_PHYS_BITS);
	WRITE_ONCE(cached, bits);
	return bits;
}

/* ---- the per-vCPU page cache ---- */

/**
 * kvmmu_mmu_topup - fill a vCPU's cache of table pages.
 * @vcpu: the vCPU; its thread, outside any MMU lock.
 *
 * Called by kvmmu_mmu_page_fault() itself; other callers need not bother.
 * May sleep (GFP_KERNEL_ACCOUNT).
 *
 * Return: 0 when the cache holds enough for one fault; -ENOMEM otherwise.
 */
int kvmmu_mmu_topup(struct kvmmu_vcpu *vcpu)
{
	struct kvmmu_mmu_vcpu *cache = vcpu->mmu;

	while (cache->nr_pages < KVMMU_PAGE_CACHE_SIZE) {
		void *page = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!page) {
			if (cache->nr_pages >= KVMMU_ROOT_LEVEL - 1)
				break;
			return -ENOMEM;
		}
		cache->pages[cache->nr_pages++] = page;
	}
	return 0;
}

/**
 * kvmmu_mmu_vcpu_init - give a vCPU its MMU state.
 * @vcpu: the new vCPU; vcpu->mmu is NULL.
 *
 * The cache starts empty: the first fault fills it.
 *
 * Return: 0, or -ENOMEM.
 */
int kvmmu_mmu_vcpu_init(struct kvmmu_vcpu *vcpu)
{
	vcpu->mmu = kzalloc(sizeof(*vcpu->mmu), GFP_KERNEL_ACCOUNT);
	if (!vcpu->mmu)
		return -ENOMEM;
	kvmmu_shadow_vcpu_init(vcpu->mmu);
	return 0;
}

/**
 * kvmmu_mmu_vcpu_destroy - free a vCPU's MMU state.
 * @vcpu: the vCPU; NULL vcpu->mmu (init failed or not run) is fine.
 */
void kvmmu_mmu_vcpu_destroy(struct kvmmu_vcpu *vcpu)
{
	struct kvmmu_mmu_vcpu *cache = vcpu->mmu;

	if (!cache)
		return;
	kvmmu_shadow_vcpu_destroy(vcpu->vm->mmu, cache);
	while (cache->nr_pages)
		free_page((unsigned long)kvmmu_cache_pop(cache));
	kfree(cache);
	vcpu->mmu = NULL;
}

/* ---- zap: under mmu->lock for write ---- */

DEFINE_PER_CPU(unsigned int, kvmmu_unflushed);
atomic_t kvmmu_ledger_fired = ATOMIC_INIT(0);
bool kvmmu_ledger_quiet;

/**
 * kvmmu_refcounted_page - the page of a PFN, if the kernel refcounts it.
 * @pfn: a host frame, e.g. from a VM_PFNMAP PTE.
 *
 * As KVM's kvm_pfn_to_refcounted_page(): a reserved page (a driver's, or
 * the memmap of a hole) has no refcount to take, except the zero page and
 * ZONE_DEVICE pages.
 *
 * Return: the page, or NULL for a PFN without a memmap (a PCI BAR) or a
 * reserved page.
 */
struct page *kvmmu_refcounted_page(unsigned long pfn)
{
	struct page *page;

	if (!pfn_valid(pfn))
		return NULL;
	page = pfn_to_page(pfn);
	if (!PageReserved(page) || is_zero_pfn(pfn) ||
	    is_zone_device_page(page))
		return page;
	return NULL;
}

static void free_table_rcu(struct rcu_head *head)
{
	__free_page(container_of(head, struct page, rcu_head));
}

/* Tables detached and flushed: free them once lockless walkers are gone. */
static void free_tables(struct list_head *freed)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, freed, lru) {
		list_del(&page->lru);
		call_rcu(&page->rcu_head, free_table_rcu);
	}
}

/**
 * kvmmu_mmu_flush_locked - flush every vCPU's TLB, mmu->lock held.
 * @mmu: the MMU; its lock held for read or write by the caller, who
 *       zapped or write-protected SPTEs under it.
 *
 * Squares the debug ledger. Does not sleep (see kvmmu_flush_remote_tlbs()).
 */
void kvmmu_mmu_flush_locked(struct kvmmu_mmu *mmu)
{
	lockdep_assert_held(&mmu->lock);
	kvmmu_flush_remote_tlbs(mmu->vm);
	kvmmu_ledger_flushed();
	/* A shadow MMU flushes under the write lock: sh_unflushed's lock. */
	if (mmu->shadow)
		mmu->sh_unflushed = false;
}

/**
 * kvmmu_mmu_zap_unlock - end a zap: flush, release mmu->lock, free tables.
 * @mmu: the MMU; mmu->lock held for write.
 * @flush: the zap removed SPTEs or took write access away.
 * @freed: table pages the zap detached; freed after the flush and an RCU
 *         grace period. Emptied.
 *
 * The order is KVM's (__kvm_handle_hva_range(), kvm_mmu_zap_all_fast()):
 * the flush happens before the lock is released, so that the next holder
 * of the lock, e.g. a second invalidation of the same range that finds
 * nothing left to zap, never returns while a vCPU still translates
 * through an SPTE that this zap removed.
 */
void kvmmu_mmu_zap_unlock(struct kvmmu_mmu *mmu, bool flush,
			  struct list_head *freed)
	__releases(&mmu->lock)
{
	lockdep_assert_held_write(&mmu->lock);
	if (mmu->shadow && !list_empty(&mmu->sp_zapped))
		flush = true;
	if (flush || !list_empty(freed))
		kvmmu_mmu_flush_locked(mmu);
	/* Shadow pages: no lockless walker, freed once flushed. */
	if (mmu->shadow)
		kvmmu_shadow_commit_delete(&mmu->sp, &mmu->sp_zapped);
	kvmmu_mmu_write_unlock(mmu);
	free_tables(freed);
}

/* Zap a range from process context, yielding on long walks. */
static void zap_range_flush(struct kvmmu_mmu *mmu, int as_id, gfn_t start,
			    gfn_t end)
{
	LIST_HEAD(freed);
	bool flush;
	int idx;

	/* The shadow MMU finds its leaves through the memslots. */
	idx = srcu_read_lock(&mmu->vm->srcu);
	write_lock(&mmu->lock);
	if (mmu->shadow && as_id)
		flush = false;
	else if (mmu->shadow && !start && end >= mmu->max_gfn)
		flush = kvmmu_shadow_zap_all(mmu, true);	/* the whole VM */
	else if (mmu->shadow)
		flush = kvmmu_shadow_zap_range(mmu, start, end, true);
	else
		flush = kvmmu_tdp_zap_range(mmu, as_id, start, end, &freed,
					    true);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	srcu_read_unlock(&mmu->vm->srcu, idx);
}

/**
 * kvmmu_mmu_zap_all - remove every mapping of the VM and flush TLBs.
 * @vm: the VM; a NULL vm->mmu is fine (nothing to zap).
 *
 * Process context, no MMU lock held. May sleep: the walk yields.
 */
void kvmmu_mmu_zap_all(struct kvmmu_vm *vm)
{
	if (vm->mmu)
		zap_range_flush(vm->mmu, 0, 0, vm->mmu->max_gfn);
}

/**
 * kvmmu_mmu_zap_memslot - drop every SPTE built from @slot and flush TLBs.
 * @vm: the VM owning the slot; a NULL vm->mmu is fine.
 * @slot: the slot being deleted or moved (already invisible to new faults:
 *        its INVALID copy is published and SRCU readers have drained).
 *
 * Called with vm->slots_lock held. May sleep.
 */
void kvmmu_mmu_zap_memslot(struct kvmmu_vm *vm,
			   const struct kvmmu_memory_slot *slot)
{
	if (vm->mmu)
		zap_range_flush(vm->mmu, slot->as_id, slot->base_gfn,
				slot->base_gfn + slot->npages);
}

static int host_mapping_level(struct mm_struct *mm, unsigned long hva);
static int fault_level(const struct kvmmu_memory_slot *slot, gfn_t gfn,
		       int host_level, int max_level);

/*
 * Logging turned off: zap the 2M ranges of @slot that a huge leaf could map
 * now (the host maps them huge, the slot's alignment allows), so that the
 * next faults map them huge again. Leaves elsewhere stay: read-only ones
 * become writable on their next write fault. Zapping the whole slot would
 * make every page fault again (measured: 300x KVM's time to turn logging
 * off, Documentation/performance.rst).
 */
static void recover_huge_pages(struct kvmmu_vm *vm,
			       const struct kvmmu_memory_slot *slot)
{
	const u64 per = KVMMU_PAGES_PER(PG_LEVEL_2M);
	gfn_t gfn, end = slot->base_gfn + slot->npages;
	struct kvmmu_mmu *mmu = vm->mmu;
	LIST_HEAD(freed);
	bool flush = false;
	int level;

	write_lock(&mmu->lock);
	for (gfn = ALIGN(slot->base_gfn, per); gfn + per <= end; gfn += per) {
		level = host_mapping_level(vm->mm,
					   kvmmu_memslot_gfn_to_hva(slot, gfn));
		if (fault_level(slot, gfn, level, mmu->max_level) > PG_LEVEL_4K)
			flush |= kvmmu_zap_gfn_range(mmu, slot->as_id, gfn,
						     gfn + per, &freed);
		/* A slot has many 2M ranges: yield as kvmmu_tdp_zap_range() does. */
		if (need_resched() || rwlock_needbreak(&mmu->lock)) {
			kvmmu_mmu_zap_unlock(mmu, flush, &freed);
			atomic64_inc(&mmu->stats.yields);
			flush = false;
			cond_resched();
			write_lock(&mmu->lock);
		}
	}
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
}

/**
 * kvmmu_mmu_memslot_flags_changed - react to a flags-only memslot update.
 * @vm: the VM owning the slot; a NULL vm->mmu is fine.
 * @old: the slot before the change.
 * @new: the slot after it, already published.
 *
 * Dirty logging turned on: every leaf of the slot is write-protected
 * through the reverse map, so the next write to any page faults and is
 * logged; huge leaves stay (read-only) and are split by that write fault
 * (see Documentation/dirty-logging.rst). With KVM_DIRTY_LOG_INITIALLY_SET
 * nothing is protected: the log starts full and KVM_CLEAR_DIRTY_LOG
 * protects what it clears. Turned off: the ranges the host maps huge are
 * zapped, so faults map them with huge pages again. Called with
 * vm->slots_lock held, by the VM's owner (its page tables are read). May
 * sleep.
 */
void kvmmu_mmu_memslot_flags_changed(struct kvmmu_vm *vm,
				     const struct kvmmu_memory_slot *old,
				     const struct kvmmu_memory_slot *new)
{
	struct kvmmu_mmu *mmu = vm->mmu;
	LIST_HEAD(freed);
	bool flush;

	if (!mmu || !((old->flags ^ new->flags) & KVM_MEM_LOG_DIRTY_PAGES))
		return;
	/* Shadow leaves are 4K: nothing to recover when logging stops. */
	if (mmu->shadow && !(new->flags & KVM_MEM_LOG_DIRTY_PAGES))
		return;
	if (!(new->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		recover_huge_pages(vm, new);
		return;
	}
	if (vm->manual_dirty_log_protect & KVM_DIRTY_LOG_INITIALLY_SET)
		return;
	write_lock(&mmu->lock);
	/* Shadow: through the slot's rmap, yielding (no SPTE in SMM's). */
	if (mmu->shadow)
		flush = !new->as_id &&
			kvmmu_shadow_wrprot_range(mmu, new, new->base_gfn,
						  new->base_gfn + new->npages,
						  true);
	else
		flush = kvmmu_tdp_write_protect_range(mmu, new->as_id,
						      new->base_gfn,
						      new->base_gfn + new->npages,
						      &freed);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
}

/**
 * kvmmu_mmu_reprotect_dirty - take or clear part of a slot's log, re-arm it.
 * @vm: the VM.
 * @slot: a slot with a dirty bitmap, held stable by vm->slots_lock.
 * @first: index of the first bitmap word to work on.
 * @n: number of words.
 * @buf: @n words. With @harvest, receives the log (KVM_GET_DIRTY_LOG
 *       without manual protection); else holds the bits the VMM wants
 *       cleared (KVM_CLEAR_DIRTY_LOG).
 * @harvest: take the words whole (exchange with zero) rather than clear
 *           the bits of @buf.
 *
 * Under the MMU lock for write, so that no fault can log in between, the
 * bits are taken out of the log and their pages write-protected: the next
 * write to any of them faults and is logged again. The TLBs are flushed
 * before returning whenever a bit was taken, so no write can go through a
 * stale writable entry after the VMM has seen the log, not even one that
 * a concurrent zap removed but has not flushed yet. Process context, no
 * MMU lock held.
 *
 * Return: number of pages taken out of the log.
 */
unsigned long kvmmu_mmu_reprotect_dirty(struct kvmmu_vm *vm,
					struct kvmmu_memory_slot *slot,
					unsigned long first, unsigned long n,
					unsigned long *buf, bool harvest)
{
	struct kvmmu_mmu *mmu = vm->mmu;
	unsigned long i, mask, pages = 0;
	LIST_HEAD(freed);
	bool flush = false;

	/* Created with the VM: an ioctl never sees a VM without its MMU. */
	if (WARN_ON_ONCE(!mmu))
		return 0;

	write_lock(&mmu->lock);
	for (i = 0; i < n; i++) {
		atomic_long_t *word =
			(atomic_long_t *)&slot->dirty_bitmap[first + i];

		if (harvest) {
			mask = atomic_long_xchg(word, 0);
			buf[i] = mask;
		} else {
			mask = buf[i];
			if (mask)
				mask &= atomic_long_fetch_andnot(mask, word);
		}
		if (!mask)
			continue;
		pages += hweight_long(mask);
		if (mmu->shadow) {
			gfn_t base = slot->base_gfn + (first + i) * BITS_PER_LONG;
			unsigned long bit;

			for_each_set_bit(bit, &mask, BITS_PER_LONG)
				if (!slot->as_id)
					kvmmu_shadow_wrprot_range(mmu, slot,
								  base + bit,
								  base + bit + 1,
								  false);
		} else {
			kvmmu_tdp_write_protect_mask(mmu, slot->as_id,
						     slot->base_gfn +
						     (first + i) * BITS_PER_LONG,
						     mask);
		}
		/* As kvm_get_dirty_log_protect(): flush whenever bits went. */
		flush = true;
	}
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	return pages;
}

/* ---- the fault ---- */

/* Whether an invalidation ran since @fault->seq or runs over the leaf. */
static bool invalidate_retry(struct kvmmu_mmu *mmu,
			     const struct kvmmu_page_fault *fault)
{
	u64 pages = KVMMU_PAGES_PER(fault->level);
	unsigned long start =
		fault->hva - ((fault->gfn & (pages - 1)) << PAGE_SHIFT);
	unsigned long end = start + (pages << PAGE_SHIFT);

	lockdep_assert_held(&mmu->lock);
	if (mmu->invalidate_in_progress &&
	    start < mmu->invalidate_end && end > mmu->invalidate_start)
		return true;
	return mmu->invalidate_seq != fault->seq;
}

/*
 * Install @m, from @cache, unless an invalidation got in the way.
 * *@installed tells whether a leaf now maps the page (to mark it dirty).
 * Return: 0 (installed, spurious or retry) or -ENOMEM.
 */
static int mmu_map(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *cache,
		   struct kvmmu_page_fault *fault, bool *installed)
{
	int r;

	*installed = false;
	for (;;) {
		read_lock(&mmu->lock);
		if (invalidate_retry(mmu, fault)) {
			r = KVMMU_MAP_RETRY;
		} else {
			r = kvmmu_tdp_map(mmu, cache, fault);
			/*
			 * Logged under the lock that kvmmu_mmu_reprotect_dirty()
			 * takes for write: a writable leaf is never installed
			 * after the harvest that would have reported it.
			 */
			if (r == KVMMU_MAP_DONE && fault->writable &&
			    fault->dirty_bitmap)
				set_bit(fault->gfn - fault->base_gfn,
					fault->dirty_bitmap);
		}
		kvmmu_mmu_read_unlock(mmu);

		if (r != KVMMU_MAP_LOWER)
			break;
		fault->level--;
	}

	switch (r) {
	case KVMMU_MAP_DONE:
		trace_kvmmu_map(fault->gfn, fault->pfn, fault->level,
				fault->writable);
		*installed = true;
		return 0;
	case KVMMU_MAP_RETRY:
		atomic64_inc(&mmu->stats.retries);
		return 0;
	case KVMMU_MAP_NOMEM:
		return -ENOMEM;
	default:
		return 0;
	}
}

/*
 * The level at which the host maps @hva: 1G, 2M (THP, hugetlbfs) or 4K.
 * Lockless: IRQs off keep the page-table pages from being freed under us
 * (their freeing waits for an IPI or RCU), and each entry is read once,
 * since a table may turn into a huge leaf between two reads. The answer
 * is only a hint, checked by the invalidation sequence (see the top).
 */
static int host_mapping_level(struct mm_struct *mm, unsigned long hva)
{
	int level = PG_LEVEL_4K;
	unsigned long flags;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_leaf(pud)) {
		level = PG_LEVEL_1G;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (pmd_none(pmd) || !pmd_present(pmd))
		goto out;
	if (pmd_leaf(pmd))
		level = PG_LEVEL_2M;
out:
	local_irq_restore(flags);
	return level;
}

/*
 * The biggest leaf level for @gfn of @slot given the host's @host_level
 * and the MMU's @max_level: the slot's GFNs and HVAs must be congruent
 * modulo the leaf size and the whole leaf must lie inside the slot; dirty
 * logging wants 4K.
 */
static int fault_level(const struct kvmmu_memory_slot *slot, gfn_t gfn,
		       int host_level, int max_level)
{
	int level = min(host_level, max_level);

	if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES)
		return PG_LEVEL_4K;

	for (; level > PG_LEVEL_4K; level--) {
		u64 pages = KVMMU_PAGES_PER(level);
		gfn_t base = gfn & ~(pages - 1);

		if ((slot->base_gfn ^ (slot->userspace_addr >> PAGE_SHIFT)) &
		    (pages - 1))
			continue;
		if (base < slot->base_gfn ||
		    base + pages > slot->base_gfn + slot->npages)
			continue;
		break;
	}
	return level;
}

static int gup_errno(long r)
{
	switch (r) {
	case -EINTR:
	case -ERESTARTSYS:
	case -EHWPOISON:	/* the caller signals the VMM */
		return r;
	default:
		/*
		 * 0 pages, -EFAULT, -ENOMEM (a memcg at its limit, say):
		 * KVM_RUN fails EFAULT, as KVM's does.
		 */
		return -EFAULT;
	}
}

/*
 * Get a reference on the page at @hva of current's mm (never a long-term
 * pin: the notifier, not the reference, keeps the SPTE correct). For a
 * read on a writable slot, a writable page is taken when it comes cheap,
 * so that the guest's first write does not fault again.
 */
static int faultin_page(unsigned long hva, bool write, bool slot_writable,
			struct page **pagep, bool *writable)
{
	struct page *page, *wpage;
	long n;

	*writable = false;
	if (slot_writable && get_user_page_fast_only(hva, FOLL_WRITE, pagep)) {
		*writable = true;
		return 0;
	}

	/* FOLL_HWPOISON: a poisoned page is -EHWPOISON, not -EFAULT. */
	n = get_user_pages_unlocked(hva, 1, &page,
				    (write ? FOLL_WRITE : 0) | FOLL_HWPOISON);
	if (n != 1)
		return gup_errno(n);

	if (write) {
		*writable = true;
	} else if (slot_writable &&
		   get_user_page_fast_only(hva, FOLL_WRITE, &wpage)) {
		put_page(page);
		page = wpage;
		*writable = true;
	}
	*pagep = page;
	return 0;
}

/*
 * @hva lies in a VM_IO or VM_PFNMAP mapping (a PCI BAR through sysfs,
 * /dev/mem, a driver's remap_pfn_range()), which GUP refuses: read the
 * host PTE, faulting it in first, as KVM's hva_to_pfn_remapped() does.
 * The mmap lock is held for read; -EAGAIN when fixup_user_fault() had to
 * drop it (the VMA may be gone: look it up again).
 *
 * A PFN with a refcounted page gets a reference, taken under the PTE
 * lock, in *@pagep; one without (a BAR) has none to take, and needs none:
 * whoever maps it unmaps it (unmap_mapping_range(), munmap) before the
 * PFN goes away, and that is an invalidation like any other.
 *
 * Return: 0; KVMMU_PF_EMULATE for a write to a read-only PTE (the write
 * exits as MMIO, as KVM's KVM_PFN_ERR_RO_FAULT does); -EFAULT; -EAGAIN;
 * or the error of fixup_user_fault() (-EINTR on a fatal signal).
 */
static int faultin_remapped(struct vm_area_struct *vma, unsigned long hva,
			    bool write, u64 *pfn, struct page **pagep,
			    bool *writable)
{
	bool unlocked = false;
	unsigned long p;
	int r;

	r = kvmmu_follow_pfn(vma, hva, &p, writable, pagep);
	if (r && r != -EFAULT) {
		r = fixup_user_fault(vma->vm_mm, hva,
				     write ? FAULT_FLAG_WRITE : 0, &unlocked);
		if (unlocked)
			return -EAGAIN;
		if (r)
			return r;
		r = kvmmu_follow_pfn(vma, hva, &p, writable, pagep);
	}
	if (r)
		return r;
	if (write && !*writable) {
		if (*pagep)
			put_page(*pagep);
		return KVMMU_PF_EMULATE;
	}
	*pfn = p;
	return 0;
}

/*
 * The host frame behind @hva, as KVM's hva_to_pfn(): GUP, or for VM_IO
 * and VM_PFNMAP mappings their PTE. *@pagep is the referenced page to
 * release, or NULL for a frame the kernel does not refcount; *@gup tells
 * whether GUP gave it (its dirty state is ours to set).
 */
static int faultin_pfn(unsigned long hva, bool write, bool slot_writable,
		       u64 *pfn, struct page **pagep, bool *writable,
		       bool *gup)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	int r;

	*gup = true;
	r = faultin_page(hva, write, slot_writable, pagep, writable);
	if (!r)
		*pfn = page_to_pfn(*pagep);
	if (r != -EFAULT)
		return r;

	*gup = false;
	mmap_read_lock(mm);
	do {
		vma = vma_lookup(mm, hva);
		if (vma && (vma->vm_flags & (VM_IO | VM_PFNMAP)))
			r = faultin_remapped(vma, hva, write, pfn, pagep,
					     writable);
		else
			r = -EFAULT;
	} while (r == -EAGAIN);
	mmap_read_unlock(mm);
	if (r < 0)
		return gup_errno(r);
	if (!r && !slot_writable)
		*writable = false;
	return r;
}

/*
 * Both MMUs' memslot step (KVM's kvm_mmu_faultin_pfn() checks), SRCU
 * held: no usable slot, or a write to a read-only one, is MMIO
 * (KVMMU_PF_EMULATE); GUP works on current->mm, so only the VM's owner
 * may fault (-EFAULT). Return: 0 with @fault->slot set, or one of those.
 */
static int fault_memslot(struct kvmmu_vm *vm, struct kvmmu_page_fault *fault)
{
	fault->slot = kvmmu_gfn_to_memslot(kvmmu_memslots(vm, 0), fault->gfn);
	if (!fault->slot || (fault->slot->flags & KVMMU_MEMSLOT_INVALID) ||
	    (fault->write && (fault->slot->flags & KVM_MEM_READONLY))) {
		atomic64_inc(&vm->mmu->stats.emulate);
		return KVMMU_PF_EMULATE;
	}
	if (current->mm != vm->mm)
		return -EFAULT;
	return 0;
}

/*
 * Both MMUs' step from a fault's memslot to its host page, as KVM's
 * kvm_faultin_pfn(): the invalidation sequence is read before GUP reads
 * the host PTE (see the top); a logged slot gives write access only to a
 * write fault. Return: 0 with @fault's page taken, KVMMU_PF_EMULATE
 * (MMIO), -EHWPOISON when the page is poisoned (the VMM's SIGBUS is
 * sent, as kvm_send_hwpoison_signal(): the vCPU leaves KVM_RUN for it
 * before touching the page again), or an errno.
 */
static int fault_faultin(struct kvmmu_mmu *mmu, struct kvmmu_page_fault *fault)
{
	int r;

	fault->hva = kvmmu_memslot_gfn_to_hva(fault->slot, fault->gfn);
	fault->seq = READ_ONCE(mmu->invalidate_seq);
	/* Read the sequence before GUP reads the host PTE; see the top. */
	smp_rmb();
	r = faultin_pfn(fault->hva, fault->write,
			!(fault->slot->flags & KVM_MEM_READONLY), &fault->pfn,
			&fault->page, &fault->writable, &fault->gup);
	if (r == -EHWPOISON) {
		send_sig_mceerr(BUS_MCEERR_AR, (void __user *)fault->hva,
				PAGE_SHIFT, current);
		return r;
	}
	if (r == KVMMU_PF_EMULATE)
		atomic64_inc(&mmu->stats.emulate);
	if (r)
		return r;
	if (fault->slot->dirty_bitmap) {
		fault->writable = fault->writable && fault->write;
		fault->dirty_bitmap = fault->slot->dirty_bitmap;
		fault->base_gfn = fault->slot->base_gfn;
	}
	return 0;
}

/**
 * kvmmu_mmu_page_fault - handle a TDP fault (SVM: #NPF).
 * @vcpu: the faulting vCPU; called from its own thread.
 * @gpa: the faulting guest physical address (SVM: EXITINFO2).
 * @error_code: KVMMU_PFERR_* (SVM: EXITINFO1 as it is). Only the write
 *              and present bits change what is done.
 *
 * Context: process context, may sleep (GUP, page allocation, TLB flush);
 * no MMU lock held; current->mm must be vm->mm (the VM's owner); vm->srcu
 * may be held or not (it is taken here). Calls for one vCPU must not run
 * concurrently (vcpu->mutex); calls for different vCPUs may.
 *
 * Return:
 * * 0                - a mapping is installed, or was already there, or
 *                      the fault lost a race: enter the guest again.
 * * KVMMU_PF_EMULATE - no memslot, an INVALID slot (being deleted or
 *                      moved), a write to a READONLY slot or to a
 *                      read-only VM_PFNMAP/VM_IO PTE, or a GPA beyond the
 *                      guest MAXPHYADDR: emulate (MMIO).
 * * -EFAULT          - no frame: HVA not mapped, write to a read-only
 *                      VMA, no memory (memcg limit), a VM_PFNMAP page
 *                      being freed, or called from another mm. KVM_RUN
 *                      should fail with it. A hardware-poisoned page is 0
 *                      instead, with SIGBUS (BUS_MCEERR_AR) sent to the
 *                      VMM, as KVM.
 * * -EINTR, -ERESTARTSYS - a fatal signal interrupted GUP.
 * * -ENOMEM          - no memory for table pages (GUP out of memory is
 *                      -EFAULT, as in KVM).
 */
int kvmmu_mmu_page_fault(struct kvmmu_vcpu *vcpu, u64 gpa, u64 error_code)
{
	struct kvmmu_vm *vm = vcpu->vm;
	struct kvmmu_mmu *mmu = vm->mmu;
	struct kvmmu_page_fault fault = {
		.addr = gpa,
		.error_code = error_code,
		.present = error_code & KVMMU_PFERR_PRESENT,
		.write = error_code & KVMMU_PFERR_WRITE,
		.gfn = gpa >> PAGE_SHIFT,
	};
	bool installed;
	int idx, r;

	atomic64_inc(&mmu->stats.faults);
	trace_kvmmu_fault(vcpu->vcpu_id, gpa, error_code);
	if (fault.gfn >= mmu->max_gfn) {
		atomic64_inc(&mmu->stats.emulate);
		return KVMMU_PF_EMULATE;
	}
	idx = srcu_read_lock(&vm->srcu);
	r = fault_memslot(vm, &fault);
	if (r)
		goto out;

	/* A write to a present page: most often dirty logging's doing. */
	if (fault.write && fault.present &&
	    kvmmu_tdp_fast_page_fault(mmu, fault.slot, fault.gfn)) {
		r = 0;
		goto out;
	}

	r = kvmmu_mmu_topup(vcpu);
	if (r)
		goto out;

	r = fault_faultin(mmu, &fault);
	if (r) {
		/* A poisoned page: leave KVM_RUN for the VMM's SIGBUS. */
		if (r == -EHWPOISON)
			r = 0;
		goto out;
	}

	fault.level = fault_level(fault.slot, fault.gfn,
				  host_mapping_level(vm->mm, fault.hva),
				  mmu->max_level);
	r = mmu_map(mmu, vcpu->mmu, &fault, &installed);

	/*
	 * The guest may write through the leaf without telling the host.
	 * A page found through a VM_PFNMAP PTE belongs to its driver: only
	 * the zap's SetPageDirty() (KVM's kvm_set_page_dirty()) touches it.
	 */
	if (installed && fault.writable && fault.gup && !PageDirty(fault.page))
		set_page_dirty_lock(fault.page);
	if (fault.page)
		put_page(fault.page);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

/* Whether the walk read one of its entries from the frame @gfn. */
static bool walk_uses_gfn(const struct kvmmu_walk *walk, gfn_t gfn)
{
	int level;

	for (level = walk->level; level <= walk->levels; level++)
		if (walk->pte_gpa[level - 1] >> PAGE_SHIFT == gfn)
			return true;
	return false;
}

/* An event whose delivery an exit cut short (kvm_event_needs_reinjection()). */
static bool shadow_event_needs_reinjection(const struct kvmmu_vcpu *vcpu)
{
	return vcpu->ev.exc_injected || vcpu->ev.nmi_injected ||
	       vcpu->ev.irq_injected;
}

/*
 * A write fault on @fault->gfn, which an indirect shadow page shadows;
 * mmu->lock held for write. Return: true for a table shadowed only as a
 * leaf table (kvmmu_shadow_map() makes its shadow pages unsync and maps
 * it writable); false with *@r the fault's result: the store emulated
 * first, as KVM's kvm_mmu_write_protect_fault() does, with
 * KVMMU_PF_WRITE_PT_RETRY (the caller may unprotect and retry instead:
 * kvmmu_shadow_unprotect_retry()) or KVMMU_PF_WRITE_PT (emulation is the
 * only way on), or 0 once the gfn's shadow pages are zapped (KVM's
 * kvm_mmu_unprotect_page(); *@flush set if a flush must precede the
 * unlock) for the guest to retry.
 */
static bool shadow_write_protected(struct kvmmu_vcpu *vcpu, u64 gva,
				   const struct kvmmu_walk *walk,
				   const struct kvmmu_page_fault *fault,
				   bool *flush, int *r)
{
	struct kvmmu_mmu *mmu = vcpu->vm->mmu;
	struct kvmmu_mmu_vcpu *c = vcpu->mmu;
	/*
	 * A second fault at the same RIP and address after an unprotect:
	 * the store's own fetch or walk needs the table (e.g. it maps the
	 * code), so a retry would loop (kvm_mmu_write_protect_fault()):
	 * emulate.
	 */
	bool again = c->last_retry_rip == vcpu->regs.rip &&
		     c->last_retry_addr == gva;
	bool own = walk_uses_gfn(walk, fault->gfn);

	c->last_retry_rip = 0;
	c->last_retry_addr = 0;
	if (!again && !own && kvmmu_shadow_can_unsync(mmu, fault->gfn))
		return true;
	/*
	 * An event cut short by this fault is delivered first: RIP is not
	 * the store's, so unprotect and retry (kvm_event_needs_reinjection()
	 * in kvm_mmu_write_protect_fault()).
	 */
	if (!again && shadow_event_needs_reinjection(vcpu)) {
		*flush = kvmmu_shadow_zap_gfn(mmu, fault->gfn);
		c->last_retry_rip = vcpu->regs.rip;
		c->last_retry_addr = gva;
		*r = 0;
		return false;
	}
	/*
	 * Emulated first; when the store's walk used the table or a retry
	 * came back, emulation is the only way on.
	 */
	kvmmu_shadow_clear_flood(vcpu, gva);
	*r = again || own ? KVMMU_PF_WRITE_PT : KVMMU_PF_WRITE_PT_RETRY;
	return false;
}

/**
 * kvmmu_shadow_unprotect_retry - let the guest redo a store to a guest table.
 * @vcpu: the vCPU whose store kvmmu_shadow_page_fault() gave back as
 *        KVMMU_PF_WRITE_PT_RETRY, not emulated; its own thread.
 * @gva: the store's linear address (CR2).
 * @gpa: its translation (the table).
 *
 * KVM's __kvm_mmu_unprotect_gfn_and_retry(): the table's shadow pages are
 * zapped (flushed before the lock goes), so the retried store maps the
 * page writable; RIP and @gva are kept so that a store that faults there
 * again is emulated instead (no loop).
 */
void kvmmu_shadow_unprotect_retry(struct kvmmu_vcpu *vcpu, u64 gva, u64 gpa)
{
	struct kvmmu_vm *vm = vcpu->vm;
	struct kvmmu_mmu *mmu = vm->mmu;
	LIST_HEAD(freed);
	bool flush;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	write_lock(&mmu->lock);
	flush = kvmmu_shadow_zap_gfn(mmu, gpa >> PAGE_SHIFT);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	srcu_read_unlock(&vm->srcu, idx);
	vcpu->mmu->last_retry_rip = vcpu->regs.rip;
	vcpu->mmu->last_retry_addr = gva;
}

/**
 * kvmmu_shadow_page_fault - handle a #PF under the shadow MMU (tdp=0).
 * @vcpu: the faulting vCPU; called from its own thread.
 * @gva: the faulting linear address (CR2).
 * @error_code: the #PF error code (KVMMU_PFERR_*).
 * @gpa: set to the translation when the walk succeeded.
 * @inject_error: set to the error code of a #PF to inject.
 *
 * KVM's FNAME(page_fault): the guest's tables are walked (A/D set as the
 * CPU would); a fault of the guest's own is the guest's; otherwise the
 * GPA is mapped as kvmmu_mmu_page_fault() maps one (memslot, GUP, the
 * invalidation retry) through shadow pages (shadow_mmu.c). A write to a
 * guest leaf table makes its shadow pages unsync and maps it writable; to
 * any other guest page table it is left to the caller to emulate, as KVM's
 * kvm_mmu_write_protect_fault() does: KVMMU_PF_WRITE_PT_RETRY when the
 * caller may instead unprotect and retry (kvmmu_shadow_unprotect_retry()),
 * KVMMU_PF_WRITE_PT when the walk itself used that table or the same RIP
 * and address faulted again after a retry (the table maps the store's own
 * code). With an event cut short by the fault, the table's shadow pages
 * are zapped and the store retried after the event's delivery.
 *
 * Context: as kvmmu_mmu_page_fault().
 *
 * Return: 0 (enter again), KVMMU_PF_INJECT (inject #PF with
 * *@inject_error, CR2 = @gva), KVMMU_PF_EMULATE (MMIO at *@gpa),
 * KVMMU_PF_WRITE_PT (emulate the store to the page table at *@gpa),
 * KVMMU_PF_WRITE_PT_RETRY (the same, or unprotect and retry), or an errno
 * as kvmmu_mmu_page_fault().
 */
int kvmmu_shadow_page_fault(struct kvmmu_vcpu *vcpu, u64 gva, u64 error_code,
			    u64 *gpa, u32 *inject_error)
{
	u32 access = error_code & (KVMMU_PFERR_WRITE | KVMMU_PFERR_USER |
				   KVMMU_PFERR_FETCH);
	struct kvmmu_vm *vm = vcpu->vm;
	struct kvmmu_mmu *mmu = vm->mmu;
	struct kvmmu_page_fault fault = {
		.error_code = error_code,
		.present = error_code & KVMMU_PFERR_PRESENT,
		.write = error_code & KVMMU_PFERR_WRITE,
		.level = PG_LEVEL_4K,
	};
	struct kvmmu_walk walk;
	LIST_HEAD(freed);
	bool flush = false;
	int idx, r;

	atomic64_inc(&mmu->stats.faults);
	trace_kvmmu_fault(vcpu->vcpu_id, gva, error_code);
	/* One section for the walk and the map, as KVM's vCPU holds one. */
	idx = srcu_read_lock(&vm->srcu);
	r = kvmmu_shadow_walk(vcpu, gva, access, &walk);
	if (r == -EAGAIN) {
		r = 0;
		goto out;
	}
	if (r == KVMMU_WALK_PAGE_FAULT) {
		*inject_error = walk.error_code;
		r = KVMMU_PF_INJECT;
		goto out;
	}
	if (r)
		goto out;
	*gpa = walk.gpa;
	fault.addr = walk.gpa;
	fault.gfn = walk.gpa >> PAGE_SHIFT;
	if (fault.gfn >= mmu->max_gfn) {
		atomic64_inc(&mmu->stats.emulate);
		r = KVMMU_PF_EMULATE;
		goto out;
	}
	r = fault_memslot(vm, &fault);
	if (r)
		goto out;
	r = kvmmu_shadow_topup(vcpu->mmu);
	if (r)
		goto out;

	r = fault_faultin(mmu, &fault);
	if (r) {
		/* A poisoned page: leave KVM_RUN for the VMM's SIGBUS. */
		if (r == -EHWPOISON)
			r = 0;
		goto out;
	}

	/*
	 * One lock for the write-protection check and the map, as KVM's
	 * FNAME(page_fault) takes it once (its page_fault_handle_page_track()
	 * reads a per-slot array without it): a write to a guest table is
	 * rare, so its host page is faulted in above for nothing.
	 */
	write_lock(&mmu->lock);
	if (fault.write && kvmmu_shadow_gfn_protected(mmu, fault.gfn) &&
	    !shadow_write_protected(vcpu, gva, &walk, &fault, &flush, &r)) {
		kvmmu_mmu_zap_unlock(mmu, flush, &freed);
		if (fault.page)
			put_page(fault.page);
		goto out;
	}
	if (invalidate_retry(mmu, &fault))
		r = KVMMU_MAP_RETRY;
	else
		r = kvmmu_shadow_map(mmu, vcpu, &walk, gva, &fault, &flush);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);

	if (r == KVMMU_MAP_DONE && fault.writable && fault.gup &&
	    !PageDirty(fault.page))
		set_page_dirty_lock(fault.page);
	if (r == KVMMU_MAP_RETRY)
		atomic64_inc(&mmu->stats.retries);
	r = r == KVMMU_MAP_NOMEM ? -ENOMEM : 0;
	if (fault.page)
		put_page(fault.page);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

/* ---- VM lifetime ---- */

static struct kvmmu_mmu *mmu_create(struct kvmmu_vm *vm,
				    unsigned int phys_bits, int max_level)
{
	struct kvmmu_mmu *mmu;

	mmu = kzalloc(sizeof(*mmu), GFP_KERNEL_ACCOUNT);
	if (!mmu)
		return NULL;
	mmu->fmt = &kvmmu_npt_format;
	mmu->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!mmu->root) {
		kfree(mmu);
		return NULL;
	}
	/* NPT walks use the host's paging mode: LA57 means five levels. */
	if (pgtable_l5_enabled()) {
		mmu->root5 = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!mmu->root5) {
			free_page((unsigned long)mmu->root);
			kfree(mmu);
			return NULL;
		}
		mmu->root5[0] = kvmmu_make_table_spte(mmu->fmt, mmu->root);
	}
	mmu->vm = vm;
	rwlock_init(&mmu->lock);
	mmu->phys_bits = phys_bits;
	mmu->max_gfn = 1ULL << (phys_bits - PAGE_SHIFT);
	mmu->max_level = max_level;
	kvmmu_account_tables(mmu, mmu->root, 1);
	if (!kvmmu_tdp && kvmmu_shadow_mmu_init(mmu)) {
		kvmmu_account_tables(mmu, mmu->root, -1);
		free_page((unsigned long)mmu->root5);
		free_page((unsigned long)mmu->root);
		kfree(mmu);
		return NULL;
	}
	return mmu;
}

/* Free everything; nobody can reach @mmu any more. */
static void mmu_free(struct kvmmu_mmu *mmu)
{
	/*
	 * No vCPU is left, so the flush is empty, but the walk of a big NPT
	 * yields like any other.
	 */
	zap_range_flush(mmu, 0, 0, mmu->max_gfn);
	/* The tables wait for RCU in our callback: wait for them. */
	rcu_barrier();
	kvmmu_shadow_mmu_destroy(mmu);
	free_page((unsigned long)mmu->root5);
	kvmmu_account_tables(mmu, mmu->root, -1);
	free_page((unsigned long)mmu->root);
	kfree(mmu);
}

/**
 * kvmmu_mmu_set_nr_mmu_pages - KVM_SET_NR_MMU_PAGES.
 * @vm: the VM.
 * @nr: the shadow MMU's page budget.
 *
 * KVM's kvm_vm_ioctl_set_nr_mmu_pages() and kvm_mmu_change_mmu_pages()
 * under tdp=0: the shadow pages beyond @nr are zapped, oldest first.
 * The TDP MMU has no budget: the call is accepted and ignored, whatever
 * @nr (KVM refuses less than 64 with -EINVAL even with TDP).
 *
 * Return: 0, or -EINVAL under tdp=0 for @nr below 64.
 */
int kvmmu_mmu_set_nr_mmu_pages(struct kvmmu_vm *vm, unsigned long nr)
{
	struct kvmmu_mmu *mmu;
	LIST_HEAD(freed);

	if (kvmmu_tdp)
		return 0;
	if (nr < 64)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	WRITE_ONCE(vm->n_requested_mmu_pages, nr);
	mmu = vm->mmu;
	if (mmu && mmu->shadow) {
		write_lock(&mmu->lock);
		kvmmu_shadow_make_pages_available(mmu, nr);
		kvmmu_mmu_zap_unlock(mmu, false, &freed);
	}
	mutex_unlock(&vm->slots_lock);
	return 0;
}

/**
 * kvmmu_mmu_vm_init - give a new VM its NPT and mmu notifier.
 * @vm: the VM; memslots initialised (kvmmu_memslots_init()), vm->mm set,
 *      vm->mmu NULL. Called by its creator, so current->mm == vm->mm.
 *
 * The NPT root covers the guest MAXPHYADDR kvmmu_mmu_phys_bits(). May
 * sleep (takes vm->mm's mmap lock to register the notifier).
 *
 * Return: 0; -ENOMEM; or the errno of mmu_notifier_register() (-EINTR if
 * interrupted by a fatal signal). On error vm->mmu stays NULL.
 */
int kvmmu_mmu_vm_init(struct kvmmu_vm *vm)
{
	int max_level = boot_cpu_has(X86_FEATURE_GBPAGES) ? PG_LEVEL_1G :
							    PG_LEVEL_2M;
	struct kvmmu_mmu *mmu;
	int r;

	mmu = mmu_create(vm, kvmmu_mmu_phys_bits(), max_level);
	if (!mmu)
		return -ENOMEM;
	r = kvmmu_mmu_notifier_register(mmu, vm->mm);
	if (r) {
		mmu_free(mmu);
		return r;
	}
	vm->mmu = mmu;
	return 0;
}

/**
 * kvmmu_mmu_notifier_stop - unregister the VM's mmu notifier.
 * @vm: the VM being destroyed; NULL vm->mmu is fine. Its vCPUs still
 *      exist: once this returns, no invalidation can flush their TLBs.
 *
 * May sleep (waits for callbacks in flight).
 */
void kvmmu_mmu_notifier_stop(struct kvmmu_vm *vm)
{
	if (vm->mmu)
		kvmmu_mmu_notifier_unregister(vm->mmu, vm->mm);
}

/**
 * kvmmu_mmu_vm_destroy - unregister the notifier and free every table.
 * @vm: the VM; NULL vm->mmu is fine. vm->mm is grabbed (mm_count), its
 *      address space may be gone. No vCPU may exist any more, the debugfs
 *      files must be removed, and the memslots not yet destroyed (a
 *      notifier callback in flight still reads them).
 *
 * May sleep (notifier SRCU, rcu_barrier()).
 */
void kvmmu_mmu_vm_destroy(struct kvmmu_vm *vm)
{
	struct kvmmu_mmu *mmu = vm->mmu;

	if (!mmu)
		return;
	kvmmu_mmu_notifier_unregister(mmu, vm->mm);
	vm->mmu = NULL;
	mmu_free(mmu);
}

/**
 * kvmmu_mmu_root_pa - the NPT root for the VMCB's nCR3.
 * @vm: the VM, with its MMU initialised.
 *
 * Return: the physical address of the top table (level 5 when the host
 * uses 5-level paging, else level 4); constant for the VM's life.
 */
u64 kvmmu_mmu_root_pa(struct kvmmu_vm *vm)
{
	struct kvmmu_mmu *mmu = vm->mmu;

	return __pa(mmu->root5 ? mmu->root5 : mmu->root);
}

/* ---- debugfs ---- */

static const char *const level_name[] = { "4K", "2M", "1G" };

static void mappings_print(struct seq_file *sf, const struct kvmmu_dump_batch *b,
			   u64 *count)
{
	int i;

	for (i = 0; i < b->n; i++) {
		u64 spte = b->leaf[i].spte;
		int level = b->leaf[i].level;

		seq_printf(sf, "%#018llx %#llx %s %c%c%c\n",
			   b->leaf[i].gfn << PAGE_SHIFT,
			   kvmmu_spte_pfn(spte), level_name[level - 1],
			   spte & KVMMU_SPTE_WRITABLE ? 'w' : '-',
			   spte & KVMMU_SPTE_ACCESSED ? 'a' : '-',
			   spte & KVMMU_SPTE_DIRTY ? 'd' : '-');
		count[level - 1]++;
	}
}

/*
 * tdp=0: the frames of each memslot, in GPA order, that shadow leaves map
 * (one line per frame whatever the number of guest mappings: the leaves
 * map GPA -> HPA alike; w/a/d of any of them). A batch of frames is
 * looked up under the read lock at a time.
 */
static void mappings_shadow(struct seq_file *sf, struct kvmmu_mmu *mmu,
			    struct kvmmu_dump_batch *b, u64 *count)
{
	struct kvmmu_memslots *slots;
	struct kvmmu_memory_slot *slot;
	gfn_t gfn, end, stop;
	int idx;
	u64 spte;

	idx = srcu_read_lock(&mmu->vm->srcu);
	slots = kvmmu_memslots(mmu->vm, 0);
	for (slot = kvmmu_memslot_first(slots); slot;
	     slot = kvmmu_memslot_next(slots, slot)) {
		gfn = slot->base_gfn;
		end = slot->base_gfn + slot->npages;
		while (gfn < end) {
			b->n = 0;
			/* Bounded in frames looked at, not only found. */
			stop = min_t(gfn_t, end, gfn + 8 * KVMMU_DUMP_BATCH);
			read_lock(&mmu->lock);
			for (; gfn < stop && b->n < KVMMU_DUMP_BATCH; gfn++) {
				if (!kvmmu_shadow_gfn_leaves(mmu, gfn, &spte))
					continue;
				b->leaf[b->n].gfn = gfn;
				b->leaf[b->n].spte = spte;
				b->leaf[b->n].level = PG_LEVEL_4K;
				b->n++;
			}
			read_unlock(&mmu->lock);
			mappings_print(sf, b, count);
			cond_resched();
		}
	}
	srcu_read_unlock(&mmu->vm->srcu, idx);
}

static int mappings_show(struct seq_file *sf, void *unused)
{
	struct kvmmu_mmu *mmu = sf->private;
	u64 count[KVMMU_MAX_HUGE_LEVEL] = {};
	struct kvmmu_dump_batch *b;
	bool done;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	if (mmu->shadow) {
		mappings_shadow(sf, mmu, b, count);
	} else {
		do {
			b->n = 0;
			read_lock(&mmu->lock);
			done = kvmmu_tdp_dump_collect(mmu, b);
			read_unlock(&mmu->lock);
			mappings_print(sf, b, count);
			cond_resched();
		} while (!done);
	}
	kfree(b);

	seq_printf(sf, "pages_4k %llu\npages_2m %llu\npages_1g %llu\n",
		   count[0], count[1], count[2]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mappings);

/**
 * kvmmu_mmu_read_counters - snapshot the MMU's counters.
 * @vm: the VM; all zero if it has no MMU.
 * @c: filled in. Each counter is read atomically, not all at once.
 */
void kvmmu_mmu_read_counters(struct kvmmu_vm *vm,
			     struct kvmmu_mmu_counters *c)
{
	struct kvmmu_mmu_stats *s;
	int i;

	memset(c, 0, sizeof(*c));
	if (!vm->mmu)
		return;
	s = &vm->mmu->stats;
	c->faults = atomic64_read(&s->faults);
	c->mmio = atomic64_read(&s->emulate);
	c->retries = atomic64_read(&s->retries);
	c->fast = atomic64_read(&s->fast);
	c->invalidations = atomic64_read(&s->invalidations);
	c->zaps = atomic64_read(&s->zaps);
	c->zapped = atomic64_read(&s->zapped);
	for (i = 0; i < PG_LEVEL_1G; i++)
		c->leaves[i] = atomic64_read(&s->leaves[i]);
	c->tables = atomic64_read(&s->tables);
	/* tdp=0: the shadow pages, what the page budget limits. */
	if (vm->mmu->shadow) {
		c->tables = READ_ONCE(vm->mmu->sp.nr_pages);
		c->unsync = READ_ONCE(vm->mmu->sp.nr_unsync);
		c->pte_write = atomic64_read(&s->pte_write);
		c->pde_zapped = atomic64_read(&s->pde_zapped);
		c->flooded = atomic64_read(&s->flooded);
	}
}

static int stats_show(struct seq_file *sf, void *unused)
{
	struct kvmmu_mmu_stats *s = &((struct kvmmu_mmu *)sf->private)->stats;

	seq_printf(sf, "faults %lld\nmmio %lld\nretries %lld\nfast %lld\n",
		   atomic64_read(&s->faults), atomic64_read(&s->emulate),
		   atomic64_read(&s->retries), atomic64_read(&s->fast));
	seq_printf(sf, "invalidations %lld\nzaps %lld\nzapped %lld\n",
		   atomic64_read(&s->invalidations), atomic64_read(&s->zaps),
		   atomic64_read(&s->zapped));
	seq_printf(sf, "pages_4k %lld\npages_2m %lld\npages_1g %lld\n",
		   atomic64_read(&s->leaves[0]), atomic64_read(&s->leaves[1]),
		   atomic64_read(&s->leaves[2]));
	seq_printf(sf, "table_pages %lld\n", atomic64_read(&s->tables));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

/* The pagemap entry of @gfn; vm->srcu and mmu->lock held. */
static u64 pagemap_entry(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	struct kvmmu_memory_slot *slot;
	u64 e = 0, *sptep, spte;
	int level;

	slot = kvmmu_gfn_to_memslot(kvmmu_memslots(mmu->vm, 0), gfn);
	if (slot && !(slot->flags & KVMMU_MEMSLOT_INVALID)) {
		e |= KVMMU_PM_SLOT;
		if (slot->dirty_bitmap) {
			e |= KVMMU_PM_LOGGING;
			if (test_bit(gfn - slot->base_gfn, slot->dirty_bitmap))
				e |= KVMMU_PM_LOGGED;
		}
	}
	if (mmu->shadow) {
		/* Shadow leaves are 4K; any of them gives the frame's PFN. */
		level = PG_LEVEL_4K;
		if (!kvmmu_shadow_gfn_leaves(mmu, gfn, &spte))
			return e;
	} else {
		sptep = kvmmu_tdp_lookup_leaf(mmu, gfn, &level);
		spte = sptep ? READ_ONCE(*sptep) : 0;
	}
	if (!kvmmu_spte_present(spte) || !kvmmu_spte_is_leaf(spte, level))
		return e;
	e |= KVMMU_PM_PRESENT;
	e |= (kvmmu_spte_pfn(spte) + (gfn & (KVMMU_PAGES_PER(level) - 1))) &
	     KVMMU_PM_PFN_MASK;
	e |= (u64)(level - 1) << KVMMU_PM_LEVEL_SHIFT;
	if (spte & KVMMU_SPTE_WRITABLE)
		e |= KVMMU_PM_WRITABLE;
	if (spte & KVMMU_SPTE_ACCESSED)
		e |= KVMMU_PM_ACCESSED;
	if (spte & KVMMU_SPTE_DIRTY)
		e |= KVMMU_PM_DIRTY;
	return e;
}

#define PAGEMAP_BATCH	64

/*
 * Read pagemap entries (format in pagemap.h), a batch at a time under the
 * locks so that a big read neither holds them long nor sleeps under them.
 */
static ssize_t pagemap_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct kvmmu_mmu *mmu = file->private_data;
	u64 buf[PAGEMAP_BATCH];
	gfn_t gfn, end;
	ssize_t done = 0;
	int i, n, idx;

	if (*ppos < 0 || (*ppos | count) % KVMMU_PM_ENTRY_BYTES)
		return -EINVAL;
	gfn = *ppos / KVMMU_PM_ENTRY_BYTES;
	if (gfn >= mmu->max_gfn)
		return 0;
	end = gfn + min_t(u64, count / KVMMU_PM_ENTRY_BYTES,
			  mmu->max_gfn - gfn);

	while (gfn < end) {
		n = min_t(u64, end - gfn, PAGEMAP_BATCH);
		idx = srcu_read_lock(&mmu->vm->srcu);
		read_lock(&mmu->lock);
		for (i = 0; i < n; i++)
			buf[i] = pagemap_entry(mmu, gfn + i);
		read_unlock(&mmu->lock);
		srcu_read_unlock(&mmu->vm->srcu, idx);
		if (copy_to_user(ubuf + done, buf, n * sizeof(u64)))
			return done ? done : -EFAULT;
		done += n * sizeof(u64);
		gfn += n;
		*ppos += n * sizeof(u64);
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	return done;
}

static const struct file_operations pagemap_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= pagemap_read,
	.llseek	= default_llseek,
};

/**
 * kvmmu_mmu_debugfs_init - create the MMU's files in a VM's directory.
 * @vm: the VM; nothing is created if it has no MMU.
 * @dir: the VM's debugfs directory; errors and NULL are ignored.
 *
 * Creates "mappings" and "stats" (format in this file's top comment),
 * "pagemap" (pagemap.h) and "shadow_pages" (shadow_mmu.c). The files must be removed before
 * kvmmu_mmu_vm_destroy(); debugfs removal waits for readers.
 */
void kvmmu_mmu_debugfs_init(struct kvmmu_vm *vm, struct dentry *dir)
{
	if (!vm->mmu || IS_ERR_OR_NULL(dir))
		return;
	debugfs_create_file("mappings", 0444, dir, vm->mmu, &mappings_fops);
	debugfs_create_file("stats", 0444, dir, vm->mmu, &stats_fops);
	/* 0400: host PFNs, like /proc/<pid>/pagemap's, are for root. */
	debugfs_create_file_size("pagemap", 0400, dir, vm->mmu, &pagemap_fops,
				 (loff_t)vm->mmu->max_gfn * KVMMU_PM_ENTRY_BYTES);
	kvmmu_shadow_debugfs_init(vm->mmu, dir);
}
