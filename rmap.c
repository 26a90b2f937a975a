// SPDX-License-Identifier: GPL-2.0
/*
 * The reverse map: guest frame -> the SPTEs that map it.
 *
 * What and why
 * ------------
 * The NPT is indexed by GPA; the host (mmu notifiers) and dirty logging
 * speak in GFNs and need the SPTEs that map a GFN without walking the whole
 * table. Today the NPT maps each GFN at most once, but shadow paging will
 * map one GFN from many shadow pages, so an entry can hold several SPTEs.
 *
 * Shape
 * -----
 * One xarray per (address space, leaf level), indexed by the leaf's first
 * GFN >> (9 * (level - 1)). Per-level arrays keep range queries exact: the
 * 2M leaves that meet GFNs [s, e) are the keys s >> 9 .. (e - 1) >> 9 of
 * the level-2 array. An entry is:
 *
 *   NULL                 nothing maps this key;
 *   u64 *                one SPTE (8-byte aligned, so its low bits are 0);
 *   desc tagged with 1   a chain of struct kvmmu_rmap_desc, full ones after
 *                        the first one with room.
 *
 * An entry may name an SPTE that is not (or no longer) a present leaf: a
 * fault adds the entry after its cmpxchg, and a fault that undoes an
 * install leaves it. Users must read the SPTE and check it. What must hold
 * is the converse: an entry never outlives the table page its SPTE lives
 * in (kvmmu_rmap_remove_table() runs before a page is freed).
 *
 * Allocation: kvmmu_rmap_add() runs under the MMU lock and allocates
 * nothing. The fault path reserves the xarray slot beforehand with
 * kvmmu_rmap_reserve() and hands in a spare descriptor from the vCPU's
 * cache; if an add still needs memory it fails with -ENOMEM.
 *
 * Exclusion rules
 * ---------------
 * - Every change and every read of an entry is done under the xarray's
 *   spinlock (xa_lock), nested inside the MMU lock (read or write).
 * - Callers hold the MMU lock, which keeps the table pages, hence every
 *   SPTE an entry names, alive.
 */

#include <linux/slab.h>
#include <linux/xarray.h>

#include "mmu.h"

#define RMAP_DESC_TAG	1

static struct xarray *rmap_xa(struct kvmmu_rmap *rmap, int as_id, int level)
{
	return &rmap->xa[as_id][level - 1];
}

static unsigned long rmap_key(gfn_t gfn, int level)
{
	return gfn >> KVMMU_LEVEL_SHIFT(level);
}

static bool entry_is_desc(void *entry)
{
	return xa_pointer_tag(entry) == RMAP_DESC_TAG;
}

static struct kvmmu_rmap_desc *entry_desc(void *entry)
{
	return xa_untag_pointer(entry);
}

/**
 * kvmmu_rmap_init - set up an empty reverse map.
 * @rmap: the map, embedded in struct kvmmu_mmu.
 */
void kvmmu_rmap_init(struct kvmmu_rmap *rmap)
{
	int as_id, level;

	for (as_id = 0; as_id < KVMMU_ADDRESS_SPACE_NUM; as_id++)
		for (level = PG_LEVEL_4K; level <= KVMMU_MAX_HUGE_LEVEL; level++)
			xa_init_flags(rmap_xa(rmap, as_id, level),
				      XA_FLAGS_ACCOUNT);
}

static void free_descs(void *entry)
{
	struct kvmmu_rmap_desc *desc, *next;

	if (!entry_is_desc(entry))
		return;
	for (desc = entry_desc(entry); desc; desc = next) {
		next = desc->more;
		kfree(desc);
	}
}

/**
 * kvmmu_rmap_destroy - free every entry of a reverse map.
 * @rmap: the map; nobody may use it any more.
 */
