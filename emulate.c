// SPDX-License-Identifier: GPL-2.0
/*
 * The instruction decoder behind KVM_EXIT_MMIO.
 *
 * What it is
 * ----------
 * When a guest touches a GPA that no memslot backs, the nested page fault
 * tells kvmmu where but not what: the VMM needs the access size, the
 * direction and, for a store, the data; after a load the destination
 * register must be written. This file decodes the faulting instruction far
 * enough for that, and does the register side of the exit. Fetching the
 * bytes (through the guest's page tables) is walker.c's job.
 *
 * Design
 * ------
 * KVM has a table-driven emulator of most of the ISA (5k lines) because
 * it also emulates real mode, task switches and instructions that touch
 * memory twice. kvmmu only needs the MOV family that drivers and KVM's
 * selftests use for MMIO, and the string moves (MOVS, STOS, LODS) of
 * memcpy_toio(), memset_io() and firmware, so the decoder is a
 * straight-line parser over a cursor: prefixes, REX, opcode, ModRM, SIB,
 * displacement, immediate. The address itself is not computed (the fault
 * gave it): ModRM, SIB and displacement only count towards the length.
 * String instructions have no ModRM: their addresses are RSI and RDI,
 * which x86.c reads from the registers.
 * The decoder is a pure function of the bytes and the CPU mode, so the
 * KUnit suite drives it with byte strings.
 *
 * Anything it does not know is -EINVAL and becomes
 * KVM_INTERNAL_ERROR_EMULATION in the caller: refusing is always safe,
 * guessing a length is not.
 */

#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/stddef.h>
#include <linux/string.h>

#include "kvmmu.h"
#include "emulate.h"

/* A cursor over the bytes that may be read. */
struct decoder {
	const u8 *bytes;
	unsigned int avail;	/* min(avail, 15) */
	unsigned int pos;
	bool truncated;		/* the caller gave fewer than 15 bytes */
	bool mode64;		/* ModRM mod 0 rm 5 is RIP-relative */
};

/* Consume @n bytes; return -ENODATA or -EINVAL when they are not there. */
static int take(struct decoder *d, unsigned int n)
{
	if (d->pos + n > d->avail)
		return d->truncated ? -ENODATA : -EINVAL;
	d->pos += n;
	return 0;
}

/* Read one byte and consume it. */
static int next_byte(struct decoder *d, u8 *b)
{
	int r = take(d, 1);

	if (!r)
		*b = d->bytes[d->pos - 1];
	return r;
}

/* Read an @n-byte little-endian signed immediate and consume it. */
static int next_imm(struct decoder *d, unsigned int n, u64 *imm)
{
	const u8 *p = d->bytes + d->pos;
	int r = take(d, n);

	if (r)
		return r;
	switch (n) {
	case 1:
		*imm = (s64)(s8)p[0];
		break;
	case 2:
		*imm = (s64)(s16)(p[0] | p[1] << 8);
		break;
	default:	/* 4; no MOV to memory has an 8-byte immediate */
		*imm = (s64)(s32)((u32)p[0] | (u32)p[1] << 8 |
				  (u32)p[2] << 16 | (u32)p[3] << 24);
		break;
	}
	return 0;
}

/*
 * Consume a ModRM byte and what it implies (SIB, displacement); return the
 * reg field in *@reg (without REX.R). Register-only forms are refused: an
 * MMIO fault comes from a memory operand. With @ea, the operand's address
 * is described there as KVM's decode_modrm() computes it (@rex gives
 * REX.X and REX.B); the MMIO path needs only the length (its fault gave
 * the address).
 */
