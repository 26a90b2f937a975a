/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding the instruction behind an MMIO exit, and walking the guest's page
 * tables to fetch it.
 *
 * An MMIO access reaches kvmmu as a nested page fault on a GPA no memslot
 * backs. The fault gives the GPA but not the instruction (TCG's SVM has no
 * decode assists), so the exit handler:
 *
 *   1. kvmmu_fetch_insn(): reads the bytes at CS.base + RIP, translating the
 *      linear address through the guest's own page tables (walker.c);
 *   2. kvmmu_decode_mmio(): finds the length, direction, access size and
 *      register or immediate operand of the MOV that faulted;
 *   3. exits with KVM_EXIT_MMIO; a store's data comes from
 *      kvmmu_mmio_store_value(), and the next KVM_RUN finishes with
 *      kvmmu_mmio_complete_load() (loads) or kvmmu_mmio_skip() (stores).
 *
 * The MOV family is decoded by kvmmu_decode_mmio(): it is what device
 * drivers and KVM's selftests use for MMIO. MOVS, STOS and LODS (with or
 * without REP: memcpy_toio(), memset_io(), firmware copying ROMs) are
 * decoded by kvmmu_decode_string() and run one element per exit by x86.c.
 * Anything else is refused, and the caller reports
 * KVM_INTERNAL_ERROR_EMULATION with the bytes, as KVM does for instructions
 * its emulator lacks.
 */
#ifndef KVMMU_EMULATE_H
#define KVMMU_EMULATE_H

#include <linux/types.h>

struct kvmmu_vcpu;

/* Longest x86 instruction; longer ones raise #GP on hardware. */
#define KVMMU_MAX_INSN_LEN	15

/* GPR numbers in x86 encoding order (ModRM.reg/rm, REX.R/B extended). */
enum kvmmu_gpr {
	KVMMU_GPR_RAX, KVMMU_GPR_RCX, KVMMU_GPR_RDX, KVMMU_GPR_RBX,
	KVMMU_GPR_RSP, KVMMU_GPR_RBP, KVMMU_GPR_RSI, KVMMU_GPR_RDI,
	KVMMU_GPR_R8, KVMMU_GPR_R9, KVMMU_GPR_R10, KVMMU_GPR_R11,
	KVMMU_GPR_R12, KVMMU_GPR_R13, KVMMU_GPR_R14, KVMMU_GPR_R15,
	KVMMU_NR_GPRS,
};

/**
 * struct kvmmu_mmio_insn - one decoded instruction that accesses memory.
 * @len: instruction length in bytes, prefixes included (1..15).
 * @mem_size: bytes read or written in memory: 1, 2, 4 or 8.
 * @is_write: a store (memory is written) rather than a load.
 * @mode: the cpu_mode it was decoded in (16, 32 or 64); RIP arithmetic
 *        uses it.
 * @reg: register operand, enum kvmmu_gpr: a store's source unless
 *       @src_imm, a load's destination.
 * @high_byte: @reg (0..3) names AH, CH, DH or BH: bits 15:8 of it.
 * @reg_size: a load's destination width: 1, 2, 4 or 8 (>= @mem_size).
 * @sign_extend: a load widens @mem_size to @reg_size by sign (MOVSX,
 *               MOVSXD) rather than by zeroes (MOV, MOVZX).
 * @src_imm: a store of @imm rather than of @reg.
 * @imm: the immediate of a store, sign-extended to 64 bits.
 *
 * A load writes @reg as x86 does: 8- and 16-bit destinations keep the rest
 * of the register, a 32-bit one zeroes bits 63:32.
 */
struct kvmmu_mmio_insn {
	u8 len;
	u8 mem_size;
	bool is_write;
	u8 mode;
	u8 reg;
	bool high_byte;
	u8 reg_size;
	bool sign_extend;
	bool src_imm;
	u64 imm;
};

