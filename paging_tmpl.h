/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One guest page-table walker, instantiated per paging mode.
 *
 * walker.c includes this file three times with PTTYPE set to
 *
 *   PTTYPE_32   2 levels of 4-byte entries, 10 index bits each; 4M pages
 *               when CR4.PSE (PSE-36/40 high address bits in 20:13);
 *   PTTYPE_PAE  3 levels of 8-byte entries: a 4-entry PDPT at CR3[31:5]
 *               whose entries carry no permissions (or, for the shadow MMU,
 *               the copy loaded with CR3: env->pdptrs), then PD and PT; 2M
 *               pages;
 *   PTTYPE_64   4 levels (5 with CR4.LA57) of 8-byte entries; 2M and 1G
 *               pages;
 *
 * and each instance defines PTTYPE's FNAME(walk). The loop is the same for
 * all: read the entry the address indexes, stop at a non-present entry or
 * at one with reserved bits set, narrow the permissions, and descend until
 * a leaf. What differs (entry size, index width, where the root is, which
 * bits are reserved, what a leaf is) is in the helpers above the loop.
 * Final permission checks and the error code are shared, in walker.c.
 * A walk that succeeds may then set the accessed and dirty bits
 * (FNAME(update_ad)), when its environment can write guest memory.
 */

#if PTTYPE == PTTYPE_64
#define pt_element_t		u64
#define FNAME(name)		paging64_##name
#define PT_INDEX_BITS		9
#elif PTTYPE == PTTYPE_PAE
#define pt_element_t		u64
#define FNAME(name)		pae_##name
#define PT_INDEX_BITS		9
#elif PTTYPE == PTTYPE_32
#define pt_element_t		u32
#define FNAME(name)		paging32_##name
#define PT_INDEX_BITS		10
#else
#error "PTTYPE must be PTTYPE_32, PTTYPE_PAE or PTTYPE_64"
#endif

static int FNAME(levels)(const struct kvmmu_walk_env *env)
{
#if PTTYPE == PTTYPE_64
	return (env->cr4 & X86_CR4_LA57) ? 5 : 4;
#elif PTTYPE == PTTYPE_PAE
	return 3;
#else
	return 2;
#endif
}

/* GPA of the top-level table. */
static u64 FNAME(root)(const struct kvmmu_walk_env *env)
{
#if PTTYPE == PTTYPE_64
	/* Bits 11:0 are flags or the PCID. */
	return env->cr3 & PT_ADDR_MASK & ~(u64)(PAGE_SIZE - 1);
#elif PTTYPE == PTTYPE_PAE
	return env->cr3 & 0xffffffe0ULL;
#else
	return env->cr3 & 0xfffff000ULL;
#endif
}

/* Whether @pte at @level maps a page rather than a table. */
static bool FNAME(is_leaf)(const struct kvmmu_walk_env *env, u64 pte,
			   int level)
{
	if (level == 1)
		return true;
#if PTTYPE == PTTYPE_32
	return level == 2 && (env->cr4 & X86_CR4_PSE) && (pte & PT_PAGE_SIZE);
#elif PTTYPE == PTTYPE_PAE
	return level == 2 && (pte & PT_PAGE_SIZE);
#else
	/* PS at level 3 without 1G pages, and above, is a reserved bit. */
	return (level == 2 || (level == 3 && env->gbpages)) &&
	       (pte & PT_PAGE_SIZE);
#endif
}

/* Bits that must be clear in a present @pte at @level. */
static u64 FNAME(rsvd_bits)(const struct kvmmu_walk_env *env, int level,
			    bool leaf)
{
	unsigned int pa = env->maxphyaddr;
#if PTTYPE == PTTYPE_32
	/* A 4M page keeps address bits 39:32 in 20:13; bit 21 is reserved. */
	if (level == 2 && leaf)
		return pa >= 40 ? BIT(21) : GENMASK(21, 13 + pa - 32);
	return 0;
#else
	u64 nx = (env->efer & EFER_NX) ? 0 : PT_NX;
	u64 high;

#if PTTYPE == PTTYPE_PAE
	high = GENMASK_ULL(62, pa);
	if (level == 3)	/* PDPTE: no NX, R/W, U/S or PS */
		return high | PT_NX | GENMASK_ULL(8, 5) | GENMASK_ULL(2, 1);
#else
	high = pa < 52 ? GENMASK_ULL(51, pa) : 0;
	/* AMD reserves bit 8 of non-leaf PML4Es (__reset_rsvds_bits_mask()). */
	if (level >= 4)
		return high | nx | PT_PAGE_SIZE | (env->amd ? BIT_ULL(8) : 0);
	if (level == 3 && !env->gbpages)
		return high | nx | PT_PAGE_SIZE;
	if (level == 3 && leaf)
		return high | nx | GENMASK_ULL(29, 13);
#endif
	if (level == 2 && leaf)
		return high | nx | GENMASK_ULL(20, 13);
	return high | nx;
#endif
}