static int skip_modrm(struct decoder *d, unsigned int addr_size, u8 rex,
		      u8 *reg, struct kvmmu_mem_operand *ea)
{
	/* 16-bit forms: [bx+si] [bx+di] [bp+si] [bp+di] [si] [di] [bp] [bx] */
	static const u8 base16[8] = {
		KVMMU_GPR_RBX, KVMMU_GPR_RBX, KVMMU_GPR_RBP, KVMMU_GPR_RBP,
		KVMMU_EA_NO_REG, KVMMU_EA_NO_REG, KVMMU_GPR_RBP, KVMMU_GPR_RBX,
	};
	static const u8 index16[8] = {
		KVMMU_GPR_RSI, KVMMU_GPR_RDI, KVMMU_GPR_RSI, KVMMU_GPR_RDI,
		KVMMU_GPR_RSI, KVMMU_GPR_RDI, KVMMU_EA_NO_REG, KVMMU_EA_NO_REG,
	};
	struct kvmmu_mem_operand dummy;
	u8 modrm, mod, rm, sib;
	unsigned int disp = 0;
	u64 val;
	int r;

	if (!ea)
		ea = &dummy;
	memset(ea, 0, sizeof(*ea));
	ea->base = KVMMU_EA_NO_REG;
	ea->index = KVMMU_EA_NO_REG;
	ea->scale = 1;
	ea->addr_size = addr_size;
	ea->seg = KVMMU_SREG_DS;

	r = next_byte(d, &modrm);
	if (r)
		return r;
	mod = modrm >> 6;
	rm = modrm & 7;
	*reg = (modrm >> 3) & 7;
	if (mod == 3)
		return -EINVAL;

	if (addr_size == 2) {
		/* mod 0 rm 6 is disp16 alone. */
		if (mod == 1)
			disp = 1;
		else if (mod == 2 || rm == 6)
			disp = 2;
		if (mod || rm != 6) {
			ea->base = base16[rm];
			ea->index = index16[rm];
		}
		if (ea->base == KVMMU_GPR_RBP)
			ea->seg = KVMMU_SREG_SS;
	} else if (rm == 4) {
		/* 32- and 64-bit addressing with a SIB. */
		r = next_byte(d, &sib);
		if (r)
			return r;
		ea->scale = 1 << (sib >> 6);
		ea->index = ((sib >> 3) & 7) | (rex & 2) << 2;
		if (ea->index == KVMMU_GPR_RSP)	/* no index */
			ea->index = KVMMU_EA_NO_REG;
		/* No base: disp32 follows even with mod 0. */
		if (mod == 0 && (sib & 7) == 5)
			disp = 4;
		else
			ea->base = (sib & 7) | (rex & 1) << 3;
	} else if (mod == 0 && rm == 5) {
		/* disp32, RIP-relative in 64-bit mode. */
		disp = 4;
		ea->rip_rel = d->mode64;
	} else {
		ea->base = rm | (rex & 1) << 3;
	}
	if (addr_size != 2 && mod)
		disp = mod == 1 ? 1 : 4;
	if (ea->base == KVMMU_GPR_RSP || ea->base == KVMMU_GPR_RBP)
		ea->seg = KVMMU_SREG_SS;
	if (!disp)
		return 0;
	r = next_imm(d, disp, &val);
	ea->disp = (s64)val;
	return r;
}

/*
 * An 8-bit register operand: with any REX, 4..7 are SPL..DIL; without,
 * they are AH..BH, the high bytes of 0..3.
 */
static void set_reg8(struct kvmmu_mmio_insn *insn, u8 reg, bool rex)
{
	if (!rex && reg >= 4 && reg < 8) {
		insn->reg = reg - 4;
		insn->high_byte = true;
	} else {
		insn->reg = reg;
	}
}

/* Read an @n-byte (2, 4 or 8) little-endian unsigned offset. */
static int next_offset(struct decoder *d, unsigned int n, u64 *off)
{
	const u8 *p = d->bytes + d->pos;
	int r = take(d, n);
	unsigned int i;

	if (r)
		return r;
	*off = 0;
	for (i = 0; i < n; i++)
		*off |= (u64)p[i] << (i * 8);
	return 0;
}

/* Group 1 (80, 81, 83) and two-operand ALU opcodes kvmmu emulates. */
static int alu_op(u8 group_reg)
{
	switch (group_reg) {
	case 1:
		return KVMMU_OP_OR;
	case 4:
		return KVMMU_OP_AND;
	case 6:
		return KVMMU_OP_XOR;
	default:
		return -1;
	}
}

/*
 * The read-modify-write stores of a page-table update (@pt only): XCHG,
 * OR/AND/XOR, CMPXCHG, CMPXCHG8B, BTS/BTR/BTC. Return -ENOENT for an
 * opcode that is none of them.
 */