/**
 * kvmmu_decode_mmio - decode the MOV that caused an MMIO fault.
 * @bytes: instruction bytes starting at RIP.
 * @avail: how many of @bytes are valid; never read past. At most 15 count.
 * @cpu_mode: default operand and address size: 16 (real mode, VM86, or a
 *            16-bit code segment), 32 (CS.D=1) or 64 (EFER.LMA and CS.L).
 * @insn: filled with the decoded instruction on success; undefined
 *        otherwise.
 *
 * Handles MOV 88/89/8A/8B, C6 /0, C7 /0, A0-A3 (moffs), MOVZX 0F B6/B7,
 * MOVSX 0F BE/BF and, in 64-bit mode, MOVSXD 63, with any ModRM, SIB and
 * displacement form (16-bit forms under a 16-bit address size), prefixes
 * 66, 67, segment overrides (ignored: the fault gives the address) and REX.
 * LOCK (F0) is refused: hardware raises #UD for a locked MOV, so such an
 * instruction never reaches memory. F2/F3, VEX/EVEX and register-only
 * forms (ModRM.mod == 3) are refused too.
 *
 * Return: 0 on success; -ENODATA if the instruction continues past @avail
 * bytes (and @avail < 15); -EINVAL if it is not one of the above, is
 * longer than 15 bytes, or @cpu_mode is not 16, 32 or 64.
 */
int kvmmu_decode_mmio(const u8 *bytes, unsigned int avail, int cpu_mode,
		      struct kvmmu_mmio_insn *insn);

/**
 * kvmmu_mmio_store_value - the data a decoded store writes.
 * @vcpu: the vCPU, registers in vcpu->regs.
 * @insn: a decoded store (@insn->is_write).
 *
 * Return: the value in its low @insn->mem_size bytes (little endian, as
 * kvm_run->mmio.data wants it when copied), upper bytes zero.
 */
u64 kvmmu_mmio_store_value(const struct kvmmu_vcpu *vcpu,
			   const struct kvmmu_mmio_insn *insn);

/**
 * kvmmu_mmio_complete_load - finish a load with the VMM's data.
 * @vcpu: the vCPU, registers in vcpu->regs; RIP still at the instruction.
 * @insn: the decoded load (!@insn->is_write).
 * @data: @insn->mem_size bytes from kvm_run->mmio.data.
 *
 * Writes the destination register with x86's width rules and advances RIP
 * past the instruction (kvmmu_mmio_skip()).
 */
void kvmmu_mmio_complete_load(struct kvmmu_vcpu *vcpu,
			      const struct kvmmu_mmio_insn *insn,
			      const void *data);

/**
 * kvmmu_mmio_skip - advance RIP past a decoded instruction.
 * @vcpu: the vCPU, registers in vcpu->regs.
 * @insn: the decoded instruction.
 *
 * Outside 64-bit mode the new RIP is truncated to 32 bits, as KVM does.
 * Stores call this once the VMM has seen the data; loads get it from
 * kvmmu_mmio_complete_load().
 */
void kvmmu_mmio_skip(struct kvmmu_vcpu *vcpu,
		     const struct kvmmu_mmio_insn *insn);

/* What a decoded page-table store does (kvmmu_decode_pt_store()). */
enum kvmmu_mem_op {
	KVMMU_OP_MOV,
	KVMMU_OP_XCHG,
	KVMMU_OP_CMPXCHG,
	KVMMU_OP_CMPXCHG8B,
	KVMMU_OP_OR,
	KVMMU_OP_AND,
	KVMMU_OP_XOR,
	KVMMU_OP_BTS,	/* BTS, BTR, BTC in the order of 0F BA /5 /6 /7 */
	KVMMU_OP_BTR,
	KVMMU_OP_BTC,
};

/* No base or index register in a struct kvmmu_mem_operand. */
#define KVMMU_EA_NO_REG	0xff

