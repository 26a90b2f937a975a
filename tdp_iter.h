/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One iterator for every walk of a table of SPTEs.
 *
 * Why
 * ---
 * Until 2026-12 mmu.c had one hand-written recursive walk per purpose:
 * zap, leaf walk (aging, write protection), teardown of a detached table,
 * the debugfs dump, the fault's descent and the lookup of one leaf. Each
 * computed its own indexes and each had its own idea of yielding. This is
 * KVM's tdp_iter (arch/x86/kvm/mmu/tdp_iter.c) in kvmmu's terms: one
 * non-recursive pre-order walk that every one of them uses, so that the
 * index arithmetic and the restart after a yield are written once. A
 * shadow MMU walks tables of the same shape and will use it too.
 *
 * How
 * ---
 * The iterator visits every entry of a range of GFNs [start, end) whose
 * table lies at or above min_level, in GFN order, an entry before the
 * table it points to (pre-order). At each entry it publishes
 *
 *   sptep     where the entry is,
 *   old_spte  its value as read on arrival (READ_ONCE, once),
 *   level     the level of the table holding it (1: 4K entries),
 *   gfn       the first GFN the entry covers.
 *
 * The body may change the entry. Stepping down re-reads it, so a body that
 * zaps a table entry is not taken into the table it removed, and one that
 * links a table is taken into it (the fault's descent). A huge leaf that
 * starts before @start is visited with its own first GFN.
 *
 * Yielding: a walk under a lock that wants to drop it marks the iterator
 * with kvmmu_iter_yielded() after re-taking the lock; the next step then
 * restarts from the root at the first GFN not yet passed (next_gfn), since
 * any table below the root may have been freed meanwhile.
 * kvmmu_iter_can_yield() tells whether the walk has moved since it last
 * (re)started, so that a walk that yields at every entry still finishes.
 *
 * Exclusion rules
 * ---------------
 * The iterator takes no lock. Its caller holds whatever keeps the tables
 * it walks linked (mmu->lock for the NPT, for read or write) or owns them
 * outright (a detached subtree being freed); an entry may still change
 * under the read lock, which is why the body must use old_spte and
 * cmpxchg, never re-read and assume.
 */
#ifndef KVMMU_TDP_ITER_H
#define KVMMU_TDP_ITER_H

#include "mmu.h"

/**
 * struct kvmmu_iter - the position of a walk over a table of SPTEs.
 * @tables: @tables[l] is the table of level @l on the current path.
 * @sptep: the current entry.
 * @old_spte: the current entry's value when the walk arrived at it.
 * @gfn: the first GFN the current entry covers.
 * @next_gfn: the first GFN not yet passed: where a restart resumes.
 * @yielded_gfn: @next_gfn at the last (re)start.
 * @root_level: level of @tables[@root_level], the table the walk began in.
 * @min_level: the walk does not go below tables of this level.
 * @level: level of the table holding @sptep.
 * @valid: false once the walk has left the root table.
 * @yielded: restart from the root at the next step.
 */
struct kvmmu_iter {
	u64 *tables[KVMMU_ROOT_LEVEL + 1];
	u64 *sptep;
	u64 old_spte;
	gfn_t gfn;
	gfn_t next_gfn;
	gfn_t yielded_gfn;
	int root_level;
	int min_level;
	int level;
	bool valid;
	bool yielded;
};

struct kvmmu_iter *kvmmu_iter_start(struct kvmmu_iter *iter, u64 *root,
				    int root_level, int min_level, gfn_t start);
void kvmmu_iter_next(struct kvmmu_iter *iter);
bool kvmmu_iter_find_leaf(struct kvmmu_iter *iter, gfn_t end);

/*
 * Whether the walk is at an entry before @end. @next_gfn is below @end
 * whenever the range is not empty; checking it keeps an empty range
 * (start >= end) from visiting the entries that cover start.
 */
static inline bool kvmmu_iter_before(const struct kvmmu_iter *iter, gfn_t end)
{
	return iter->valid && iter->gfn < end && iter->next_gfn < end;
}

/* The walk re-took its lock after dropping it: restart at the next step. */
static inline void kvmmu_iter_yielded(struct kvmmu_iter *iter)
{
	iter->yielded = true;
}

/* Whether the walk has passed a GFN since it (re)started. */
static inline bool kvmmu_iter_can_yield(const struct kvmmu_iter *iter)
{
	return iter->next_gfn != iter->yielded_gfn;
}

/**
 * for_each_spte - visit each entry over GFNs [@start, @end) of a table.
 * @iter: a struct kvmmu_iter, which the body reads.
 * @root: the table to walk.
 * @root_level: level of @root (KVMMU_ROOT_LEVEL for the NPT's root).
 * @min_level: do not go into tables below this level (PG_LEVEL_4K: all).
 * @start: first GFN.
 * @end: GFN after the last.
 *
 * Every entry is visited, present or not. Not to be nested.
 */
#define for_each_spte(iter, root, root_level, min_level, start, end)	\
	for (struct kvmmu_iter *__it = kvmmu_iter_start(&(iter), root,	\
				root_level, min_level, start);		\
	     kvmmu_iter_before(__it, end); kvmmu_iter_next(__it))

/* As for_each_spte(), all levels, but only at present leaves. */
#define for_each_leaf_spte(iter, root, root_level, start, end)		\
	for (struct kvmmu_iter *__it = kvmmu_iter_start(&(iter), root,	\
				root_level, PG_LEVEL_4K, start);	\
	     kvmmu_iter_find_leaf(__it, end); kvmmu_iter_next(__it))

#endif /* KVMMU_TDP_ITER_H */