static int decode_rmw(struct decoder *d, u8 op, unsigned int op_size,
		      unsigned int addr_size, u8 rex, struct kvmmu_pt_insn *pt)
{
	struct kvmmu_mmio_insn *insn = &pt->mov;
	int kind;
	u8 reg;
	int r;

	insn->is_write = true;
	if (op == 0x0f) {
		r = next_byte(d, &op);
		if (r)
			return r;
		switch (op) {
		case 0xb0:	/* CMPXCHG r/m8, r8 */
		case 0xb1:	/* CMPXCHG r/m, r */
			pt->op = KVMMU_OP_CMPXCHG;
			goto reg_src;
		case 0xab:	/* BTS r/m, r */
		case 0xb3:	/* BTR r/m, r */
		case 0xbb:	/* BTC r/m, r */
			pt->op = op == 0xab ? KVMMU_OP_BTS :
				 op == 0xb3 ? KVMMU_OP_BTR : KVMMU_OP_BTC;
			pt->bit_reg = true;
			op = 1;		/* full operand size */
			goto reg_src;
		case 0xba:	/* BTS/BTR/BTC r/m, imm8 (/5, /6, /7) */
			r = skip_modrm(d, addr_size, rex, &reg, &pt->ea);
			if (r)
				return r;
			if (reg < 5)
				return -EINVAL;	/* BT (/4) stores nothing */
			pt->op = KVMMU_OP_BTS + reg - 5;
			insn->mem_size = op_size;
			insn->src_imm = true;
			r = next_imm(d, 1, &insn->imm);
			insn->imm &= 0xff;
			return r;
		case 0xc7:	/* CMPXCHG8B m64 (/1); 16B with REX.W */
			r = skip_modrm(d, addr_size, rex, &reg, &pt->ea);
			if (r)
				return r;
			if (reg != 1 || (rex & 8))
				return -EINVAL;
			pt->op = KVMMU_OP_CMPXCHG8B;
			insn->mem_size = 8;
			return 0;
		default:
			return -ENOENT;
		}
	}
	switch (op) {
	case 0x86:	/* XCHG r/m8, r8 */
	case 0x87:	/* XCHG r/m, r */
		pt->op = KVMMU_OP_XCHG;
		goto reg_src;
	case 0x08: case 0x09:	/* OR r/m, r */
	case 0x20: case 0x21:	/* AND r/m, r */
	case 0x30: case 0x31:	/* XOR r/m, r */
		pt->op = alu_op(op >> 3);
		goto reg_src;
	case 0x80:	/* group 1 r/m8, imm8 */
	case 0x81:	/* group 1 r/m, imm16/32 */
	case 0x83:	/* group 1 r/m, imm8 sign-extended */
		r = skip_modrm(d, addr_size, rex, &reg, &pt->ea);
		if (r)
			return r;
		kind = alu_op(reg);
		if (kind < 0)
			return -EINVAL;
		pt->op = kind;
		insn->src_imm = true;
		insn->mem_size = op == 0x80 ? 1 : op_size;
		return next_imm(d, op == 0x81 ? min(op_size, 4U) : 1,
				&insn->imm);
	default:
		return -ENOENT;
	}

reg_src:
	r = skip_modrm(d, addr_size, rex, &reg, &pt->ea);
	if (r)
		return r;
	reg |= (rex & 4) << 1;
	insn->mem_size = (op & 1) ? op_size : 1;
	insn->reg_size = insn->mem_size;
	if (op & 1)
		insn->reg = reg;
	else
		set_reg8(insn, reg, rex);
	return 0;
}

/*
 * kvmmu_decode_mmio() (@pt NULL: MOV only, no LOCK) and
 * kvmmu_decode_pt_store() (@pt: also the locked read-modify-writes, and
 * the operand's address described in @pt->ea).
 */
static int decode_mem(const u8 *bytes, unsigned int avail, int cpu_mode,
		      struct kvmmu_mmio_insn *insn, struct kvmmu_pt_insn *pt)
{
	struct decoder d = {
		.bytes = bytes,
		.avail = min_t(unsigned int, avail, KVMMU_MAX_INSN_LEN),
		.truncated = avail < KVMMU_MAX_INSN_LEN,
		.mode64 = cpu_mode == 64,
	};
	struct kvmmu_mem_operand *ea = pt ? &pt->ea : NULL;
	unsigned int op_size, addr_size;
	bool opsize_prefix = false, addrsize_prefix = false, lock = false;
	u8 rex = 0, op, reg, seg = KVMMU_SREG_NONE;
	int r;

	if (cpu_mode != 16 && cpu_mode != 32 && cpu_mode != 64)
		return -EINVAL;
	memset(insn, 0, sizeof(*insn));
	insn->mode = cpu_mode;