void kvmmu_rmap_destroy(struct kvmmu_rmap *rmap)
{
	int as_id, level;

	for (as_id = 0; as_id < KVMMU_ADDRESS_SPACE_NUM; as_id++) {
		for (level = PG_LEVEL_4K; level <= KVMMU_MAX_HUGE_LEVEL; level++) {
			struct xarray *xa = rmap_xa(rmap, as_id, level);
			unsigned long key;
			void *entry;

			xa_for_each(xa, key, entry)
				free_descs(entry);
			xa_destroy(xa);
		}
	}
}

/**
 * kvmmu_rmap_reserve - make sure a later add at this key needs no memory.
 * @rmap: the map.
 * @as_id: address space.
 * @level: leaf level, PG_LEVEL_4K .. KVMMU_MAX_HUGE_LEVEL.
 * @gfn: a GFN of the leaf.
 *
 * May sleep; call it without the MMU lock. A reservation of an existing
 * entry is a no-op; one that is never filled costs a slot until destroy.
 *
 * Return: 0, or -ENOMEM.
 */
int kvmmu_rmap_reserve(struct kvmmu_rmap *rmap, int as_id, int level,
		       gfn_t gfn)
{
	return xa_reserve(rmap_xa(rmap, as_id, level), rmap_key(gfn, level),
			  GFP_KERNEL_ACCOUNT);
}

/*
 * Whether @entry holds @sptep; *@room is set to a descriptor of the chain
 * with a free slot, or NULL.
 */
static bool entry_has(void *entry, u64 *sptep, struct kvmmu_rmap_desc **room)
{
	struct kvmmu_rmap_desc *desc;
	unsigned int i;

	*room = NULL;
	if (!entry_is_desc(entry))
		return entry == sptep;
	for (desc = entry_desc(entry); desc; desc = desc->more) {
		for (i = 0; i < desc->nr; i++)
			if (desc->sptes[i] == sptep)
				return true;
		if (!*room && desc->nr < KVMMU_RMAP_DESC_SPTES)
			*room = desc;
	}
	return false;
}

/**
 * kvmmu_rmap_add - record that @sptep maps the leaf at (@level, @gfn).
 * @rmap: the map.
 * @as_id: address space.
 * @level: leaf level.
 * @gfn: a GFN of the leaf.
 * @sptep: the SPTE.
 * @spare: a preallocated descriptor, consumed (set to NULL) if a second
 *         SPTE joins the entry; may point to NULL.
 *
 * Adding an SPTE that is already there does nothing. Allocates nothing:
 * callable under the MMU lock.
 *
 * Return: 0; -ENOMEM if a descriptor is needed and @spare is empty, or the
 * key was not reserved and no xarray node could be had without sleeping.
 */
int kvmmu_rmap_add(struct kvmmu_rmap *rmap, int as_id, int level, gfn_t gfn,
		   u64 *sptep, struct kvmmu_rmap_desc **spare)
{
	XA_STATE(xas, rmap_xa(rmap, as_id, level), rmap_key(gfn, level));
	struct kvmmu_rmap_desc *room, *desc = NULL;
	void *entry, *new;
	int r = 0;

	xas_lock(&xas);
	entry = xas_load(&xas);
	if (xa_is_zero(entry))
		entry = NULL;

	if (!entry) {
		new = sptep;
	} else if (entry_has(entry, sptep, &room)) {
		goto out;
	} else if (room) {
		room->sptes[room->nr++] = sptep;
		goto out;
	} else {
		desc = *spare;
		if (!desc) {
			r = -ENOMEM;
			goto out;
		}
		*spare = NULL;
		if (entry_is_desc(entry)) {
			/* Every descriptor is full: a new one heads the chain. */
			desc->more = entry_desc(entry);
			desc->nr = 1;
			desc->sptes[0] = sptep;
		} else {
			desc->more = NULL;
			desc->nr = 2;
			desc->sptes[0] = entry;
			desc->sptes[1] = sptep;
		}
		new = xa_tag_pointer(desc, RMAP_DESC_TAG);
	}

	xas_store(&xas, new);
	r = xas_error(&xas);
	if (r && desc)
		*spare = desc;	/* never published: give it back */
out:
	xas_unlock(&xas);
	return r;
}

