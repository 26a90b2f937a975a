// SPDX-License-Identifier: GPL-2.0
/*
 * Guest linear -> guest physical: the walk of the guest's own page tables.
 *
 * What it is
 * ----------
 * With nested paging the hardware walks the guest's page tables itself, so
 * kvmmu needs a software walk only to read guest memory by linear address:
 * today to fetch the instruction behind an MMIO exit, later for a shadow
 * MMU (tdp=0), which must build its tables from the guest's.
 *
 * Design
 * ------
 * The walk is a function of a small environment (struct kvmmu_walk_env:
 * control registers, MAXPHYADDR, and a "read guest physical memory"
 * callback), not of a vCPU. The vCPU path fills the environment from
 * vcpu->sregs and reads through memslots with copy_from_user(); the KUnit
 * suite fills it by hand and reads from a buffer, since its kthread has
 * no user mm. The walk proper is paging_tmpl.h, instantiated for 32-bit,
 * PAE and 64-bit (4/5-level) paging; the permission checks and the page
 * fault error code are shared below.
 *
 * The walk reads each entry once. It sets accessed and dirty bits only
 * when its environment gives it a cmpxchg on guest memory: a shadow MMU
 * must, since no CPU walks the guest's tables for it, and so must every
 * access kvmmu emulates (a string I/O or string MMIO operand, a store to
 * a page table), as KVM's emulator does through FNAME(walk_addr_generic):
 * kvmmu_shadow_walk(). kvmmu_gva_to_gpa() does not: an instruction fetch
 * behind an exit (the CPU has just walked the same tables and set them)
 * and KVM_TRANSLATE (a debugger must not).
 * An entry that changed between the read and the update restarts the
 * walk, a bounded number of times.
 *
 * Exclusion rules
 * ---------------
 * - kvmmu_walk() takes no locks; its read_gpa callback decides.
 * - kvmmu_gva_to_gpa() and kvmmu_fetch_insn() hold vm->srcu across the
 *   walk and the reads, and run in the VMM's process; they may sleep.
 */

#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "kvmmu.h"
#include "mmu.h"
#include "emulate.h"

/* Entry bits shared by all three formats. */
#define PT_PRESENT	BIT_ULL(0)
#define PT_WRITABLE	BIT_ULL(1)
#define PT_USER		BIT_ULL(2)
#define PT_ACCESSED	BIT_ULL(5)
#define PT_DIRTY	BIT_ULL(6)
#define PT_PAGE_SIZE	BIT_ULL(7)
#define PT_NX		BIT_ULL(63)
#define PT_ADDR_MASK	GENMASK_ULL(51, 12)

/* Permissions a walk accumulates, narrowed by every level. */
#define WALK_ALLOW_WRITE	BIT(0)
#define WALK_ALLOW_USER		BIT(1)
#define WALK_ALLOW_EXEC		BIT(2)
#define WALK_ALLOW_ALL		(WALK_ALLOW_WRITE | WALK_ALLOW_USER | \
				 WALK_ALLOW_EXEC)

/* FNAME(walk): an entry changed under the A/D update; walk again. */
#define WALK_RETRY	2
/* How often kvmmu_walk() walks again before it gives up (-EAGAIN). */
#define WALK_TRIES	8

#define PTTYPE_32	32
#define PTTYPE_PAE	36
#define PTTYPE_64	64

/*
 * Fail a walk with a #PF whose error code is @bits (PRESENT, RSVD) plus
 * the access's W and U bits, and I/D when the CPU would report it: with
 * SMEP, or with NX usable (EFER.NXE in PAE and 64-bit paging).
 */
static int walk_fault(const struct kvmmu_walk_env *env,
		      struct kvmmu_walk *walk, u32 access, u32 bits)
{
	bool nx = (env->efer & EFER_NX) && (env->cr4 & X86_CR4_PAE);

	walk->error_code = bits | (access & (KVMMU_PFERR_WRITE |
					     KVMMU_PFERR_USER));
	if ((access & KVMMU_PFERR_FETCH) && (nx || (env->cr4 & X86_CR4_SMEP)))
		walk->error_code |= KVMMU_PFERR_FETCH;
	return KVMMU_WALK_PAGE_FAULT;
}