/**
 * struct kvmmu_mem_operand - a ModRM memory operand's address.
 * @disp: the displacement, sign-extended (a moffs: its offset).
 * @base: base register (enum kvmmu_gpr) or KVMMU_EA_NO_REG.
 * @index: index register or KVMMU_EA_NO_REG.
 * @scale: 1, 2, 4 or 8.
 * @addr_size: 2, 4 or 8: the sum is truncated to it.
 * @seg: enum kvmmu_sreg: the override, else DS, or SS for an RSP/RBP base.
 * @rip_rel: add the RIP of the next instruction (64-bit disp32 form).
 */
struct kvmmu_mem_operand {
	s64 disp;
	u8 base;
	u8 index;
	u8 scale;
	u8 addr_size;
	u8 seg;
	bool rip_rel;
};

/**
 * struct kvmmu_pt_insn - a decoded store to a guest page table.
 * @mov: length, mode, memory size and the register or immediate source,
 *       as kvmmu_decode_mmio() fills them (CMPXCHG8B: no source, the
 *       registers are implied; BTx: the bit offset).
 * @ea: where the operand is.
 * @op: enum kvmmu_mem_op.
 * @lock: a LOCK prefix (XCHG is locked without it).
 * @bit_reg: BTS/BTR/BTC with a register bit offset, which may select an
 *           operand before or after @ea (KVM's fetch_bit_operand()).
 */
struct kvmmu_pt_insn {
	struct kvmmu_mmio_insn mov;
	struct kvmmu_mem_operand ea;
	u8 op;
	bool lock;
	bool bit_reg;
};

/**
 * kvmmu_decode_pt_store - decode a store the shadow MMU must emulate.
 * @bytes: instruction bytes starting at RIP.
 * @avail: how many of @bytes are valid; never read past.
 * @cpu_mode: 16, 32 or 64, as for kvmmu_decode_mmio().
 * @insn: filled on success; undefined otherwise.
 *
 * The forms of kvmmu_decode_mmio() (loads too: the caller checks
 * @insn->mov.is_write), and with or without LOCK: XCHG 86/87, OR 08/09,
 * AND 20/21, XOR 30/31, group 1 80/81/83 /1 /4 /6, CMPXCHG 0F B0/B1,
 * CMPXCHG8B 0F C7 /1 (not 16B), BTS/BTR/BTC 0F AB/B3/BB and 0F BA /5-/7.
 * Unlike kvmmu_decode_mmio(), the memory operand's address is decoded
 * (segment prefixes included) into @insn->ea. LOCK on a MOV is refused.
 *
 * Return: 0; -ENODATA or -EINVAL as kvmmu_decode_mmio().
 */
int kvmmu_decode_pt_store(const u8 *bytes, unsigned int avail, int cpu_mode,
			  struct kvmmu_pt_insn *insn);

/* String instructions that kvmmu_decode_string() knows. */
enum kvmmu_string_op {
	KVMMU_STR_MOVS,
	KVMMU_STR_STOS,
	KVMMU_STR_LODS,
};

/* Segment registers in the encoding order of segment prefixes and SREG. */
enum kvmmu_sreg {
	KVMMU_SREG_ES, KVMMU_SREG_CS, KVMMU_SREG_SS, KVMMU_SREG_DS,
	KVMMU_SREG_FS, KVMMU_SREG_GS,
	KVMMU_SREG_NONE,
};

/**
 * struct kvmmu_string_insn - a decoded MOVS, STOS or LODS.
 * @len: instruction length in bytes, prefixes included.
 * @op: enum kvmmu_string_op.
 * @size: element size: 1, 2, 4 or 8.
 * @addr_size: address size of RSI/RDI/RCX: 2, 4 or 8.
 * @rep: a REP prefix (F3, or F2, which these three treat the same).
 * @seg: enum kvmmu_sreg of a segment override (the source's segment for
 *       MOVS and LODS; STOS and MOVS always store to ES), or NONE.
 * @mode: the cpu_mode it was decoded in (16, 32 or 64).
 */
