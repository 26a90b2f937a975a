// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow pages: the bookkeeping of the shadow MMU (shadow_mmu.c uses it
 * for the walks, faults, syncs and zaps).
 *
 * In the vocabulary of KVM's MMU document
 * (Documentation/virt/kvm/x86/mmu.rst):
 *
 * - A shadow page (struct kvmmu_mmu_page) is a page of 512 SPTEs, "spt",
 *   that the CPU walks in place of a guest page table. Its nonleaf SPTEs
 *   point at lower shadow pages, its leaf SPTEs at guest memory.
 * - It is known by its gfn and its role (union kvmmu_page_role): the guest
 *   table it shadows (or, for a direct page, the first GFN of the linear
 *   range it maps) and everything that changes how the guest's entries are
 *   translated: level, 32-bit guest PTEs and the quadrant of such a table,
 *   direct, the access inherited from the parents, EFER.NX, CR0.WP and
 *   SMEP/SMAP without WP. One guest table read under two roles is two
 *   shadow pages; "invalid" marks a zapped page still used as a root.
 * - The VM's pages sit in a hash by gfn (struct kvmmu_shadow); a lookup
 *   compares the whole role word, as kvm_mmu_find_shadow_page() does.
 * - parent_ptes is the reverse map from a page to the upper SPTEs that
 *   point at its spt (rmap.c's chain): the spt array forms a DAG, one page
 *   can have many parents, and zapping a page must clear them all.
 * - root_count counts the vCPUs using a page as their root (CR3); a zapped
 *   root is kept, invalid, until the count drops to zero.
 * - unsync marks a leaf (level-1) page whose guest table the guest may
 *   write without a fault (shadow_mmu.c resyncs it on INVLPG, MOV CR3 and
 *   TLB flushes). As in KVM, each upper page's unsync_child_bitmap (and
 *   unsync_children, the count of its bits) tells which of its SPTEs lead
 *   to an unsync page, so that a sync walks from a vCPU's roots to what
 *   they reach only; the VM's unsync pages are also on one list,
 *   @s->unsync_pages (statistics, debugfs).
 *
 * What is here: find, allocate and hash, parent pointers, and a delete in
 * two steps as KVM's prepare/commit zap: prepare unlinks the page from its
 * parents (their SPTEs cleared) and from the hash; the caller flushes the
 * TLBs; commit frees. Zapping a page's own SPTEs (children and GFN
 * rmaps), the guest table walks, write protection, unsync and reclaim
 * are shadow_mmu.c's.
 *
 * A page's spt counts as a secondary page table of the memcg it is
 * charged to, the VMM's (memory.stat sec_pagetables), from allocation to
 * free, as KVM's kvm_account_mmu_page().
 *
 * Memory: a page's header, spt and parent descriptors come from the
 * caller's struct kvmmu_shadow_caches, topped up before the MMU lock is
 * taken: nothing here allocates under it. spt's struct page's private
 * points to the header, so an SPTE pointer finds its shadow page
 * (kvmmu_sptep_to_sp(), KVM's sptep_to_sp()).
 *
 * Exclusion: the MMU lock (@s->lock), held for write, protects the hash,
 * the page list, every field of every page and its parent_ptes; the
 * functions check it with lockdep. Init, destroy and the cache functions
 * run without it: before the VM is visible, after the last user is gone,
 * and in the cache owner's thread.
 */

#include <linux/hash.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mmu.h"

/* Shadow pages a fault may create, one per level (PT64_ROOT_MAX_LEVEL). */
#define KVMMU_SHADOW_TOPUP_PAGES	5
/* Descriptors for a fault: parents and rmaps of each level, prefetch. */
#define KVMMU_SHADOW_TOPUP_DESCS	(1 + KVMMU_SHADOW_TOPUP_PAGES + 8)

/**
 * kvmmu_shadow_caches_init - set up empty caches for shadow pages.
 * @c: the caches.
 */
void kvmmu_shadow_caches_init(struct kvmmu_shadow_caches *c)
{
	BUILD_BUG_ON(sizeof(union kvmmu_page_role) != sizeof(u32));

	kvmmu_rmap_cache_init(&c->desc);
	c->header.obj_size = sizeof(struct kvmmu_mmu_page);
	c->header.nobjs = 0;
	c->spt.obj_size = 0;
	c->spt.nobjs = 0;
}

/**
 * kvmmu_shadow_caches_topup - fill the caches for one fault; may sleep.
 * @c: the caches.
 *
 * Call without the MMU lock (KVM's mmu_topup_memory_caches()).
 *
 * Return: 0 or -ENOMEM.
 */
int kvmmu_shadow_caches_topup(struct kvmmu_shadow_caches *c)
{
	int r;

	r = kvmmu_memory_cache_topup(&c->desc, KVMMU_SHADOW_TOPUP_DESCS);
	if (!r)
		r = kvmmu_memory_cache_topup(&c->header,
					     KVMMU_SHADOW_TOPUP_PAGES);
	if (!r)
		r = kvmmu_memory_cache_topup(&c->spt, KVMMU_SHADOW_TOPUP_PAGES);
	return r;
}

/**
 * kvmmu_shadow_caches_free - free what the caches still hold.
 * @c: the caches; left empty and usable.
 */
void kvmmu_shadow_caches_free(struct kvmmu_shadow_caches *c)
{
	kvmmu_memory_cache_free(&c->desc);
	kvmmu_memory_cache_free(&c->header);
	kvmmu_memory_cache_free(&c->spt);
}

static void shadow_assert_locked(struct kvmmu_shadow *s)
{
	if (s->lock)
		lockdep_assert_held_write(s->lock);
}

static struct hlist_head *shadow_bucket(struct kvmmu_shadow *s, gfn_t gfn)
{
	return &s->hash[hash_64(gfn, KVMMU_SHADOW_HASH_BITS)];
}

/**
 * kvmmu_shadow_init - set up a VM's (empty) set of shadow pages.
 * @s: the set.
 * @lock: the MMU lock that will protect it.
 *
 * Return: 0 or -ENOMEM.
 */
int kvmmu_shadow_init(struct kvmmu_shadow *s, rwlock_t *lock)
{
	s->lock = lock;
	s->hash = kvcalloc(1UL << KVMMU_SHADOW_HASH_BITS, sizeof(*s->hash),
			   GFP_KERNEL_ACCOUNT);
	if (!s->hash)
		return -ENOMEM;
	INIT_LIST_HEAD(&s->active_pages);
	INIT_LIST_HEAD(&s->unsync_pages);
	s->nr_pages = 0;
	s->nr_unsync = 0;
	return 0;
}

/*
 * Shadow pages of every VM, for the shrinker's count (KVM's
 * kvm_total_used_mmu_pages): read without any lock.
 */
atomic_long_t kvmmu_shadow_total_pages = ATOMIC_LONG_INIT(0);

static void shadow_free_page(struct kvmmu_shadow *s, struct kvmmu_mmu_page *sp)
{
	/* Whoever pointed at it is gone: the chain only needs freeing. */
	kvmmu_rmap_clear(&sp->parent_ptes);
	set_page_private(virt_to_page(sp->spt), 0);
	mod_lruvec_page_state(virt_to_page(sp->spt), NR_SECONDARY_PAGETABLE,
			      -1);
	free_page((unsigned long)sp->spt);
	free_page((unsigned long)sp->gfns);
	kfree(sp);
	s->nr_pages--;
	atomic_long_dec(&kvmmu_shadow_total_pages);
}

/**
 * kvmmu_shadow_destroy - free every shadow page of a dying VM.
 * @s: the set; no vCPU may use any of its pages (no roots in use).
 *
 * No lock: nobody else can reach @s any more.
 */
void kvmmu_shadow_destroy(struct kvmmu_shadow *s)
{
	struct kvmmu_mmu_page *sp, *next;

	if (!s->hash)
		return;
	list_for_each_entry_safe(sp, next, &s->active_pages, link) {
		WARN_ON_ONCE(sp->root_count);
		if (!hlist_unhashed(&sp->hash_link))
			hlist_del(&sp->hash_link);
		list_del(&sp->link);
		shadow_free_page(s, sp);
	}
	WARN_ON_ONCE(s->nr_pages);
	kvfree(s->hash);
	s->hash = NULL;
}

/**
 * kvmmu_shadow_find - the shadow page of a gfn and role, if there is one.
 * @s: the VM's shadow pages.
 * @gfn: the guest table (or direct range) shadowed.
 * @role: the role; compared as a whole word.
 *
 * Zapped pages are out of the hash and never found. Call with the MMU
 * lock held for write.
 *
 * Return: the page, or NULL.
 */
struct kvmmu_mmu_page *kvmmu_shadow_find(struct kvmmu_shadow *s, gfn_t gfn,
					 union kvmmu_page_role role)
{
	struct kvmmu_mmu_page *sp;

	shadow_assert_locked(s);
	hlist_for_each_entry(sp, shadow_bucket(s, gfn), hash_link)
		if (sp->gfn == gfn && sp->role.word == role.word)
			return sp;
	return NULL;
}

/**
 * kvmmu_shadow_alloc - create a shadow page and put it in the hash.
 * @s: the VM's shadow pages.
 * @c: the caches its header and spt come from; nothing is allocated.
 * @gfn: the guest table (or direct range) shadowed.
 * @role: the role; not already in @s for @gfn (see kvmmu_shadow_find()).
 *
 * The page has no SPTEs, no parents and no root users. Call with the MMU
 * lock held for write.
 *
 * Return: the page, or NULL if @c ran out (nothing taken from @c then).
 */
struct kvmmu_mmu_page *kvmmu_shadow_alloc(struct kvmmu_shadow *s,
					  struct kvmmu_shadow_caches *c,
					  gfn_t gfn, union kvmmu_page_role role)
{
	struct kvmmu_mmu_page *sp;

	shadow_assert_locked(s);
	if (!c->header.nobjs || !c->spt.nobjs)
		return NULL;
	sp = kvmmu_memory_cache_alloc(&c->header);
	sp->spt = kvmmu_memory_cache_alloc(&c->spt);
	set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
	mod_lruvec_page_state(virt_to_page(sp->spt), NR_SECONDARY_PAGETABLE, 1);
	sp->gfn = gfn;
	sp->role = role;
	sp->unsync = false;
	sp->unsync_children = 0;
	sp->check_gen = 0;
	sp->write_flooding_count = 0;
	bitmap_zero(sp->unsync_child_bitmap, KVMMU_SPTE_PER_TABLE);
	INIT_LIST_HEAD(&sp->unsync_link);
	list_add(&sp->link, &s->active_pages);
	hlist_add_head(&sp->hash_link, shadow_bucket(s, gfn));
	s->nr_pages++;
	atomic_long_inc(&kvmmu_shadow_total_pages);
	return sp;
}

/**
 * kvmmu_shadow_add_parent - record that an upper SPTE points at a page.
 * @c: the caches a descriptor may come from.
 * @sp: the (lower) page.
 * @parent_sptep: the SPTE, in another page's spt, that links @sp in.
 *
 * KVM's mmu_page_add_parent_pte(). Call with the MMU lock held for write.
 *
 * Return: 0, or -ENOMEM if a descriptor was needed and @c had none.
 */
int kvmmu_shadow_add_parent(struct kvmmu_shadow_caches *c,
			    struct kvmmu_mmu_page *sp, u64 *parent_sptep)
{
	int r = kvmmu_rmap_add(&c->desc, &sp->parent_ptes, parent_sptep);

	return r < 0 ? r : 0;
}

/**
 * kvmmu_shadow_remove_parent - forget an upper SPTE that pointed at a page.
 * @sp: the (lower) page.
 * @parent_sptep: the SPTE; it must be one of @sp's parents (warns once
 *                and does nothing if not).
 *
 * The SPTE itself is the caller's. KVM's mmu_page_remove_parent_pte().
 * Call with the MMU lock held for write.
 */
void kvmmu_shadow_remove_parent(struct kvmmu_mmu_page *sp, u64 *parent_sptep)
{
	kvmmu_rmap_remove(&sp->parent_ptes, parent_sptep);
}

/**
 * kvmmu_shadow_prepare_delete - unlink a shadow page (first half of a zap).
 * @s: the VM's shadow pages.
 * @sp: the page; its own SPTEs already zapped (spt all zero).
 * @zapped: where the page goes to be freed after the TLB flush.
 *
 * Clears every parent SPTE that points at @sp and forgets them, and takes
 * @sp out of the hash so that no lookup finds it again (KVM's
 * kvm_mmu_unlink_parents() and __kvm_mmu_prepare_zap_page()). A page that
 * is a root in use stays on the VM's list, invalid, until
 * kvmmu_shadow_put_root(). The caller flushes every vCPU's TLB before
 * kvmmu_shadow_commit_delete(): a CPU may still be walking @sp's spt.
 * Call with the MMU lock held for write.
 *
 * Return: whether @sp went to @zapped. A page whose spt still holds
 * SPTEs is refused with a warning (its children would keep parent
 * pointers into freed memory) and left as it was.
 */
bool kvmmu_shadow_prepare_delete(struct kvmmu_shadow *s,
				 struct kvmmu_mmu_page *sp,
				 struct list_head *zapped)
{
	struct kvmmu_rmap_iter iter;
	u64 *sptep;

	shadow_assert_locked(s);
	if (WARN_ON_ONCE(memchr_inv(sp->spt, 0, PAGE_SIZE)))
		return false;

	/* Removing the SPTE just returned keeps the walk valid (rmap.c). */
	kvmmu_for_each_rmap_spte(&sp->parent_ptes, iter, sptep) {
		WRITE_ONCE(*sptep, 0);
		kvmmu_rmap_remove(&sp->parent_ptes, sptep);
	}
	if (!hlist_unhashed(&sp->hash_link))
		hlist_del_init(&sp->hash_link);
	kvmmu_shadow_clear_unsync(s, sp);
	sp->role.invalid = 1;
	if (sp->root_count)
		return false;
	list_move(&sp->link, zapped);
	return true;
}

/**
 * kvmmu_shadow_put_root - a vCPU stops using a page as its root.
 * @s: the VM's shadow pages.
 * @sp: the root, with a root_count taken by that vCPU.
 * @zapped: where the page goes if it was zapped and this was its last
 *          user; free it with kvmmu_shadow_commit_delete() after a flush.
 *
 * Call with the MMU lock held for write.
 */
void kvmmu_shadow_put_root(struct kvmmu_shadow *s, struct kvmmu_mmu_page *sp,
			   struct list_head *zapped)
{
	shadow_assert_locked(s);
	if (WARN_ON_ONCE(sp->root_count <= 0))
		return;
	if (--sp->root_count || !sp->role.invalid)
		return;
	list_move(&sp->link, zapped);
}

/**
 * kvmmu_shadow_commit_delete - free unlinked pages (second half of a zap).
 * @s: the VM's shadow pages.
 * @zapped: pages from kvmmu_shadow_prepare_delete() or
 *          kvmmu_shadow_put_root(); every vCPU's TLB flushed since.
 *
 * KVM's kvm_mmu_commit_zap_page() without the flush, which is the
 * caller's. Call with the MMU lock held for write. @zapped ends empty.
 */
void kvmmu_shadow_commit_delete(struct kvmmu_shadow *s,
				struct list_head *zapped)
{
	struct kvmmu_mmu_page *sp, *next;

	shadow_assert_locked(s);
	list_for_each_entry_safe(sp, next, zapped, link) {
		list_del(&sp->link);
		shadow_free_page(s, sp);
	}
}

static void shadow_mark_parents_unsync(struct kvmmu_mmu_page *sp);

/**
 * kvmmu_shadow_mark_unsync_spte - an upper SPTE now leads to an unsync page.
 * @sptep: the SPTE, in an upper page's spt.
 *
 * KVM's mark_unsync(): sets the SPTE's bit in its page's
 * unsync_child_bitmap and, the first time that page has one, marks the
 * page's own parents up to the roots, so that a sync from a root finds
 * every unsync page below it and nothing else. Call with the MMU lock
 * held for write.
 */
void kvmmu_shadow_mark_unsync_spte(u64 *sptep)
{
	struct kvmmu_mmu_page *sp = kvmmu_sptep_to_sp(sptep);

	if (__test_and_set_bit(sptep - sp->spt, sp->unsync_child_bitmap))
		return;
	if (sp->unsync_children++)
		return;
	shadow_mark_parents_unsync(sp);
}

/* kvm_mmu_mark_parents_unsync(); at most one call per level up. */
static void shadow_mark_parents_unsync(struct kvmmu_mmu_page *sp)
{
	struct kvmmu_rmap_iter iter;
	u64 *sptep;

	kvmmu_for_each_rmap_spte(&sp->parent_ptes, iter, sptep)
		kvmmu_shadow_mark_unsync_spte(sptep);
}

/**
 * kvmmu_shadow_mark_unsync - let a leaf page lag behind its guest table.
 * @s: the VM's shadow pages.
 * @sp: an indirect level-1 page (KVM's kvm_unsync_page()).
 *
 * It joins the VM's list (statistics, debugfs) and its parents' bitmaps
 * lead to it from every root above it. Call with the MMU lock held for
 * write.
 */
void kvmmu_shadow_mark_unsync(struct kvmmu_shadow *s, struct kvmmu_mmu_page *sp)
{
	shadow_assert_locked(s);
	if (sp->unsync || WARN_ON_ONCE(sp->role.direct ||
				       sp->role.level != PG_LEVEL_4K))
		return;
	sp->unsync = true;
	list_add_tail(&sp->unsync_link, &s->unsync_pages);
	WRITE_ONCE(s->nr_unsync, s->nr_unsync + 1);
	shadow_mark_parents_unsync(sp);
}

/**
 * kvmmu_shadow_clear_unsync - a page is in sync again, or zapped.
 * @s: the VM's shadow pages.
 * @sp: the page; nothing happens if it is not unsync.
 *
 * KVM's kvm_unlink_unsync_page(). Call with the MMU lock held for write.
 */
void kvmmu_shadow_clear_unsync(struct kvmmu_shadow *s,
			       struct kvmmu_mmu_page *sp)
{
	shadow_assert_locked(s);
	if (!sp->unsync)
		return;
	sp->unsync = false;
	list_del_init(&sp->unsync_link);
	WRITE_ONCE(s->nr_unsync, s->nr_unsync - 1);
}