typedef bool (*drop_fn)(u64 *sptep, const void *arg);

/*
 * Drop the SPTEs of @entry for which @drop says so and return what the
 * entry becomes. Survivors are packed to the front of the chain; emptied
 * descriptors are freed; a lone survivor becomes a plain pointer again.
 */
static void *entry_filter(void *entry, drop_fn drop, const void *arg)
{
	struct kvmmu_rmap_desc *head, *desc, *w, *next;
	unsigned int i, wi = 0, total = 0;

	if (!entry)
		return NULL;
	if (!entry_is_desc(entry))
		return drop(entry, arg) ? NULL : entry;

	head = entry_desc(entry);
	w = head;
	for (desc = head; desc; desc = desc->more) {
		/* @w never passes @desc: we write no more than we read. */
		for (i = 0; i < desc->nr; i++) {
			u64 *sptep = desc->sptes[i];

			if (drop(sptep, arg))
				continue;
			if (wi == KVMMU_RMAP_DESC_SPTES) {
				w->nr = wi;
				w = w->more;
				wi = 0;
			}
			w->sptes[wi++] = sptep;
			total++;
		}
	}
	w->nr = wi;
	for (desc = w->more; desc; desc = next) {
		next = desc->more;
		kfree(desc);
	}
	w->more = NULL;

	if (total > 1)
		return entry;
	entry = total ? head->sptes[0] : NULL;
	kfree(head);
	return entry;
}

static bool drop_one(u64 *sptep, const void *arg)
{
	return sptep == arg;
}

static bool drop_in_table(u64 *sptep, const void *arg)
{
	const u64 *table = arg;

	return sptep >= table && sptep < table + KVMMU_SPTE_PER_TABLE;
}

static void filter_store(struct xa_state *xas, void *entry, drop_fn drop,
			 const void *arg)
{
	void *new = entry_filter(entry, drop, arg);

	/* Shrinking or erasing an existing entry never allocates. */
	if (new != entry)
		xas_store(xas, new);
}

/**
 * kvmmu_rmap_remove - forget that @sptep maps the leaf at (@level, @gfn).
 * @rmap: the map.
 * @as_id: address space.
 * @level: leaf level.
 * @gfn: a GFN of the leaf.
 * @sptep: the SPTE; absent is fine.
 */
void kvmmu_rmap_remove(struct kvmmu_rmap *rmap, int as_id, int level,
		       gfn_t gfn, u64 *sptep)
{
	XA_STATE(xas, rmap_xa(rmap, as_id, level), rmap_key(gfn, level));
	void *entry;

	xas_lock(&xas);
	entry = xas_load(&xas);
	if (entry && !xa_is_zero(entry))
		filter_store(&xas, entry, drop_one, sptep);
	xas_unlock(&xas);
}

/**
 * kvmmu_rmap_remove_table - forget every SPTE that lives in a table page.
 * @rmap: the map.
 * @as_id: address space.
 * @level: level of the page's entries (1 for a table of 4K leaves).
 * @base: first GFN the page maps.
 * @table: the page.
 *
 * Run before a detached table page is freed, whether or not its entries
 * are present, so no entry outlives it.
 */