struct kvmmu_string_insn {
	u8 len;
	u8 op;
	u8 size;
	u8 addr_size;
	bool rep;
	u8 seg;
	u8 mode;
};

/**
 * kvmmu_decode_string - decode a MOVS, STOS or LODS that touched MMIO.
 * @bytes: instruction bytes starting at RIP.
 * @avail: how many of @bytes are valid; never read past. At most 15 count.
 * @cpu_mode: 16, 32 or 64, as for kvmmu_decode_mmio().
 * @insn: filled on success; undefined otherwise.
 *
 * CMPS and SCAS (which would need the flags) and LOCK (#UD) are refused.
 *
 * Return: 0; -ENODATA when @avail ended inside a valid prefix of one;
 * -EINVAL when it is none of the three.
 */
int kvmmu_decode_string(const u8 *bytes, unsigned int avail, int cpu_mode,
			struct kvmmu_string_insn *insn);

int kvmmu_guest_rw(struct kvmmu_vm *vm, u64 gpa, void *buf, unsigned int len,
		   bool write);
int kvmmu_guest_cmpxchg(struct kvmmu_vm *vm, u64 gpa, u64 *old, u64 new,
			unsigned int len);
int kvmmu_guest_fill(struct kvmmu_vm *vm, u64 gpa, u64 val, unsigned int size,
		     unsigned int count);

/* kvmmu_gva_to_gpa() and kvmmu_walk(): the guest would take a #PF. */
#define KVMMU_WALK_PAGE_FAULT	1

/**
 * struct kvmmu_walk_env - what a guest page-table walk depends on.
 * @cr0: guest CR0 (PG, WP).
 * @cr3: guest CR3: the root table.
 * @cr4: guest CR4 (PSE, PAE, SMEP, SMAP, LA57).
 * @efer: guest EFER (LMA, NXE).
 * @rflags: guest RFLAGS (AC, for SMAP; the vCPU paths clear it at CPL 3).
 * @maxphyaddr: guest physical address width; PTE bits above are reserved.
 * @gbpages: 1 GiB pages are allowed (PS in a 4-level PDPTE).
 * @amd: the guest is an AMD one: bit 8 of a PML4E (PML5E) is reserved.
 * @read_gpa: read @len bytes of guest physical memory at @gpa into @buf,
 *            never crossing a page: 0 or -EFAULT.
 * @cmpxchg_gpa: NULL, or set A and D in the entries as the CPU does: swap
 *               the @len-byte (4 or 8) entry at @gpa from @old to @new:
 *               0 if swapped, 1 if it no longer held @old, -EROFS if
 *               the entry is in read-only memory (left as it is: the
 *               walk goes on without that bit), or -EFAULT.
 * @opaque: first argument of @read_gpa and @cmpxchg_gpa.
 * @pdptrs: NULL, or PAE paging's four PDPTEs as loaded at the last CR0,
 *          CR3 or CR4 change (the shadow MMU's, kvmmu_load_pdptrs()):
 *          the walk takes them from here, not from memory at CR3, as the
 *          CPU does from its PDPTE registers.
 *
 * The vCPU paths read through memslots; kvmmu_gva_to_gpa() sets no A/D
 * bits (KVM_TRANSLATE, the fetch behind an exit: nothing or the CPU
 * itself made the access), kvmmu_shadow_walk() sets them (the shadow
 * MMU's faults and every access kvmmu emulates). KUnit tests supply
 * their own callbacks.
 */
struct kvmmu_walk_env {
	u64 cr0;
	u64 cr3;
	u64 cr4;
	u64 efer;
	u64 rflags;
	u8 maxphyaddr;
	bool gbpages;
	bool amd;
	int (*read_gpa)(void *opaque, u64 gpa, void *buf, unsigned int len);
	int (*cmpxchg_gpa)(void *opaque, u64 gpa, u64 old, u64 new,
			   unsigned int len);
	void *opaque;
	const u64 *pdptrs;
};

/* Deepest walk: 5-level paging. */
#define KVMMU_WALK_MAX_LEVELS	5