	/* Legacy prefixes in any order and number, then REX (64-bit only). */
	for (;;) {
		r = next_byte(&d, &op);
		if (r)
			return r;
		switch (op) {
		case 0x66:
			opsize_prefix = true;
			rex = 0;	/* a REX not right before the opcode is ignored */
			continue;
		case 0x67:
			addrsize_prefix = true;
			rex = 0;
			continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			/* 26 ES, 2E CS, 36 SS, 3E DS: (op >> 3) & 3 */
			seg = (op >> 3) & 3;
			rex = 0;
			continue;
		case 0x64: case 0x65:
			seg = op == 0x64 ? KVMMU_SREG_FS : KVMMU_SREG_GS;
			rex = 0;
			continue;
		case 0xf0:	/* LOCK MOV is #UD */
			if (!pt)
				return -EINVAL;
			lock = true;
			rex = 0;
			continue;
		case 0xf2:
		case 0xf3:
			return -EINVAL;
		}
		if (cpu_mode == 64 && (op & 0xf0) == 0x40) {
			rex = op;
			continue;
		}
		break;
	}

	if (cpu_mode == 64) {
		op_size = (rex & 8) ? 8 : opsize_prefix ? 2 : 4;
		addr_size = addrsize_prefix ? 4 : 8;
	} else {
		op_size = (cpu_mode == 32) != opsize_prefix ? 4 : 2;
		addr_size = (cpu_mode == 32) != addrsize_prefix ? 4 : 2;
	}

	if (pt) {
		unsigned int op_pos = d.pos;

		pt->lock = lock;
		r = decode_rmw(&d, op, op_size, addr_size, rex, pt);
		if (r != -ENOENT)
			goto out;
		/* Only the read-modify-writes take LOCK. */
		if (lock)
			return -EINVAL;
		memset(insn, 0, sizeof(*insn));
		insn->mode = cpu_mode;
		pt->op = KVMMU_OP_MOV;
		/* Back after the opcode: decode_rmw() may have taken more. */
		d.pos = op_pos;
	}

	switch (op) {
	case 0x88:	/* MOV r/m8, r8 */
	case 0x89:	/* MOV r/m, r */
	case 0x8a:	/* MOV r8, r/m8 */
	case 0x8b:	/* MOV r, r/m */
		r = skip_modrm(&d, addr_size, rex, &reg, ea);
		if (r)
			return r;
		reg |= (rex & 4) << 1;
		insn->is_write = !(op & 2);
		insn->mem_size = (op & 1) ? op_size : 1;
		insn->reg_size = insn->mem_size;
		if (op & 1)
			insn->reg = reg;
		else
			set_reg8(insn, reg, rex);
		break;
	case 0xc6:	/* MOV r/m8, imm8 */
	case 0xc7:	/* MOV r/m, imm16/32 (sign-extended with REX.W) */
		r = skip_modrm(&d, addr_size, rex, &reg, ea);
		if (r)
			return r;
		if (reg)
			return -EINVAL;
		insn->is_write = true;
		insn->src_imm = true;
		insn->mem_size = (op & 1) ? op_size : 1;
		r = next_imm(&d, min_t(u8, insn->mem_size, 4), &insn->imm);
		if (r)
			return r;
		break;
	case 0xa0:	/* MOV AL, moffs8 */
	case 0xa1:	/* MOV rAX, moffs */
	case 0xa2:	/* MOV moffs8, AL */
	case 0xa3:	/* MOV moffs, rAX */
		/* The offset has the address size; REX.B does not apply. */
		if (ea) {
			memset(ea, 0, sizeof(*ea));
			ea->base = KVMMU_EA_NO_REG;
			ea->index = KVMMU_EA_NO_REG;
			ea->scale = 1;
			ea->addr_size = addr_size;
			ea->seg = KVMMU_SREG_DS;
			r = next_offset(&d, addr_size, (u64 *)&ea->disp);
		} else {
			r = take(&d, addr_size);
		}
		if (r)
			return r;
		insn->is_write = op & 2;
		insn->mem_size = (op & 1) ? op_size : 1;
		insn->reg_size = insn->mem_size;
		insn->reg = KVMMU_GPR_RAX;
		break;
	case 0x63:	/* MOVSXD r, r/m32 (ARPL outside 64-bit mode) */
		if (cpu_mode != 64)
			return -EINVAL;
		r = skip_modrm(&d, addr_size, rex, &reg, ea);
		if (r)
			return r;
		insn->reg = reg | (rex & 4) << 1;
		insn->reg_size = op_size;
		/* Without REX.W it is a plain 16/32-bit load. */
		insn->mem_size = min(op_size, 4U);
		insn->sign_extend = true;
		break;
	case 0x0f:
		r = next_byte(&d, &op);
		if (r)
			return r;
		if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
			return -EINVAL;
		/* MOVZX / MOVSX r, r/m8 or r/m16 */
		r = skip_modrm(&d, addr_size, rex, &reg, ea);
		if (r)
			return r;
		insn->reg = reg | (rex & 4) << 1;
		insn->reg_size = op_size;
		insn->mem_size = (op & 1) ? 2 : 1;
		insn->sign_extend = op & 8;
		break;
	default:
		return -EINVAL;
	}

out:
	if (pt && !r && seg != KVMMU_SREG_NONE)
		pt->ea.seg = seg;
	if (!r)
		insn->len = d.pos;
	return r;
}

