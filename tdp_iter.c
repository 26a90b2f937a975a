// SPDX-License-Identifier: GPL-2.0
/*
 * The walk over a table of SPTEs: the header says what it visits and in
 * which order, and the rules of its use. Written beside KVM's TDP
 * iterator; the differences: tables are found by kernel virtual address
 * (every table page is in the direct map), and the path is kept per level
 * rather than recomputed from the root.
 */

#include "tdp_iter.h"

static void iter_refresh(struct kvmmu_iter *iter)
{
	iter->sptep = &iter->tables[iter->level][kvmmu_spte_index(iter->gfn,
								  iter->level)];
	iter->old_spte = READ_ONCE(*iter->sptep);
}

static gfn_t round_gfn(gfn_t gfn, int level)
{
	return gfn & ~(KVMMU_PAGES_PER(level) - 1);
}

/* Back at the root, at the entry that covers @next_gfn. */
static void iter_restart(struct kvmmu_iter *iter)
{
	iter->yielded = false;
	iter->yielded_gfn = iter->next_gfn;
	iter->level = iter->root_level;
	iter->gfn = round_gfn(iter->next_gfn, iter->level);
	iter_refresh(iter);
	iter->valid = true;
}

/**
 * kvmmu_iter_start - begin a walk (use for_each_spte() rather than this).
 * @iter: the iterator to set up.
 * @root: the first table; it covers @start.
 * @root_level: level of @root.
 * @min_level: the walk does not go into tables below this level.
 * @start: the walk begins at the entry of @root that covers this GFN.
 *
 * Return: @iter.
 */
struct kvmmu_iter *kvmmu_iter_start(struct kvmmu_iter *iter, u64 *root,
				    int root_level, int min_level, gfn_t start)
{
	iter->tables[root_level] = root;
	iter->root_level = root_level;
	iter->min_level = min_level;
	iter->next_gfn = start;
	iter_restart(iter);
	return iter;
}

/* Into the table the current entry points to, if any and allowed. */
static bool try_step_down(struct kvmmu_iter *iter)
{
	u64 spte;

	if (iter->level == iter->min_level)
		return false;
	/* Re-read: the body may have zapped the entry or linked a table. */
	spte = READ_ONCE(*iter->sptep);
	if (!kvmmu_spte_present(spte) || kvmmu_spte_is_leaf(spte, iter->level))
		return false;
	iter->level--;
	iter->tables[iter->level] = kvmmu_spte_table(spte);
	iter->gfn = round_gfn(iter->next_gfn, iter->level);
	iter_refresh(iter);
	return true;
}

/* To the next entry of the same table, unless this was its last. */
static bool try_step_side(struct kvmmu_iter *iter)
{
	if (kvmmu_spte_index(iter->gfn, iter->level) ==
	    KVMMU_SPTE_PER_TABLE - 1)
		return false;
	iter->gfn += KVMMU_PAGES_PER(iter->level);
	iter->next_gfn = iter->gfn;
	iter->sptep++;
	iter->old_spte = READ_ONCE(*iter->sptep);
	return true;
}

/* Back to the entry that points to the current table. */
static bool try_step_up(struct kvmmu_iter *iter)
{
	if (iter->level == iter->root_level)
		return false;
	iter->level++;
	iter->gfn = round_gfn(iter->gfn, iter->level);
	iter_refresh(iter);
	return true;
}

/**
 * kvmmu_iter_next - move to the next entry in pre-order.
 * @iter: a valid iterator; invalid afterwards if the walk is over.
 *
 * Down into the current entry's table first, else to the next entry of
 * the table, climbing as far as needed. After kvmmu_iter_yielded(), back
 * to the root instead, at the first GFN not yet passed.
 */
void kvmmu_iter_next(struct kvmmu_iter *iter)
{
	if (iter->yielded) {
		iter_restart(iter);
		return;
	}
	if (try_step_down(iter))
		return;
	do {
		if (try_step_side(iter))
			return;
	} while (try_step_up(iter));
	iter->valid = false;
}

/**
 * kvmmu_iter_find_leaf - stay at, or move to, the next present leaf.
 * @iter: an iterator (use for_each_leaf_spte() rather than this).
 * @end: GFN after the last of the walk.
 *
 * Return: whether @iter is at a present leaf before @end.
 */
bool kvmmu_iter_find_leaf(struct kvmmu_iter *iter, gfn_t end)
{
	for (; kvmmu_iter_before(iter, end); kvmmu_iter_next(iter)) {
		if (kvmmu_spte_present(iter->old_spte) &&
		    kvmmu_spte_is_leaf(iter->old_spte, iter->level))
			return true;
	}
	return false;
}