void kvmmu_rmap_remove_table(struct kvmmu_rmap *rmap, int as_id, int level,
			     gfn_t base, const u64 *table)
{
	gfn_t last = base + KVMMU_SPTE_PER_TABLE * KVMMU_PAGES_PER(level) - 1;
	unsigned long first = rmap_key(base, level), end = rmap_key(last, level);
	XA_STATE(xas, rmap_xa(rmap, as_id, level), first);
	bool whole = true;
	void *entry;

	/*
	 * Usually (always, for the NPT: a GFN has one place in it) every
	 * entry of the range is one SPTE of @table: then the range goes at
	 * once, whole xarray nodes at a time, rather than entry by entry
	 * (zapping a 2M range of 4K leaves: 512 stores). Chains and SPTEs of
	 * other tables take the slow way. The MMU lock, held for write,
	 * keeps adds out between the check and the erase; a slot reserved
	 * meanwhile (kvmmu_rmap_reserve() runs unlocked) may go with the
	 * range, and the fault that reserved it then retries.
	 */
	xas_lock(&xas);
	xas_for_each(&xas, entry, end) {
		if (!xa_is_zero(entry) &&
		    (entry_is_desc(entry) || !drop_in_table(entry, table))) {
			whole = false;
			break;
		}
	}
	if (whole) {
		xas_unlock(&xas);
		/* Storing NULL never allocates, hence no gfp. */
		xa_store_range(xas.xa, first, end, NULL, 0);
		return;
	}
	xas_set(&xas, first);
	xas_for_each(&xas, entry, end) {
		if (!xa_is_zero(entry))
			filter_store(&xas, entry, drop_in_table, table);
	}
	xas_unlock(&xas);
}

/**
 * kvmmu_rmap_walk - call @fn on every SPTE recorded for GFNs [@start, @end).
 * @rmap: the map.
 * @as_id: address space.
 * @start: first GFN.
 * @end: GFN after the last; nothing happens if @end <= @start.
 * @fn: called under the xarray lock with each SPTE and its level; must not
 *      sleep or change the rmap. The SPTE may be stale (see the top).
 * @data: passed to @fn.
 *
 * Leaves of every level that meet the range are visited, so a 2M leaf is
 * found by a query for any one of its GFNs.
 *
 * Return: true if any call of @fn returned true.
 */
bool kvmmu_rmap_walk(struct kvmmu_rmap *rmap, int as_id, gfn_t start,
		     gfn_t end, kvmmu_rmap_fn fn, void *data)
{
	bool ret = false;
	int level;

	if (end <= start)
		return false;

	for (level = PG_LEVEL_4K; level <= KVMMU_MAX_HUGE_LEVEL; level++) {
		XA_STATE(xas, rmap_xa(rmap, as_id, level),
			 rmap_key(start, level));
		struct kvmmu_rmap_desc *desc;
		unsigned int i;
		void *entry;

		xas_lock(&xas);
		xas_for_each(&xas, entry, rmap_key(end - 1, level)) {
			if (xa_is_zero(entry))
				continue;	/* reserved, unfilled */
			if (!entry_is_desc(entry)) {
				ret |= fn(entry, level, data);
				continue;
			}
			for (desc = entry_desc(entry); desc; desc = desc->more)
				for (i = 0; i < desc->nr; i++)
					ret |= fn(desc->sptes[i], level, data);
		}
		xas_unlock(&xas);
	}
	return ret;
}

/**
 * kvmmu_rmap_count - how many SPTEs an entry holds (for tests and checks).
 * @rmap: the map.
 * @as_id: address space.
 * @level: leaf level.
 * @gfn: a GFN of the leaf.
 * @sptep: if not NULL, count only this SPTE (0 or 1).
 *
 * Return: the number of SPTEs recorded at (@level, @gfn).
 */
unsigned int kvmmu_rmap_count(struct kvmmu_rmap *rmap, int as_id, int level,
			      gfn_t gfn, const u64 *sptep)
{
	XA_STATE(xas, rmap_xa(rmap, as_id, level), rmap_key(gfn, level));
	struct kvmmu_rmap_desc *desc;
	unsigned int i, n = 0;
	void *entry;

	xas_lock(&xas);
	entry = xas_load(&xas);
	if (!entry || xa_is_zero(entry)) {
		n = 0;
	} else if (!entry_is_desc(entry)) {
		n = !sptep || entry == sptep;
	} else {
		for (desc = entry_desc(entry); desc; desc = desc->more)
			for (i = 0; i < desc->nr; i++)
				n += !sptep || desc->sptes[i] == sptep;
	}
	xas_unlock(&xas);
	return n;
}
