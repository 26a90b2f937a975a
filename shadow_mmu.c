// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow MMU (tdp=0): the tables the CPU walks, built from the guest's.
 *
 * What it is
 * ----------
 * Without nested paging the CPU walks one page table per address space:
 * ours, the shadow of the guest's. SVM runs the guest with the VMCB's CR3
 * pointing at a shadow root; every #PF exits (svm.c), and
 * kvmmu_shadow_page_fault() (mmu.c) walks the guest's tables
 * (paging_tmpl.h, setting A/D as the CPU would), injects the guest's own
 * faults, and otherwise maps the GPA as the TDP MMU does (memslot, GUP,
 * invalidation retry) and calls kvmmu_shadow_map() here, which descends
 * from the vCPU's root and creates the missing shadow pages by (gfn, role)
 * (shadow.c), KVM's FNAME(fetch) and kvm_mmu_get_child_sp():
 *
 *   - a guest table is shadowed by an indirect page of the guest table's
 *     gfn, whose role carries the access its upper entries allow;
 *   - below a guest huge page (2M, 1G), or with paging off, direct pages
 *     map the linear GPA range (gfn = its first frame), so leaves are
 *     always 4K;
 *   - the leaf allows what every level of the guest's walk allows, and
 *     writes only if the guest PTE is dirty (or this write makes it so),
 *     the host page is writable, dirty logging has logged it, and the gfn
 *     is not a guest page table;
 *   - a leaf of a direct page brings the not yet mapped leaves of its
 *     aligned group of 8 whose host pages are present, not Accessed
 *     (sh_direct_prefetch(), KVM's direct_pte_prefetch()); indirect
 *     pages do not prefetch (FNAME(pte_prefetch) is not done).
 *
 * Write protection: creating an indirect page takes write access from
 * every leaf mapping its gfn (through the gfn rmap) and flushes at once,
 * and kvmmu_shadow_gfn_protected() keeps later leaves of that gfn
 * read-only while one of its pages is in sync. A guest write to it
 * faults. A gfn shadowed by leaf tables only goes unsync (below);
 * otherwise mmu.c zaps the shadow pages of the gfn (KVM's
 * kvm_mmu_unprotect_page()) and lets the guest retry, or, when the walk
 * of the write itself went through that table
 * (retrying would rebuild the page and fault again, forever), has x86.c
 * emulate the store, which then zaps the SPTEs of the entry written, or
 * the page for a misaligned or flooding store (kvmmu_shadow_track_write(),
 * KVM's kvm_mmu_track_write()). Every
 * guest entry the descent relies on is read again, under the lock, after
 * the table holding it became write-protected (FNAME(gpte_changed)): a
 * guest write racing with the fault makes it retry.
 *
 * Unsync: as KVM's mmu_try_to_unsync_pages(), a write fault on a gfn
 * whose indirect pages are all level 1 marks them unsync (the VM's list
 * and the parents' unsync_child_bitmap, shadow.c) and maps it writable.
 * KVMMU_REQ_MMU_SYNC (MOV CR3, INVLPG, flushing CR0/CR4 writes,
 * KVM_SET_SREGS) and new roots sync the unsync pages the vCPU's roots
 * lead to before the next entry, yielding between batches
 * (sh_sync_vcpu_roots(): kvm_mmu_sync_roots(), mmu_sync_children() and
 * FNAME(sync_spte)); an unsync page linked anew is synced first, one left
 * without a parent is emptied and in sync again (sh_drop_orphan()), and a
 * gfn becoming an upper-level table zaps its unsync pages.
 *
 * Paging off: as KVM's nonpaging MMU, GVA = GPA through direct pages; the
 * CPU runs the guest in PAE mode (svm.c forces CR0.PG and CR4.PAE) on a
 * per-vCPU PDPT below 4G whose four entries point at level-2 direct roots
 * (role.pae_root).
 *
 * PAE and 32-bit guest paging run on the same per-vCPU PAE root, as
 * KVM's mmu_alloc_shadow_roots(): its entries point at indirect level-2
 * pages, for PAE one per present PDPTE of the copy loaded with CR3
 * (vcpu->pdptrs, kvmmu_load_pdptrs()), for 32-bit paging four of the
 * guest's one PD (role.has_4_byte_gpte, role.quadrant = which GB, 256 of
 * its 1024 PDEs each). Below them a 32-bit guest PT is two shadow PTs
 * (quadrant = the address's bit 21); a 4M or 2M guest page is mapped by
 * direct pages of 4K leaves, as any huge guest page.
 *
 * The gfn rmap
 * ------------
 * GFN -> leaf SPTEs lives in the memslots, as KVM's: each slot of address
 * space 0 has an rmap head per 4K page (rmap.c; memslot.c allocates the
 * arrays before it publishes the slot and frees them when the slot is
 * gone and its SPTEs zapped). A fault adds its leaf to its own slot's
 * head; a removal finds the slot by the leaf's gfn (a direct page's gfn
 * + index, an indirect page's @gfns[index]) in the active set, where a
 * slot being deleted or moved is still found, as its INVALID copy
 * sharing the arrays, until its zap is over. Leaves are 4K only: the 2M
 * and 1G arrays stay empty.
 *
 * Zaps: every walk of a range of the gfn rmap goes through
 * sh_walk_slot_rmaps() (KVM's __walk_slot_rmaps()), and every walk of a
 * head through kvmmu_for_each_rmap_spte(). The notifier zaps the leaves
 * in the rmap heads of its range only (KVM's kvm_unmap_gfn_range()):
 * shadow pages of guest tables stay, as KVM's do; memslot changes zap,
 * gfn by gfn, the shadow pages of the gfn (guest tables) and its leaves
 * (KVM's kvm_mmu_zap_memslot_pages_and_flush() and
 * __kvm_rmap_zap_gfn_range()); dirty logging write-protects a slot
 * through its heads. A zap of the whole VM (teardown, the notifier's
 * release) zaps every page instead.
 * From process context these walks yield the lock when the scheduler or
 * a waiter needs it, but only after flushing the TLBs and freeing the
 * zapped pages (sh_yield()): no SPTE is ever left zapped but unflushed
 * across a release of the lock. The notifier's zap yields only for a
 * blockable range (KVM's may_block). A
 * zapped page keeps its children (KVM does too): they stay in the hash
 * and are found again.
 *
 * Exclusion rules
 * ---------------
 * - Everything here runs under mmu->lock held for write (KVM's shadow MMU
 *   is write-locked too): the hash, the gfn rmap, SPTEs, root counts;
 *   and under vm->srcu or vm->slots_lock, for the slots' rmaps.
 *   Leaves are cleared with xchg (the CPU sets A/D under us).
 * - Zapped pages go to mmu->sp_zapped and are freed by
 *   kvmmu_mmu_zap_unlock() after the TLB flush, before the lock goes.
 * - The caches of struct kvmmu_mmu_vcpu belong to the vCPU's thread and
 *   are topped up outside the lock.
 */

#include <linux/debugfs.h>
#include <linux/hash.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>

#include "mmu.h"
#include "emulate.h"

/* Software bit: the MMU does not write-protect the page (KVM's). */
#define SHADOW_MMU_WRITABLE	BIT_ULL(11)
#define GPTE_ADDR_MASK		GENMASK_ULL(51, 12)
#define GPTE_DIRTY		BIT_ULL(6)
#define GPTE_NX			BIT_ULL(63)

const struct kvmmu_spte_format kvmmu_shadow_format = {
	.name		= "shadow",
	.always		= KVMMU_SPTE_PRESENT,
	.table		= KVMMU_SPTE_WRITABLE | KVMMU_SPTE_USER |
			  KVMMU_SPTE_ACCESSED,
	.writable	= KVMMU_SPTE_WRITABLE,
	.user		= KVMMU_SPTE_USER,
	.nx		= KVMMU_SPTE_NX,
	.accessed	= KVMMU_SPTE_ACCESSED,
	.dirty		= KVMMU_SPTE_DIRTY,
	.huge		= KVMMU_SPTE_HUGE,
	.host_writable	= KVMMU_SPTE_HOST_WRITABLE,
	.mmu_writable	= SHADOW_MMU_WRITABLE,
	.pfn_mask	= KVMMU_SPTE_PFN_MASK,
};

static void shadow_assert_write_locked(struct kvmmu_mmu *mmu)
{
	lockdep_assert_held_write(&mmu->lock);
}

/* ---- lifetime ---- */

/**
 * kvmmu_shadow_mmu_init - set up a VM's shadow MMU (tdp=0).
 * @mmu: the MMU, its lock initialised.
 *
 * Return: 0 or -ENOMEM (nothing left allocated).
 */
int kvmmu_shadow_mmu_init(struct kvmmu_mmu *mmu)
{
	int r;

	r = kvmmu_shadow_init(&mmu->sp, &mmu->lock);
	if (r)
		return r;
	INIT_LIST_HEAD(&mmu->sp_zapped);
	mmu->shadow = true;
	return 0;
}

/**
 * kvmmu_shadow_mmu_destroy - free what is left of a dying VM's shadow MMU.
 * @mmu: the MMU; every shadow page zapped, no vCPU left.
 */
void kvmmu_shadow_mmu_destroy(struct kvmmu_mmu *mmu)
{
	if (!mmu->shadow)
		return;
	kvmmu_shadow_destroy(&mmu->sp);
}

/**
 * kvmmu_shadow_vcpu_init - give a vCPU's MMU state empty shadow caches.
 * @c: the vCPU's MMU state, zeroed.
 */
void kvmmu_shadow_vcpu_init(struct kvmmu_mmu_vcpu *c)
{
	kvmmu_shadow_caches_init(&c->sc);
	c->gfns_cache.obj_size = 0;
}

static void sh_put_roots(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *c)
{
	int i;

	if (c->root)
		kvmmu_shadow_put_root(&mmu->sp, c->root, &mmu->sp_zapped);
	c->root = NULL;
	for (i = 0; i < ARRAY_SIZE(c->pae); i++) {
		if (c->pae[i])
			kvmmu_shadow_put_root(&mmu->sp, c->pae[i],
					      &mmu->sp_zapped);
		c->pae[i] = NULL;
		if (c->pae_root)
			WRITE_ONCE(c->pae_root[i], 0);
	}
}

static bool sh_has_roots(const struct kvmmu_mmu_vcpu *c)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(c->pae); i++)
		if (c->pae[i])
			return true;
	return c->root;
}

/**
 * kvmmu_shadow_vcpu_destroy - drop a vCPU's roots and free its caches.
 * @mmu: the VM's MMU, or NULL.
 * @c: the vCPU's MMU state; the vCPU never runs again.
 */
void kvmmu_shadow_vcpu_destroy(struct kvmmu_mmu *mmu,
			       struct kvmmu_mmu_vcpu *c)
{
	LIST_HEAD(freed);

	if (mmu && mmu->shadow && sh_has_roots(c)) {
		write_lock(&mmu->lock);
		sh_put_roots(mmu, c);
		kvmmu_mmu_zap_unlock(mmu, false, &freed);
	}
	kvmmu_shadow_caches_free(&c->sc);
	kvmmu_memory_cache_free(&c->gfns_cache);
	free_page((unsigned long)c->pae_root);
	c->pae_root = NULL;
}

/**
 * kvmmu_shadow_topup - fill a vCPU's caches for one fault; may sleep.
 * @c: the vCPU's MMU state.
 *
 * Return: 0 or -ENOMEM.
 */
int kvmmu_shadow_topup(struct kvmmu_mmu_vcpu *c)
{
	int r;

	r = kvmmu_shadow_caches_topup(&c->sc);
	if (!r)
		r = kvmmu_memory_cache_topup(&c->gfns_cache, 5);
	return r;
}

/* ---- the leaf rmap: per memslot ---- */

/*
 * The slot of @gfn in the address space the shadow MMU maps (0), as
 * KVM's rmap_remove() finds it (__gfn_to_memslot()): INVALID slots too,
 * since a slot being deleted or moved keeps its SPTEs, and its reverse
 * map, until its zap removes them. vm->srcu or vm->slots_lock is held.
 */
static struct kvmmu_memory_slot *sh_gfn_slot(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	return kvmmu_gfn_to_memslot(kvmmu_memslots(mmu->vm, 0), gfn);
}

/* The head of the 4K leaves mapping @gfn (KVM's gfn_to_rmap()). */
static struct kvmmu_rmap_head *sh_slot_head(const struct kvmmu_memory_slot *slot,
					    gfn_t gfn)
{
	return kvmmu_gfn_to_rmap(&slot->rmap, gfn, PG_LEVEL_4K);
}

/* The same, through the slot holding @gfn; NULL without one. */
static struct kvmmu_rmap_head *sh_gfn_head(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	struct kvmmu_memory_slot *slot = sh_gfn_slot(mmu, gfn);

	return slot ? sh_slot_head(slot, gfn) : NULL;
}

/*
 * At most this many SPTEs map one guest frame, or link one shadow page
 * (KVM's RMAP_RECYCLE_THRESHOLD): a removal searches the chain, so zapping
 * N of them costs N^2, under the lock, without a yield. A guest reaches it
 * easily: Linux maps the zero page wherever it reads untouched memory.
 */
#define SH_RMAP_RECYCLE	1000

/*
 * A new leaf of @gfn, in @slot: the fault's (KVM's rmap_add()).
 * Return: how many leaves of @gfn there were before, or -errno.
 */
static int sh_rmap_add(struct kvmmu_mmu_vcpu *c,
		       const struct kvmmu_memory_slot *slot, gfn_t gfn,
		       u64 *sptep)
{
	struct kvmmu_rmap_head *head = sh_slot_head(slot, gfn);

	/* Every slot of a shadow VM's address space 0 has its arrays. */
	if (WARN_ON_ONCE(!head))
		return -EINVAL;
	return kvmmu_rmap_add(&c->sc.desc, head, sptep);
}

/*
 * A leaf of @gfn goes (KVM's rmap_remove()). A gfn without a slot means
 * the leaf outlived its slot: the zap of a delete or move missed it.
 */
static void sh_rmap_remove(struct kvmmu_mmu *mmu, gfn_t gfn, u64 *sptep)
{
	struct kvmmu_rmap_head *head = sh_gfn_head(mmu, gfn);

	if (WARN_ON_ONCE(!head))
		return;
	kvmmu_rmap_remove(head, sptep);
}

/* The gfn a leaf SPTE of @sp at @idx maps. */
static gfn_t sh_leaf_gfn(const struct kvmmu_mmu_page *sp, unsigned int idx)
{
	if (sp->role.direct)
		return sp->gfn + idx;
	return sp->gfns[idx];
}

/*
 * Read the guest entry of @size bytes (4 or 8, aligned) at @gpa under
 * mmu->lock (SRCU held): an atomic read, which fails (-EFAULT) rather than
 * fault the host page in (KVM's kvm_vcpu_read_guest_atomic()), one load
 * rather than a copy (the slot's range passed access_ok() when it was set).
 */
static int sh_read_gpte(struct kvmmu_vm *vm, u64 gpa, unsigned int size,
			u64 *val)
{
	struct kvmmu_memory_slot *slot;
	void __user *hva;
	u32 val32 = 0;
	int r;

	*val = 0;
	slot = kvmmu_gfn_to_memslot(kvmmu_memslots(vm, 0), gpa >> PAGE_SHIFT);
	if (!slot || (slot->flags & KVMMU_MEMSLOT_INVALID))
		return -EFAULT;
	hva = (void __user *)(kvmmu_memslot_gfn_to_hva(slot, gpa >> PAGE_SHIFT) +
			      offset_in_page(gpa));
	pagefault_disable();
	if (size == 4) {
		r = __get_user(val32, (u32 __user *)hva);
		*val = val32;
	} else {
		r = __get_user(*val, (u64 __user *)hva);
	}
	pagefault_enable();
	return r ? -EFAULT : 0;
}

/* ---- zaps ---- */

/*
 * @n SPTEs lost a mapping or a right under mmu->lock: every vCPU must
 * flush before the lock is released (the caller's flush) and before a
 * guest table is read for a sync (sh_flush_pending()).
 */
static void sh_zapped(struct kvmmu_mmu *mmu, unsigned int n)
{
	mmu->sh_unflushed = true;
	kvmmu_ledger_zapped(n);
}

/*
 * Before guest PTEs are read to sync a page or fill a new one: no vCPU
 * may still write that table through a stale TLB entry, or the write
 * would be missed. Write-protecting the table's gfn says whether it took
 * a right, but an earlier zap in this hold of the lock (the page budget,
 * a stale child, unsync pages of the gfn) may already have removed the
 * writable leaf, unflushed, so flush for whatever is pending. KVM gets
 * the same by committing its zaps at once (kvm_mmu_commit_zap_page() at
 * the end of kvm_mmu_find_shadow_page(), in kvm_mmu_zap_oldest_mmu_pages()).
 */
static void sh_flush_pending(struct kvmmu_mmu *mmu)
{
	if (mmu->sh_unflushed)
		kvmmu_mmu_flush_locked(mmu);
	kvmmu_ledger_assert_square("before a guest table was read");
}

static bool sh_zap_spte(struct kvmmu_mmu *mmu, struct kvmmu_mmu_page *sp,
			unsigned int idx);

/*
 * Zap every present SPTE of @sp. The test is made here, in the loop: most
 * of a page's 512 entries are empty, and a call per entry (stack frame,
 * stack protector, return thunk) costs more than the test (KVM's
 * kvm_sync_spte() and mmu_page_zap_pte() are inlined into their loops).
 */
static void sh_zap_sptes(struct kvmmu_mmu *mmu, struct kvmmu_mmu_page *sp)
{
	unsigned int i;

	for (i = 0; i < KVMMU_SPTE_PER_TABLE; i++)
		if (kvmmu_spte_present(READ_ONCE(sp->spt[i])))
			sh_zap_spte(mmu, sp, i);
}

/*
 * An unsync leaf page lost its last parent: no root reaches it, so no
 * sync would ever be asked for it (KVM zaps the unsync children of a page
 * it zaps, mmu_zap_unsync_children(), and forgets parentless ones, which
 * stay unsync until found). Empty it and make it in sync again, its gfn
 * write-protected: an empty page is in sync with any table. It is not
 * deleted here: the caller may be walking the page lists. Its leaves were
 * zapped and write access taken: the caller flushes (sh_zap_spte()
 * returned true).
 */
static void sh_drop_orphan(struct kvmmu_mmu *mmu, struct kvmmu_mmu_page *sp)
{
	sh_zap_sptes(mmu, sp);
	kvmmu_shadow_clear_unsync(&mmu->sp, sp);
	kvmmu_shadow_wrprot_gfn(mmu, sp->gfn);
}

/*
 * Clear a present leaf (KVM's mmu_spte_clear_track_bits()): A/D go to
 * its host page, the counts follow. The caller takes it out of the rmap.
 */
static void sh_clear_leaf(struct kvmmu_mmu *mmu, u64 *sptep)
{
	u64 spte = xchg(sptep, 0);

	/* An rmap holds present leaves only (KVM's rmap_get_first() BUGs). */
	if (KVMMU_DEBUG)
		WARN_ON_ONCE(!kvmmu_spte_present(spte));
	kvmmu_leaf_page_state(spte);
	atomic64_dec(&mmu->stats.leaves[0]);
	sh_zapped(mmu, 1);
}

/*
 * Clear one SPTE of @sp: a leaf leaves the rmap, a table its child (an
 * unsync child left without a parent is emptied, sh_drop_orphan()).
 */
static bool sh_zap_spte(struct kvmmu_mmu *mmu, struct kvmmu_mmu_page *sp,
			unsigned int idx)
{
	u64 *sptep = &sp->spt[idx];
	u64 spte = READ_ONCE(*sptep);
	struct kvmmu_mmu_page *child;

	if (!kvmmu_spte_present(spte))
		return false;
	if (sp->role.level == PG_LEVEL_4K) {
		sh_rmap_remove(mmu, sh_leaf_gfn(sp, idx), sptep);
		sh_clear_leaf(mmu, sptep);
		return true;
	}
	child = kvmmu_sptep_to_sp(kvmmu_spte_table(spte));
	kvmmu_shadow_remove_parent(child, sptep);
	WRITE_ONCE(*sptep, 0);
	if (child->unsync && kvmmu_rmap_empty(&child->parent_ptes))
		sh_drop_orphan(mmu, child);
	sh_zapped(mmu, 1);
	return true;
}

static void sh_zap_page(struct kvmmu_mmu *mmu, struct kvmmu_mmu_page *sp)
{
	sh_zap_sptes(mmu, sp);
	sh_zapped(mmu, 1);	/* its parents' SPTEs, below */
	kvmmu_shadow_prepare_delete(&mmu->sp, sp, &mmu->sp_zapped);
}

/**
 * kvmmu_shadow_gfn_protected - whether a gfn is a shadowed guest table.
 * @mmu: the MMU; lock held for write.
 * @gfn: the frame.
 *
 * Return: true if an indirect shadow page shadows @gfn: no leaf may map
 * it writable.
 */
bool kvmmu_shadow_gfn_protected(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	struct kvmmu_mmu_page *sp;

	shadow_assert_write_locked(mmu);
	hlist_for_each_entry(sp, &mmu->sp.hash[hash_64(gfn, KVMMU_SHADOW_HASH_BITS)],
			     hash_link)
		if (sp->gfn == gfn && !sp->role.direct && !sp->unsync)
			return true;
	return false;
}

/**
 * kvmmu_shadow_can_unsync - whether a guest table may go unsync.
 * @mmu: the MMU; lock held for write.
 * @gfn: the frame of a guest table that a write faulted on.
 *
 * KVM's mmu_try_to_unsync_pages() without the marking: only a gfn that
 * every indirect page shadows as a leaf table (level 1) may be written
 * without a fault; an upper-level table must stay write-protected.
 *
 * Return: true if no indirect page of @gfn is above level 1.
 */
bool kvmmu_shadow_can_unsync(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	struct kvmmu_mmu_page *sp;

	shadow_assert_write_locked(mmu);
	hlist_for_each_entry(sp, &mmu->sp.hash[hash_64(gfn, KVMMU_SHADOW_HASH_BITS)],
			     hash_link)
		if (sp->gfn == gfn && !sp->role.direct &&
		    sp->role.level != PG_LEVEL_4K)
			return false;
	return true;
}

/* Make every shadow page of @gfn unsync, if all are leaf tables. */
static bool sh_try_unsync(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	struct kvmmu_mmu_page *sp;

	if (!kvmmu_shadow_can_unsync(mmu, gfn))
		return false;
	hlist_for_each_entry(sp, &mmu->sp.hash[hash_64(gfn, KVMMU_SHADOW_HASH_BITS)],
			     hash_link)
		if (sp->gfn == gfn && !sp->role.direct)
			kvmmu_shadow_mark_unsync(&mmu->sp, sp);
	return true;
}

/* Zap the unsync (leaf) pages of @gfn: it becomes an upper-level table. */
static void sh_zap_unsync_gfn(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	struct kvmmu_mmu_page *sp;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(sp, tmp,
				  &mmu->sp.hash[hash_64(gfn, KVMMU_SHADOW_HASH_BITS)],
				  hash_link)
		if (sp->gfn == gfn && sp->unsync)
			sh_zap_page(mmu, sp);
}

/**
 * kvmmu_shadow_zap_gfn - zap the shadow pages of a guest table.
 * @mmu: the MMU; lock held for write.
 * @gfn: the guest table's frame.
 *
 * KVM's kvm_mmu_unprotect_page(): afterwards the gfn may be mapped
 * writable again. The caller ends with kvmmu_mmu_zap_unlock().
 *
 * Return: whether a page was zapped (flush before unlocking).
 */
bool kvmmu_shadow_zap_gfn(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	struct kvmmu_mmu_page *sp;
	struct hlist_node *tmp;
	bool zapped = false;

	shadow_assert_write_locked(mmu);
	hlist_for_each_entry_safe(sp, tmp,
				  &mmu->sp.hash[hash_64(gfn, KVMMU_SHADOW_HASH_BITS)],
				  hash_link) {
		if (sp->gfn != gfn || sp->role.direct)
			continue;
		sh_zap_page(mmu, sp);
		zapped = true;
	}
	return zapped;
}

/* Whether a long walk should let a waiter or the scheduler in. */
static bool sh_need_yield(struct kvmmu_mmu *mmu)
{
	return need_resched() || rwlock_needbreak(&mmu->lock);
}

/*
 * Drop mmu->lock for a moment, in process context. KVM's rule: never
 * with a zapped SPTE not flushed, so first flush (if @flush, or if pages
 * were zapped) and free the zapped pages, as kvmmu_mmu_zap_unlock() does
 * at the end of a zap (KVM's flush_on_yield in __walk_slot_rmaps() and
 * kvm_mmu_remote_flush_or_zap() before cond_resched_rwlock_write() in
 * kvm_mmu_zap_memslot_pages_and_flush()). SRCU stays held.
 */
static void sh_yield(struct kvmmu_mmu *mmu, bool flush)
{
	LIST_HEAD(freed);

	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	atomic64_inc(&mmu->stats.yields);
	cond_resched();
	write_lock(&mmu->lock);
}

/**
 * kvmmu_shadow_zap_all - zap every shadow page.
 * @mmu: the MMU; lock held for write, and vm->srcu or vm->slots_lock.
 * @can_yield: process context: the lock may be dropped on the way (after
 *             a flush), as KVM's kvm_mmu_zap_all() does.
 *
 * Roots in use stay, invalid and empty, until their vCPUs drop them
 * (kvmmu_shadow_load_root() at the next entry).
 *
 * Return: whether anything was zapped since the last flush (flush before
 * unlocking).
 */
bool kvmmu_shadow_zap_all(struct kvmmu_mmu *mmu, bool can_yield)
{
	struct kvmmu_mmu_page *sp, *tmp;
	bool any = false;

	shadow_assert_write_locked(mmu);
restart:
	/*
	 * A zapped page leaves the list (or stays invalid, a root in use);
	 * its children stay on it, unlinked, and come later. After a yield
	 * the list may have changed: start again.
	 */
	list_for_each_entry_safe(sp, tmp, &mmu->sp.active_pages, link) {
		if (sp->role.invalid)
			continue;
		sh_zap_page(mmu, sp);
		any = true;
		if (can_yield && sh_need_yield(mmu)) {
			sh_yield(mmu, true);
			any = false;
			goto restart;
		}
	}
	return any;
}

/*
 * KVM's KVM_MIN_ALLOC_MMU_PAGES, KVM_MIN_FREE_MMU_PAGES, KVM_REFILL_PAGES
 * and KVM_MEMSLOT_PAGES_TO_MMU_PAGES_RATIO.
 */
#define SH_MIN_ALLOC_PAGES	64UL
#define SH_MIN_FREE_PAGES	5UL
#define SH_REFILL_PAGES		25UL
#define SH_MEMSLOT_PAGES_RATIO	50

/**
 * kvmmu_shadow_max_pages - the VM's budget of shadow pages.
 * @mmu: the MMU.
 *
 * KVM_SET_NR_MMU_PAGES if set, else 2% of the memslot pages and at least
 * 64 (as kvm_arch_commit_memory_region() sets it), computed on use so
 * that it follows memslot changes.
 *
 * Return: the number of shadow pages the VM may keep.
 */
unsigned long kvmmu_shadow_max_pages(struct kvmmu_mmu *mmu)
{
	unsigned long n = READ_ONCE(mmu->vm->n_requested_mmu_pages);

	if (n)
		return n;
	n = READ_ONCE(mmu->vm->nr_memslot_pages) / SH_MEMSLOT_PAGES_RATIO;
	return max(n, SH_MIN_ALLOC_PAGES);
}

/*
 * Zap up to @nr of the oldest shadow pages that are no root in use (KVM's
 * kvm_mmu_zap_oldest_mmu_pages()): new pages go to the list's head. A
 * zapped page's children stay, unlinked, and are the next candidates.
 */
static unsigned long sh_zap_oldest(struct kvmmu_mmu *mmu, unsigned long nr)
{
	struct kvmmu_mmu_page *sp, *tmp;
	unsigned long zapped = 0;

	list_for_each_entry_safe_reverse(sp, tmp, &mmu->sp.active_pages, link) {
		if (zapped >= nr)
			break;
		/* Invalid pages left on the list are roots still in use. */
		if (sp->root_count || sp->role.invalid)
			continue;
		sh_zap_page(mmu, sp);
		zapped++;
	}
	return zapped;
}

/**
 * kvmmu_shadow_nr_pages - how many shadow pages a VM holds.
 * @mmu: the VM's MMU, or NULL.
 *
 * Read without the lock, as KVM's mmu_shrink_count(): a hint.
 *
 * Return: the count; 0 for the TDP MMU.
 */
unsigned long kvmmu_shadow_nr_pages(struct kvmmu_mmu *mmu)
{
	return mmu && mmu->shadow ? READ_ONCE(mmu->sp.nr_pages) : 0;
}

/* The scan of one VM, if its lock is free; vm->srcu held. */
static unsigned long sh_try_reclaim(struct kvmmu_mmu *mmu, unsigned long nr)
{
	unsigned long zapped;
	LIST_HEAD(freed);

	if (!write_trylock(&mmu->lock))
		return 0;
	zapped = sh_zap_oldest(mmu, nr);
	kvmmu_mmu_zap_unlock(mmu, false, &freed);
	return zapped;
}

/**
 * kvmmu_shadow_reclaim - the shrinker's zap (KVM's mmu_shrink_scan()).
 * @mmu: a shadow MMU; mmu->lock not held (tried here for write: a busy
 *       VM is skipped rather than waited for, the shrinker's caller may
 *       be any allocation).
 * @nr: how many pages to zap at most, oldest first, roots in use spared.
 *
 * Return: the number of pages zapped, 0 if the lock was busy; they are
 * freed before this returns.
 */
unsigned long kvmmu_shadow_reclaim(struct kvmmu_mmu *mmu, unsigned long nr)
{
	unsigned long zapped;
	int idx;

	/* The leaves' slots are looked up (KVM's scan holds SRCU too). */
	idx = srcu_read_lock(&mmu->vm->srcu);
	zapped = sh_try_reclaim(mmu, nr);
	srcu_read_unlock(&mmu->vm->srcu, idx);
	return zapped;
}

/**
 * kvmmu_shadow_make_pages_available - keep the VM within its page budget.
 * @mmu: the MMU; lock held for write. The caller ends with
 *       kvmmu_mmu_zap_unlock(), which flushes and frees what was zapped.
 * @goal: 0 before creating pages: if fewer than 5 are left under the
 *        budget, zap the oldest to leave 25 (KVM's
 *        make_mmu_pages_available()); otherwise zap down to @goal pages
 *        (kvm_mmu_change_mmu_pages()).
 *
 * Soft, as KVM's: a fault may still create its few pages past the budget.
 */
void kvmmu_shadow_make_pages_available(struct kvmmu_mmu *mmu,
				       unsigned long goal)
{
	unsigned long used = mmu->sp.nr_pages;
	unsigned long max = kvmmu_shadow_max_pages(mmu);
	unsigned long avail = max > used ? max - used : 0;

	shadow_assert_write_locked(mmu);
	if (goal) {
		if (used > goal)
			sh_zap_oldest(mmu, used - goal);
		return;
	}
	if (avail >= SH_MIN_FREE_PAGES)
		return;
	sh_zap_oldest(mmu, SH_REFILL_PAGES - avail);
}

/* ---- walks of the gfn rmap ---- */

/*
 * What a walk of a slot's rmap does with the head of one gfn (KVM's
 * slot_rmaps_handler): returns whether a flush is needed, or for aging
 * whether a leaf was young.
 */
typedef bool (*sh_rmap_fn)(struct kvmmu_mmu *mmu, struct kvmmu_rmap_head *head,
			   gfn_t gfn, void *data);

/*
 * Call @fn with the 4K head of every gfn of [@start, @end) in @slot, in
 * order (KVM's __walk_slot_rmaps()): every walk of a range of the gfn
 * rmap comes here. @flush: a flush is pending from before. With
 * @can_yield the lock is dropped between gfns when the scheduler or a
 * waiter wants it, after flushing what is pending (KVM's flush_on_yield:
 * sh_yield()). Always inlined, so that @fn is a direct call and the
 * heads are stepped through as an array, on the notifier's hot path.
 *
 * Return: @flush ORed with @fn's results since the last yield.
 */
static __always_inline bool sh_walk_slot_rmaps(struct kvmmu_mmu *mmu,
					       const struct kvmmu_memory_slot *slot,
					       gfn_t start, gfn_t end,
					       sh_rmap_fn fn, void *data,
					       bool flush, bool can_yield)
{
	struct kvmmu_rmap_head *head;
	gfn_t gfn;

	start = max(start, slot->base_gfn);
	end = min(end, slot->base_gfn + slot->npages);
	/* NULL for an empty range, or a slot without arrays (WARNed at add). */
	head = start < end ? sh_slot_head(slot, start) : NULL;
	if (!head)
		return flush;
	for (gfn = start; gfn < end; gfn++, head++) {
		flush |= fn(mmu, head, gfn, data);
		if (can_yield && sh_need_yield(mmu)) {
			sh_yield(mmu, flush);
			flush = false;
		}
	}
	return flush;
}

/*
 * Zap every leaf of @head and empty it in one go (KVM's kvm_zap_rmap(),
 * kvm_zap_all_rmap_sptes()): no search of the head, nor of the leaf's
 * slot, per leaf.
 */
static bool sh_zap_rmap(struct kvmmu_mmu *mmu, struct kvmmu_rmap_head *head,
			gfn_t gfn, void *data)
{
	struct kvmmu_rmap_iter iter;
	u64 *sptep;

	if (kvmmu_rmap_empty(head))
		return false;
	kvmmu_for_each_rmap_spte(head, iter, sptep)
		sh_clear_leaf(mmu, sptep);
	kvmmu_rmap_clear(head);
	return true;
}

/* A memslot's zap of @gfn: its guest tables' pages, then its leaves. */
static bool sh_zap_gfn_rmap(struct kvmmu_mmu *mmu,
			    struct kvmmu_rmap_head *head, gfn_t gfn, void *data)
{
	bool flush = kvmmu_shadow_zap_gfn(mmu, gfn);

	return sh_zap_rmap(mmu, head, gfn, data) || flush;
}

/* Take write access from every leaf of @head. */
static bool sh_wrprot_rmap(struct kvmmu_mmu *mmu,
			   struct kvmmu_rmap_head *head, gfn_t gfn, void *data)
{
	struct kvmmu_rmap_iter iter;
	bool flush = false;
	u64 *sptep;

	kvmmu_for_each_rmap_spte(head, iter, sptep) {
		if (test_and_clear_bit(KVMMU_SPTE_WRITABLE_BIT,
				       (unsigned long *)sptep)) {
			sh_zapped(mmu, 1);
			flush = true;
		}
	}
	return flush;
}

/*
 * Whether a leaf of @head is young; with *(bool *)@clear, clear Accessed
 * in every leaf that has it, else stop at the first.
 */
static bool sh_age_rmap(struct kvmmu_mmu *mmu, struct kvmmu_rmap_head *head,
			gfn_t gfn, void *clear)
{
	struct kvmmu_rmap_iter iter;
	bool young = false;
	u64 *sptep;

	kvmmu_for_each_rmap_spte(head, iter, sptep) {
		if (!(READ_ONCE(*sptep) & KVMMU_SPTE_ACCESSED))
			continue;
		if (!*(bool *)clear)
			return true;
		clear_bit(KVMMU_SPTE_ACCESSED_BIT, (unsigned long *)sptep);
		young = true;
	}
	return young;
}

/**
 * kvmmu_shadow_unmap_range - zap the leaves that map gfns of a slot.
 * @mmu: the MMU; lock held for write, and vm->srcu.
 * @slot: a slot of address space 0 (INVALID ones too: their leaves are
 *        not zapped yet).
 * @start: first gfn.
 * @end: gfn after the last; the range is cut to @slot.
 * @can_yield: the lock may be dropped between gfns, after a flush (a
 *             blockable notifier range, KVM's range->may_block).
 *
 * The mmu notifier's zap, KVM's kvm_unmap_gfn_range() and
 * __kvm_rmap_zap_gfn_range(): leaves only, through the slot's rmap. The
 * shadow pages of guest tables in the range stay: they hold no host page
 * of the table, and what they shadow is read through the HVA again at
 * the next fault or sync; a table whose content the VMM replaces
 * (MADV_DONTNEED, a hole punched) is not resynced for it, as under KVM,
 * which keeps shadow pages in step with the guest's writes only.
 *
 * Return: whether a flush is needed before unlocking (what a yield
 * flushed is not counted).
 */
bool kvmmu_shadow_unmap_range(struct kvmmu_mmu *mmu,
			      const struct kvmmu_memory_slot *slot,
			      gfn_t start, gfn_t end, bool can_yield)
{
	shadow_assert_write_locked(mmu);
	/* No shadow page, no leaf: most invalidations of a VMM's mm. */
	if (!mmu->sp.nr_pages)
		return false;
	return sh_walk_slot_rmaps(mmu, slot, start, end, sh_zap_rmap, NULL,
				  false, can_yield);
}

/**
 * kvmmu_shadow_zap_range - zap what maps or shadows a range of gfns.
 * @mmu: the MMU; lock held for write, and vm->srcu or vm->slots_lock.
 * @start: first gfn.
 * @end: gfn after the last.
 * @can_yield: process context: the lock may be dropped between gfns
 *             (after a flush).
 *
 * For each gfn of the range that a slot of address space 0 holds
 * (INVALID ones too: a delete or a move zaps through its INVALID copy),
 * the shadow pages of that gfn (guest tables) and, through the slot's
 * rmap, the leaves mapping it: KVM's kvm_arch_flush_shadow_memslot()
 * without KVM_X86_QUIRK_SLOT_ZAP_ALL, kvm_unmap_gfn_range() then
 * kvm_mmu_zap_memslot_pages_and_flush(). A gfn without a slot has
 * neither. The mmu notifier zaps leaves only (kvmmu_shadow_unmap_range()).
 *
 * Return: whether a flush is needed before unlocking (what a yield
 * flushed is not counted).
 */
bool kvmmu_shadow_zap_range(struct kvmmu_mmu *mmu, gfn_t start, gfn_t end,
			    bool can_yield)
{
	struct kvmmu_memslots *slots = kvmmu_memslots(mmu->vm, 0);
	struct kvmmu_memory_slot *slot;
	bool flush = false;

	shadow_assert_write_locked(mmu);
	if (end <= start || !mmu->sp.nr_pages)
		return false;
	for (slot = kvmmu_memslot_gfn_first(slots, start);
	     slot && slot->base_gfn < end;
	     slot = kvmmu_memslot_next(slots, slot))
		flush = sh_walk_slot_rmaps(mmu, slot, start, end,
					   sh_zap_gfn_rmap, NULL, flush,
					   can_yield);
	return flush;
}

/**
 * kvmmu_shadow_wrprot_gfn - take write access from every leaf of a gfn.
 * @mmu: the MMU; lock held for write.
 * @gfn: the frame.
 *
 * Return: whether a leaf lost it (flush before unlocking).
 */
bool kvmmu_shadow_wrprot_gfn(struct kvmmu_mmu *mmu, gfn_t gfn)
{
	struct kvmmu_rmap_head *head;

	shadow_assert_write_locked(mmu);
	/* A gfn without a slot (a CR3 outside memory) has no leaves. */
	head = sh_gfn_head(mmu, gfn);
	return head && sh_wrprot_rmap(mmu, head, gfn, NULL);
}

/**
 * kvmmu_shadow_wrprot_range - take write access from a slot's leaves.
 * @mmu: the MMU; lock held for write.
 * @slot: a slot of address space 0, held by vm->srcu or vm->slots_lock.
 * @start: first gfn, in @slot.
 * @end: gfn after the last, at most @slot's end.
 * @can_yield: process context: the lock may be dropped between gfns,
 *             after a flush (KVM's walk_slot_rmaps() with flush_on_yield,
 *             as kvm_mmu_slot_remove_write_access() calls it).
 *
 * Return: whether a leaf lost write access since the last flush (flush
 * before unlocking).
 */
bool kvmmu_shadow_wrprot_range(struct kvmmu_mmu *mmu,
			       const struct kvmmu_memory_slot *slot,
			       gfn_t start, gfn_t end, bool can_yield)
{
	shadow_assert_write_locked(mmu);
	return sh_walk_slot_rmaps(mmu, slot, start, end, sh_wrprot_rmap, NULL,
				  false, can_yield);
}

/**
 * kvmmu_shadow_age_range - test, or test and clear, Accessed in leaves.
 * @mmu: the MMU; lock held for write (the rmaps are walked).
 * @slot: a slot of address space 0, held by vm->srcu.
 * @start: first gfn, in @slot.
 * @end: gfn after the last, at most @slot's end.
 * @clear: clear the Accessed bits found set (clear_young and
 *         clear_flush_young); else only test (test_young).
 *
 * KVM's kvm_rmap_age_gfn_range() for SPTEs with A/D bits: the CPU walks
 * shadow SPTEs as any page table and sets A in them again on the next
 * access, once the TLB no longer holds the translation (the caller
 * flushes for clear_flush_young). No SPTE is zapped or loses a
 * permission: nothing to flush before unlocking. Never yields (the
 * notifier's aging may run in atomic context).
 *
 * Return: whether a leaf mapping the range had Accessed set.
 */
bool kvmmu_shadow_age_range(struct kvmmu_mmu *mmu,
			    const struct kvmmu_memory_slot *slot,
			    gfn_t start, gfn_t end, bool clear)
{
	shadow_assert_write_locked(mmu);
	return sh_walk_slot_rmaps(mmu, slot, start, end, sh_age_rmap, &clear,
				  false, false);
}

/**
 * kvmmu_shadow_gfn_leaves - the shadow leaves that map one guest frame.
 * @mmu: a tdp=0 MMU; its lock held, for read or write.
 * @gfn: the frame.
 * @spte: set to the first leaf with the W, A and D bits of every leaf of
 *	@gfn ORed in: all map the same host page, with the rights of the
 *	guest PTEs they shadow.
 *
 * For debugfs (mappings, pagemap), under vm->srcu (the slot's rmap).
 * Readers need only the read lock: the rmap changes under the write lock
 * alone.
 *
 * Return: how many leaf SPTEs map @gfn; 0 leaves @spte untouched.
 */
unsigned int kvmmu_shadow_gfn_leaves(struct kvmmu_mmu *mmu, gfn_t gfn,
				     u64 *spte)
{
	const u64 bits = KVMMU_SPTE_WRITABLE | KVMMU_SPTE_ACCESSED |
			 KVMMU_SPTE_DIRTY;
	struct kvmmu_rmap_head *head = sh_gfn_head(mmu, gfn);
	struct kvmmu_rmap_iter iter;
	unsigned int n = 0;
	u64 *sptep, v;

	lockdep_assert_held(&mmu->lock);
	if (!head)
		return 0;
	kvmmu_for_each_rmap_spte(head, iter, sptep) {
		v = READ_ONCE(*sptep);
		if (!n++)
			*spte = v;
		else
			*spte |= v & bits;
	}
	return n;
}

/* What a guest entry allows (KVMMU_ACC_*), as FNAME(gpte_access). */
static unsigned int sh_gpte_access(u64 gpte, bool efer_nx)
{
	unsigned int access = KVMMU_ACC_ALL;

	if (!(gpte & KVMMU_SPTE_WRITABLE))
		access &= ~KVMMU_ACC_WRITE;
	if (!(gpte & KVMMU_SPTE_USER))
		access &= ~KVMMU_ACC_USER;
	if (efer_nx && (gpte & GPTE_NX))
		access &= ~KVMMU_ACC_EXEC;
	return access;
}

/* ---- unsync pages ---- */

/*
 * FNAME(sync_spte): bring leaf @idx of the unsync page @sp in line with
 * the guest's entry. A guest entry that is not present, not accessed,
 * has NX without EFER.NX or maps another gfn drops the SPTE; otherwise
 * the SPTE keeps its page and loses what the entry (and the page's role)
 * no longer allows, write also for a clean entry (FNAME(protect_clean_gpte)).
 * Nothing is ever granted here: a permission the guest added is taken by
 * the next fault, as for any SPTE. Returns 1 if an SPTE changed (flush),
 * 0 if not, -EFAULT if the guest table cannot be read (zap the page).
 */
static int sh_sync_spte(struct kvmmu_mmu *mmu, struct kvmmu_mmu_page *sp,
			unsigned int idx)
{
	u64 *sptep = &sp->spt[idx];
	unsigned int size = sp->role.has_4_byte_gpte ? 4 : 8;
	unsigned int access, entry = idx;
	u64 gpte, old, new, clear = 0, set = 0;

	if (!kvmmu_spte_present(READ_ONCE(*sptep)))
		return 0;
	if (size == 4)
		entry += sp->role.quadrant * KVMMU_SPTE_PER_TABLE;
	if (sh_read_gpte(mmu->vm, ((u64)sp->gfn << PAGE_SHIFT) + entry * size,
			 size, &gpte))
		return -EFAULT;
	if (!(gpte & _PAGE_PRESENT) || !(gpte & _PAGE_ACCESSED) ||
	    (!sp->role.efer_nx && (gpte & GPTE_NX)) ||
	    ((gpte & GPTE_ADDR_MASK) >> PAGE_SHIFT) != sp->gfns[idx]) {
		sh_zap_spte(mmu, sp, idx);
		return 1;
	}
	access = sp->role.access & sh_gpte_access(gpte, sp->role.efer_nx);
	if (!(gpte & GPTE_DIRTY))
		access &= ~KVMMU_ACC_WRITE;
	if (!(access & KVMMU_ACC_WRITE))
		clear |= KVMMU_SPTE_WRITABLE;
	if (!(access & KVMMU_ACC_USER))
		clear |= KVMMU_SPTE_USER;
	if (!(access & KVMMU_ACC_EXEC))
		set |= KVMMU_SPTE_NX;
	/* The CPU may set A/D meanwhile. */
	old = READ_ONCE(*sptep);
	do {
		new = (old & ~clear) | set;
		if (new == old)
			return 0;
	} while (!try_cmpxchg64(sptep, &old, new));
	sh_zapped(mmu, 1);
	return 1;
}

/* Sync every SPTE of @sp (__kvm_sync_page()); zap it if that fails. */
static bool sh_sync_page(struct kvmmu_mmu *mmu, struct kvmmu_mmu_page *sp)
{
	bool flush = false;
	unsigned int i;
	int r;

	for (i = 0; i < KVMMU_SPTE_PER_TABLE; i++) {
		/* Empty entries are skipped here: see sh_zap_sptes(). */
		if (!kvmmu_spte_present(READ_ONCE(sp->spt[i])))
			continue;
		r = sh_sync_spte(mmu, sp, i);
		if (r < 0) {
			sh_zap_page(mmu, sp);
			return true;
		}
		flush |= r;
	}
	return flush;
}

/*
 * Sync the unsync page @sp, which a lookup found (kvm_mmu_find_shadow_page()
 * and kvm_sync_page()): its gfn is write-protected again and every vCPU
 * flushed first, so that a guest store racing with the reads of
 * sh_sync_spte() faults (and waits for the lock) instead of being missed;
 * then it is synced and marked in sync. The caller holds mmu->lock for
 * write and SRCU, and flushes before unlocking if this returns true.
 */
static bool sh_sync_one(struct kvmmu_mmu *mmu, struct kvmmu_mmu_page *sp)
{
	kvmmu_shadow_wrprot_gfn(mmu, sp->gfn);
	sh_flush_pending(mmu);
	kvmmu_shadow_clear_unsync(&mmu->sp, sp);
	return sh_sync_page(mmu, sp);
}

/* Unsync pages synced per batch (KVM's KVM_PAGE_ARRAY_NR). */
#define SH_SYNC_BATCH	16

struct sh_sync_batch {
	unsigned int nr;
	struct kvmmu_mmu_page *sp[SH_SYNC_BATCH];
};

static void sh_clear_child_bit(struct kvmmu_mmu_page *sp, unsigned int i)
{
	__clear_bit(i, sp->unsync_child_bitmap);
	WARN_ON_ONCE(!sp->unsync_children--);
}

/*
 * __mmu_unsync_walk(): gather into @b the unsync leaf pages that @sp's
 * unsync_child_bitmap leads to, depth first, clearing the bit of each
 * child gathered and of each with nothing unsync below it (any more).
 * Return: false if @b filled up first (bits left for the next walk).
 */
static bool sh_unsync_walk(struct kvmmu_mmu_page *sp, struct sh_sync_batch *b)
{
	struct kvmmu_mmu_page *child;
	unsigned int i;
	u64 spte;

	for_each_set_bit(i, sp->unsync_child_bitmap, KVMMU_SPTE_PER_TABLE) {
		spte = READ_ONCE(sp->spt[i]);
		if (!kvmmu_spte_present(spte)) {
			sh_clear_child_bit(sp, i);
			continue;
		}
		child = kvmmu_sptep_to_sp(kvmmu_spte_table(spte));
		if (child->unsync_children) {
			if (!sh_unsync_walk(child, b))
				return false;
			if (!child->unsync_children)
				sh_clear_child_bit(sp, i);
			continue;
		}
		if (child->unsync) {
			if (b->nr == SH_SYNC_BATCH)
				return false;
			b->sp[b->nr++] = child;
		}
		sh_clear_child_bit(sp, i);
	}
	return true;
}

/*
 * mmu_sync_children(): sync the unsync pages that @root leads to, a batch
 * at a time: the batch's gfns are write-protected again and every vCPU
 * flushed first (see sh_sync_one()), then each page is synced and marked
 * in sync. Between batches, if asked to, it yields (@can_yield), flushing
 * first, and walks again from @root (what it went through may be gone;
 * the root is not: the vCPU holds it), or stops (-EINTR: a fault then
 * retries). *@flush: a flush is owed (in and out). The caller holds
 * mmu->lock for write and SRCU (and may sleep if @can_yield), and flushes
 * before unlocking if *@flush.
 */
static int sh_sync_children(struct kvmmu_mmu *mmu,
			    struct kvmmu_mmu_page *root, bool *flush,
			    bool can_yield)
	__must_hold(&mmu->lock)
{
	struct sh_sync_batch b;
	bool done;
	LIST_HEAD(freed);
	unsigned int i;

	do {
		if (root->role.invalid)
			break;
		b.nr = 0;
		done = sh_unsync_walk(root, &b);
		for (i = 0; i < b.nr; i++)
			kvmmu_shadow_wrprot_gfn(mmu, b.sp[i]->gfn);
		/* Covers *@flush too: what earlier batches changed. */
		if (mmu->sh_unflushed)
			*flush = false;
		sh_flush_pending(mmu);
		/* A page twice in @b (two parents) is in sync the 2nd time. */
		for (i = 0; i < b.nr; i++) {
			if (!b.sp[i]->unsync)
				continue;
			kvmmu_shadow_clear_unsync(&mmu->sp, b.sp[i]);
			*flush |= sh_sync_page(mmu, b.sp[i]);
		}
		if (!done && (need_resched() || rwlock_needbreak(&mmu->lock))) {
			if (!can_yield)
				return -EINTR;
			kvmmu_mmu_zap_unlock(mmu, *flush, &freed);
			atomic64_inc(&mmu->stats.yields);
			*flush = false;
			cond_resched();
			write_lock(&mmu->lock);
		}
	} while (!done);
	return 0;
}

/*
 * kvm_mmu_sync_roots(): sync what the vCPU's roots lead to, the 4-level
 * root or the pages under the PAE root (its four children). Unsync pages
 * no root of the vCPU reaches are left as they are.
 */
static bool sh_sync_vcpu_roots(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *c)
	__must_hold(&mmu->lock)
{
	bool flush = false;
	int i;

	if (c->root)
		sh_sync_children(mmu, c->root, &flush, true);
	for (i = 0; i < ARRAY_SIZE(c->pae); i++)
		if (c->pae[i])
			sh_sync_children(mmu, c->pae[i], &flush, true);
	return flush;
}

/*
 * Whether an unsync page is reachable from @sp (the debug check). Pages
 * are shared (a guest may point all 512 entries of each level at one
 * table), so each page is visited once per check, marked with @gen:
 * without the mark the paths to one page multiply, 512^3 under the lock.
 */
static bool sh_reaches_unsync(struct kvmmu_mmu_page *sp, unsigned long gen)
{
	struct kvmmu_mmu_page *child;
	unsigned int i;
	u64 spte;

	if (sp->unsync)
		return true;
	if (sp->role.level == PG_LEVEL_4K || sp->check_gen == gen)
		return false;
	sp->check_gen = gen;
	for (i = 0; i < KVMMU_SPTE_PER_TABLE; i++) {
		spte = READ_ONCE(sp->spt[i]);
		if (!kvmmu_spte_present(spte))
			continue;
		child = kvmmu_sptep_to_sp(kvmmu_spte_table(spte));
		if (sh_reaches_unsync(child, gen))
			return true;
	}
	return false;
}

/*
 * Debug kernels: after a guest MOV CR3, no page the vCPU's roots lead to
 * may still be unsync when it enters (the sync of KVMMU_REQ_MMU_SYNC was
 * skipped or missed a page). Runs under the lock that synced them, so
 * another vCPU's store cannot unsync a page in between, unless the sync
 * yielded (stats.yields moved from @yields, read before the sync; others
 * count theirs with the lock held): a PAE root synced before the yield
 * may have gained an unsync page since, by a store that came after the
 * MOV CR3. No check then.
 */
static void sh_check_synced(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *c,
			    s64 yields)
{
	unsigned long gen;
	bool bad = false;
	int i;

	if (!KVMMU_DEBUG || c->cr3_checked == c->cr3_loads)
		return;
	c->cr3_checked = c->cr3_loads;
	if (atomic64_read(&mmu->stats.yields) != yields ||
	    !READ_ONCE(mmu->sp.nr_unsync))
		return;
	gen = ++mmu->sp.check_gen;
	if (c->root)
		bad = sh_reaches_unsync(c->root, gen);
	for (i = 0; i < ARRAY_SIZE(c->pae); i++)
		if (c->pae[i])
			bad |= sh_reaches_unsync(c->pae[i], gen);
	WARN_ONCE(bad, "kvmmu: unsync shadow page entered unsynced after MOV CR3\n");
}

/* ---- roots ---- */

/*
 * The role of the vCPU's root pages, or -EOPNOTSUPP (5-level paging):
 * with 4-level paging an indirect level-4 page; otherwise the CPU runs
 * the guest in PAE mode and the roots are the level-2 pages under its PAE
 * root: direct ones with paging off, indirect ones shadowing the guest's
 * page directories with PAE paging, and with 32-bit paging four pages of
 * the one guest PD, 4-byte entries, told apart by role.quadrant, which
 * sh_pae_root_want() sets (KVM's kvm_calc_cpu_role(), kvm_init_shadow_mmu()
 * and mmu_alloc_shadow_roots()).
 */
static int sh_vcpu_root_role(const struct kvmmu_vcpu *vcpu,
			     union kvmmu_page_role *role)
{
	const struct kvm_sregs *s = &vcpu->sregs;
	bool wp = s->cr0 & X86_CR0_WP;

	role->word = 0;
	role->access = KVMMU_ACC_ALL;
	role->cr0_wp = wp;
	if (!(s->cr0 & X86_CR0_PG)) {
		role->level = PG_LEVEL_2M;
		role->direct = 1;
		role->pae_root = 1;
		return 0;
	}
	role->smep_andnot_wp = (s->cr4 & X86_CR4_SMEP) && !wp;
	role->smap_andnot_wp = (s->cr4 & X86_CR4_SMAP) && !wp;
	if (s->efer & EFER_LMA) {
		/* 5-level guest paging: not shadowed. */
		if (s->cr4 & X86_CR4_LA57)
			return -EOPNOTSUPP;
		role->level = KVMMU_ROOT_LEVEL;
		role->efer_nx = !!(s->efer & EFER_NX);
	} else if (s->cr4 & X86_CR4_PAE) {
		role->level = PG_LEVEL_2M;
		role->efer_nx = !!(s->efer & EFER_NX);
	} else {
		/*
		 * No NX in 32-bit paging. CR4.PSE decides whether a PDE with
		 * PS maps a 4M page (direct children) or a page table
		 * (indirect ones): the pages of one setting are no use under
		 * the other, whose walks would meet children of the wrong
		 * kind (KVM's page role lacks it: its shadow keeps stale 4M
		 * translations after CR4.PSE=0).
		 */
		role->level = PG_LEVEL_2M;
		role->has_4_byte_gpte = 1;
		role->cr4_pse = !!(s->cr4 & X86_CR4_PSE);
	}
	return 0;
}

/*
 * What entry @i of the PAE root must point at, for root role @role: the
 * page (*@gfn, *@r), or nothing (false: a PAE guest's PDPTE not present).
 * Paging off: the direct page of the i-th GB. PAE paging: the guest's PD
 * of PDPTE i, from the copy loaded with CR3 (vcpu->pdptrs), never from
 * memory. 32-bit paging: the guest's PD at CR3, quadrant i (its 256
 * 4-byte PDEs of the i-th GB).
 */
static bool sh_pae_root_want(const struct kvmmu_vcpu *vcpu,
			     union kvmmu_page_role role, int i, gfn_t *gfn,
			     union kvmmu_page_role *r)
{
	u64 pdpte = vcpu->pdptrs[i];

	*r = role;
	if (role.direct) {
		*gfn = (gfn_t)i << (2 * 9);
		return true;
	}
	if (role.has_4_byte_gpte) {
		/* As the walker: CR3[31:12]. */
		*gfn = ((u32)vcpu->sregs.cr3 & PAGE_MASK) >> PAGE_SHIFT;
		r->quadrant = i;
		return true;
	}
	if (!(pdpte & _PAGE_PRESENT))
		return false;
	*gfn = (pdpte & GPTE_ADDR_MASK) >> PAGE_SHIFT;
	return true;
}

/* Whether the vCPU's PAE root still holds what sh_pae_root_want() says. */
static bool sh_pae_roots_valid(const struct kvmmu_vcpu *vcpu,
			       union kvmmu_page_role role)
{
	const struct kvmmu_mmu_vcpu *c = vcpu->mmu;
	union kvmmu_page_role r;
	gfn_t gfn;
	int i;

	if (!c->pae_root || c->root)
		return false;
	for (i = 0; i < ARRAY_SIZE(c->pae); i++) {
		if (!sh_pae_root_want(vcpu, role, i, &gfn, &r)) {
			if (c->pae[i])
				return false;
			continue;
		}
		/* A zapped root has role.invalid set: another word. */
		if (!c->pae[i] || c->pae[i]->gfn != gfn ||
		    READ_ONCE(c->pae[i]->role.word) != r.word)
			return false;
	}
	return true;
}

/*
 * The page of (@gfn, @role), created if missing: an indirect one makes its
 * gfn read-only for every vCPU before it is used (KVM's account_shadowed()
 * and the flush in __kvm_mmu_get_shadow_page()). NULL if a cache ran dry.
 */
static struct kvmmu_mmu_page *sh_get_sp(struct kvmmu_mmu *mmu,
					struct kvmmu_mmu_vcpu *c, gfn_t gfn,
					union kvmmu_page_role role)
{
	struct kvmmu_mmu_page *sp = kvmmu_shadow_find(&mmu->sp, gfn, role);

	/*
	 * A page linked from too many places (a direct page under one guest
	 * huge page mapped everywhere) goes, and a new one starts over
	 * (kvm_mmu_find_shadow_page()). It is below the caller's descent,
	 * a lower level than every page of it: not one the caller holds.
	 */
	if (sp && kvmmu_rmap_count(&sp->parent_ptes) >= SH_RMAP_RECYCLE) {
		sh_zap_page(mmu, sp);
		atomic64_inc(&mmu->stats.rmap_recycled);
		sp = NULL;
	}
	/*
	 * An unsync page linked into another path is synced first: that
	 * path's walk would read the guest's table as it is now
	 * (kvm_mmu_find_shadow_page()). If the sync zapped it, make a new one.
	 */
	if (sp && sp->unsync) {
		if (sh_sync_one(mmu, sp))
			kvmmu_mmu_flush_locked(mmu);
		sp = kvmmu_shadow_find(&mmu->sp, gfn, role);
	}
	if (sp) {
		/* Found for a new path: in use (kvm_mmu_find_shadow_page()). */
		sp->write_flooding_count = 0;
		return sp;
	}
	/*
	 * A guest table used as an upper-level table too: its unsync leaf
	 * pages go (they would let it be written without a fault) and the
	 * new page write-protects it again, below (kvm_mmu_find_shadow_page()
	 * zaps them as well).
	 */
	if (!role.direct && role.level > PG_LEVEL_4K)
		sh_zap_unsync_gfn(mmu, gfn);
	if (!role.direct && role.level == PG_LEVEL_4K && !c->gfns_cache.nobjs)
		return NULL;
	sp = kvmmu_shadow_alloc(&mmu->sp, &c->sc, gfn, role);
	if (!sp)
		return NULL;
	if (role.direct)
		return sp;
	if (role.level == PG_LEVEL_4K)
		sp->gfns = kvmmu_memory_cache_alloc(&c->gfns_cache);
	kvmmu_shadow_wrprot_gfn(mmu, gfn);
	sh_flush_pending(mmu);
	return sp;
}

static bool sh_root_valid(const struct kvmmu_mmu_page *sp)
{
	union kvmmu_page_role role;

	if (!sp)
		return false;
	role.word = READ_ONCE(sp->role.word);
	return !role.invalid;
}

/*
 * The vCPU keeps its roots: if the guest asked for a TLB flush (MOV CR3,
 * INVLPG, a CR4 or CR0 write that flushes: KVMMU_REQ_MMU_SYNC), sync the
 * unsync pages the roots lead to (kvm_mmu_sync_roots()), flushing before
 * the unlock; on debug kernels check the roots after a MOV CR3.
 */
static void sh_sync_roots(struct kvmmu_vcpu *vcpu)
{
	bool sync = kvmmu_check_request(vcpu, KVMMU_REQ_MMU_SYNC);
	struct kvmmu_mmu *mmu = vcpu->vm->mmu;
	struct kvmmu_mmu_vcpu *c = vcpu->mmu;
	bool flush = false;
	LIST_HEAD(freed);
	s64 yields;
	int idx;

	if (!(sync && READ_ONCE(mmu->sp.nr_unsync)) &&
	    !(KVMMU_DEBUG && c->cr3_checked != c->cr3_loads))
		return;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	write_lock(&mmu->lock);
	yields = atomic64_read(&mmu->stats.yields);
	if (sync)
		flush = sh_sync_vcpu_roots(mmu, c);
	sh_check_synced(mmu, c, yields);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
}

/**
 * kvmmu_shadow_load_root - the shadow root for the vCPU's next entry.
 * @vcpu: the vCPU, in its thread, before entry (may sleep).
 * @root_pa: set to the physical address for the VMCB's CR3.
 *
 * KVM's kvm_mmu_load() and kvm_mmu_new_pgd(): the vCPU keeps its roots
 * while the guest's CR3, PDPTEs and paging state (the root's role) stay
 * and no zap invalidated them; otherwise it drops them and finds or makes
 * the roots: an indirect level-4 page of CR3 for 4-level paging; else
 * the level-2 pages under its PAE root (sh_pae_root_want(), KVM's
 * mmu_alloc_shadow_roots()): with paging off four direct ones, with PAE
 * paging one per present PDPTE, with 32-bit paging four quadrants of the
 * guest's PD. New roots, and a KVMMU_REQ_MMU_SYNC, sync the unsync pages.
 *
 * Return: 0; -ENOMEM; -EOPNOTSUPP for a paging mode not shadowed (5-level).
 */
int kvmmu_shadow_load_root(struct kvmmu_vcpu *vcpu, u64 *root_pa)
{
	struct kvmmu_mmu *mmu = vcpu->vm->mmu;
	struct kvmmu_mmu_vcpu *c = vcpu->mmu;
	union kvmmu_page_role role, pr;
	bool paging = vcpu->sregs.cr0 & X86_CR0_PG;
	u64 cr3 = paging ? vcpu->sregs.cr3 & GPTE_ADDR_MASK : 0;
	bool pae, flush = false;
	LIST_HEAD(freed);
	s64 yields;
	int i, r, idx;
	gfn_t gfn;

	r = sh_vcpu_root_role(vcpu, &role);
	if (r)
		return r;
	/* Below the PAE root: the pages say what they shadow; no CR3 key. */
	pae = role.level == PG_LEVEL_2M;
	if (pae)
		cr3 = 0;
	if (c->root_role == role.word && c->root_cr3 == cr3) {
		if (!pae && sh_root_valid(c->root)) {
			*root_pa = __pa(c->root->spt);
			sh_sync_roots(vcpu);
			return 0;
		}
		if (pae && sh_pae_roots_valid(vcpu, role)) {
			*root_pa = __pa(c->pae_root);
			sh_sync_roots(vcpu);
			return 0;
		}
	}

	r = kvmmu_shadow_topup(c);
	if (r)
		return r;
	/* In PAE mode CR3 has 32 bits (KVM's pae_root is GFP_DMA32 too). */
	if (pae && !c->pae_root) {
		c->pae_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT |
						     __GFP_DMA32);
		if (!c->pae_root)
			return -ENOMEM;
	}

	/* The sync below is the one a pending request asks for. */
	kvmmu_check_request(vcpu, KVMMU_REQ_MMU_SYNC);
	idx = srcu_read_lock(&vcpu->vm->srcu);
	write_lock(&mmu->lock);
	sh_put_roots(mmu, c);
	c->root_role = 0;
	kvmmu_shadow_make_pages_available(mmu, 0);
	r = -ENOMEM;
	if (!pae) {
		c->root = sh_get_sp(mmu, c, cr3 >> PAGE_SHIFT, role);
		if (!c->root)
			goto out;
		c->root->root_count++;
		*root_pa = __pa(c->root->spt);
	} else {
		/* Each entry covers 1G of the 4G a 32-bit address reaches. */
		for (i = 0; i < ARRAY_SIZE(c->pae); i++) {
			if (!sh_pae_root_want(vcpu, role, i, &gfn, &pr))
				continue;	/* left 0 by sh_put_roots() */
			c->pae[i] = sh_get_sp(mmu, c, gfn, pr);
			if (!c->pae[i]) {
				sh_put_roots(mmu, c);
				goto out;
			}
			c->pae[i]->root_count++;
			WRITE_ONCE(c->pae_root[i], __pa(c->pae[i]->spt) |
				   KVMMU_SPTE_PRESENT);
		}
		*root_pa = __pa(c->pae_root);
	}
	c->root_role = role.word;
	c->root_cr3 = cr3;
	/* The TLB may hold the old roots' translations (same ASID). */
	kvmmu_make_request(vcpu, KVMMU_REQ_TLB_FLUSH);
	/* New roots: sync what they lead to (kvm_mmu_load()). */
	yields = atomic64_read(&mmu->stats.yields);
	flush = sh_sync_vcpu_roots(mmu, c);
	sh_check_synced(mmu, c, yields);
	r = 0;
out:
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	return r;
}

/*
 * The root page of @c that translates *@gva and its level: the 4-level
 * root, or under the PAE root the page of *@gva's GB (*@gva truncated to
 * 32 bits there). NULL when that PAE entry has no page.
 */
static struct kvmmu_mmu_page *
sh_vcpu_root_of(struct kvmmu_mmu_vcpu *c, u64 *gva, int *level)
{
	if (c->root) {
		*level = KVMMU_ROOT_LEVEL;
		return c->root;
	}
	*gva = (u32)*gva;
	*level = PG_LEVEL_2M;
	return c->pae[*gva >> 30];
}

/**
 * kvmmu_shadow_invlpg - a guest INVLPG: sync what maps one address.
 * @vcpu: the vCPU, in its thread, before its next entry (may sleep).
 * @gva: the linear address invalidated.
 *
 * KVM's kvm_mmu_invalidate_addr() (__kvm_mmu_invalidate_addr(), which is
 * FNAME(invlpg) in older kernels): descends the vCPU's shadow for @gva
 * from its root while the pages lead to unsync pages, and syncs the one
 * SPTE of an unsync leaf page that maps @gva (FNAME(sync_spte); the page
 * stays unsync), zapping it if the guest's entry cannot be read; every
 * vCPU is flushed if it changed. Unsync pages that do not map @gva are
 * left as they are. The caller flushes the vCPU's own TLB.
 */
void kvmmu_shadow_invlpg(struct kvmmu_vcpu *vcpu, u64 gva)
{
	struct kvmmu_mmu *mmu = vcpu->vm->mmu;
	struct kvmmu_mmu_vcpu *c = vcpu->mmu;
	struct kvmmu_mmu_page *sp;
	unsigned int i;
	bool flush = false;
	LIST_HEAD(freed);
	int level, idx, r;
	u64 spte;

	if (!READ_ONCE(mmu->sp.nr_unsync))
		return;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	write_lock(&mmu->lock);
	/* The roots the vCPU ran with: INVLPG never changes them. */
	sp = sh_vcpu_root_of(c, &gva, &level);
	while (sp && !sp->role.invalid) {
		i = kvmmu_spte_index(gva >> PAGE_SHIFT, level);
		if (sp->unsync) {
			r = sh_sync_spte(mmu, sp, i);
			if (r < 0)
				r = sh_zap_spte(mmu, sp, i);
			flush |= r;
		}
		if (level == PG_LEVEL_4K || !sp->unsync_children)
			break;
		spte = READ_ONCE(sp->spt[i]);
		if (!kvmmu_spte_present(spte))
			break;
		sp = kvmmu_sptep_to_sp(kvmmu_spte_table(spte));
		level--;
	}
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
}

/* ---- the fault's descent ---- */

/*
 * FNAME(gpte_changed): whether the guest entry of the walk at @level, of
 * @size bytes (4 for 32-bit paging), is no longer what the walk read.
 * Under mmu->lock: an atomic read, and a read that would fault counts as
 * a change (the fault is retried).
 */
static bool sh_gpte_changed(struct kvmmu_vcpu *vcpu, const struct kvmmu_walk *w,
			    int level, unsigned int size)
{
	u64 val;

	return sh_read_gpte(vcpu->vm, w->pte_gpa[level - 1], size, &val) ||
	       val != w->pte[level - 1];
}

/* Link @child under @sptep, a table SPTE of a page one level up. */
static int sh_link_child(struct kvmmu_mmu_vcpu *c, u64 *sptep,
			 struct kvmmu_mmu_page *child)
{
	int r = kvmmu_shadow_add_parent(&c->sc, child, sptep);

	if (r)
		return r;
	WRITE_ONCE(*sptep, kvmmu_make_table_spte(&kvmmu_shadow_format,
						 child->spt));
	/* link_shadow_page(): the new path leads to its unsync pages too. */
	if (child->unsync || child->unsync_children)
		kvmmu_shadow_mark_unsync_spte(sptep);
	return 0;
}

/*
 * Zap the child linked at @sp[@idx] unless it is what the fault's walk
 * wants there: a direct page iff @direct, of @gfn, and for a direct page
 * of @access (KVM's validate_direct_spte()). Only a guest entry rewritten
 * behind the MMU (by the VMM: write protection sees the guest's stores
 * only) links another; KVM keeps it, and a leaf below then trips the
 * WARN of kvm_mmu_page_set_translation() (sh_set_leaf()'s here).
 */
static void sh_drop_stale_child(struct kvmmu_mmu *mmu,
				struct kvmmu_mmu_page *sp, unsigned int idx,
				bool direct, gfn_t gfn, unsigned int access,
				bool *flush)
{
	u64 spte = READ_ONCE(sp->spt[idx]);
	struct kvmmu_mmu_page *child;

	if (!kvmmu_spte_present(spte))
		return;
	child = kvmmu_sptep_to_sp(kvmmu_spte_table(spte));
	if (child->role.direct == direct && child->gfn == gfn &&
	    (!direct || child->role.access == access))
		return;
	sh_zap_spte(mmu, sp, idx);
	*flush = true;
}

/* Install the leaf of @fault at @sp[@idx]; see kvmmu_shadow_map(). */
static int sh_set_leaf(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *c,
		       struct kvmmu_mmu_page *sp, unsigned int idx,
		       unsigned int access, bool dirty_ok,
		       const struct kvmmu_page_fault *fault, bool *flush)
{
	u64 *sptep = &sp->spt[idx];
	u64 old = READ_ONCE(*sptep), new;
	bool writable;
	int nr;

	if (WARN_ON_ONCE(sp->role.direct && sp->gfn + idx != fault->gfn))
		return KVMMU_MAP_RETRY;
	/*
	 * A guest table the guest writes: its leaf pages go unsync and the
	 * page is mapped writable (make_spte()'s mmu_try_to_unsync_pages(),
	 * here on write faults only); any other stays read-only.
	 */
	writable = (access & KVMMU_ACC_WRITE) && fault->writable && dirty_ok &&
		   (!kvmmu_shadow_gfn_protected(mmu, fault->gfn) ||
		    (fault->write && sh_try_unsync(mmu, fault->gfn)));
	if (!writable)
		access &= ~KVMMU_ACC_WRITE;
	new = kvmmu_make_leaf_spte(&kvmmu_shadow_format, fault->pfn,
				   PG_LEVEL_4K, access, fault->write);

	if (kvmmu_spte_present(old)) {
		u64 lost = old & ~new;

		/* Another vCPU got here first (A and D are the CPU's). */
		if (kvmmu_spte_pfn(old) == fault->pfn &&
		    sh_leaf_gfn(sp, idx) == fault->gfn &&
		    !((old ^ new) & ~(KVMMU_SPTE_ACCESSED | KVMMU_SPTE_DIRTY)))
			return KVMMU_MAP_SPURIOUS;
		old = xchg(sptep, 0);
		sh_rmap_remove(mmu, sh_leaf_gfn(sp, idx), sptep);
		kvmmu_leaf_page_state(old);
		atomic64_dec(&mmu->stats.leaves[0]);
		/* Only a lost permission or another page needs a flush. */
		if (kvmmu_spte_pfn(old) != fault->pfn ||
		    (lost & (KVMMU_SPTE_WRITABLE | KVMMU_SPTE_USER)) ||
		    (new & ~old & KVMMU_SPTE_NX)) {
			sh_zapped(mmu, 1);
			*flush = true;
		}
	}
	if (!sp->role.direct)
		sp->gfns[idx] = fault->gfn;
	nr = sh_rmap_add(c, fault->slot, fault->gfn, sptep);
	if (nr < 0)
		return KVMMU_MAP_NOMEM;
	WRITE_ONCE(*sptep, new);
	/* pages_4k counts leaf SPTEs, as KVM's mmu_set_spte()/drop_spte(). */
	atomic64_inc(&mmu->stats.leaves[0]);
	/* Logged under the lock, as mmu_map() does for the NPT. */
	if (writable && fault->dirty_bitmap)
		set_bit(fault->gfn - fault->base_gfn, fault->dirty_bitmap);
	/* Too many: all go, this one too; the next faults start over. */
	if (nr > SH_RMAP_RECYCLE) {
		*flush |= sh_zap_rmap(mmu, sh_slot_head(fault->slot, fault->gfn),
				      fault->gfn, NULL);
		atomic64_inc(&mmu->stats.rmap_recycled);
	}
	return KVMMU_MAP_DONE;
}

/* KVM's PTE_PREFETCH_NUM: the aligned group of leaves a fault may fill. */
#define SH_PREFETCH_NUM	8

/*
 * Map leaves [@start, @end) of the direct page @sp, none present, if their
 * host pages are present and writable (KVM's direct_pte_prefetch_many():
 * one GUP-fast walk for the run, gfn_to_page_many_atomic()). Frames
 * outside @slot, the fault's, are not looked at. Return: 0 if every leaf
 * of the run was mapped, -1 to prefetch no further.
 */
static int sh_prefetch_run(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *c,
			   struct kvmmu_mmu_page *sp,
			   const struct kvmmu_memory_slot *slot,
			   unsigned int start, unsigned int end)
{
	struct page *pages[SH_PREFETCH_NUM];
	gfn_t gfn = sp->gfn + start;
	unsigned int access;
	int i, n, nr = end - start;
	u64 new;

	if (gfn < slot->base_gfn || gfn + nr > slot->base_gfn + slot->npages)
		return -1;
	n = get_user_pages_fast_only(kvmmu_memslot_gfn_to_hva(slot, gfn), nr,
				     FOLL_WRITE, pages);
	for (i = 0; i < n; i++, gfn++) {
		/* A new rmap head may take a descriptor (topped up for 8). */
		if (c->sc.desc.nobjs &&
		    sh_rmap_add(c, slot, gfn, &sp->spt[start + i]) >= 0) {
			access = sp->role.access;
			if (kvmmu_shadow_gfn_protected(mmu, gfn))
				access &= ~KVMMU_ACC_WRITE;
			new = kvmmu_make_leaf_spte(&kvmmu_shadow_format,
						   page_to_pfn(pages[i]),
						   PG_LEVEL_4K, access, false);
			WRITE_ONCE(sp->spt[start + i], new & ~KVMMU_SPTE_ACCESSED);
			atomic64_inc(&mmu->stats.leaves[0]);
		} else {
			nr = 0;		/* no descriptor: stop after this run */
		}
		/* The SPTE holds no reference: the notifier zaps it first. */
		put_page(pages[i]);
	}
	return n == nr ? 0 : -1;
}

/*
 * Map the neighbours of leaf @idx of the direct page @sp whose host pages
 * are present, with @sp's access (KVM's direct_pte_prefetch() and
 * __direct_pte_prefetch(), which FNAME(pte_prefetch) calls for a direct
 * page): below a guest huge page, or with paging off, the guest gives
 * every frame of the range the same rights, so only the host has a say.
 * The runs of empty entries in the aligned group of 8 are filled by
 * GUP-fast, stopping at the first host page that is not there (first
 * touches fault one by one, as in KVM, at the cost of one failed GUP-fast
 * walk each). Skipped while an invalidation is in progress (its range may
 * be among them; under mmu->lock none can start) or with dirty logging
 * (KVM's gfn_to_memslot_dirty_bitmap()). A prefetched leaf is not
 * Accessed (make_spte() with prefetch) and, for a gfn a guest table in
 * sync lives in, not writable. mmu->lock held for write, SRCU held.
 */
static void sh_direct_prefetch(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *c,
			       struct kvmmu_mmu_page *sp, unsigned int idx,
			       const struct kvmmu_page_fault *fault)
{
	const struct kvmmu_memory_slot *slot = fault->slot;
	unsigned int i, first = idx & ~(SH_PREFETCH_NUM - 1);
	int start = -1;

	if (mmu->invalidate_in_progress || slot->dirty_bitmap ||
	    (slot->flags & KVM_MEM_READONLY))
		return;
	for (i = first; i < first + SH_PREFETCH_NUM; i++) {
		if (i != idx && !kvmmu_spte_present(READ_ONCE(sp->spt[i]))) {
			if (start < 0)
				start = i;
			continue;
		}
		if (start >= 0 && sh_prefetch_run(mmu, c, sp, slot, start, i))
			return;
		start = -1;
	}
	if (start >= 0)
		sh_prefetch_run(mmu, c, sp, slot, start, i);
}

/**
 * kvmmu_shadow_map - build the shadow path of a fault and its leaf.
 * @mmu: the MMU; lock held for write.
 * @vcpu: the faulting vCPU (its roots and caches).
 * @walk: the guest walk of @gva, successful; unused with paging off.
 * @gva: the faulting linear address.
 * @fault: gfn, pfn, host writability, write, error code, dirty log.
 * @flush: set when a TLB flush must precede the unlock.
 *
 * KVM's FNAME(fetch) for 4-level, PAE and 32-bit paging (the last two
 * from a root under the PAE root, shadow level 2 = guest level 2) and
 * direct_map() for paging off. A 32-bit guest PT of 1024 4-byte entries
 * is shadowed by two level-1 pages, role.quadrant the bit 21 of the
 * address (KVM's kvm_mmu_child_role()); a 4M guest page by direct pages.
 *
 * Return: KVMMU_MAP_DONE, _SPURIOUS, _RETRY (the root was zapped or a
 * guest entry changed since the walk: let the guest fault again) or
 * _NOMEM.
 */
int kvmmu_shadow_map(struct kvmmu_mmu *mmu, struct kvmmu_vcpu *vcpu,
		     const struct kvmmu_walk *walk, u64 gva,
		     struct kvmmu_page_fault *fault, bool *flush)
{
	const struct kvm_sregs *s = &vcpu->sregs;
	struct kvmmu_mmu_vcpu *c = vcpu->mmu;
	bool paging = s->cr0 & X86_CR0_PG;
	bool efer_nx = s->efer & EFER_NX;
	struct kvmmu_mmu_page *sp, *child;
	unsigned int access = KVMMU_ACC_ALL, leaf_access = KVMMU_ACC_ALL;
	unsigned int gpte_size = 8, idx;
	union kvmmu_page_role role;
	bool dirty_ok = true;
	int level, l;
	u64 *sptep;

	shadow_assert_write_locked(mmu);
	/* Before the descent: it must not zap the pages it goes through. */
	kvmmu_shadow_make_pages_available(mmu, 0);
	if (paging && (s->efer & EFER_LMA)) {
		sp = c->root;
		level = KVMMU_ROOT_LEVEL;
		if (walk->levels != KVMMU_ROOT_LEVEL)
			return KVMMU_MAP_RETRY;
	} else {
		/* Paging off, PAE, 32-bit: a root per GB under the PAE root. */
		gva = (u32)gva;
		sp = c->pae[gva >> 30];
		level = PG_LEVEL_2M;
		if (paging && !(s->cr4 & X86_CR4_PAE))
			gpte_size = 4;
		if (paging && walk->levels != (gpte_size == 4 ? 2 : 3))
			return KVMMU_MAP_RETRY;
	}
	if (paging) {
		/* From the root's level: PAE's PDPTE has no permission bits. */
		for (l = level; l >= walk->level; l--)
			leaf_access &= sh_gpte_access(walk->pte[l - 1], efer_nx);
		dirty_ok = fault->write ||
			   (walk->pte[walk->level - 1] & GPTE_DIRTY);
	}
	if (!sp || sp->role.invalid)
		return KVMMU_MAP_RETRY;
	/* The root's own table is write-protected: its entry must hold. */
	if (paging && sh_gpte_changed(vcpu, walk, level, gpte_size))
		return KVMMU_MAP_RETRY;

	for (; level > PG_LEVEL_4K; level--) {
		/* In use by a fault: not flooded (FNAME(fetch)). */
		sp->write_flooding_count = 0;
		idx = kvmmu_spte_index(gva >> PAGE_SHIFT, level);
		sptep = &sp->spt[idx];
		role = sp->role;
		role.level = level - 1;
		role.pae_root = 0;
		/*
		 * 4-byte guest entries: a guest PT (4M) is two shadow PTs
		 * (2M each), told apart by the address's bit 21, the low bit
		 * of this index (kvm_mmu_child_role()); not the root's
		 * quadrant, which was the GB.
		 */
		role.quadrant = role.has_4_byte_gpte ? idx & 1 : 0;
		if (paging && level > walk->level) {
			/* The guest entry at @level points to a table. */
			gfn_t gfn = (walk->pte[level - 1] & GPTE_ADDR_MASK) >>
				    PAGE_SHIFT;

			access &= sh_gpte_access(walk->pte[level - 1], efer_nx);
			role.access = access;
			child = NULL;
			sh_drop_stale_child(mmu, sp, idx, false, gfn, 0, flush);
			if (!kvmmu_spte_present(READ_ONCE(*sptep))) {
				child = sh_get_sp(mmu, c, gfn, role);
				if (!child)
					return KVMMU_MAP_NOMEM;
				/*
				 * An upper page with unsync pages below it is
				 * synced before a new path leads there: the
				 * guest need not flush for an entry that was
				 * not present (FNAME(fetch)); if that must stop
				 * for the lock, the fault retries.
				 */
				if (child->unsync_children &&
				    sh_sync_children(mmu, child, flush, false))
					return KVMMU_MAP_RETRY;
			}
			/* Now that its table is protected, the entry below. */
			if (sh_gpte_changed(vcpu, walk, level - 1, gpte_size))
				return KVMMU_MAP_RETRY;
		} else {
			gfn_t gfn = fault->gfn & ~(KVMMU_PAGES_PER(level) - 1);

			/* Under a guest huge page, or paging off: linear. */
			role.direct = 1;
			role.access = leaf_access;
			/*
			 * A clean guest leaf on a read: no write in the role,
			 * so the first write faults and sets D
			 * (FNAME(protect_clean_gpte)).
			 */
			if (!dirty_ok)
				role.access &= ~KVMMU_ACC_WRITE;
			child = NULL;
			/* Another access or range: dropped (validate_direct_spte()). */
			sh_drop_stale_child(mmu, sp, idx, true, gfn, role.access,
					    flush);
			if (!kvmmu_spte_present(READ_ONCE(*sptep))) {
				child = sh_get_sp(mmu, c, gfn, role);
				if (!child)
					return KVMMU_MAP_NOMEM;
			}
		}
		if (child && sh_link_child(c, sptep, child))
			return KVMMU_MAP_NOMEM;
		sp = kvmmu_sptep_to_sp(kvmmu_spte_table(READ_ONCE(*sptep)));
	}

	/* CR0.WP=0: a supervisor write to a read-only page (KVM's way). */
	if (paging && !(s->cr0 & X86_CR0_WP) && fault->write &&
	    !(fault->error_code & KVMMU_PFERR_USER) &&
	    !(leaf_access & KVMMU_ACC_WRITE)) {
		leaf_access |= KVMMU_ACC_WRITE;
		leaf_access &= ~KVMMU_ACC_USER;
		/*
		 * A user page made a supervisor one must not become
		 * executable by the supervisor under SMEP.
		 */
		if (s->cr4 & X86_CR4_SMEP)
			leaf_access &= ~KVMMU_ACC_EXEC;
	}
	idx = kvmmu_spte_index(gva >> PAGE_SHIFT, 1);
	l = sh_set_leaf(mmu, c, sp, idx, leaf_access, dirty_ok, fault, flush);
	if (l == KVMMU_MAP_DONE && sp->role.direct)
		sh_direct_prefetch(mmu, c, sp, idx, fault);
	return l;
}

/* ---- emulated stores into guest tables ---- */

/*
 * KVM's detect_write_flooding(): the third emulated store into the table
 * of @sp with no fault through @sp in between (which resets the count:
 * kvmmu_shadow_map(), sh_get_sp(), kvmmu_shadow_clear_flood()) says it is
 * likely no page table any more (or a fork copies it): zap the page
 * rather than keep emulating. Leaf pages are not counted: they go unsync.
 */
static bool sh_write_flooding(struct kvmmu_mmu_page *sp)
{
	if (sp->role.level == PG_LEVEL_4K)
		return false;
	return ++sp->write_flooding_count >= 3;
}

/*
 * KVM's detect_write_misaligned(): a store that is not within one guest
 * entry of @sp, or narrower than 4 bytes, is not worth decoding into
 * SPTEs; a single byte at the start of an entry is (clear_bit()'s ANDB
 * on the low byte). A store over more than one entry (a REP STOS chunk)
 * is misaligned too: KVM's emulator stores an element at a time and
 * floods at the third.
 */
static bool sh_write_misaligned(const struct kvmmu_mmu_page *sp,
				unsigned int offset, unsigned int bytes)
{
	unsigned int size = sp->role.has_4_byte_gpte ? 4 : 8;

	if (!(offset & (size - 1)) && bytes == 1)
		return false;
	return ((offset ^ (offset + bytes - 1)) & ~(size - 1)) || bytes < 4;
}

/*
 * KVM's get_written_sptes(): the first SPTE of @sp the guest entry at
 * @offset of its table maps, and how many (*@n), or -1 if @sp shadows
 * another part of the table. A 4-byte guest PT of 1024 entries is two
 * shadow PTs (role.quadrant = entry / 512); a 32-bit PD is four level-2
 * pages (quadrant = entry / 256, the GB), and each 4M entry is two 2M
 * SPTEs there.
 */
static int sh_written_sptes(const struct kvmmu_mmu_page *sp,
			    unsigned int offset, unsigned int *n)
{
	unsigned int quadrant;

	*n = 1;
	if (!sp->role.has_4_byte_gpte)
		return offset / 8;
	offset <<= 1;			/* 4-byte entries, 8-byte SPTEs */
	if (sp->role.level == PG_LEVEL_2M) {
		offset = (offset & ~7U) << 1;
		*n = 2;
	}
	quadrant = offset >> PAGE_SHIFT;
	if (quadrant != sp->role.quadrant)
		return -1;
	return offset_in_page(offset) / 8;
}

/*
 * The store of @bytes at @gpa into a guest table: for each indirect page
 * of its gfn, zap the SPTEs of the entry written, or the page if the
 * store is misaligned or floods it. The next access through the entry
 * faults and reads it anew; the other entries are what the guest wrote
 * before and stay (KVM's kvm_mmu_track_write(), whose loop this is). A
 * table SPTE zapped unlinks its child (sh_zap_spte()), which stays in
 * the hash and is linked again by the next fault. Return: whether to
 * flush before the lock goes.
 */
static bool sh_track_write(struct kvmmu_mmu *mmu, u64 gpa, unsigned int bytes)
{
	unsigned int offset = offset_in_page(gpa), size, n;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	struct kvmmu_mmu_page *sp;
	struct hlist_node *tmp;
	bool flush = false;
	u64 gentry;
	int idx;

	shadow_assert_write_locked(mmu);
	atomic64_inc(&mmu->stats.pte_write);
	hlist_for_each_entry_safe(sp, tmp,
				  &mmu->sp.hash[hash_64(gfn, KVMMU_SHADOW_HASH_BITS)],
				  hash_link) {
		if (sp->gfn != gfn || sp->role.direct)
			continue;
		if (sh_write_misaligned(sp, offset, bytes) ||
		    sh_write_flooding(sp)) {
			sh_zap_page(mmu, sp);
			atomic64_inc(&mmu->stats.flooded);
			flush = true;
			continue;
		}
		idx = sh_written_sptes(sp, offset, &n);
		if (idx < 0)
			continue;
		/* The new entry, for the count only (KVM's gentry). */
		gentry = 0;
		size = sp->role.has_4_byte_gpte ? 4 : 8;
		if (sp->role.level != PG_LEVEL_4K)
			sh_read_gpte(mmu->vm, gpa & ~(u64)(size - 1), size,
				     &gentry);
		for (; n; n--, idx++) {
			flush |= sh_zap_spte(mmu, sp, idx);
			if (gentry)
				atomic64_inc(&mmu->stats.pde_zapped);
		}
	}
	return flush;
}

/**
 * kvmmu_shadow_track_write - a store emulated into guest RAM is done.
 * @vm: the VM (tdp=0); no MMU lock held.
 * @gpa: where it stored (x86.c's emulated stores to guest tables, string
 *       I/O, and any other store kvmmu makes for the guest).
 * @bytes: how many bytes, within the page of @gpa.
 *
 * If @gpa is in a guest table the shadow MMU write-protects, the SPTEs of
 * the entry written are zapped, or the whole shadow page for a misaligned
 * store or the third store with no fault through the page in between;
 * every vCPU is flushed before the lock is released (KVM's
 * kvm_mmu_track_write()).
 */
void kvmmu_shadow_track_write(struct kvmmu_vm *vm, u64 gpa, unsigned int bytes)
{
	struct kvmmu_mmu *mmu = vm->mmu;
	LIST_HEAD(freed);
	bool flush;
	int idx;

	if (!bytes)
		return;
	/* Callers split a store at pages: this page's part. */
	bytes = min_t(unsigned int, bytes, PAGE_SIZE - offset_in_page(gpa));
	idx = srcu_read_lock(&vm->srcu);
	write_lock(&mmu->lock);
	flush = sh_track_write(mmu, gpa, bytes);
	kvmmu_mmu_zap_unlock(mmu, flush, &freed);
	srcu_read_unlock(&vm->srcu, idx);
}

/**
 * kvmmu_shadow_clear_flood - a write fault at @gva is to be emulated.
 * @vcpu: the faulting vCPU; mmu->lock held for write.
 * @gva: the faulting address.
 *
 * Resets the flood count of every shadow page the vCPU's shadow walk of
 * @gva goes through: they are in use (KVM's shadow_page_table_clear_flood(),
 * for a write fault on a write-tracked gfn). A guest that writes a table
 * through a mapping that the table itself is part of thus never floods
 * it, however often it writes.
 */
void kvmmu_shadow_clear_flood(struct kvmmu_vcpu *vcpu, u64 gva)
{
	struct kvmmu_mmu_vcpu *c = vcpu->mmu;
	struct kvmmu_mmu_page *sp;
	int level;
	u64 spte;

	shadow_assert_write_locked(vcpu->vm->mmu);
	sp = sh_vcpu_root_of(c, &gva, &level);
	for (; sp && !sp->role.invalid; level--) {
		sp->write_flooding_count = 0;
		if (level == PG_LEVEL_4K)
			break;
		spte = READ_ONCE(sp->spt[kvmmu_spte_index(gva >> PAGE_SHIFT,
							  level)]);
		if (!kvmmu_spte_present(spte))
			break;
		sp = kvmmu_sptep_to_sp(kvmmu_spte_table(spte));
	}
}

/* ---- debugfs ---- */

/* What "shadow_pages" prints of one page, copied under the lock. */
struct sh_dump_page {
	gfn_t gfn;
	union kvmmu_page_role role;
	int root_count;
	unsigned int parents;
	unsigned int sptes;
	bool unsync;
};

/* Pages copied per hold of the lock (each costs a scan of its 512 SPTEs). */
#define SH_DUMP_BATCH	32

/**
 * struct sh_dump - a dump of the shadow pages, a batch at a time.
 * @bucket: the hash bucket the next page is in; past the last bucket,
 *          the VM's page list, for the invalid roots (zapped pages still
 *          used as a root are out of the hash).
 * @skip: pages of @bucket (or invalid pages of the list) already copied.
 * @n: pages in @page.
 * @page: the batch.
 */
struct sh_dump {
	unsigned long bucket;
	unsigned long skip;
	unsigned int n;
	struct sh_dump_page page[SH_DUMP_BATCH];
};

static void sh_dump_one(struct sh_dump *d, const struct kvmmu_mmu_page *sp)
{
	struct sh_dump_page *p = &d->page[d->n++];
	unsigned int i;

	p->gfn = sp->gfn;
	p->role = sp->role;
	p->root_count = sp->root_count;
	p->parents = kvmmu_rmap_count(&sp->parent_ptes);
	p->sptes = 0;
	for (i = 0; i < KVMMU_SPTE_PER_TABLE; i++)
		p->sptes += kvmmu_spte_present(READ_ONCE(sp->spt[i]));
	p->unsync = sp->unsync;
	d->skip++;
}

/*
 * Copy the next batch of pages into @d (reset d->n first), from where it
 * stopped. mmu->lock held for read at least: every change to the pages is
 * made under the write lock. Between batches pages may come and go, so a
 * dump is not one snapshot (a page moved meanwhile may be missed or seen
 * twice), as debugfs "mappings".
 *
 * Return: true when no page is left after this batch.
 */
static bool sh_dump_collect(struct kvmmu_mmu *mmu, struct sh_dump *d)
{
	struct kvmmu_mmu_page *sp;
	unsigned long i;

	lockdep_assert_held(&mmu->lock);
	d->n = 0;
	for (; d->bucket < (1UL << KVMMU_SHADOW_HASH_BITS);
	     d->bucket++, d->skip = 0) {
		i = 0;
		hlist_for_each_entry(sp, &mmu->sp.hash[d->bucket], hash_link) {
			if (i++ < d->skip)
				continue;
			if (d->n == SH_DUMP_BATCH)
				return false;
			sh_dump_one(d, sp);
		}
	}
	i = 0;
	list_for_each_entry(sp, &mmu->sp.active_pages, link) {
		if (!sp->role.invalid || i++ < d->skip)
			continue;
		if (d->n == SH_DUMP_BATCH)
			return false;
		sh_dump_one(d, sp);
	}
	return true;
}

/**
 * struct sh_dump_iter - the seq_file state of an open "shadow_pages".
 * @mmu: the VM's MMU.
 * @first: the index (from 0) of @d.page[0] in the dump.
 * @done: no batch after @d.
 * @d: the cursor and the current batch.
 */
struct sh_dump_iter {
	struct kvmmu_mmu *mmu;
	loff_t first;
	bool done;
	struct sh_dump d;
};

/*
 * Page @idx of the dump, collecting batches up to it; a seek backwards
 * starts again. The lock is held only while a batch is copied, never
 * while seq_file prints or copies to the user.
 */
static struct sh_dump_page *sh_dump_at(struct sh_dump_iter *it, loff_t idx)
{
	if (idx < it->first) {
		memset(&it->d, 0, sizeof(it->d));
		it->first = 0;
		it->done = !it->mmu->shadow;
	}
	while (idx >= it->first + it->d.n) {
		if (it->done)
			return NULL;
		it->first += it->d.n;
		read_lock(&it->mmu->lock);
		it->done = sh_dump_collect(it->mmu, &it->d);
		read_unlock(&it->mmu->lock);
		cond_resched();
	}
	return &it->d.page[idx - it->first];
}

static void *shadow_pages_start(struct seq_file *sf, loff_t *pos)
{
	if (!*pos)
		return SEQ_START_TOKEN;
	return sh_dump_at(sf->private, *pos - 1);
}

static void *shadow_pages_next(struct seq_file *sf, void *v, loff_t *pos)
{
	++*pos;
	return sh_dump_at(sf->private, *pos - 1);
}

static void shadow_pages_stop(struct seq_file *sf, void *v)
{
}

static int shadow_pages_show(struct seq_file *sf, void *v)
{
	const struct sh_dump_page *p = v;
	union kvmmu_page_role r;

	if (v == SEQ_START_TOKEN) {
		seq_puts(sf, "gfn role level direct quadrant access gpte4 cr0_wp efer_nx smep_andnot_wp smap_andnot_wp pae_root invalid roots parents sptes unsync\n");
		return 0;
	}
	r = p->role;
	seq_printf(sf, "0x%llx 0x%08x %u %u %u %c%c%c %u %u %u %u %u %u %u %d %u %u %u\n",
		   (unsigned long long)p->gfn, r.word, r.level, r.direct,
		   r.quadrant,
		   r.access & KVMMU_ACC_USER ? 'u' : '-',
		   r.access & KVMMU_ACC_WRITE ? 'w' : '-',
		   r.access & KVMMU_ACC_EXEC ? 'x' : '-',
		   r.has_4_byte_gpte, r.cr0_wp, r.efer_nx, r.smep_andnot_wp,
		   r.smap_andnot_wp, r.pae_root, r.invalid, p->root_count,
		   p->parents, p->sptes, p->unsync);
	return 0;
}

static const struct seq_operations shadow_pages_sops = {
	.start	= shadow_pages_start,
	.next	= shadow_pages_next,
	.stop	= shadow_pages_stop,
	.show	= shadow_pages_show,
};

static int shadow_pages_open(struct inode *inode, struct file *file)
{
	struct sh_dump_iter *it;

	it = __seq_open_private(file, &shadow_pages_sops, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->mmu = inode->i_private;
	it->done = !it->mmu->shadow;
	return 0;
}

static const struct file_operations shadow_pages_fops = {
	.owner		= THIS_MODULE,
	.open		= shadow_pages_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release_private,
};

/**
 * kvmmu_shadow_debugfs_init - create "shadow_pages" in a VM's directory.
 * @mmu: the VM's MMU, TDP or shadow.
 * @dir: the VM's debugfs directory, valid.
 *
 * One line per shadow page after a header (format in
 * Documentation/mmu.rst); with the TDP MMU only the header. The file must
 * be removed before the MMU is freed; debugfs removal waits for readers.
 */
void kvmmu_shadow_debugfs_init(struct kvmmu_mmu *mmu, struct dentry *dir)
{
	debugfs_create_file("shadow_pages", 0444, dir, mmu, &shadow_pages_fops);
}