/**
 * struct kvmmu_walk - the result of one walk.
 * @gpa: the translation, valid when the walk succeeded.
 * @error_code: KVMMU_PFERR_* a #PF would carry, valid on a page fault.
 * @level: level of the last entry read (1 = PTE; 2 = a 2M/4M page ...).
 * @levels: number of levels of the paging mode (2, 3, 4 or 5).
 * @pte: entry read at each level, index level - 1 (32-bit ones widened).
 * @pte_gpa: where each of them lives, for a later A/D update.
 */
struct kvmmu_walk {
	u64 gpa;
	u32 error_code;
	int level;
	int levels;
	u64 pte[KVMMU_WALK_MAX_LEVELS];
	u64 pte_gpa[KVMMU_WALK_MAX_LEVELS];
};

/**
 * kvmmu_walk - translate a linear address through the guest's page tables.
 * @env: paging state and the guest memory reader.
 * @gva: the linear address (truncated to 32 bits outside long mode).
 * @access: KVMMU_PFERR_WRITE, _USER (CPL 3) and _FETCH bits of the access.
 * @walk: filled with the translation or the fault.
 *
 * Without CR0.PG the translation is the identity. Otherwise the mode is
 * 32-bit (CR4.PAE clear), PAE (CR4.PAE, EFER.LMA clear), 4-level or 5-level
 * (CR4.LA57), with 4M (CR4.PSE), 2M and 1G pages, reserved-bit, U/S, R/W
 * (CR0.WP), NX (EFER.NXE), SMEP and SMAP (RFLAGS.AC) checks; protection
 * keys are not checked. With @env->cmpxchg_gpa, a walk that succeeds sets
 * A in every entry it used, top down (not in PAE's PDPTEs, which have
 * none), and D in the leaf for a write, as the CPU would; an entry that
 * changed under the update restarts the walk (KVM's
 * update_accessed_dirty_bits()); a walk that faults sets nothing.
 *
 * Return: 0 with @walk->gpa set; KVMMU_WALK_PAGE_FAULT with
 * @walk->error_code set as the guest's #PF would have it, also when
 * @env->read_gpa or @env->cmpxchg_gpa failed (a table outside guest
 * memory reads as not present: FNAME(walk_addr_generic)'s error path);
 * -EFAULT if @gva is not canonical in long mode (a #GP, not a #PF: the
 * caller's to check); -EAGAIN if the entries kept changing under the A/D
 * update (a guest rewriting them from another vCPU: let it fault again).
 */
int kvmmu_walk(const struct kvmmu_walk_env *env, u64 gva, u32 access,
	       struct kvmmu_walk *walk);

/**
 * kvmmu_gva_to_gpa - translate a guest linear address for a vCPU.
 * @vcpu: the vCPU; paging state from vcpu->sregs and vcpu->regs.rflags.
 * @gva: the linear address.
 * @access: KVMMU_PFERR_WRITE, _USER and _FETCH bits of the access.
 * @gpa: the translation, set on success.
 * @error_code: if not NULL, set to the #PF error code on a page fault.
 *
 * Page tables are read from address space 0's memslots under vm->srcu
 * with copy_from_user(): the caller runs in the VMM's process (current->mm
 * == vm->mm) and may sleep.
 *
 * Return: 0 with *@gpa set; KVMMU_WALK_PAGE_FAULT with *@error_code set
 * (also for a page table in no memslot, an invalid one, or one that
 * cannot be copied); -EFAULT if @gva is not canonical; -EAGAIN as
 * kvmmu_walk().
 */
int kvmmu_gva_to_gpa(struct kvmmu_vcpu *vcpu, u64 gva, u32 access, u64 *gpa,
		     u32 *error_code);
int kvmmu_shadow_walk(struct kvmmu_vcpu *vcpu, u64 gva, u32 access,
		      struct kvmmu_walk *walk);