int kvmmu_decode_mmio(const u8 *bytes, unsigned int avail, int cpu_mode,
		      struct kvmmu_mmio_insn *insn)
{
	return decode_mem(bytes, avail, cpu_mode, insn, NULL);
}

int kvmmu_decode_pt_store(const u8 *bytes, unsigned int avail, int cpu_mode,
			  struct kvmmu_pt_insn *insn)
{
	memset(insn, 0, sizeof(*insn));
	return decode_mem(bytes, avail, cpu_mode, &insn->mov, insn);
}

int kvmmu_decode_string(const u8 *bytes, unsigned int avail, int cpu_mode,
			struct kvmmu_string_insn *insn)
{
	struct decoder d = {
		.bytes = bytes,
		.avail = min_t(unsigned int, avail, KVMMU_MAX_INSN_LEN),
		.truncated = avail < KVMMU_MAX_INSN_LEN,
	};
	bool opsize_prefix = false, addrsize_prefix = false;
	u8 rex = 0, op;
	int r;

	if (cpu_mode != 16 && cpu_mode != 32 && cpu_mode != 64)
		return -EINVAL;
	memset(insn, 0, sizeof(*insn));
	insn->mode = cpu_mode;
	insn->seg = KVMMU_SREG_NONE;

	for (;;) {
		r = next_byte(&d, &op);
		if (r)
			return r;
		switch (op) {
		case 0x66:
			opsize_prefix = true;
			rex = 0;
			continue;
		case 0x67:
			addrsize_prefix = true;
			rex = 0;
			continue;
		case 0xf2:
		case 0xf3:
			insn->rep = true;
			rex = 0;
			continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			/* 26 ES, 2E CS, 36 SS, 3E DS: (op >> 3) & 3 */
			insn->seg = (op >> 3) & 3;
			rex = 0;
			continue;
		case 0x64: case 0x65:
			insn->seg = op == 0x64 ? KVMMU_SREG_FS : KVMMU_SREG_GS;
			rex = 0;
			continue;
		case 0xf0:	/* LOCK MOVS is #UD */
			return -EINVAL;
		}
		if (cpu_mode == 64 && (op & 0xf0) == 0x40) {
			rex = op;
			continue;
		}
		break;
	}

	switch (op) {
	case 0xa4: case 0xa5:
		insn->op = KVMMU_STR_MOVS;
		break;
	case 0xaa: case 0xab:
		insn->op = KVMMU_STR_STOS;
		break;
	case 0xac: case 0xad:
		insn->op = KVMMU_STR_LODS;
		break;
	default:
		return -EINVAL;
	}
	if (cpu_mode == 64) {
		insn->addr_size = addrsize_prefix ? 4 : 8;
		insn->size = (rex & 8) ? 8 : opsize_prefix ? 2 : 4;
	} else {
		insn->addr_size = (cpu_mode == 32) != addrsize_prefix ? 4 : 2;
		insn->size = (cpu_mode == 32) != opsize_prefix ? 4 : 2;
	}
	if (!(op & 1))
		insn->size = 1;
	insn->len = d.pos;
	return 0;
}

