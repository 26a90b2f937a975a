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
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <asm/pgtable_types.h>

#include "kvmmu.h"

struct dentry;

/* kvmmu_mmu_page_fault(): the caller must emulate the access (MMIO). */
#define KVMMU_PF_EMULATE	1
/* kvmmu_shadow_page_fault(): the guest's own #PF, to be injected. */
#define KVMMU_PF_INJECT		2
/* ...: a write to a guest page table that the walk itself used: emulate. */
#define KVMMU_PF_WRITE_PT	3
/* ...: a write to a guest page table: emulate, else unprotect and retry. */
#define KVMMU_PF_WRITE_PT_RETRY	4

/* Module parameter "tdp": NPT (true) or the shadow MMU. */
extern bool kvmmu_tdp;

int kvmmu_shadow_page_fault(struct kvmmu_vcpu *vcpu, u64 gva, u64 error_code,
			    u64 *gpa, u32 *inject_error);
int kvmmu_shadow_load_root(struct kvmmu_vcpu *vcpu, u64 *root_pa);
void kvmmu_shadow_track_write(struct kvmmu_vm *vm, u64 gpa, unsigned int bytes);
void kvmmu_shadow_clear_flood(struct kvmmu_vcpu *vcpu, u64 gva);
void kvmmu_shadow_unprotect_retry(struct kvmmu_vcpu *vcpu, u64 gva, u64 gpa);
void kvmmu_shadow_invlpg(struct kvmmu_vcpu *vcpu, u64 gva);
int kvmmu_mmu_set_nr_mmu_pages(struct kvmmu_vm *vm, unsigned long nr);

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
 * @unsync: tdp=0: unsync shadow pages now (KVM's mmu_unsync).
 * @pte_write: tdp=0: emulated stores into guest RAM that were checked
 *             against the shadowed tables (KVM's mmu_pte_write).
 * @pde_zapped: tdp=0: SPTEs of upper shadow pages such a store zapped,
 *              the new entry not zero (KVM's mmu_pde_zapped).
 * @flooded: tdp=0: shadow pages such a store zapped whole, misaligned or
 *           flooded (KVM's mmu_flooded).
 */
struct kvmmu_mmu_counters {
	u64 faults, mmio, retries, fast, invalidations, zaps, zapped;
	u64 leaves[PG_LEVEL_1G];
	u64 tables;
	u64 unsync;
	u64 pte_write, pde_zapped, flooded;
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

#include "spte.h"

/*
 * ---- The shadow MMU: rmap.c, shadow.c, shadow_mmu.c and tests/kunit ----
 *
 * Used only with tdp=0 (struct kvmmu_mmu's @shadow); the TDP MMU does not
 * call any of it. See the comments at the top of rmap.c, shadow.c and
 * shadow_mmu.c, and Documentation/mmu.rst.
 */

/* Objects a cache holds: KVM's KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE. */
#define KVMMU_MEMORY_CACHE_CAPACITY	40

/**
 * struct kvmmu_memory_cache - zeroed objects allocated ahead of a lock.
 * @obj_size: bytes per object (kzalloc), or 0 for a zeroed page.
 * @nobjs: objects in @objs.
 * @objs: the objects; taken from the end.
 *
 * KVM's kvm_mmu_memory_cache: filled by kvmmu_memory_cache_topup() where
 * sleeping is allowed, emptied by kvmmu_memory_cache_alloc() under the MMU
 * lock. Owned by one thread (a vCPU's, under vcpu->mutex): no lock.
 */
struct kvmmu_memory_cache {
	size_t obj_size;
	int nobjs;
	void *objs[KVMMU_MEMORY_CACHE_CAPACITY];
};

int kvmmu_memory_cache_topup(struct kvmmu_memory_cache *mc, int min);
void *kvmmu_memory_cache_alloc(struct kvmmu_memory_cache *mc);
void kvmmu_memory_cache_free(struct kvmmu_memory_cache *mc);

struct kvmmu_rmap_desc;

/**
 * struct kvmmu_rmap_iter - position of a walk of one head; private.
 * @desc: descriptor of the SPTE last returned, NULL for a single SPTE.
 * @next: @desc's successor, read when the walk entered @desc.
 * @pos: index of the SPTE last returned in @desc.
 * @cur: the SPTE last returned (kvmmu_for_each_rmap_spte() only).
 */
struct kvmmu_rmap_iter {
	struct kvmmu_rmap_desc *desc;
	struct kvmmu_rmap_desc *next;
	int pos;
	u64 *cur;
};

void kvmmu_rmap_cache_init(struct kvmmu_memory_cache *mc);
int kvmmu_rmap_add(struct kvmmu_memory_cache *mc,
		   struct kvmmu_rmap_head *head, u64 *sptep);
bool kvmmu_rmap_try_remove(struct kvmmu_rmap_head *head, u64 *sptep);
void kvmmu_rmap_remove(struct kvmmu_rmap_head *head, u64 *sptep);
unsigned int kvmmu_rmap_count(const struct kvmmu_rmap_head *head);
void kvmmu_rmap_clear(struct kvmmu_rmap_head *head);
u64 *kvmmu_rmap_first(const struct kvmmu_rmap_head *head,
		      struct kvmmu_rmap_iter *iter);
u64 *kvmmu_rmap_next(struct kvmmu_rmap_iter *iter);

static inline struct kvmmu_rmap_iter *
kvmmu_rmap_iter_start(struct kvmmu_rmap_iter *iter,
		      const struct kvmmu_rmap_head *head)
{
	iter->cur = kvmmu_rmap_first(head, iter);
	return iter;
}

/**
 * kvmmu_for_each_rmap_spte - visit every SPTE of a head.
 * @head: the head.
 * @iter: a struct kvmmu_rmap_iter (not a pointer), the walk's position.
 * @sptep: a u64 *, set to each SPTE in turn.
 *
 * KVM's for_each_rmap_spte(), and the way the module walks a head. The
 * body may remove the SPTE it was just given, nothing else
 * (kvmmu_rmap_next()). The MMU lock is held for write, or for read by a
 * walk that changes no head.
 */
#define kvmmu_for_each_rmap_spte(head, iter, sptep)			\
	for (struct kvmmu_rmap_iter *__ri =				\
		kvmmu_rmap_iter_start(&(iter), head);			\
	     ((sptep) = __ri->cur);					\
	     __ri->cur = kvmmu_rmap_next(__ri))

static inline bool kvmmu_rmap_empty(const struct kvmmu_rmap_head *head)
{
	return !head->val;
}

static_assert(KVMMU_RMAP_LEVELS == KVMMU_MAX_HUGE_LEVEL);

unsigned long kvmmu_rmap_slot_entries(gfn_t base_gfn, unsigned long npages,
				      int level);
int kvmmu_slot_rmap_alloc(struct kvmmu_slot_rmap *r, gfn_t base_gfn,
			  unsigned long npages);
void kvmmu_slot_rmap_free(struct kvmmu_slot_rmap *r);
struct kvmmu_rmap_head *kvmmu_gfn_to_rmap(const struct kvmmu_slot_rmap *r,
					  gfn_t gfn, int level);

/**
 * union kvmmu_page_role - what a shadow page shadows, besides its gfn.
 * @word: all of it, for comparison and hashing.
 * @level: 1 = 4K SPTEs, 2 = 2M, 3 = 1G, 4 and 5 above.
 * @has_4_byte_gpte: the guest's PTEs are 32-bit (non-PAE paging).
 * @quadrant: which part of a 32-bit guest table this page shadows.
 * @direct: maps a linear GFN range (no guest table behind it).
 * @access: guest permissions inherited from the parents (uwx, as KVM).
 * @invalid: zapped but still a root in use; never found by a lookup.
 * @efer_nx: EFER.NX the page is valid for.
 * @cr0_wp: CR0.WP the page is valid for.
 * @smep_andnot_wp: CR4.SMEP && !CR0.WP.
 * @smap_andnot_wp: CR4.SMAP && !CR0.WP.
 * @pae_root: one of the four level-2 pages under a vCPU's PAE root (paging
 *            off: the CPU runs the guest in PAE mode on them).
 * @cr4_pse: 32-bit paging (@has_4_byte_gpte) with CR4.PSE: a PDE with PS
 *           is a 4M page, not a page table pointer.
 *
 * KVM's kvm_mmu_page_role without the bits for nested guests, SMM and
 * A/D-less EPT, which kvmmu does not have, and with @cr4_pse, which KVM
 * keeps in its extended role only.
 */
union kvmmu_page_role {
	u32 word;
	struct {
		unsigned int level:4;
		unsigned int has_4_byte_gpte:1;
		unsigned int quadrant:2;
		unsigned int direct:1;
		unsigned int access:3;
		unsigned int invalid:1;
		unsigned int efer_nx:1;
		unsigned int cr0_wp:1;
		unsigned int smep_andnot_wp:1;
		unsigned int smap_andnot_wp:1;
		unsigned int pae_root:1;
		unsigned int cr4_pse:1;
		unsigned int :14;
	};
};

/**
 * struct kvmmu_mmu_page - a shadow page: a page of SPTEs and its identity.
 * @hash_link: in the VM's hash, by @gfn; unhashed once zapped.
 * @link: in the VM's list of pages, or a caller's list of zapped pages.
 * @gfn: the guest table shadowed, or the first GFN of a direct page.
 * @role: see union kvmmu_page_role.
 * @spt: the 512 SPTEs; its struct page's private points back here.
 * @parent_ptes: the SPTEs (of upper shadow pages) pointing at @spt.
 * @unsync: the SPTEs may lag behind the guest's table (leaf pages).
 * @unsync_children: how many bits of @unsync_child_bitmap are set.
 * @unsync_child_bitmap: upper pages: SPTE i may lead to an unsync page
 *                       (KVM's; a bit may be stale, cleared by the next
 *                       walk that finds nothing unsync below it).
 * @unsync_link: in the VM's list of unsync pages while @unsync.
 * @root_count: vCPUs using the page as their root; a zapped root lives
 *              on, invalid, until the count drops to 0.
 * @gfns: indirect level-1 pages: the GFN each leaf SPTE maps (the guest
 *        PTE's), for the rmap; NULL elsewhere (a direct page computes it).
 * @check_gen: debug kernels: the kvmmu_shadow @check_gen of the last
 *             unsync check that visited the page (each page once).
 * @write_flooding_count: indirect upper pages: emulated stores into the
 *        guest table since a fault last went through the page; at 3 the
 *        next store zaps it (KVM's; kvmmu_shadow_track_write()).
 */
struct kvmmu_mmu_page {
	struct hlist_node hash_link;
	struct list_head link;
	gfn_t gfn;
	union kvmmu_page_role role;
	u64 *spt;
	struct kvmmu_rmap_head parent_ptes;
	bool unsync;
	unsigned int unsync_children;
	DECLARE_BITMAP(unsync_child_bitmap, KVMMU_SPTE_PER_TABLE);
	struct list_head unsync_link;
	int root_count;
	u64 *gfns;
	unsigned long check_gen;
	unsigned int write_flooding_count;
};

/* Buckets of the shadow-page hash: KVM's KVM_MMU_HASH_SHIFT. */
#define KVMMU_SHADOW_HASH_BITS	12

/**
 * struct kvmmu_shadow - a VM's shadow pages.
 * @lock: the MMU lock; every function of shadow.c but init, destroy and
 *        the cache topups expects it held for write.
 * @hash: 1 << KVMMU_SHADOW_HASH_BITS buckets of pages, by gfn.
 * @active_pages: every page not yet handed to a caller for freeing.
 * @nr_pages: pages allocated and not yet freed.
 * @unsync_pages: the unsync pages (level 1, indirect), by @unsync_link.
 * @nr_unsync: how many; read without the lock for statistics.
 * @check_gen: debug kernels: counts the unsync checks after MOV CR3.
 */
struct kvmmu_shadow {
	rwlock_t *lock;
	struct hlist_head *hash;
	struct list_head active_pages;
	unsigned long nr_pages;
	struct list_head unsync_pages;
	unsigned long nr_unsync;
	unsigned long check_gen;
};

/**
 * struct kvmmu_shadow_caches - what creating shadow pages takes.
 * @desc: rmap descriptors (parent pointers, later the GFN rmaps).
 * @header: struct kvmmu_mmu_page.
 * @spt: zeroed pages of SPTEs.
 */
struct kvmmu_shadow_caches {
	struct kvmmu_memory_cache desc;
	struct kvmmu_memory_cache header;
	struct kvmmu_memory_cache spt;
};

void kvmmu_shadow_caches_init(struct kvmmu_shadow_caches *c);
int kvmmu_shadow_caches_topup(struct kvmmu_shadow_caches *c);
void kvmmu_shadow_caches_free(struct kvmmu_shadow_caches *c);
int kvmmu_shadow_init(struct kvmmu_shadow *s, rwlock_t *lock);
void kvmmu_shadow_destroy(struct kvmmu_shadow *s);
struct kvmmu_mmu_page *kvmmu_shadow_find(struct kvmmu_shadow *s, gfn_t gfn,
					 union kvmmu_page_role role);
struct kvmmu_mmu_page *kvmmu_shadow_alloc(struct kvmmu_shadow *s,
					  struct kvmmu_shadow_caches *c,
					  gfn_t gfn, union kvmmu_page_role role);

/**
 * kvmmu_sptep_to_sp - the shadow page an SPTE pointer lies in.
 * @sptep: an SPTE of some shadow page's spt.
 *
 * Inline, as KVM's sptep_to_sp(): every level of a fault asks.
 *
 * Return: that page.
 */
static inline struct kvmmu_mmu_page *kvmmu_sptep_to_sp(u64 *sptep)
{
	return (struct kvmmu_mmu_page *)page_private(virt_to_page(sptep));
}

int kvmmu_shadow_add_parent(struct kvmmu_shadow_caches *c,
			    struct kvmmu_mmu_page *sp, u64 *parent_sptep);
void kvmmu_shadow_remove_parent(struct kvmmu_mmu_page *sp, u64 *parent_sptep);
bool kvmmu_shadow_prepare_delete(struct kvmmu_shadow *s,
				 struct kvmmu_mmu_page *sp,
				 struct list_head *zapped);
void kvmmu_shadow_put_root(struct kvmmu_shadow *s, struct kvmmu_mmu_page *sp,
			   struct list_head *zapped);
void kvmmu_shadow_commit_delete(struct kvmmu_shadow *s,
				struct list_head *zapped);
void kvmmu_shadow_mark_unsync(struct kvmmu_shadow *s, struct kvmmu_mmu_page *sp);
void kvmmu_shadow_mark_unsync_spte(u64 *sptep);
void kvmmu_shadow_clear_unsync(struct kvmmu_shadow *s,
			       struct kvmmu_mmu_page *sp);

/* shadow_mmu.c: the shadow MMU's tables (see its top comment). */
extern const struct kvmmu_spte_format kvmmu_shadow_format;
int kvmmu_shadow_mmu_init(struct kvmmu_mmu *mmu);
void kvmmu_shadow_mmu_destroy(struct kvmmu_mmu *mmu);
void kvmmu_shadow_vcpu_init(struct kvmmu_mmu_vcpu *c);
void kvmmu_shadow_vcpu_destroy(struct kvmmu_mmu *mmu,
			       struct kvmmu_mmu_vcpu *c);
int kvmmu_shadow_topup(struct kvmmu_mmu_vcpu *c);
bool kvmmu_shadow_gfn_protected(struct kvmmu_mmu *mmu, gfn_t gfn);
bool kvmmu_shadow_can_unsync(struct kvmmu_mmu *mmu, gfn_t gfn);
bool kvmmu_shadow_zap_gfn(struct kvmmu_mmu *mmu, gfn_t gfn);
bool kvmmu_shadow_zap_range(struct kvmmu_mmu *mmu, gfn_t start, gfn_t end,
			    bool can_yield);
bool kvmmu_shadow_unmap_range(struct kvmmu_mmu *mmu,
			      const struct kvmmu_memory_slot *slot,
			      gfn_t start, gfn_t end, bool can_yield);
bool kvmmu_shadow_zap_all(struct kvmmu_mmu *mmu, bool can_yield);
void kvmmu_shadow_make_pages_available(struct kvmmu_mmu *mmu,
				       unsigned long goal);
unsigned long kvmmu_shadow_max_pages(struct kvmmu_mmu *mmu);
unsigned long kvmmu_shadow_nr_pages(struct kvmmu_mmu *mmu);
unsigned long kvmmu_shadow_reclaim(struct kvmmu_mmu *mmu, unsigned long nr);
extern atomic_long_t kvmmu_shadow_total_pages;
bool kvmmu_shadow_wrprot_gfn(struct kvmmu_mmu *mmu, gfn_t gfn);
bool kvmmu_shadow_wrprot_range(struct kvmmu_mmu *mmu,
			       const struct kvmmu_memory_slot *slot,
			       gfn_t start, gfn_t end, bool can_yield);
bool kvmmu_shadow_age_range(struct kvmmu_mmu *mmu,
			    const struct kvmmu_memory_slot *slot,
			    gfn_t start, gfn_t end, bool clear);
unsigned int kvmmu_shadow_gfn_leaves(struct kvmmu_mmu *mmu, gfn_t gfn,
				     u64 *spte);
struct kvmmu_walk;
struct kvmmu_page_fault;
int kvmmu_shadow_map(struct kvmmu_mmu *mmu, struct kvmmu_vcpu *vcpu,
		     const struct kvmmu_walk *walk, u64 gva,
		     struct kvmmu_page_fault *fault, bool *flush);
struct dentry;
void kvmmu_shadow_debugfs_init(struct kvmmu_mmu *mmu, struct dentry *dir);

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
	atomic64_t rmap_recycled;
	atomic64_t pte_write;
	atomic64_t pde_zapped;
	atomic64_t flooded;
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
 * @shadow: the shadow MMU (tdp=0): @root stays empty, @sp holds the tables.
 * @sp: the shadow pages (shadow.c, shadow_mmu.c).
 * @sp_zapped: shadow pages unlinked under @lock, freed by
 *             kvmmu_mmu_zap_unlock() after its flush.
 * @sh_unflushed: shadow MMU, under @lock for write: an SPTE lost a mapping
 *                or a right since the last kvmmu_mmu_flush_locked(); a
 *                guest table must not be read for a sync until it is
 *                flushed (shadow_mmu.c, sh_flush_pending()).
 *
 * The shadow MMU's GFN -> leaf SPTE map is in the memslots (@rmap of
 * struct kvmmu_memory_slot), as KVM's.
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
	bool shadow;
	struct kvmmu_shadow sp;
	struct list_head sp_zapped;
	bool sh_unflushed;
};

/* Table pages one fault may need (levels 3, 2, 1), plus slack. */
#define KVMMU_PAGE_CACHE_SIZE	4

/**
 * struct kvmmu_mmu_vcpu - per-vCPU MMU state (vcpu->mmu).
 * @nr_pages: zeroed table pages in @pages.
 * @pages: zeroed pages, filled outside any lock by kvmmu_mmu_topup().
 * @sc: shadow MMU: headers, spt pages and rmap descriptors.
 * @gfns_cache: shadow MMU: pages for struct kvmmu_mmu_page's @gfns.
 * @root: shadow MMU, 4-level guest paging: the root (a root_count held).
 * @pae: shadow MMU, paging off, PAE and 32-bit guest paging: the level-2
 *       roots under @pae_root, one per GB (NULL under a PAE guest's
 *       PDPTE that is not present).
 * @pae_root: their PDPT, below 4G (a 32-bit CR3), allocated on first use.
 * @root_cr3: the guest CR3 (4-level) the roots were loaded for; 0 under
 *            @pae_root, whose pages say what they shadow.
 * @root_role: the role word they were loaded for.
 * @last_retry_rip: shadow MMU: RIP of the last write that unprotected a
 *	guest table and retried (KVM's last_retry_eip), or 0.
 * @last_retry_addr: its linear address (KVM's last_retry_addr).
 * @cr3_loads: shadow MMU: guest MOV CR3 writes so far (the debug check
 *	that no unsync page is entered unsynced after one).
 * @cr3_checked: @cr3_loads when that check last ran.
 *
 * Used only by the vCPU's own thread under vcpu->mutex: no lock, except
 * the roots' root_count, which belongs to mmu->lock.
 */
struct kvmmu_mmu_vcpu {
	int nr_pages;
	void *pages[KVMMU_PAGE_CACHE_SIZE];
	struct kvmmu_shadow_caches sc;
	struct kvmmu_memory_cache gfns_cache;
	struct kvmmu_mmu_page *root;
	struct kvmmu_mmu_page *pae[4];
	u64 *pae_root;
	u64 root_cr3;
	u32 root_role;
	u64 last_retry_rip;
	u64 last_retry_addr;
	unsigned long cr3_loads;
	unsigned long cr3_checked;
};

/*
 * @n (+1 or -1) table pages join or leave the NPT: counted, and shown as
 * secondary page tables (memory.stat sec_pagetables) of the memcg the page
 * is charged to, the VMM's, as KVM does.
 */
static inline void kvmmu_account_tables(struct kvmmu_mmu *mmu, u64 *table, int n)
{
	atomic64_add(n, &mmu->stats.tables);
	mod_lruvec_page_state(virt_to_page(table), NR_SECONDARY_PAGETABLE, n);
}

/* A zeroed table page from the vCPU cache, or NULL when it ran dry. */
static inline void *kvmmu_cache_pop(struct kvmmu_mmu_vcpu *cache)
{
	if (!cache->nr_pages)
		return NULL;
	return cache->pages[--cache->nr_pages];
}

/* Give back a page that was never linked in: it is still zeroed. */
static inline void kvmmu_cache_push(struct kvmmu_mmu_vcpu *cache, void *page)
{
	if (WARN_ON_ONCE(cache->nr_pages == KVMMU_PAGE_CACHE_SIZE))
		free_page((unsigned long)page);
	else
		cache->pages[cache->nr_pages++] = page;
}

/**
 * struct kvmmu_page_fault - one fault, from the vendor's report to the leaf.
 * @addr: the faulting guest physical address.
 * @error_code: KVMMU_PFERR_* (kvmmu.h), whatever the vendor reported.
 * @present: the access met a present entry (a permission fault).
 * @write: the fault is a write (the leaf gets D).
 * @gfn: the faulting GFN.
 * @slot: the memslot of @gfn, under vm->srcu.
 * @hva: the HVA of @gfn.
 * @seq: mmu->invalidate_seq read before GUP.
 * @pfn: the host frame backing @gfn.
 * @page: the page GUP returned a reference to, or NULL.
 * @gup: @page came from GUP (not a VM_PFNMAP PTE).
 * @writable: map writable.
 * @level: leaf level wanted; lowered if a table is in the way.
 * @dirty_bitmap: the slot's dirty log, or NULL when it does not log.
 * @base_gfn: the slot's first GFN, to index @dirty_bitmap.
 *
 * The first fields are what every vendor reports (kvmmu_mmu_page_fault()
 * decodes them once); the rest is filled in as the fault goes, as in
 * KVM's struct kvm_page_fault. The locked half (mmu_map()) reads only
 * @gfn, @hva, @seq, @pfn, @writable, @write, @level and the dirty log,
 * which is all that KUnit fills in.
 */
struct kvmmu_page_fault {
	u64 addr;
	u64 error_code;
	bool present;
	bool write;
	gfn_t gfn;
	struct kvmmu_memory_slot *slot;
	unsigned long hva;
	unsigned long seq;
	u64 pfn;
	struct page *page;
	bool gup;
	bool writable;
	int level;
	unsigned long *dirty_bitmap;
	gfn_t base_gfn;
};

/* What kvmmu_tdp_map() did. */
enum kvmmu_map_result {
	KVMMU_MAP_DONE,	/* a leaf was installed or changed */
	KVMMU_MAP_SPURIOUS,	/* a leaf already gives the access */
	KVMMU_MAP_RETRY,	/* lost a race: let the guest fault again */
	KVMMU_MAP_LOWER,	/* a table sits at the goal level */
	KVMMU_MAP_NOMEM,	/* the vCPU cache ran dry */
};

#define KVMMU_DUMP_BATCH	32

/* Leaves for debugfs "mappings", a batch at a time. */
struct kvmmu_dump_batch {
	gfn_t next;	/* resume at this GFN */
	int n;
	struct {
		gfn_t gfn;
		u64 spte;
		int level;
	} leaf[KVMMU_DUMP_BATCH];
};

/* tdp.c: the NPT's own walks and changes (locks as each says). */
void kvmmu_leaf_page_state(u64 old);
bool kvmmu_tdp_zap_range(struct kvmmu_mmu *mmu, int as_id, gfn_t start,
			 gfn_t end, struct list_head *freed, bool can_yield);
bool kvmmu_tdp_write_protect_range(struct kvmmu_mmu *mmu, int as_id,
				   gfn_t start, gfn_t end,
				   struct list_head *freed);
void kvmmu_tdp_write_protect_mask(struct kvmmu_mmu *mmu, int as_id,
				  gfn_t base, unsigned long mask);
int kvmmu_tdp_map(struct kvmmu_mmu *mmu, struct kvmmu_mmu_vcpu *cache,
		  const struct kvmmu_page_fault *fault);
u64 *kvmmu_tdp_lookup_leaf(struct kvmmu_mmu *mmu, gfn_t gfn, int *level);
bool kvmmu_tdp_fast_page_fault(struct kvmmu_mmu *mmu,
			       const struct kvmmu_memory_slot *slot, gfn_t gfn);
bool kvmmu_tdp_dump_collect(struct kvmmu_mmu *mmu,
			    struct kvmmu_dump_batch *b);

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

/* Nothing may be left unflushed at @where: count and warn if it is. */
static inline void kvmmu_ledger_assert_square(const char *where)
{
	if (!KVMMU_DEBUG || likely(!this_cpu_read(kvmmu_unflushed)))
		return;
	this_cpu_write(kvmmu_unflushed, 0);
	atomic_inc(&kvmmu_ledger_fired);
	WARN_ONCE(!READ_ONCE(kvmmu_ledger_quiet),
		  "kvmmu: zapped SPTEs not flushed %s\n", where);
}

/* mmu->lock is about to be released. */
static inline void kvmmu_ledger_check(void)
{
	kvmmu_ledger_assert_square("when mmu->lock was released");
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