/* The permissions (WALK_ALLOW_*) that @pte leaves to the walk. */
static u32 FNAME(allow)(const struct kvmmu_walk_env *env, u64 pte, int level)
{
	u32 allow = 0;

#if PTTYPE == PTTYPE_PAE
	if (level == 3)
		return WALK_ALLOW_ALL;
#endif
	if (pte & PT_WRITABLE)
		allow |= WALK_ALLOW_WRITE;
	if (pte & PT_USER)
		allow |= WALK_ALLOW_USER;
#if PTTYPE != PTTYPE_32
	if ((pte & PT_NX) && (env->efer & EFER_NX))
		return allow;
#endif
	return allow | WALK_ALLOW_EXEC;
}

/* The GPA that leaf @pte at @level gives @addr. */
static u64 FNAME(leaf_gpa)(u64 pte, int level, u64 addr)
{
	u64 offset = addr & (BIT_ULL(PAGE_SHIFT + (level - 1) * PT_INDEX_BITS) - 1);

#if PTTYPE == PTTYPE_32
	if (level == 2)	/* PSE-36/40: bits 20:13 are address bits 39:32 */
		return (pte & 0xffc00000ULL) | ((pte >> 13) & 0xff) << 32 | offset;
	return (pte & 0xfffff000ULL) | offset;
#else
	return (pte & PT_ADDR_MASK & ~(BIT_ULL(PAGE_SHIFT +
				     (level - 1) * PT_INDEX_BITS) - 1)) | offset;
#endif
}

/*
 * The walk succeeded: set A in each entry it used, top down, and D in the
 * leaf for a write, as the CPU does. PAE's PDPTEs have no A bit.
 */
static int FNAME(update_ad)(const struct kvmmu_walk_env *env,
			    struct kvmmu_walk *walk, u32 access)
{
	int level, r;

	for (level = walk->levels; level >= walk->level; level--) {
		u64 old = walk->pte[level - 1], new = old | PT_ACCESSED;

#if PTTYPE == PTTYPE_PAE
		if (level == 3)
			continue;
#endif
		if (level == walk->level && (access & KVMMU_PFERR_WRITE))
			new |= PT_DIRTY;
		if (new == old)
			continue;
		r = env->cmpxchg_gpa(env->opaque, walk->pte_gpa[level - 1],
				     old, new, sizeof(pt_element_t));
		/* ROM page tables: no A/D, as FNAME(update_accessed_dirty_bits). */
		if (r == -EROFS)
			continue;
		/* An entry that cannot be swapped: as one not present. */
		if (r)
			return r > 0 ? WALK_RETRY :
				       walk_fault(env, walk, access, 0);
		walk->pte[level - 1] = new;
	}
	return 0;
}

/*
 * Read the entry at @pte_gpa. PAE's PDPTEs come from @env->pdptrs when
 * given: the CPU's PDPTE registers, loaded with CR3 (KVM's get_pdptr()).
 */
static int FNAME(read_pte)(const struct kvmmu_walk_env *env, int level,
			   u64 index, u64 pte_gpa, pt_element_t *pte)
{
#if PTTYPE == PTTYPE_PAE
	if (level == 3 && env->pdptrs) {
		*pte = env->pdptrs[index & 3];
		return 0;
	}
#endif
	return env->read_gpa(env->opaque, pte_gpa, pte, sizeof(*pte));
}

static int FNAME(walk)(const struct kvmmu_walk_env *env, u64 addr,
		       u32 access, struct kvmmu_walk *walk)
{
	u64 table = FNAME(root)(env), pte_gpa;
	u32 allow = WALK_ALLOW_ALL;
	pt_element_t pte;
	bool leaf;
	int level, r;

	walk->levels = FNAME(levels)(env);
	for (level = walk->levels; ; level--) {
		unsigned int shift = PAGE_SHIFT + (level - 1) * PT_INDEX_BITS;
		u64 index = (addr >> shift) & (BIT_ULL(PT_INDEX_BITS) - 1);

		pte_gpa = table + index * sizeof(pte);
		walk->level = level;
		walk->pte_gpa[level - 1] = pte_gpa;
		/* A table outside guest memory reads as not present. */
		if (FNAME(read_pte)(env, level, index, pte_gpa, &pte))
			return walk_fault(env, walk, access, 0);
		walk->pte[level - 1] = pte;

		if (!(pte & PT_PRESENT))
			return walk_fault(env, walk, access, 0);
		leaf = FNAME(is_leaf)(env, pte, level);
		if (pte & FNAME(rsvd_bits)(env, level, leaf))
			return walk_fault(env, walk, access,
					  KVMMU_PFERR_PRESENT | KVMMU_PFERR_RSVD);
		allow &= FNAME(allow)(env, pte, level);
		if (leaf)
			break;
#if PTTYPE == PTTYPE_32
		table = pte & 0xfffff000U;
#else
		table = pte & PT_ADDR_MASK;
#endif
	}

	walk->gpa = FNAME(leaf_gpa)(pte, level, addr);
	r = walk_check(env, walk, access, allow);
	if (r || !env->cmpxchg_gpa)
		return r;
	return FNAME(update_ad)(env, walk, access);
}

#undef pt_element_t
#undef FNAME
#undef PT_INDEX_BITS