/* struct kvm_regs is rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8..r15. */
static const u8 gpr_offset[KVMMU_NR_GPRS] = {
	[KVMMU_GPR_RAX] = offsetof(struct kvm_regs, rax),
	[KVMMU_GPR_RCX] = offsetof(struct kvm_regs, rcx),
	[KVMMU_GPR_RDX] = offsetof(struct kvm_regs, rdx),
	[KVMMU_GPR_RBX] = offsetof(struct kvm_regs, rbx),
	[KVMMU_GPR_RSP] = offsetof(struct kvm_regs, rsp),
	[KVMMU_GPR_RBP] = offsetof(struct kvm_regs, rbp),
	[KVMMU_GPR_RSI] = offsetof(struct kvm_regs, rsi),
	[KVMMU_GPR_RDI] = offsetof(struct kvm_regs, rdi),
	[KVMMU_GPR_R8] = offsetof(struct kvm_regs, r8),
	[KVMMU_GPR_R9] = offsetof(struct kvm_regs, r9),
	[KVMMU_GPR_R10] = offsetof(struct kvm_regs, r10),
	[KVMMU_GPR_R11] = offsetof(struct kvm_regs, r11),
	[KVMMU_GPR_R12] = offsetof(struct kvm_regs, r12),
	[KVMMU_GPR_R13] = offsetof(struct kvm_regs, r13),
	[KVMMU_GPR_R14] = offsetof(struct kvm_regs, r14),
	[KVMMU_GPR_R15] = offsetof(struct kvm_regs, r15),
};

static u64 *gpr(struct kvm_regs *regs, unsigned int reg)
{
	return (u64 *)((u8 *)regs + gpr_offset[reg % KVMMU_NR_GPRS]);
}

/**
 * kvmmu_gpr - a general register of @regs by its x86 encoding number.
 * @regs: the registers.
 * @reg: enum kvmmu_gpr, taken modulo 16.
 *
 * Return: a pointer to the register in @regs.
 */
u64 *kvmmu_gpr(struct kvm_regs *regs, unsigned int reg)
{
	return gpr(regs, reg);
}

/**
 * kvmmu_set_gpr - write a register as an instruction of that width does.
 * @regs: the registers.
 * @reg: enum kvmmu_gpr, taken modulo 16.
 * @size: the operand size in bytes: 1, 2, 4 or 8.
 * @high_byte: with @size 1, AH/CH/DH/BH (bits 15:8) rather than the low
 *             byte.
 * @val: the value; its low @size bytes are used.
 *
 * 8- and 16-bit writes keep the rest of the register; a 32-bit write
 * zeroes bits 63:32.
 */
void kvmmu_set_gpr(struct kvm_regs *regs, unsigned int reg,
		   unsigned int size, bool high_byte, u64 val)
{
	u64 *dst = gpr(regs, reg);

	switch (size) {
	case 1:
		if (high_byte)
			*dst = (*dst & ~0xff00ULL) | (val & 0xff) << 8;
		else
			*dst = (*dst & ~0xffULL) | (val & 0xff);
		break;
	case 2:
		*dst = (*dst & ~0xffffULL) | (val & 0xffff);
		break;
	case 4:
		*dst = (u32)val;
		break;
	default:
		*dst = val;
		break;
	}
}

static u64 gpr_read(const struct kvm_regs *regs, unsigned int reg)
{
	return *(const u64 *)((const u8 *)regs + gpr_offset[reg % KVMMU_NR_GPRS]);
}

static u64 size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : BIT_ULL(size * 8) - 1;
}

u64 kvmmu_mmio_store_value(const struct kvmmu_vcpu *vcpu,
			   const struct kvmmu_mmio_insn *insn)
{
	u64 val;

	if (insn->src_imm)
		val = insn->imm;
	else
		val = gpr_read(&vcpu->regs, insn->reg) >>
		      (insn->high_byte ? 8 : 0);
	return val & size_mask(insn->mem_size);
}

void kvmmu_mmio_skip(struct kvmmu_vcpu *vcpu,
		     const struct kvmmu_mmio_insn *insn)
{
	vcpu->regs.rip += insn->len;
	if (insn->mode != 64)
		vcpu->regs.rip = (u32)vcpu->regs.rip;
	kvmmu_insn_done(vcpu);
}