/**
 * kvmmu_fetch_insn - read the bytes of the instruction at CS:RIP.
 * @vcpu: the vCPU; CS, RIP, CR0/CR3/CR4/EFER from vcpu->regs and ->sregs.
 * @buf: where the bytes go.
 * @len: how many to read, at most 15.
 *
 * The linear address is CS.base + RIP (RIP truncated to 32 bits and CS.base
 * used outside 64-bit mode, CS.base ignored in it), translated as a fetch
 * at the vCPU's CPL through kvmmu_gva_to_gpa(); the read may cross into a
 * second page. Segment limits are not checked. Memory comes only from
 * memslots: see kvmmu_gva_to_gpa() for the context needed.
 *
 * Return: the number of bytes read, at least 1 and fewer than @len only if
 * the next page is unmapped in the guest or has no memslot; -EFAULT if not
 * even the first byte can be read; -EINVAL if @len is 0 or above 15.
 */
int kvmmu_fetch_insn(struct kvmmu_vcpu *vcpu, u8 *buf, unsigned int len);

struct kvm_regs;
u64 *kvmmu_gpr(struct kvm_regs *regs, unsigned int reg);
void kvmmu_set_gpr(struct kvm_regs *regs, unsigned int reg,
		   unsigned int size, bool high_byte, u64 val);

/**
 * struct kvmmu_sys_insn - a decoded instruction without a memory operand.
 * @len: length in bytes, prefixes included.
 * @opcode: the opcode byte after the prefixes (after 0F for two-byte
 *          opcodes: @two_byte tells).
 * @two_byte: the opcode was 0F @opcode.
 * @reg: MOV CR/DR: the control or debug register (ModRM.reg, with REX.R,
 *       or LOCK for CR8 as AMD encodes it); 0F 01 (group 7): the whole
 *       ModRM byte, which names the instruction (D9 VMMCALL, D1 XSETBV).
 * @gpr: MOV CR/DR and register forms of 0F 01: the general register
 *       (ModRM.rm with REX.B).
 * @op_size: 0F 01 register forms: the operand size in bytes (2, 4 or 8;
 *           66 and REX.W), as SMSW writes its register.
 * @mem: 0F 01 memory forms (SMSW m16, LMSW m16, INVLPG): the operand's
 *       address is in @ea (segment overrides included).
 * @ea: the memory operand, when @mem.
 */
struct kvmmu_sys_insn {
	u8 len;
	u8 opcode;
	bool two_byte;
	u8 reg;
	u8 gpr;
	u8 op_size;
	bool mem;
	struct kvmmu_mem_operand ea;
};

/**
 * kvmmu_decode_sys - decode an intercepted instruction the CPU names but
 *                    does not measure (no NRIP save, no decode assists).
 * @bytes: instruction bytes starting at RIP.
 * @avail: how many of @bytes are valid.
 * @cpu_mode: 16, 32 or 64, as for kvmmu_decode_mmio().
 * @insn: filled on success.
 *
 * Legacy prefixes and, in 64-bit mode, one REX prefix right before the
 * opcode are skipped. MOV to or from a control or debug register (0F 20
 * to 0F 23) read a ModRM whose mod bits are ignored, as the CPU does;
 * group 7 (0F 01) reads a register-form ModRM (VMMCALL, XSETBV, RDPRU,
 * MONITOR, LMSW ...) or the memory operand of SMSW, LMSW or INVLPG
 * (ModRM in @reg, the address in @ea; other memory forms, LGDT and the
 * like, are refused); any other opcode is taken as
 * having no operand bytes (HLT, INVD, WBINVD, RDPMC, ...): the caller
 * checks @opcode.
 *
 * Return: 0; -ENODATA if the instruction continues past @avail bytes;
 * -EINVAL if it is longer than 15 bytes.
 */
int kvmmu_decode_sys(const u8 *bytes, unsigned int avail, int cpu_mode,
		     struct kvmmu_sys_insn *insn);

#endif /* KVMMU_EMULATE_H */