/* The checks on a present translation whose levels allowed @allow. */
static int walk_check(const struct kvmmu_walk_env *env,
		      struct kvmmu_walk *walk, u32 access, u32 allow)
{
	bool user = access & KVMMU_PFERR_USER;
	bool write = access & KVMMU_PFERR_WRITE;
	bool fetch = access & KVMMU_PFERR_FETCH;
	bool user_page = allow & WALK_ALLOW_USER;
	bool denied;

	denied = (user && !user_page) ||
		 (write && !(allow & WALK_ALLOW_WRITE) &&
		  (user || (env->cr0 & X86_CR0_WP))) ||
		 (fetch && !(allow & WALK_ALLOW_EXEC));
	/* Supervisor access to a user page: SMEP for fetches, else SMAP. */
	if (!user && user_page) {
		if (fetch)
			denied |= !!(env->cr4 & X86_CR4_SMEP);
		else
			denied |= (env->cr4 & X86_CR4_SMAP) &&
				  !(env->rflags & X86_EFLAGS_AC);
	}
	if (denied)
		return walk_fault(env, walk, access, KVMMU_PFERR_PRESENT);
	return 0;
}

#define PTTYPE PTTYPE_32
#include "paging_tmpl.h"
#undef PTTYPE

#define PTTYPE PTTYPE_PAE
#include "paging_tmpl.h"
#undef PTTYPE

#define PTTYPE PTTYPE_64
#include "paging_tmpl.h"
#undef PTTYPE

static int walk_once(const struct kvmmu_walk_env *e, u64 gva, u32 access,
		     struct kvmmu_walk *walk)
{
	unsigned int va_bits;

	memset(walk, 0, sizeof(*walk));
	if (!(e->cr0 & X86_CR0_PG)) {
		walk->gpa = (u32)gva;
		return 0;
	}
	if (e->efer & EFER_LMA) {
		va_bits = (e->cr4 & X86_CR4_LA57) ? 57 : 48;
		if (sign_extend64(gva, va_bits - 1) != gva)
			return -EFAULT;
		return paging64_walk(e, gva, access, walk);
	}
	if (e->cr4 & X86_CR4_PAE)
		return pae_walk(e, (u32)gva, access, walk);
	return paging32_walk(e, (u32)gva, access, walk);
}

int kvmmu_walk(const struct kvmmu_walk_env *env, u64 gva, u32 access,
	       struct kvmmu_walk *walk)
{
	struct kvmmu_walk_env e = *env;
	int tries, r;

	e.maxphyaddr = clamp_t(u8, env->maxphyaddr, 32, 52);
	for (tries = 0; tries < WALK_TRIES; tries++) {
		r = walk_once(&e, gva, access, walk);
		if (r != WALK_RETRY)
			return r;
	}
	return -EAGAIN;
}

/* Read guest memory of address space 0 through its memslots. */
/**
 * kvmmu_guest_rw - read or write guest physical memory through the memslots.
 * @vm: the VM; the caller runs in its mm (VM and vCPU ioctls do).
 * @gpa: first byte.
 * @buf: @len bytes to fill or to store.
 * @len: bytes, within one page.
 * @write: store @buf rather than read into it; a write to a logging slot
 *         is logged in its dirty bitmap.
 *
 * Never touches host memory that no memslot gives the guest.
 *
 * Return: 0, or -EFAULT (no usable slot, a READONLY slot for a write, a
 * page crossing, the wrong mm, or the HVA not accessible).
 */