void kvmmu_mmio_complete_load(struct kvmmu_vcpu *vcpu,
			      const struct kvmmu_mmio_insn *insn,
			      const void *data)
{
	unsigned int bits = insn->mem_size * 8;
	u64 val = 0;

	memcpy(&val, data, min_t(unsigned int, insn->mem_size, sizeof(val)));
	if (insn->sign_extend && bits < 64)
		val = (u64)sign_extend64(val, bits - 1);
	kvmmu_set_gpr(&vcpu->regs, insn->reg, insn->reg_size, insn->high_byte,
		      val);
	kvmmu_mmio_skip(vcpu, insn);
}

/* Legacy prefixes: operand and address size, LOCK, REP, segments. */
static bool legacy_prefix(u8 b)
{
	switch (b) {
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
		return true;
	default:
		return false;
	}
}

int kvmmu_decode_sys(const u8 *bytes, unsigned int avail, int cpu_mode,
		     struct kvmmu_sys_insn *insn)
{
	unsigned int i = 0, max = min_t(unsigned int, avail,
					KVMMU_MAX_INSN_LEN);
	bool lock = false, opsize = false, asize = false;
	u8 rex = 0, modrm, seg = KVMMU_SREG_NONE;

	memset(insn, 0, sizeof(*insn));
	for (; i < max && legacy_prefix(bytes[i]); i++) {
		lock |= bytes[i] == 0xf0;
		opsize |= bytes[i] == 0x66;
		asize |= bytes[i] == 0x67;
		/* 26 ES, 2E CS, 36 SS, 3E DS: (b >> 3) & 3; 64 FS, 65 GS */
		if ((bytes[i] & 0xe7) == 0x26)
			seg = (bytes[i] >> 3) & 3;
		else if (bytes[i] == 0x64 || bytes[i] == 0x65)
			seg = bytes[i] == 0x64 ? KVMMU_SREG_FS : KVMMU_SREG_GS;
	}
	if (i < max && cpu_mode == 64 && (bytes[i] & 0xf0) == 0x40)
		rex = bytes[i++];
	if (i >= max)
		goto short_read;
	insn->opcode = bytes[i++];
	if (insn->opcode == 0x0f) {
		if (i >= max)
			goto short_read;
		insn->two_byte = true;
		insn->opcode = bytes[i++];
	}
	/*
	 * Group 7 (VMMCALL 0F 01 D9, XSETBV 0F 01 D1, ...): register forms,
	 * and the memory forms of SMSW (/4), LMSW (/6) and INVLPG (/7),
	 * whose operand's address is decoded as KVM's decode_modrm() does.
	 */
	if (insn->two_byte && insn->opcode == 0x01) {
		if (i >= max)
			goto short_read;
		modrm = bytes[i];
		insn->reg = modrm;
		if ((modrm >> 6) != 3) {
			struct decoder d = {
				.bytes = bytes,
				.avail = max,
				.pos = i,
				.truncated = avail < KVMMU_MAX_INSN_LEN,
				.mode64 = cpu_mode == 64,
			};
			unsigned int addr_size = cpu_mode / 8;
			u8 reg = (modrm >> 3) & 7;
			int r;

			if (reg != 4 && reg != 6 && reg != 7)
				return -EINVAL;
			if (asize)
				addr_size = cpu_mode == 32 ? 2 : 4;
			r = skip_modrm(&d, addr_size, rex, &reg, &insn->ea);
			if (r)
				return r;
			if (seg != KVMMU_SREG_NONE)
				insn->ea.seg = seg;
			insn->mem = true;
			insn->len = d.pos;
			return 0;
		}
		i++;
		insn->gpr = (modrm & 7) | (rex & 1 ? 8 : 0);
		if (rex & 8)
			insn->op_size = 8;
		else
			insn->op_size = (cpu_mode == 16) != opsize ? 2 : 4;
	}
	if (insn->two_byte && insn->opcode >= 0x20 && insn->opcode <= 0x23) {
		if (i >= max)
			goto short_read;
		modrm = bytes[i++];
		insn->reg = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
		/* AMD: LOCK MOV CR0 is CR8, for 32-bit code. */
		if (lock && insn->opcode != 0x21 && insn->opcode != 0x23)
			insn->reg |= 8;
		insn->gpr = (modrm & 7) | (rex & 1 ? 8 : 0);
	}
	insn->len = i;
	return 0;

short_read:
	return avail < KVMMU_MAX_INSN_LEN ? -ENODATA : -EINVAL;
}