int kvmmu_guest_rw(struct kvmmu_vm *vm, u64 gpa, void *buf, unsigned int len,
		   bool write)
{
	struct kvmmu_memory_slot *slot;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	void __user *hva;
	int idx, r = -EFAULT;

	if (!current->mm || current->mm != vm->mm ||
	    offset_in_page(gpa) + len > PAGE_SIZE)
		return -EFAULT;
	idx = srcu_read_lock(&vm->srcu);
	slot = kvmmu_gfn_to_memslot(kvmmu_memslots(vm, 0), gfn);
	if (!slot || (slot->flags & KVMMU_MEMSLOT_INVALID) ||
	    (write && (slot->flags & KVM_MEM_READONLY)))
		goto out;
	hva = (void __user *)(kvmmu_memslot_gfn_to_hva(slot, gfn) +
			      offset_in_page(gpa));
	if (write ? copy_to_user(hva, buf, len) : copy_from_user(buf, hva, len))
		goto out;
	if (write && slot->dirty_bitmap)
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
	r = 0;
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

static int read_gpa_memslot(void *opaque, u64 gpa, void *buf,
			    unsigned int len)
{
	return kvmmu_guest_rw(opaque, gpa, buf, len, false);
}

/*
 * KVM's guest_cpuid_is_amd_compatible(): "AuthenticAMD" or "HygonGenuine"
 * in CPUID leaf 0 (EBX, EDX, ECX).
 */
static bool guest_vendor_amd(const struct kvm_cpuid_entry2 *e)
{
	return (e->ebx == 0x68747541 && e->edx == 0x69746e65 &&
		e->ecx == 0x444d4163) ||
	       (e->ebx == 0x6f677948 && e->edx == 0x6e65476e &&
		e->ecx == 0x656e6975);
}

/* The walk environment of @vcpu; guest CPUID decides, else the host's. */
static void vcpu_walk_env(struct kvmmu_vcpu *vcpu, struct kvmmu_walk_env *env)
{
	const struct kvm_cpuid_entry2 *e;

	env->cr0 = vcpu->sregs.cr0;
	env->cr3 = vcpu->sregs.cr3;
	env->cr4 = vcpu->sregs.cr4;
	env->efer = vcpu->sregs.efer;
	env->rflags = vcpu->regs.rflags;
	/*
	 * permission_fault(): at CPL 3 a supervisor access is an implicit
	 * one (descriptor tables, TSS, a stack switch), which SMAP stops
	 * whatever EFLAGS.AC says.
	 */
	if (kvmmu_vcpu_cpl(vcpu) == 3)
		env->rflags &= ~X86_EFLAGS_AC;
	/*
	 * Looked up once per KVM_SET_CPUID2 (a linear search of the
	 * entries), as KVM keeps vcpu->arch.maxphyaddr from
	 * kvm_vcpu_after_set_cpuid(), not per walk.
	 */
	if (!vcpu->walk_cpuid_ok) {
		e = kvmmu_find_cpuid(vcpu, 0x80000008, 0);
		vcpu->walk_maxphyaddr = e ? e->eax & 0xff :
					    boot_cpu_data.x86_phys_bits;
		e = kvmmu_find_cpuid(vcpu, 0x80000001, 0);
		vcpu->walk_gbpages = e ? !!(e->edx & BIT(26)) :
					 boot_cpu_has(X86_FEATURE_GBPAGES);
		e = kvmmu_find_cpuid(vcpu, 0, 0);
		vcpu->walk_amd = e && guest_vendor_amd(e);
		vcpu->walk_cpuid_ok = true;
	}
	env->maxphyaddr = vcpu->walk_maxphyaddr;
	env->gbpages = vcpu->walk_gbpages;
	env->amd = vcpu->walk_amd;
	env->read_gpa = read_gpa_memslot;
	env->cmpxchg_gpa = NULL;	/* see the top */
	env->opaque = vcpu->vm;
	/*
	 * PAE's PDPTEs: the shadow MMU's loaded copy (KVM's get_pdptr() is
	 * mmu->pdptrs without NPT); with NPT they are read at CR3, as the
	 * CPU has just done, unless an ioctl cached them since the last run.
	 */
	env->pdptrs = kvmmu_tdp && !vcpu->pdptrs_cached ? NULL : vcpu->pdptrs;
}

/* The user address of @len bytes at @gpa, in a writable slot *@slot. */
static int guest_hva(struct kvmmu_vm *vm, u64 gpa, unsigned int len,
		     unsigned long *hva, struct kvmmu_memory_slot **slotp)
{
	struct kvmmu_memory_slot *slot;
	gfn_t gfn = gpa >> PAGE_SHIFT;

	if (!current->mm || current->mm != vm->mm ||
	    offset_in_page(gpa) + len > PAGE_SIZE)
		return -EFAULT;
	slot = kvmmu_gfn_to_memslot(kvmmu_memslots(vm, 0), gfn);
	if (!slot || (slot->flags & KVMMU_MEMSLOT_INVALID))
		return -EFAULT;
	if (slot->flags & KVM_MEM_READONLY)
		return -EROFS;
	*hva = kvmmu_memslot_gfn_to_hva(slot, gfn) + offset_in_page(gpa);
	if (!access_ok((void __user *)*hva, len))
		return -EFAULT;
	*slotp = slot;
	return 0;
}

static void guest_mark_dirty(struct kvmmu_memory_slot *slot, u64 gpa)
{
	if (slot->dirty_bitmap)
		set_bit((gpa >> PAGE_SHIFT) - slot->base_gfn, slot->dirty_bitmap);
}

/*
 * kvmmu_guest_cmpxchg() once @len is known to be 1, 2, 4 or 8 and @gpa
 * not to cross a cache line; vm->srcu held.
 */
static int guest_cmpxchg_srcu(struct kvmmu_vm *vm, u64 gpa, u64 *old,
			      u64 new, unsigned int len)
{
	struct kvmmu_memory_slot *slot;
	unsigned long hva;
	int r;

	r = guest_hva(vm, gpa, len, &hva, &slot);
	if (r)
		return r;
	switch (len) {
	case 1: {
		u8 o = *old;

		r = __try_cmpxchg_user((u8 __user *)hva, &o, (u8)new, efault1);
		*old = o;
		break;
	}
	case 2: {
		u16 o = *old;

		r = __try_cmpxchg_user((u16 __user *)hva, &o, (u16)new,
				       efault2);
		*old = o;
		break;
	}
	case 4: {
		u32 o = *old;

		r = __try_cmpxchg_user((u32 __user *)hva, &o, (u32)new,
				       efault4);
		*old = o;
		break;
	}
	default:
		r = __try_cmpxchg_user((u64 __user *)hva, old, new, efault8);
		break;
	}
	if (r < 0)
		return -EFAULT;
	if (!r)
		guest_mark_dirty(slot, gpa);
	return r;
}

/**
 * kvmmu_guest_cmpxchg - an atomic compare-and-exchange on guest RAM.
 * @vm: the VM; the caller runs in its mm.
 * @gpa: the operand.
 * @old: the value expected; on a mismatch, set to the value found.
 * @new: the value to store.
 * @len: 1, 2, 4 or 8 bytes.
 *
 * A locked CMPXCHG on the host page behind @gpa, as KVM's
 * emulator_cmpxchg_emulated() does, so that the guest's other vCPUs (and
 * the CPU's own A/D updates) see one atomic store. A swap in a logging
 * slot is logged. Process context, may fault the page in; takes vm->srcu itself.
 *
 * Return: 0 if swapped; 1 if *@gpa did not hold *@old; -EROFS in a
 * read-only slot; -EINVAL for a @len it cannot do atomically (another
 * size, or an operand that crosses a cache line where split-lock detection
 * would trap it); -EFAULT (no usable slot, a page crossing, the wrong mm,
 * the HVA not accessible).
 */
int kvmmu_guest_cmpxchg(struct kvmmu_vm *vm, u64 gpa, u64 *old, u64 new,
			unsigned int len)
{
	u64 line_mask;
	int idx, r;

	if (len > 8 || !is_power_of_2(len))
		return -EINVAL;
	/* emulator_cmpxchg_emulated(): no split lock in the host. */
	line_mask = boot_cpu_has(X86_FEATURE_SPLIT_LOCK_DETECT) ?
		    ~(u64)(cache_line_size() - 1) : PAGE_MASK;
	if (((gpa + len - 1) & line_mask) != (gpa & line_mask))
		return offset_in_page(gpa) + len > PAGE_SIZE ? -EFAULT :
							       -EINVAL;
	idx = srcu_read_lock(&vm->srcu);
	r = guest_cmpxchg_srcu(vm, gpa, old, new, len);
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

/**
 * kvmmu_guest_fill - store @count copies of a @size-byte value in guest RAM.
 * @vm: the VM; the caller runs in its mm.
 * @gpa: the first element; all of them within its page.
 * @val: the value, in its low @size bytes.
 * @size: 1, 2, 4 or 8.
 * @count: elements, upwards from @gpa.
 *
 * A STOS chunk: each element is one store of its size, so an aligned
 * entry is never seen half written by another vCPU, as with the CPU's
 * own string store. The page is logged dirty.
 *
 * Return: 0, -EROFS in a read-only slot, or -EFAULT as
 * kvmmu_guest_cmpxchg().
 */
int kvmmu_guest_fill(struct kvmmu_vm *vm, u64 gpa, u64 val, unsigned int size,
		     unsigned int count)
{
	struct kvmmu_memory_slot *slot;
	unsigned long hva;
	unsigned int i;
	int idx, r;

	if (size > 8 || !is_power_of_2(size) || !count ||
	    count > PAGE_SIZE / size)
		return -EFAULT;
	idx = srcu_read_lock(&vm->srcu);
	r = guest_hva(vm, gpa, size * count, &hva, &slot);
	if (r)
		goto out;
	if (!user_access_begin((void __user *)hva, size * count)) {
		r = -EFAULT;
		goto out;
	}
	for (i = 0; i < count; i++, hva += size) {
		switch (size) {
		case 1:
			unsafe_put_user((u8)val, (u8 __user *)hva, fault);
			break;
		case 2:
			unsafe_put_user((u16)val, (u16 __user *)hva, fault);
			break;
		case 4:
			unsafe_put_user((u32)val, (u32 __user *)hva, fault);
			break;
		default:
			unsafe_put_user(val, (u64 __user *)hva, fault);
			break;
		}
	}
	user_access_end();
	guest_mark_dirty(slot, gpa);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
fault:
	user_access_end();
	r = -EFAULT;
	goto out;
}

/*
 * Read a guest page-table entry for the shadow MMU's walk, vm->srcu held
 * by the caller (KVM's FNAME(walk_addr_generic): __get_user() at the HVA
 * of the entry's slot): no SRCU section and no copy of its own per entry,
 * as kvmmu_guest_rw() takes. Same checks: the VM's mm, a slot that is
 * not INVALID; may fault the host page in.
 */
static int read_gpte_srcu(void *opaque, u64 gpa, void *buf, unsigned int len)
{
	struct kvmmu_vm *vm = opaque;
	struct kvmmu_memory_slot *slot;
	void __user *hva;
	gfn_t gfn = gpa >> PAGE_SHIFT;

	/* Entries are 4 or 8 bytes, aligned: never across a page. */
	if ((len != 4 && len != 8) || !IS_ALIGNED(gpa, len))
		return kvmmu_guest_rw(vm, gpa, buf, len, false);
	if (!current->mm || current->mm != vm->mm)
		return -EFAULT;
	slot = kvmmu_gfn_to_memslot(kvmmu_memslots(vm, 0), gfn);
	if (!slot || (slot->flags & KVMMU_MEMSLOT_INVALID))
		return -EFAULT;
	hva = (void __user *)(kvmmu_memslot_gfn_to_hva(slot, gfn) +
			      offset_in_page(gpa));
	if (len == 4)
		return get_user(*(u32 *)buf, (u32 __user *)hva) ? -EFAULT : 0;
	return get_user(*(u64 *)buf, (u64 __user *)hva) ? -EFAULT : 0;
}

/*
 * Swap a guest page-table entry for the shadow MMU's A/D update, as KVM's
 * emulator_cmpxchg_emulated() does through the HVA: 0 swapped, 1 the entry
 * changed meanwhile, -EROFS in a read-only slot (KVM skips the update of
 * ROM page tables), -EFAULT. A swap in a logging slot is logged. An
 * aligned entry crosses no cache line; vm->srcu is the walk's.
 */
static int cmpxchg_gpa_memslot(void *opaque, u64 gpa, u64 old, u64 new,
			       unsigned int len)
{
	if ((len != 4 && len != 8) || !IS_ALIGNED(gpa, len))
		return -EFAULT;
	return guest_cmpxchg_srcu(opaque, gpa, &old, new, len);
}

/**
 * kvmmu_shadow_walk - a walk of the guest's tables for an access it made.
 * @vcpu: the vCPU, state in vcpu->sregs and vcpu->regs.
 * @gva: the faulting or emulated linear address.
 * @access: KVMMU_PFERR_WRITE, _USER and _FETCH of the access.
 * @walk: the result.
 *
 * As kvmmu_gva_to_gpa(), but A and D are set in the guest's entries as
 * the CPU would have: for the shadow MMU's faults (no CPU walks the
 * guest's tables under shadow paging) and, with either MMU, for the
 * accesses kvmmu emulates (KVM's emulator walks with
 * FNAME(walk_addr_generic), which sets them). Process context, in the
 * VMM's mm; may sleep. The caller holds vm->srcu (KVM's vCPU holds it
 * across its faults): the entries are read and swapped without a
 * section of their own.
 *
 * Return: as kvmmu_walk().
 */
int kvmmu_shadow_walk(struct kvmmu_vcpu *vcpu, u64 gva, u32 access,
		      struct kvmmu_walk *walk)
{
	struct kvmmu_walk_env env;

	RCU_LOCKDEP_WARN(!srcu_read_lock_held(&vcpu->vm->srcu),
			 "shadow walk without vm->srcu");
	vcpu_walk_env(vcpu, &env);
	env.read_gpa = read_gpte_srcu;
	env.cmpxchg_gpa = cmpxchg_gpa_memslot;
	return kvmmu_walk(&env, gva, access, walk);
}

int kvmmu_gva_to_gpa(struct kvmmu_vcpu *vcpu, u64 gva, u32 access, u64 *gpa,
		     u32 *error_code)
{
	struct kvmmu_walk_env env;
	struct kvmmu_walk walk;
	int idx, r;

	vcpu_walk_env(vcpu, &env);
	idx = srcu_read_lock(&vcpu->vm->srcu);
	r = kvmmu_walk(&env, gva, access, &walk);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	if (!r)
		*gpa = walk.gpa;
	else if (r == KVMMU_WALK_PAGE_FAULT && error_code)
		*error_code = walk.error_code;
	return r;
}

/*
 * Read @len bytes at linear address @linear, page by page; @wrap32 keeps
 * the address in 32 bits as outside long mode. Returns the bytes read, or
 * -EFAULT when not even the first one could be.
 */
static int fetch_linear(const struct kvmmu_walk_env *env, u64 linear,
			bool wrap32, u32 access, u8 *buf, unsigned int len)
{
	unsigned int done = 0;

	if (!len || len > KVMMU_MAX_INSN_LEN)
		return -EINVAL;
	while (done < len) {
		u64 la = linear + done;
		struct kvmmu_walk walk;
		unsigned int chunk;

		if (wrap32)
			la = (u32)la;
		chunk = min_t(unsigned int, len - done,
			      PAGE_SIZE - offset_in_page(la));
		if (kvmmu_walk(env, la, access, &walk) ||
		    env->read_gpa(env->opaque, walk.gpa, buf + done, chunk))
			break;
		done += chunk;
	}
	return done ? done : -EFAULT;
}

int kvmmu_fetch_insn(struct kvmmu_vcpu *vcpu, u8 *buf, unsigned int len)
{
	const struct kvm_sregs *s = &vcpu->sregs;
	bool long64 = (s->efer & EFER_LMA) && s->cs.l;
	struct kvmmu_walk_env env;
	u32 access = KVMMU_PFERR_FETCH;
	u64 linear;
	int idx, r;

	if (long64)
		linear = vcpu->regs.rip;
	else
		linear = s->cs.base + (u32)vcpu->regs.rip;
	if (kvmmu_vcpu_cpl(vcpu) == 3)
		access |= KVMMU_PFERR_USER;

	vcpu_walk_env(vcpu, &env);
	idx = srcu_read_lock(&vcpu->vm->srcu);
	r = fetch_linear(&env, linear, !long64, access, buf, len);
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	return r;
}
