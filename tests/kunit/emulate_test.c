// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for the MMIO decoder (emulate.c) and the guest page-table
 * walker (walker.c, paging_tmpl.h), built into kvmmu_test.ko.
 *
 * Both sources are compiled into this module (see the #includes below);
 * memslot.c already is, by memslot_test.c, so it is not included again.
 *
 *  - kvmmu_emulate_decode: a table of byte strings and their expected
 *    decode, one line per case: every opcode, prefix, REX bit, ModRM, SIB,
 *    displacement and immediate size class, 16/32/64-bit modes, and every
 *    refused or truncated form;
 *  - kvmmu_emulate_regs: the write-back rules of a load (high byte, 16-bit
 *    merge, 32-bit zero-extension, MOVZX/MOVSX/MOVSXD), the mapping from
 *    encoding order to struct kvm_regs, store values and RIP advance;
 *  - kvmmu_walker: 32-bit, PAE and 4/5-level tables built in a buffer
 *    that stands for guest memory. A KUnit kthread has no user mm, so
 *    copy_from_user() cannot be used here: the walk takes its memory reader
 *    from struct kvmmu_walk_env and the tests pass a buffer reader. The
 *    memslot/HVA reader is left to the userspace selftests, except for the
 *    cases that must fail without touching memory. The A/D updates a
 *    shadow MMU needs go through a buffer cmpxchg that can also play a
 *    second vCPU rewriting the entry.
 */

#include <kunit/test.h>
#include <linux/vmalloc.h>

#include "../../emulate.c"
#include "../../walker.c"

/* Decoder --------------------------------------------------------------- */

struct decode_case {
	const char *name;
	int mode;
	u8 bytes[16];
	unsigned int avail;	/* if avail_set, else sizeof(bytes) */
	bool avail_set;
	int ret;
	/* Checked only when ret == 0. */
	u8 len, mem_size, reg, reg_size;
	bool is_write, high_byte, sign_extend, src_imm;
	u64 imm;
};

#define B(...)		.bytes = { __VA_ARGS__ }
#define LOAD(l, m, r, rs)	.len = (l), .mem_size = (m), .reg = (r), \
				.reg_size = (rs)
#define STORE(l, m, r)	.len = (l), .mem_size = (m), .reg = (r), \
			.is_write = true
#define STORE_IMM(l, m, i)	.len = (l), .mem_size = (m), .is_write = true, \
				.src_imm = true, .imm = (i)
#define HI		.high_byte = true
#define SX		.sign_extend = true
#define FAIL(e)		.ret = (e)
#define AVAIL(n)	.avail = (n), .avail_set = true

/* rax 0, rcx 1, rdx 2, rbx 3, rsp 4, rbp 5, rsi 6, rdi 7, r8.. 8.. */
static const struct decode_case decode_cases[] = {
	/* KVM selftests' forms. */
	{ "mov (%rax),%rbx", 64, B(0x48, 0x8b, 0x18), LOAD(3, 8, 3, 8) },
	{ "mov %rsi,(%rax)", 64, B(0x48, 0x89, 0x30), STORE(3, 8, 6) },
	{ "mov %rdi,(%rax)", 64, B(0x48, 0x89, 0x38), STORE(3, 8, 7) },
	/* Operand sizes of 88/89/8A/8B. */
	{ "mov %eax,(%rbx)", 64, B(0x89, 0x03), STORE(2, 4, 0) },
	{ "mov (%rcx),%ax", 64, B(0x66, 0x8b, 0x01), LOAD(3, 2, 0, 2) },
	{ "mov %cl,(%rax)", 64, B(0x88, 0x08), STORE(2, 1, 1) },
	{ "mov (%rax),%dl", 64, B(0x8a, 0x10), LOAD(2, 1, 2, 1) },
	/* 8-bit registers 4..7: AH..BH without REX, SPL..DIL with. */
	{ "mov %ah,(%rax)", 64, B(0x88, 0x20), STORE(2, 1, 0), HI },
	{ "mov (%rax),%bh", 64, B(0x8a, 0x38), LOAD(2, 1, 3, 1), HI },
	{ "mov %ch,(%rax) 32", 32, B(0x88, 0x28), STORE(2, 1, 1), HI },
	{ "mov %spl,(%rax)", 64, B(0x40, 0x88, 0x20), STORE(3, 1, 4) },
	{ "mov (%rax),%dil", 64, B(0x40, 0x8a, 0x38), LOAD(3, 1, 7, 1) },
	{ "mov %r12b,(%rax)", 64, B(0x44, 0x88, 0x20), STORE(3, 1, 12) },
	/* REX.R, REX.B, REX.X. */
	{ "mov (%r8),%r15", 64, B(0x4d, 0x8b, 0x38), LOAD(3, 8, 15, 8) },
	{ "mov %r9d,(%rax)", 64, B(0x44, 0x89, 0x08), STORE(3, 4, 9) },
	{ "mov %ecx,(%rax,%r11,2)", 64, B(0x42, 0x89, 0x0c, 0x58),
	  STORE(4, 4, 1) },
	/* ModRM / SIB / displacement classes. */
	{ "disp8", 64, B(0x89, 0x48, 0x08), STORE(3, 4, 1) },
	{ "disp32", 64, B(0x89, 0x88, 0, 1, 0, 0), STORE(6, 4, 1) },
	{ "rip-relative", 64, B(0x8b, 0x05, 0, 0x10, 0, 0), LOAD(6, 4, 0, 4) },
	{ "rip-relative via REX.B", 64, B(0x41, 0x89, 0x0d, 0x78, 0x56, 0x34, 0x12),
	  STORE(7, 4, 1) },
	{ "(%r13)+disp8", 64, B(0x41, 0x89, 0x4d, 0x00), STORE(4, 4, 1) },
	{ "sib", 64, B(0x89, 0x0c, 0x98), STORE(3, 4, 1) },
	{ "sib disp8", 64, B(0x89, 0x4c, 0x98, 0x10), STORE(4, 4, 1) },
	{ "sib disp32", 64, B(0x89, 0x8c, 0x98, 0, 1, 0, 0), STORE(7, 4, 1) },
	{ "sib no base", 64, B(0x89, 0x0c, 0x9d, 0x10, 0, 0, 0), STORE(7, 4, 1) },
	{ "sib no base via REX.B", 64, B(0x41, 0x89, 0x0c, 0x9d, 0x10, 0, 0, 0),
	  STORE(8, 4, 1) },
	{ "(%rsp)", 64, B(0x89, 0x04, 0x24), STORE(3, 4, 0) },
	{ "(%r12)", 64, B(0x41, 0x89, 0x04, 0x24), STORE(4, 4, 0) },
	{ "8(%rsp)", 64, B(0x89, 0x44, 0x24, 0x08), STORE(4, 4, 0) },
	/* Immediates. */
	{ "movb $0xff,(%rax)", 64, B(0xc6, 0x00, 0xff), STORE_IMM(3, 1, ~0ULL) },
	{ "movl $imm32", 64, B(0xc7, 0x00, 0x78, 0x56, 0x34, 0x12),
	  STORE_IMM(6, 4, 0x12345678) },
	{ "movw $imm16", 64, B(0x66, 0xc7, 0x00, 0x34, 0x12),
	  STORE_IMM(5, 2, 0x1234) },
	{ "movq $-1", 64, B(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff),
	  STORE_IMM(7, 8, ~0ULL) },
	{ "movq $imm32 positive", 64, B(0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x70),
	  STORE_IMM(7, 8, 0x70000000) },
	{ "movl $imm, sib disp32", 64,
	  B(0xc7, 0x84, 0x98, 0, 1, 0, 0, 1, 0, 0, 0), STORE_IMM(11, 4, 1) },
	{ "movb $imm, rip-relative", 64, B(0xc6, 0x05, 1, 2, 3, 4, 0x7f),
	  STORE_IMM(7, 1, 0x7f) },
	/* moffs: the offset has the address size. */
	{ "mov moffs64,%al", 64, B(0xa0, 1, 2, 3, 4, 5, 6, 7, 8), LOAD(9, 1, 0, 1) },
	{ "mov moffs64,%eax", 64, B(0xa1, 1, 2, 3, 4, 5, 6, 7, 8), LOAD(9, 4, 0, 4) },
	{ "mov %al,moffs64", 64, B(0xa2, 1, 2, 3, 4, 5, 6, 7, 8), STORE(9, 1, 0) },
	{ "mov %rax,moffs64", 64, B(0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8),
	  STORE(10, 8, 0) },
	{ "mov moffs32,%eax (67)", 64, B(0x67, 0xa1, 1, 2, 3, 4), LOAD(6, 4, 0, 4) },
	{ "moffs ignores REX.B", 64, B(0x41, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8),
	  LOAD(10, 4, 0, 4) },
	/* MOVZX, MOVSX, MOVSXD. */
	{ "movzbl", 64, B(0x0f, 0xb6, 0x00), LOAD(3, 1, 0, 4) },
	{ "movzbw", 64, B(0x66, 0x0f, 0xb6, 0x00), LOAD(4, 1, 0, 2) },
	{ "movzwq", 64, B(0x48, 0x0f, 0xb7, 0x08), LOAD(4, 2, 1, 8) },
	{ "movzbl %r10d", 64, B(0x44, 0x0f, 0xb6, 0x10), LOAD(4, 1, 10, 4) },
	{ "movsbl", 64, B(0x0f, 0xbe, 0x00), LOAD(3, 1, 0, 4), SX },
	{ "movswq", 64, B(0x48, 0x0f, 0xbf, 0x00), LOAD(4, 2, 0, 8), SX },
	{ "movsbq disp8", 64, B(0x48, 0x0f, 0xbe, 0x40, 0x08), LOAD(5, 1, 0, 8), SX },
	{ "movslq", 64, B(0x48, 0x63, 0x00), LOAD(3, 4, 0, 8), SX },
	{ "movsxd without REX.W", 64, B(0x63, 0x00), LOAD(2, 4, 0, 4), SX },
	{ "movsxd 66", 64, B(0x66, 0x63, 0x00), LOAD(3, 2, 0, 2), SX },
	/* Legacy prefixes and REX placement. */
	{ "fs override", 64, B(0x64, 0x48, 0x8b, 0x18), LOAD(4, 8, 3, 8) },
	{ "all segment overrides", 32, B(0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x89, 0x03),
	  STORE(8, 4, 0) },
	{ "REX then 66: REX ignored", 64, B(0x48, 0x66, 0x8b, 0x18), LOAD(4, 2, 3, 2) },
	{ "REX.R then 65: REX ignored", 64, B(0x44, 0x65, 0x89, 0x08), STORE(4, 4, 1) },
	{ "66 then REX.W: REX.W wins", 64, B(0x66, 0x48, 0x8b, 0x18), LOAD(4, 8, 3, 8) },
	{ "two REX: last counts", 64, B(0x4c, 0x48, 0x8b, 0x18), LOAD(4, 8, 3, 8) },
	{ "67 in 64-bit", 64, B(0x67, 0x8b, 0x18), LOAD(3, 4, 3, 4) },
	{ "15 bytes", 64, B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			    0x66, 0x66, 0x66, 0x66, 0x89, 0x03), STORE(15, 2, 0) },
	/* 32-bit mode. */
	{ "32: mov %eax,(%ebx)", 32, B(0x89, 0x03), STORE(2, 4, 0) },
	{ "32: 66", 32, B(0x66, 0x89, 0x03), STORE(3, 2, 0) },
	{ "32: disp32 absolute", 32, B(0x8b, 0x05, 0, 0x10, 0, 0), LOAD(6, 4, 0, 4) },
	{ "32: moffs32", 32, B(0xa1, 1, 2, 3, 4), LOAD(5, 4, 0, 4) },
	{ "32: 67 moffs16", 32, B(0x67, 0xa3, 1, 2), STORE(4, 4, 0) },
	{ "32: 67 [bx+disp8]", 32, B(0x67, 0x8b, 0x47, 0x08), LOAD(4, 4, 0, 4) },
	{ "32: movzwl", 32, B(0x0f, 0xb7, 0x00), LOAD(3, 2, 0, 4) },
	{ "32: movl $imm", 32, B(0xc7, 0x00, 1, 2, 3, 4), STORE_IMM(6, 4, 0x04030201) },
	/* 16-bit mode: 16-bit ModRM forms, no SIB. */
	{ "16: mov (%bx),%ax", 16, B(0x8b, 0x07), LOAD(2, 2, 0, 2) },
	{ "16: [disp16]", 16, B(0x8b, 0x06, 0x34, 0x12), LOAD(4, 2, 0, 2) },
	{ "16: [bx+disp8]", 16, B(0x8b, 0x47, 0x08), LOAD(3, 2, 0, 2) },
	{ "16: [bx+disp16]", 16, B(0x8b, 0x87, 0x34, 0x12), LOAD(4, 2, 0, 2) },
	{ "16: rm 4 is [si], no SIB", 16, B(0x89, 0x04), STORE(2, 2, 0) },
	{ "16: 66", 16, B(0x66, 0x8b, 0x07), LOAD(3, 4, 0, 4) },
	{ "16: 67 sib", 16, B(0x67, 0x8b, 0x04, 0x98), LOAD(4, 2, 0, 2) },
	{ "16: 67 disp32", 16, B(0x67, 0x8b, 0x05, 1, 2, 3, 4), LOAD(7, 2, 0, 2) },
	{ "16: moffs16", 16, B(0xa1, 0x34, 0x12), LOAD(3, 2, 0, 2) },
	{ "16: movw $imm,[disp16]", 16, B(0xc7, 0x06, 0x34, 0x12, 0x78, 0x56),
	  STORE_IMM(6, 2, 0x5678) },
	{ "16: mov %dh,(%bx)", 16, B(0x88, 0x37), STORE(2, 1, 2), HI },
	/* Refused. */
	{ "lock", 64, B(0xf0, 0x89, 0x03), FAIL(-EINVAL) },
	{ "rep", 64, B(0xf3, 0x89, 0x03), FAIL(-EINVAL) },
	{ "repne", 64, B(0xf2, 0x89, 0x03), FAIL(-EINVAL) },
	{ "register operand", 64, B(0x89, 0xc3), FAIL(-EINVAL) },
	{ "movzx register operand", 64, B(0x0f, 0xb6, 0xc0), FAIL(-EINVAL) },
	{ "c6 /1", 64, B(0xc6, 0x08, 0x00), FAIL(-EINVAL) },
	{ "c7 /7", 64, B(0xc7, 0x38, 1, 2, 3, 4), FAIL(-EINVAL) },
	{ "add", 64, B(0x01, 0x03), FAIL(-EINVAL) },
	{ "0f 10 movups", 64, B(0x0f, 0x10, 0x00), FAIL(-EINVAL) },
	{ "vex", 64, B(0xc5, 0xf9, 0x6f, 0x00), FAIL(-EINVAL) },
	{ "evex", 64, B(0x62, 0xf1, 0x7c, 0x48, 0x10, 0x00), FAIL(-EINVAL) },
	{ "movs", 64, B(0xa4), FAIL(-EINVAL) },
	{ "32: 0x48 is dec", 32, B(0x48, 0x8b, 0x18), FAIL(-EINVAL) },
	{ "32: 63 is arpl", 32, B(0x63, 0x00), FAIL(-EINVAL) },
	{ "16 bytes", 64, B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			    0x66, 0x66, 0x66, 0x66, 0x66, 0x89, 0x03), FAIL(-EINVAL) },
	{ "only prefixes in 15 bytes", 64, B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					     0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					     0x66, 0x66, 0x66), AVAIL(15),
	  FAIL(-EINVAL) },
	{ "bad mode", 8, B(0x89, 0x03), FAIL(-EINVAL) },
	/* Truncated: -ENODATA, and nothing read past avail. */
	{ "nothing", 64, B(0x89, 0x03), AVAIL(0), FAIL(-ENODATA) },
	{ "prefix only", 64, B(0x48, 0x8b, 0x18), AVAIL(1), FAIL(-ENODATA) },
	{ "no modrm", 64, B(0x48, 0x8b, 0x18), AVAIL(2), FAIL(-ENODATA) },
	{ "no sib", 64, B(0x89, 0x0c, 0x98), AVAIL(2), FAIL(-ENODATA) },
	{ "short disp32", 64, B(0x89, 0x05, 0, 0, 0, 0), AVAIL(5), FAIL(-ENODATA) },
	{ "short imm", 64, B(0xc7, 0x00, 1, 2, 3, 4), AVAIL(5), FAIL(-ENODATA) },
	{ "short moffs", 64, B(0xa1, 1, 2, 3, 4, 5, 6, 7, 8), AVAIL(8),
	  FAIL(-ENODATA) },
	{ "no second opcode byte", 64, B(0x0f, 0xb6, 0x00), AVAIL(1),
	  FAIL(-ENODATA) },
	{ "exact length", 64, B(0x89, 0x05, 0, 0, 0, 0), AVAIL(6), STORE(6, 4, 0) },
};

static void decode_case_desc(const struct decode_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(decode, decode_cases, decode_case_desc);

static void emulate_decode(struct kunit *test)
{
	const struct decode_case *c = test->param_value;
	unsigned int avail = c->avail_set ? c->avail : sizeof(c->bytes);
	struct kvmmu_mmio_insn insn;
	u8 *bytes;

	/* Exactly @avail bytes in their own allocation: KASAN sees overreads. */
	bytes = kunit_kmalloc(test, avail ? avail : 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bytes);
	memcpy(bytes, c->bytes, avail);

	KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio(bytes, avail, c->mode, &insn),
			c->ret);
	if (c->ret)
		return;
	KUNIT_EXPECT_EQ(test, insn.len, c->len);
	KUNIT_EXPECT_EQ(test, insn.mem_size, c->mem_size);
	KUNIT_EXPECT_EQ(test, insn.is_write, c->is_write);
	KUNIT_EXPECT_EQ(test, insn.mode, c->mode);
	KUNIT_EXPECT_EQ(test, insn.src_imm, c->src_imm);
	if (c->src_imm) {
		KUNIT_EXPECT_EQ(test, insn.imm, c->imm);
		return;
	}
	KUNIT_EXPECT_EQ(test, insn.reg, c->reg);
	KUNIT_EXPECT_EQ(test, insn.high_byte, c->high_byte);
	if (!c->is_write) {
		KUNIT_EXPECT_EQ(test, insn.reg_size, c->reg_size);
		KUNIT_EXPECT_EQ(test, insn.sign_extend, c->sign_extend);
	}
}

/* Register write-back ---------------------------------------------------- */

#define RAX_INIT	0x1122334455667788ULL

struct load_case {
	const char *name;
	u8 bytes[8];
	u8 data[8];
	u64 rax;	/* RAX (or AH's RAX) afterwards, from RAX_INIT */
};

static const struct load_case load_cases[] = {
	{ "8-bit al", { 0x8a, 0x00 }, { 0xaa }, 0x11223344556677aaULL },
	{ "8-bit ah", { 0x8a, 0x20 }, { 0xaa }, 0x112233445566aa88ULL },
	{ "16-bit keeps 63:16", { 0x66, 0x8b, 0x00 }, { 0xbb, 0xaa },
	  0x112233445566aabbULL },
	{ "32-bit zero-extends", { 0x8b, 0x00 }, { 0xaa, 0xbb, 0xcc, 0xdd },
	  0x00000000ddccbbaaULL },
	{ "64-bit", { 0x48, 0x8b, 0x00 }, { 1, 2, 3, 4, 5, 6, 7, 0x88 },
	  0x8807060504030201ULL },
	{ "movzbl", { 0x0f, 0xb6, 0x00 }, { 0x80 }, 0x80 },
	{ "movzbw keeps 63:16", { 0x66, 0x0f, 0xb6, 0x00 }, { 0x80 },
	  0x1122334455660080ULL },
	{ "movzwq", { 0x48, 0x0f, 0xb7, 0x00 }, { 0xff, 0xff }, 0xffff },
	{ "movsbl", { 0x0f, 0xbe, 0x00 }, { 0x80 }, 0xffffff80ULL },
	{ "movsbw keeps 63:16", { 0x66, 0x0f, 0xbe, 0x00 }, { 0x80 },
	  0x112233445566ff80ULL },
	{ "movsbq", { 0x48, 0x0f, 0xbe, 0x00 }, { 0x80 }, 0xffffffffffffff80ULL },
	{ "movsbq positive", { 0x48, 0x0f, 0xbe, 0x00 }, { 0x7f }, 0x7f },
	{ "movswl", { 0x0f, 0xbf, 0x00 }, { 0x00, 0x80 }, 0xffff8000ULL },
	{ "movswq", { 0x48, 0x0f, 0xbf, 0x00 }, { 0x00, 0x80 },
	  0xffffffffffff8000ULL },
	{ "movslq", { 0x48, 0x63, 0x00 }, { 0, 0, 0, 0x80 }, 0xffffffff80000000ULL },
	{ "movsxd 32", { 0x63, 0x00 }, { 0, 0, 0, 0x80 }, 0x80000000ULL },
	{ "moffs al", { 0xa0, 1, 2, 3, 4, 5, 6, 7 }, { 0x5a },
	  0x112233445566775aULL },
};

static void load_case_desc(const struct load_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(load, load_cases, load_case_desc);

static struct kvmmu_vcpu *test_vcpu(struct kunit *test)
{
	struct kvmmu_vcpu *vcpu = kunit_kzalloc(test, sizeof(*vcpu), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, vcpu);
	return vcpu;
}

static void emulate_load(struct kunit *test)
{
	const struct load_case *c = test->param_value;
	struct kvmmu_vcpu *vcpu = test_vcpu(test);
	struct kvmmu_mmio_insn insn;

	/* moffs64 needs 9 bytes: pad the table's 8 with zeroes. */
	u8 bytes[KVMMU_MAX_INSN_LEN] = {};

	memcpy(bytes, c->bytes, sizeof(c->bytes));
	KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio(bytes, sizeof(bytes), 64, &insn), 0);
	KUNIT_ASSERT_FALSE(test, insn.is_write);
	vcpu->regs.rax = RAX_INIT;
	vcpu->regs.rcx = RAX_INIT;
	vcpu->regs.rip = 0x1000;
	kvmmu_mmio_complete_load(vcpu, &insn, c->data);
	KUNIT_EXPECT_EQ(test, vcpu->regs.rax, c->rax);
	KUNIT_EXPECT_EQ(test, vcpu->regs.rcx, RAX_INIT);
	KUNIT_EXPECT_EQ(test, vcpu->regs.rip, 0x1000 + insn.len);
}

/* Each encoding-order register lands in its own struct kvm_regs field. */
static void emulate_reg_mapping(struct kunit *test)
{
	struct kvmmu_vcpu *vcpu = test_vcpu(test);
	struct kvm_regs *r = &vcpu->regs;
	u64 *const field[KVMMU_NR_GPRS] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi,
		&r->rdi, &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13,
		&r->r14, &r->r15,
	};
	struct kvmmu_mmio_insn insn;
	int i, j;

	for (i = 0; i < KVMMU_NR_GPRS; i++) {
		/* mov (%rax),%reg and mov %reg,(%rax), with REX.W and REX.R */
		u8 load[3] = { 0x48 | (i >> 3) << 2, 0x8b, (i & 7) << 3 };
		u8 store[3] = { 0x48 | (i >> 3) << 2, 0x89, (i & 7) << 3 };
		u64 data = 0xabcd0000ULL + i;

		memset(r, 0, sizeof(*r));
		KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio(load, 3, 64, &insn), 0);
		kvmmu_mmio_complete_load(vcpu, &insn, &data);
		for (j = 0; j < KVMMU_NR_GPRS; j++)
			KUNIT_EXPECT_EQ_MSG(test, *field[j], j == i ? data : 0,
					    "load to reg %d, reg %d", i, j);

		for (j = 0; j < KVMMU_NR_GPRS; j++)
			*field[j] = 0x100 + j;
		KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio(store, 3, 64, &insn), 0);
		KUNIT_EXPECT_EQ_MSG(test, kvmmu_mmio_store_value(vcpu, &insn),
				    0x100ULL + i, "store from reg %d", i);
	}
}

struct store_case {
	const char *name;
	int mode;
	u8 bytes[8];
	u64 value;
};

/* RAX = 0x1122334455667788, RCX = 0x8877665544332211, R9 = 0xa5a5a5a5cafef00d */
static const struct store_case store_cases[] = {
	{ "al", 64, { 0x88, 0x00 }, 0x88 },
	{ "ah", 64, { 0x88, 0x20 }, 0x77 },
	{ "ch", 64, { 0x88, 0x28 }, 0x22 },
	{ "spl with REX", 64, { 0x40, 0x88, 0x20 }, 0 },
	{ "ax", 64, { 0x66, 0x89, 0x00 }, 0x7788 },
	{ "eax", 64, { 0x89, 0x00 }, 0x55667788 },
	{ "rax", 64, { 0x48, 0x89, 0x00 }, RAX_INIT },
	{ "r9d", 64, { 0x44, 0x89, 0x08 }, 0xcafef00d },
	{ "r9b", 64, { 0x44, 0x88, 0x08 }, 0x0d },
	{ "imm8 -1", 64, { 0xc6, 0x00, 0xff }, 0xff },
	{ "imm16", 64, { 0x66, 0xc7, 0x00, 0xfe, 0xff }, 0xfffe },
	{ "imm32", 64, { 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff }, 0xfffffffe },
	{ "imm32 to 64", 64, { 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff },
	  0xfffffffffffffffeULL },
	{ "16-bit mode ax", 16, { 0x89, 0x07 }, 0x7788 },
};

static void store_case_desc(const struct store_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(store, store_cases, store_case_desc);

static void emulate_store(struct kunit *test)
{
	const struct store_case *c = test->param_value;
	struct kvmmu_vcpu *vcpu = test_vcpu(test);
	struct kvmmu_mmio_insn insn;

	KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio(c->bytes, sizeof(c->bytes),
						c->mode, &insn), 0);
	KUNIT_ASSERT_TRUE(test, insn.is_write);
	vcpu->regs.rax = RAX_INIT;
	vcpu->regs.rcx = 0x8877665544332211ULL;
	vcpu->regs.r9 = 0xa5a5a5a5cafef00dULL;
	vcpu->regs.rsp = 0xff00;	/* SPL is 0 */
	KUNIT_EXPECT_EQ(test, kvmmu_mmio_store_value(vcpu, &insn), c->value);
}

static void emulate_rip(struct kunit *test)
{
	struct kvmmu_vcpu *vcpu = test_vcpu(test);
	const u8 mov[] = { 0x89, 0x03 };
	struct kvmmu_mmio_insn insn;
	u32 data = 0;

	/* 64-bit: no truncation. */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio(mov, 2, 64, &insn), 0);
	vcpu->regs.rip = 0xffffffffULL;
	kvmmu_mmio_skip(vcpu, &insn);
	KUNIT_EXPECT_EQ(test, vcpu->regs.rip, 0x100000001ULL);

	/* 32-bit: EIP wraps. */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio(mov, 2, 32, &insn), 0);
	vcpu->regs.rip = 0xffffffffULL;
	kvmmu_mmio_skip(vcpu, &insn);
	KUNIT_EXPECT_EQ(test, vcpu->regs.rip, 1);

	/*
	 * 16-bit code: no wrap at 64K either, only at 4G, as the writeback
	 * of KVM's x86_emulate_insn() (assign_eip_near()'s operand-size mask
	 * is for branches; sequential code past a 64K limit is #GP).
	 */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio(mov, 2, 16, &insn), 0);
	vcpu->regs.rip = 0xffffULL;
	kvmmu_mmio_skip(vcpu, &insn);
	KUNIT_EXPECT_EQ(test, vcpu->regs.rip, 0x10001);

	/* A load advances RIP too, once. */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_mmio((const u8 *)"\x8b\x03", 2, 32,
						&insn), 0);
	vcpu->regs.rip = 0x2000;
	kvmmu_mmio_complete_load(vcpu, &insn, &data);
	KUNIT_EXPECT_EQ(test, vcpu->regs.rip, 0x2002);
}

/* MOVS, STOS and LODS: size, address size, REP, segment, length. */
struct string_case {
	const char *name;
	int mode;
	u8 bytes[6];
	int avail;
	int ret;
	u8 op, size, addr_size, seg, len;
	bool rep;
};

static const struct string_case string_cases[] = {
	{ "rep movsb 32", 32, { 0xf3, 0xa4 }, 2, 0,
	  KVMMU_STR_MOVS, 1, 4, KVMMU_SREG_NONE, 2, true },
	{ "movsd 32", 32, { 0xa5 }, 1, 0,
	  KVMMU_STR_MOVS, 4, 4, KVMMU_SREG_NONE, 1, false },
	{ "repne movsw 32", 32, { 0xf2, 0x66, 0xa5 }, 3, 0,
	  KVMMU_STR_MOVS, 2, 4, KVMMU_SREG_NONE, 3, true },
	{ "rep stosq 64", 64, { 0xf3, 0x48, 0xab }, 3, 0,
	  KVMMU_STR_STOS, 8, 8, KVMMU_SREG_NONE, 3, true },
	{ "rex.w then 66: rex lost", 64, { 0x48, 0x66, 0xab }, 3, 0,
	  KVMMU_STR_STOS, 2, 8, KVMMU_SREG_NONE, 3, false },
	{ "stosd addr32 64", 64, { 0x67, 0xab }, 2, 0,
	  KVMMU_STR_STOS, 4, 4, KVMMU_SREG_NONE, 2, false },
	{ "fs lodsb 32", 32, { 0x64, 0xac }, 2, 0,
	  KVMMU_STR_LODS, 1, 4, KVMMU_SREG_FS, 2, false },
	{ "es cs: last wins 16", 16, { 0x26, 0x2e, 0xad }, 3, 0,
	  KVMMU_STR_LODS, 2, 2, KVMMU_SREG_CS, 3, false },
	{ "66 67 movs 16", 16, { 0x66, 0x67, 0xa5 }, 3, 0,
	  KVMMU_STR_MOVS, 4, 4, KVMMU_SREG_NONE, 3, false },
	{ "ss gs rep stosb 64", 64, { 0x36, 0x65, 0xf3, 0xaa }, 4, 0,
	  KVMMU_STR_STOS, 1, 8, KVMMU_SREG_GS, 4, true },
	{ "cmpsb refused", 32, { 0xf3, 0xa6 }, 2, -EINVAL },
	{ "scasd refused", 32, { 0xaf }, 1, -EINVAL },
	{ "lock movsb refused", 32, { 0xf0, 0xa4 }, 2, -EINVAL },
	{ "mov refused", 32, { 0x89, 0x03 }, 2, -EINVAL },
	{ "cut after prefix", 32, { 0xf3 }, 1, -ENODATA },
};

static void string_case_desc(const struct string_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(string, string_cases, string_case_desc);

static void emulate_string(struct kunit *test)
{
	const struct string_case *c = test->param_value;
	struct kvmmu_string_insn insn;

	KUNIT_ASSERT_EQ(test, kvmmu_decode_string(c->bytes, c->avail, c->mode,
						  &insn), c->ret);
	if (c->ret)
		return;
	KUNIT_EXPECT_EQ(test, insn.op, c->op);
	KUNIT_EXPECT_EQ(test, insn.size, c->size);
	KUNIT_EXPECT_EQ(test, insn.addr_size, c->addr_size);
	KUNIT_EXPECT_EQ(test, insn.seg, c->seg);
	KUNIT_EXPECT_EQ(test, insn.len, c->len);
	KUNIT_EXPECT_EQ(test, insn.rep, c->rep);
	KUNIT_EXPECT_EQ(test, insn.mode, c->mode);
}

/* Page-table stores: kvmmu_decode_pt_store() ---------------------------- */

struct pt_case {
	const char *name;
	int mode;
	u8 bytes[15];
	int ret;
	u8 len, op, mem_size, reg;
	bool lock, bit_reg, src_imm;
	u64 imm;
	u8 base, index, scale, seg;
	s64 disp;
	bool rip_rel;
};

#define NR	KVMMU_EA_NO_REG

static const struct pt_case pt_cases[] = {
	{ "xchg %rcx,(%rbx)", 64, { 0x48, 0x87, 0x0b }, 0, 3, KVMMU_OP_XCHG,
	  8, 1, false, false, false, 0, 3, NR, 1, KVMMU_SREG_DS, 0 },
	{ "lock cmpxchg %rcx,(%rbx)", 64, { 0xf0, 0x48, 0x0f, 0xb1, 0x0b }, 0,
	  5, KVMMU_OP_CMPXCHG, 8, 1, true, false, false, 0, 3, NR, 1,
	  KVMMU_SREG_DS, 0 },
	{ "lock cmpxchg8b 8(%rsi)", 64, { 0xf0, 0x0f, 0xc7, 0x4e, 0x08 }, 0,
	  5, KVMMU_OP_CMPXCHG8B, 8, 0, true, false, false, 0, 6, NR, 1,
	  KVMMU_SREG_DS, 8 },
	{ "cmpxchg16b refused", 64, { 0xf0, 0x48, 0x0f, 0xc7, 0x0e },
	  -EINVAL },
	{ "lock btsq %rcx,(%rbx)", 64, { 0xf0, 0x48, 0x0f, 0xab, 0x0b }, 0,
	  5, KVMMU_OP_BTS, 8, 1, true, true, false, 0, 3, NR, 1,
	  KVMMU_SREG_DS, 0 },
	{ "lock btrq $0,(%rbx)", 64,
	  { 0xf0, 0x48, 0x0f, 0xba, 0x33, 0x00 }, 0, 6, KVMMU_OP_BTR, 8, 0,
	  true, false, true, 0, 3, NR, 1, KVMMU_SREG_DS, 0 },
	{ "bt m,imm stores nothing", 64, { 0x48, 0x0f, 0xba, 0x23, 0x00 },
	  -EINVAL },
	{ "lock orb $0x80,-1(%rbp)", 64, { 0xf0, 0x80, 0x4d, 0xff, 0x80 }, 0,
	  5, KVMMU_OP_OR, 1, 0, true, false, true, (u64)-128, 5, NR, 1,
	  KVMMU_SREG_SS, -1 },
	{ "lock andb $0xfd,(%rbx)", 64, { 0xf0, 0x80, 0x23, 0xfd }, 0, 4,
	  KVMMU_OP_AND, 1, 0, true, false, true, (u64)-3, 3, NR, 1,
	  KVMMU_SREG_DS, 0 },
	{ "lock orq %rcx,(%r8,%r9,8)", 64,
	  { 0xf0, 0x4b, 0x09, 0x0c, 0xc8 }, 0, 5, KVMMU_OP_OR, 8, 1, true,
	  false, false, 0, 8, 9, 8, KVMMU_SREG_DS, 0 },
	{ "lock add refused", 64, { 0xf0, 0x48, 0x01, 0x0b }, -EINVAL },
	{ "lock mov refused", 64, { 0xf0, 0x48, 0x89, 0x0b }, -EINVAL },
	{ "mov %rcx,-8(%rbx,%rdx,8)", 64,
	  { 0x48, 0x89, 0x4c, 0xd3, 0xf8 }, 0, 5, KVMMU_OP_MOV, 8, 1, false,
	  false, false, 0, 3, 2, 8, KVMMU_SREG_DS, -8 },
	{ "mov %eax,0x10(%rip)", 64, { 0x89, 0x05, 0x10, 0, 0, 0 }, 0, 6,
	  KVMMU_OP_MOV, 4, 0, false, false, false, 0, NR, NR, 1,
	  KVMMU_SREG_DS, 0x10, true },
	{ "mov %al,%fs:0x1234 (moffs)", 32,
	  { 0x64, 0xa2, 0x34, 0x12, 0, 0 }, 0, 6, KVMMU_OP_MOV, 1, 0, false,
	  false, false, 0, NR, NR, 1, KVMMU_SREG_FS, 0x1234 },
	{ "movw $7,2(%bp,%di) (16-bit)", 16,
	  { 0xc7, 0x43, 0x02, 0x07, 0x00 }, 0, 5, KVMMU_OP_MOV, 2, 0, false,
	  false, true, 7, 5, 7, 1, KVMMU_SREG_SS, 2 },
	{ "xchg %ah,(%esi) (32-bit)", 32, { 0x86, 0x26 }, 0, 2,
	  KVMMU_OP_XCHG, 1, 0, false, false, false, 0, 6, NR, 1,
	  KVMMU_SREG_DS, 0 },
};

static void pt_case_desc(const struct pt_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pt, pt_cases, pt_case_desc);

static void emulate_pt_store(struct kunit *test)
{
	const struct pt_case *c = test->param_value;
	struct kvmmu_pt_insn insn;

	KUNIT_ASSERT_EQ(test, kvmmu_decode_pt_store(c->bytes, sizeof(c->bytes),
						    c->mode, &insn), c->ret);
	if (c->ret)
		return;
	KUNIT_EXPECT_EQ(test, insn.mov.len, c->len);
	KUNIT_EXPECT_EQ(test, insn.op, c->op);
	KUNIT_EXPECT_EQ(test, insn.mov.mem_size, c->mem_size);
	KUNIT_EXPECT_TRUE(test, insn.mov.is_write);
	KUNIT_EXPECT_EQ(test, insn.lock, c->lock);
	KUNIT_EXPECT_EQ(test, insn.bit_reg, c->bit_reg);
	KUNIT_EXPECT_EQ(test, insn.mov.src_imm, c->src_imm);
	if (c->src_imm)
		KUNIT_EXPECT_EQ(test, insn.mov.imm, c->imm);
	else if (c->op != KVMMU_OP_CMPXCHG8B)
		KUNIT_EXPECT_EQ(test, insn.mov.reg, c->reg);
	KUNIT_EXPECT_EQ(test, insn.ea.base, c->base);
	KUNIT_EXPECT_EQ(test, insn.ea.index, c->index);
	KUNIT_EXPECT_EQ(test, insn.ea.scale, c->scale);
	KUNIT_EXPECT_EQ(test, insn.ea.seg, c->seg);
	KUNIT_EXPECT_EQ(test, insn.ea.disp, c->disp);
	KUNIT_EXPECT_EQ(test, insn.ea.rip_rel, c->rip_rel);
}

static struct kunit_case emulate_cases[] = {
	KUNIT_CASE_PARAM(emulate_decode, decode_gen_params),
	KUNIT_CASE_PARAM(emulate_load, load_gen_params),
	KUNIT_CASE_PARAM(emulate_store, store_gen_params),
	KUNIT_CASE_PARAM(emulate_string, string_gen_params),
	KUNIT_CASE_PARAM(emulate_pt_store, pt_gen_params),
	KUNIT_CASE(emulate_reg_mapping),
	KUNIT_CASE(emulate_rip),
	{}
};

static struct kunit_suite emulate_suite = {
	.name = "kvmmu_emulate",
	.test_cases = emulate_cases,
};

/* Walker ------------------------------------------------------------------ */

#define GMEM_SIZE	(64 * PAGE_SIZE)	/* guest physical 0..256K */

/*
 * Guest memory: a buffer. Reads must stay in it and in one page. A/D
 * updates: @swaps counts them; @conflicts makes that many of them find
 * the entry changed (as if another vCPU wrote it: @conflict_bits are
 * really flipped in it); @readonly refuses them.
 */
struct gmem {
	u8 *buf;
	unsigned int reads;
	bool crossed_page;
	unsigned int swaps;
	unsigned int conflicts;
	u64 conflict_bits;
	bool readonly;
};

static int gmem_read(void *opaque, u64 gpa, void *buf, unsigned int len)
{
	struct gmem *m = opaque;

	m->reads++;
	if (offset_in_page(gpa) + len > PAGE_SIZE)
		m->crossed_page = true;
	if (gpa >= GMEM_SIZE || len > GMEM_SIZE - gpa)
		return -EFAULT;
	memcpy(buf, m->buf + gpa, len);
	return 0;
}

static int gmem_cmpxchg(void *opaque, u64 gpa, u64 old, u64 new,
			unsigned int len)
{
	struct gmem *m = opaque;
	u64 cur = 0;

	if (gpa >= GMEM_SIZE || len > GMEM_SIZE - gpa || m->readonly ||
	    (len != 4 && len != 8) || offset_in_page(gpa) + len > PAGE_SIZE)
		return -EFAULT;
	memcpy(&cur, m->buf + gpa, len);
	if (m->conflicts) {
		m->conflicts--;
		cur ^= m->conflict_bits;
		memcpy(m->buf + gpa, &cur, len);
	}
	if (cur != old)
		return 1;
	memcpy(m->buf + gpa, &new, len);
	m->swaps++;
	return 0;
}

static u64 get64(struct gmem *m, u64 gpa)
{
	u64 val;

	memcpy(&val, m->buf + gpa, sizeof(val));
	return val;
}

static u32 get32(struct gmem *m, u64 gpa)
{
	u32 val;

	memcpy(&val, m->buf + gpa, sizeof(val));
	return val;
}

static void put64(struct gmem *m, u64 gpa, u64 val)
{
	memcpy(m->buf + gpa, &val, sizeof(val));
}

static void put32(struct gmem *m, u64 gpa, u32 val)
{
	memcpy(m->buf + gpa, &val, sizeof(val));
}

#define P	BIT_ULL(0)
#define W	BIT_ULL(1)
#define U	BIT_ULL(2)
#define A	BIT_ULL(5)
#define D	BIT_ULL(6)
#define PS	BIT_ULL(7)
#define NX	BIT_ULL(63)

#define EC_P	KVMMU_PFERR_PRESENT
#define EC_W	KVMMU_PFERR_WRITE
#define EC_U	KVMMU_PFERR_USER
#define EC_R	KVMMU_PFERR_RSVD
#define EC_F	KVMMU_PFERR_FETCH

#define RD	0
#define WR	KVMMU_PFERR_WRITE
#define US	KVMMU_PFERR_USER
#define FE	KVMMU_PFERR_FETCH

static int walker_init(struct kunit *test)
{
	struct gmem *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);

	if (!m)
		return -ENOMEM;
	m->buf = vzalloc(GMEM_SIZE);
	if (!m->buf)
		return -ENOMEM;
	test->priv = m;
	return 0;
}

static void walker_exit(struct kunit *test)
{
	struct gmem *m = test->priv;

	vfree(m->buf);
}

static struct kvmmu_walk_env env_of(struct gmem *m, u64 cr0, u64 cr3, u64 cr4,
				    u64 efer)
{
	struct kvmmu_walk_env env = {
		.cr0 = X86_CR0_PE | cr0,
		.cr3 = cr3,
		.cr4 = cr4,
		.efer = efer,
		.rflags = X86_EFLAGS_FIXED,
		.maxphyaddr = 40,
		.gbpages = true,
		.read_gpa = gmem_read,
		.opaque = m,
	};

	return env;
}

static void expect_gpa(struct kunit *test, const struct kvmmu_walk_env *env,
		       u64 gva, u32 access, u64 gpa)
{
	struct kvmmu_walk walk;

	KUNIT_EXPECT_EQ_MSG(test, kvmmu_walk(env, gva, access, &walk), 0,
			    "gva %llx access %x: error code %x", gva, access,
			    walk.error_code);
	KUNIT_EXPECT_EQ_MSG(test, walk.gpa, gpa, "gva %llx", gva);
}

static void expect_pf(struct kunit *test, const struct kvmmu_walk_env *env,
		      u64 gva, u32 access, u32 error_code)
{
	struct kvmmu_walk walk;

	KUNIT_EXPECT_EQ_MSG(test, kvmmu_walk(env, gva, access, &walk),
			    KVMMU_WALK_PAGE_FAULT, "gva %llx access %x", gva,
			    access);
	KUNIT_EXPECT_EQ_MSG(test, walk.error_code, error_code,
			    "gva %llx access %x", gva, access);
}

/*
 * 4-level: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000.
 *   0x400000  PT[0] -> 0x10000 P|W|U       PT[1] not present
 *   0x402000  PT[2] -> 0x11000 P|U (ro)    0x403000 PT[3] -> 0x12000 P|W (sup)
 *   0x404000  PT[4] -> 0x13000 P|W|U|NX
 *   0x600000  PD[3] 2M -> 0x200000         0x800000 PD[4] -> PT, no U
 *   0xa00000  PD[5] -> table outside memory
 *   0xc00000  PD[6] 2M with bit 13         0xe00000 PD[7] bit 39 (pa 40: rsvd)
 *   1G        PDPT[1] 1G -> 0x40000000
 *   512G      PML4[1] with PS
 */
static void build_4level(struct gmem *m)
{
	put64(m, 0x1000, 0x2000 | P | W | U);
	put64(m, 0x1008, 0x2000 | P | W | U | PS);
	put64(m, 0x2000, 0x3000 | P | W | U);
	put64(m, 0x2008, 0x40000000 | P | W | U | PS);
	put64(m, 0x3000 + 2 * 8, 0x4000 | P | W | U);
	put64(m, 0x3000 + 3 * 8, 0x200000 | P | W | U | PS);
	put64(m, 0x3000 + 4 * 8, 0x4000 | P | W);
	put64(m, 0x3000 + 5 * 8, 0x7fff000 | P | W | U);
	put64(m, 0x3000 + 6 * 8, 0x400000 | BIT(13) | P | W | U | PS);
	put64(m, 0x3000 + 7 * 8, BIT_ULL(40) | 0x4000 | P | W | U);
	put64(m, 0x4000, 0x10000 | P | W | U);
	put64(m, 0x4000 + 2 * 8, 0x11000 | P | U);
	put64(m, 0x4000 + 3 * 8, 0x12000 | P | W);
	put64(m, 0x4000 + 4 * 8, 0x13000 | P | W | U | NX);
}

static void walker_4level(struct kunit *test)
{
	struct gmem *m = test->priv;
	struct kvmmu_walk_env env;
	struct kvmmu_walk walk;

	build_4level(m);
	env = env_of(m, X86_CR0_PG, 0x1000 | 0x18, X86_CR4_PAE,
		     EFER_LME | EFER_LMA | EFER_NX);

	/* 4K, and the record of the walk. */
	expect_gpa(test, &env, 0x400123, RD, 0x10123);
	expect_gpa(test, &env, 0x400123, WR | US | FE, 0x10123);
	KUNIT_ASSERT_EQ(test, kvmmu_walk(&env, 0x400123, RD, &walk), 0);
	KUNIT_EXPECT_EQ(test, walk.levels, 4);
	KUNIT_EXPECT_EQ(test, walk.level, 1);
	KUNIT_EXPECT_EQ(test, walk.pte_gpa[3], 0x1000);
	KUNIT_EXPECT_EQ(test, walk.pte_gpa[1], 0x3010);
	KUNIT_EXPECT_EQ(test, walk.pte[0], 0x10000 | P | W | U);
	KUNIT_EXPECT_FALSE(test, m->crossed_page);

	/* Not present: P clear, W/U/F from the access. */
	expect_pf(test, &env, 0x401000, RD, 0);
	expect_pf(test, &env, 0x401000, WR | US, EC_W | EC_U);
	expect_pf(test, &env, 0x401000, FE, EC_F);
	expect_pf(test, &env, 0x7fffff000000ULL, RD, 0);	/* PML4[255] */

	/* Large pages. */
	expect_gpa(test, &env, 0x612345, WR | US, 0x212345);
	KUNIT_ASSERT_EQ(test, kvmmu_walk(&env, 0x612345, RD, &walk), 0);
	KUNIT_EXPECT_EQ(test, walk.level, 2);
	expect_gpa(test, &env, 0x41234567, RD, 0x41234567);

	/* R/W: a supervisor write to a read-only page needs CR0.WP clear. */
	expect_gpa(test, &env, 0x402008, WR, 0x11008);
	expect_pf(test, &env, 0x402008, WR | US, EC_P | EC_W | EC_U);
	expect_gpa(test, &env, 0x402008, US, 0x11008);
	env.cr0 |= X86_CR0_WP;
	expect_pf(test, &env, 0x402008, WR, EC_P | EC_W);

	/* U/S, at the leaf and above it. */
	expect_pf(test, &env, 0x403000, US, EC_P | EC_U);
	expect_gpa(test, &env, 0x403000, WR, 0x12000);
	expect_pf(test, &env, 0x800000, US, EC_P | EC_U);
	expect_gpa(test, &env, 0x800000, RD, 0x10000);

	/* NX with EFER.NXE: fetch faults with I/D; without: reserved. */
	expect_pf(test, &env, 0x404000, FE, EC_P | EC_F);
	expect_gpa(test, &env, 0x404000, WR | US, 0x13000);
	env.efer &= ~EFER_NX;
	expect_pf(test, &env, 0x404000, RD, EC_P | EC_R);
	expect_pf(test, &env, 0x401000, FE, 0);	/* no NX, no SMEP: no I/D */
	env.efer |= EFER_NX;

	/* SMEP and SMAP: supervisor fetch / access to a user page. */
	env.cr4 |= X86_CR4_SMEP;
	expect_pf(test, &env, 0x400000, FE, EC_P | EC_F);
	expect_gpa(test, &env, 0x400000, FE | US, 0x10000);
	expect_gpa(test, &env, 0x403000, FE, 0x12000);
	expect_gpa(test, &env, 0x400000, RD, 0x10000);
	env.cr4 |= X86_CR4_SMAP;
	expect_pf(test, &env, 0x400000, RD, EC_P);
	expect_pf(test, &env, 0x400000, WR, EC_P | EC_W);
	env.rflags |= X86_EFLAGS_AC;
	expect_gpa(test, &env, 0x400000, WR, 0x10000);
	expect_gpa(test, &env, 0x403000, RD, 0x12000);

	/* Reserved bits: PS in a PML4E, 2M page bit 13, address above pa. */
	expect_pf(test, &env, 0x8000000000ULL, RD, EC_P | EC_R);
	expect_pf(test, &env, 0xc00000, WR, EC_P | EC_R | EC_W);
	expect_pf(test, &env, 0xe00000, RD, EC_P | EC_R);
	env.maxphyaddr = 48;
	expect_pf(test, &env, 0xe00000, RD, 0);	/* its table: no memory */
	env.maxphyaddr = 40;
	/* Without 1G pages PS in a PDPTE is reserved. */
	env.gbpages = false;
	expect_pf(test, &env, 0x40000000, RD, EC_P | EC_R);
	env.gbpages = true;

	/*
	 * A table outside guest memory is not present (W/U of the access,
	 * I/D with NX); a non-canonical address is no #PF.
	 */
	expect_pf(test, &env, 0xa00000, RD, 0);
	expect_pf(test, &env, 0xa00000, WR | US, EC_W | EC_U);
	expect_pf(test, &env, 0xa00000, FE, EC_F);
	KUNIT_EXPECT_EQ(test, kvmmu_walk(&env, BIT_ULL(47), RD, &walk), -EFAULT);
	expect_pf(test, &env, 0xffff800000000000ULL, RD, 0);	/* PML4[256] */
}

static void walker_5level(struct kunit *test)
{
	struct gmem *m = test->priv;
	struct kvmmu_walk_env env;
	struct kvmmu_walk walk;

	build_4level(m);
	put64(m, 0x5000, 0x1000 | P | W | U);
	env = env_of(m, X86_CR0_PG, 0x5000, X86_CR4_PAE | X86_CR4_LA57,
		     EFER_LME | EFER_LMA | EFER_NX);
	expect_gpa(test, &env, 0x400123, RD, 0x10123);
	KUNIT_ASSERT_EQ(test, kvmmu_walk(&env, 0x400123, RD, &walk), 0);
	KUNIT_EXPECT_EQ(test, walk.levels, 5);
	/* Canonical at 57 bits, not at 48; PML5[1] is empty. */
	expect_pf(test, &env, BIT_ULL(48), RD, 0);
	KUNIT_EXPECT_EQ(test, kvmmu_walk(&env, BIT_ULL(56), RD, &walk), -EFAULT);
}

/*
 * PAE: PDPT at 0x6020 (32-byte aligned only), PD 0x7000, PT 0x8000.
 *   0x00400000  PT[0] -> 0x14000 P|W|U     0x00401000 PT[1] -> 0x15000 NX
 *   0x00600000  PD[3] 2M -> 0x200000       0x00800000 PD[4] 2M with bit 13
 *   0x40000000  PDPT[1] with R/W set       0x80000000 PDPT[2] not present
 *   0xc0000000  PDPT[3] with bit 63
 */
static void walker_pae(struct kunit *test)
{
	struct gmem *m = test->priv;
	struct kvmmu_walk_env env;
	struct kvmmu_walk walk;

	put64(m, 0x6020, 0x7000 | P);
	put64(m, 0x6028, 0x7000 | P | W);
	put64(m, 0x6038, 0x7000 | P | NX);
	put64(m, 0x7000 + 2 * 8, 0x8000 | P | W | U);
	put64(m, 0x7000 + 3 * 8, 0x200000 | P | W | U | PS);
	put64(m, 0x7000 + 4 * 8, 0x400000 | BIT(13) | P | W | U | PS);
	put64(m, 0x8000, 0x14000 | P | W | U);
	put64(m, 0x8008, 0x15000 | P | W | U | NX);
	env = env_of(m, X86_CR0_PG | X86_CR0_WP, 0x6020, X86_CR4_PAE, EFER_NX);

	expect_gpa(test, &env, 0x400abc, WR | US, 0x14abc);
	KUNIT_ASSERT_EQ(test, kvmmu_walk(&env, 0x400abc, RD, &walk), 0);
	KUNIT_EXPECT_EQ(test, walk.levels, 3);
	KUNIT_EXPECT_EQ(test, walk.pte_gpa[2], 0x6020);
	/* Only 32 bits of the address count. */
	expect_gpa(test, &env, 0xffffffff00400abcULL, RD, 0x14abc);
	/* The PDPTE grants no permissions and takes none away. */
	expect_gpa(test, &env, 0x612345, WR | US | FE, 0x212345);
	expect_pf(test, &env, 0x800000, RD, EC_P | EC_R);
	expect_pf(test, &env, 0x401000, FE, EC_P | EC_F);
	expect_pf(test, &env, 0x40000000, RD, EC_P | EC_R);
	expect_pf(test, &env, 0x80000000, WR, EC_W);
	expect_pf(test, &env, 0xc0000000, RD, EC_P | EC_R);
	expect_pf(test, &env, 0x402000, US | FE, EC_U | EC_F);
	/* Without NXE bit 63 is reserved. */
	env.efer = 0;
	expect_pf(test, &env, 0x401000, RD, EC_P | EC_R);
	expect_pf(test, &env, 0x402000, FE, 0);
}

/*
 * PAE with the PDPTEs loaded with CR3 (the shadow MMU's env->pdptrs): the
 * walk uses that copy, not the PDPT in memory, which the guest changed.
 */
static void walker_pae_loaded_pdptrs(struct kunit *test)
{
	struct gmem *m = test->priv;
	u64 pdptrs[4] = { 0x7000 | P, 0, 0, 0 };
	struct kvmmu_walk_env env;

	put64(m, 0x6020, 0x9000 | P);	/* memory: PD 0x9000 (unused) */
	put64(m, 0x6028, 0x7000 | P);
	put64(m, 0x7000 + 2 * 8, 0x8000 | P | W | U);
	put64(m, 0x8000, 0x14000 | P | W | U);
	env = env_of(m, X86_CR0_PG | X86_CR0_WP, 0x6020, X86_CR4_PAE, 0);
	env.pdptrs = pdptrs;
	expect_gpa(test, &env, 0x400abc, WR | US, 0x14abc);
	/* PDPTE 1 is present in memory only. */
	expect_pf(test, &env, 0x40400abc, RD, 0);
	env.pdptrs = NULL;
	expect_pf(test, &env, 0x400abc, RD, 0);
	expect_gpa(test, &env, 0x40400abc, RD, 0x14abc);
}

/*
 * 32-bit: PD 0x9000, PT 0xa000.
 *   0x00400000  PT[0] -> 0x16000 P|W|U     0x00401000 PT[1] -> 0x17000 P (sup ro)
 *   0x00800000  PD[2] 4M -> 0xc00000       0x00c00000 PD[3] 4M PSE-36 0x5_01000000
 *   0x01000000  PD[4] 4M with bit 21       0x01400000 PD[5] 4M with bit 17
 */
static void walker_32bit(struct kunit *test)
{
	struct gmem *m = test->priv;
	struct kvmmu_walk_env env;
	struct kvmmu_walk walk;

	put32(m, 0x9000 + 1 * 4, 0xa000 | P | W | U);
	put32(m, 0x9000 + 2 * 4, 0xc00000 | P | W | PS);
	put32(m, 0x9000 + 3 * 4, 0x1000000 | 5 << 13 | P | W | U | PS);
	put32(m, 0x9000 + 4 * 4, 0x1000000 | BIT(21) | P | W | U | PS);
	put32(m, 0x9000 + 5 * 4, 0x1000000 | BIT(17) | P | W | U | PS);
	put32(m, 0xa000, 0x16000 | P | W | U);
	put32(m, 0xa004, 0x17000 | P);
	env = env_of(m, X86_CR0_PG, 0x9000, X86_CR4_PSE, EFER_NX);

	expect_gpa(test, &env, 0x400def, WR | US | FE, 0x16def);
	KUNIT_ASSERT_EQ(test, kvmmu_walk(&env, 0x400def, RD, &walk), 0);
	KUNIT_EXPECT_EQ(test, walk.levels, 2);
	KUNIT_EXPECT_EQ(test, walk.pte_gpa[1], 0x9004);
	KUNIT_EXPECT_EQ(test, walk.pte_gpa[0], 0xa000);
	expect_gpa(test, &env, 0x100400defULL, RD, 0x16def);
	expect_gpa(test, &env, 0x401000, WR, 0x17000);
	expect_pf(test, &env, 0x401000, US, EC_P | EC_U);
	env.cr0 |= X86_CR0_WP;
	expect_pf(test, &env, 0x401000, WR, EC_P | EC_W);

	/* 4M pages and PSE-36/40. */
	expect_gpa(test, &env, 0x812345, RD, 0xc12345);
	KUNIT_ASSERT_EQ(test, kvmmu_walk(&env, 0x812345, RD, &walk), 0);
	KUNIT_EXPECT_EQ(test, walk.level, 2);
	expect_gpa(test, &env, 0xc01234, RD, 0x501001234ULL);
	expect_pf(test, &env, 0x1000000, RD, EC_P | EC_R);
	expect_gpa(test, &env, 0x1400000, RD, 0x1001000000ULL);
	env.maxphyaddr = 36;
	expect_pf(test, &env, 0x1400000, RD, EC_P | EC_R);
	/* Without CR4.PSE, PS is ignored: 0xc00000 is read as a table. */
	env.cr4 = 0;
	expect_pf(test, &env, 0x812345, RD, 0);

	/* No NX in 32-bit paging, so no I/D bit without SMEP. */
	expect_pf(test, &env, 0x402000, FE, 0);
	env.cr4 = X86_CR4_SMEP;
	expect_pf(test, &env, 0x402000, FE, EC_F);
}

static void walker_no_paging(struct kunit *test)
{
	struct gmem *m = test->priv;
	struct kvmmu_walk_env env = env_of(m, 0, 0, 0, 0);
	struct kvmmu_walk walk;

	expect_gpa(test, &env, 0xfeedf00d, WR | US | FE, 0xfeedf00d);
	/* Real mode too: PE clear. */
	env.cr0 = 0;
	expect_gpa(test, &env, 0x10ffef, RD, 0x10ffef);
	KUNIT_EXPECT_EQ(test, kvmmu_walk(&env, 0x100001000ULL, RD, &walk), 0);
	KUNIT_EXPECT_EQ(test, walk.gpa, 0x1000);
	KUNIT_EXPECT_EQ(test, m->reads, 0);
}

/* Instruction fetch over the walk: page crossing and partial reads. */
static void walker_fetch(struct kunit *test)
{
	static const u8 insn[] = { 0x48, 0x8b, 0x18, 0x90, 0x90 };
	struct gmem *m = test->priv;
	struct kvmmu_walk_env env;
	u8 buf[KVMMU_MAX_INSN_LEN];

	build_4level(m);
	/* 0x405000 -> 0x18000, 0x406000 -> 0x1a000: not contiguous. */
	put64(m, 0x4000 + 5 * 8, 0x18000 | P | W | U);
	put64(m, 0x4000 + 6 * 8, 0x1a000 | P | W | U);
	memcpy(m->buf + 0x18ffe, insn, 2);
	memcpy(m->buf + 0x1a000, insn + 2, sizeof(insn) - 2);
	env = env_of(m, X86_CR0_PG, 0x1000, X86_CR4_PAE,
		     EFER_LME | EFER_LMA | EFER_NX);

	memset(buf, 0, sizeof(buf));
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, 0x405ffe, false, FE, buf, 15), 15);
	KUNIT_EXPECT_EQ(test, memcmp(buf, insn, sizeof(insn)), 0);
	KUNIT_EXPECT_FALSE(test, m->crossed_page);

	/* Next page not present: what the first one holds. */
	memset(buf, 0, sizeof(buf));
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, 0x400ffd, false, FE, buf, 15), 3);
	/* Next page denied (NX): likewise. */
	memcpy(m->buf + 0x12ffe, insn, 2);
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, 0x403ffe, false, FE, buf, 15), 2);
	KUNIT_EXPECT_EQ(test, memcmp(buf, insn, 2), 0);
	/* Nothing readable. */
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, 0x401000, false, FE, buf, 15),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, 0xa00000, false, FE, buf, 15),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, 0x400000, false, FE, buf, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, 0x400000, false, FE, buf, 16),
			-EINVAL);

	/* Unpaged, 32-bit wrap of the linear address. */
	env = env_of(m, 0, 0, 0, 0);
	memcpy(m->buf + 0x1000, insn, sizeof(insn));
	memset(buf, 0, sizeof(buf));
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, 0x100001000ULL, true, FE, buf,
					   sizeof(insn)), (int)sizeof(insn));
	KUNIT_EXPECT_EQ(test, memcmp(buf, insn, sizeof(insn)), 0);
	/* The last bytes of guest memory, then none. */
	KUNIT_EXPECT_EQ(test, fetch_linear(&env, GMEM_SIZE - 4, true, FE, buf, 15),
			4);
}

/*
 * The vCPU entry points on a VM without memslots: the HVA path itself
 * needs a user mm (selftests), but nothing may be read without a slot.
 */
static void walker_vcpu(struct kunit *test)
{
	struct kvmmu_vcpu *vcpu = test_vcpu(test);
	struct kvmmu_vm *vm;
	u32 ec = 0xdead;
	u8 buf[4];
	u64 gpa;

	vm = kunit_kzalloc(test, sizeof(*vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vm);
	KUNIT_ASSERT_EQ(test, kvmmu_memslots_init(vm), 0);
	vcpu->vm = vm;

	/* Protected mode without paging: the identity, no memory read. */
	vcpu->sregs.cr0 = X86_CR0_PE;
	KUNIT_EXPECT_EQ(test, kvmmu_gva_to_gpa(vcpu, 0x1234, 0, &gpa, &ec), 0);
	KUNIT_EXPECT_EQ(test, gpa, 0x1234);
	/* Real mode fetch: CS.base + IP, but no slot there. */
	vcpu->sregs.cr0 = 0;
	vcpu->sregs.cs.base = 0xf0000;
	vcpu->regs.rip = 0xfff0;
	KUNIT_EXPECT_EQ(test, kvmmu_fetch_insn(vcpu, buf, sizeof(buf)), -EFAULT);
	/* Long mode: the tables are in no slot. */
	vcpu->sregs.cr0 = X86_CR0_PE | X86_CR0_PG;
	vcpu->sregs.cr4 = X86_CR4_PAE;
	vcpu->sregs.efer = EFER_LME | EFER_LMA;
	vcpu->sregs.cs.l = 1;
	KUNIT_EXPECT_EQ(test, kvmmu_gva_to_gpa(vcpu, 0x1234, 0, &gpa, &ec),
			KVMMU_WALK_PAGE_FAULT);
	KUNIT_EXPECT_EQ(test, ec, 0);
	KUNIT_EXPECT_EQ(test, kvmmu_fetch_insn(vcpu, buf, sizeof(buf)), -EFAULT);

	kvmmu_memslots_destroy(vm);
}

/*
 * kvmmu_decode_sys(): the length of intercepted instructions the CPU does
 * not measure under TCG (no NRIP save), prefixes included, the operands
 * of MOV CR/DR and INVLPG's memory operand.
 */
static void decode_sys(struct kunit *test)
{
	static const u8 hlt_prefixed[] = { 0x2e, 0x66, 0xf4 };
	static const u8 wbinvd[] = { 0xf3, 0x0f, 0x09 };
	static const u8 mov_cr4_rax[] = { 0x0f, 0x22, 0xe0 };
	static const u8 mov_cr4_r9[] = { 0x67, 0x41, 0x0f, 0x22, 0xe1 };
	static const u8 mov_rdx_dr7[] = { 0x0f, 0x21, 0x3a };
	static const u8 lock_mov_cr0[] = { 0xf0, 0x0f, 0x22, 0xc0 };
	static const u8 rex_in_32[] = { 0x41, 0x0f, 0x22, 0xe1 };
	static const u8 vmmcall[] = { 0x0f, 0x01, 0xd9 };
	static const u8 lgdt_mem[] = { 0x0f, 0x01, 0x10 };
	static const u8 smsw_r9[] = { 0x49, 0x0f, 0x01, 0xe1 };
	static const u8 smsw_ax[] = { 0x66, 0x0f, 0x01, 0xe0 };
	/* smsw %gs:8(%rbx,%rdx,2); lmsw (%r12); smsw 4(%bp,%si); smsw rip */
	static const u8 smsw_sib[] = { 0x65, 0x0f, 0x01, 0x64, 0x53, 0x08 };
	static const u8 lmsw_r12[] = { 0x41, 0x0f, 0x01, 0x34, 0x24 };
	static const u8 smsw_bp_si[] = { 0x0f, 0x01, 0x62, 0x04 };
	static const u8 smsw_rip[] = { 0x0f, 0x01, 0x25, 0x10, 0, 0, 0 };
	/* invlpg (%r8); -8(%eax,%ecx,4); %fs:0x10(%rip) */
	static const u8 invlpg_r8[] = { 0x41, 0x0f, 0x01, 0x38 };
	static const u8 invlpg_sib[] = { 0x0f, 0x01, 0x7c, 0x88, 0xf8 };
	static const u8 invlpg_rip_fs[] = { 0x64, 0x0f, 0x01, 0x3d,
					    0x10, 0, 0, 0 };
	u8 prefixes[16];
	struct kvmmu_sys_insn insn;

	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(hlt_prefixed, 3, 16, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 3);
	KUNIT_EXPECT_EQ(test, insn.opcode, 0xf4);
	KUNIT_EXPECT_FALSE(test, insn.two_byte);

	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(wbinvd, 3, 32, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 3);
	KUNIT_EXPECT_TRUE(test, insn.two_byte);
	KUNIT_EXPECT_EQ(test, insn.opcode, 0x09);

	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(mov_cr4_rax, 3, 32, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 3);
	KUNIT_EXPECT_EQ(test, insn.opcode, 0x22);
	KUNIT_EXPECT_EQ(test, insn.reg, 4);
	KUNIT_EXPECT_EQ(test, insn.gpr, KVMMU_GPR_RAX);

	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(mov_cr4_r9, 5, 64, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 5);
	KUNIT_EXPECT_EQ(test, insn.reg, 4);
	KUNIT_EXPECT_EQ(test, insn.gpr, KVMMU_GPR_R9);

	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(mov_rdx_dr7, 3, 16, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.opcode, 0x21);
	KUNIT_EXPECT_EQ(test, insn.reg, 7);
	KUNIT_EXPECT_EQ(test, insn.gpr, KVMMU_GPR_RDX);

	/* AMD's CR8 for 32-bit code. */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(lock_mov_cr0, 4, 32, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.reg, 8);

	/* 0x41 is INC ECX outside 64-bit mode, not a REX: one byte. */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(rex_in_32, 4, 32, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 1);
	KUNIT_EXPECT_EQ(test, insn.opcode, 0x41);

	/* Group 7: the ModRM byte is part of the instruction. */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(vmmcall, 3, 16, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 3);
	KUNIT_EXPECT_EQ(test, insn.opcode, 0x01);
	KUNIT_EXPECT_EQ(test, insn.reg, 0xd9);
	KUNIT_EXPECT_EQ(test, kvmmu_decode_sys(lgdt_mem, 3, 32, &insn),
			-EINVAL);
	/* SMSW r: the register with REX.B, the operand size. */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(smsw_r9, 4, 64, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 4);
	KUNIT_EXPECT_EQ(test, insn.reg, 0xe1);
	KUNIT_EXPECT_EQ(test, insn.gpr, KVMMU_GPR_R9);
	KUNIT_EXPECT_EQ(test, insn.op_size, 8);
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(smsw_ax, 4, 32, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.gpr, KVMMU_GPR_RAX);
	KUNIT_EXPECT_EQ(test, insn.op_size, 2);
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(smsw_ax, 4, 16, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.op_size, 4);
	KUNIT_EXPECT_EQ(test, kvmmu_decode_sys(vmmcall, 2, 64, &insn),
			-ENODATA);
	/* INVLPG: the operand decoded (REX.B, SIB, disp8, RIP, FS). */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(invlpg_r8, 4, 64, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 4);
	KUNIT_EXPECT_EQ(test, insn.ea.base, KVMMU_GPR_R8);
	KUNIT_EXPECT_EQ(test, insn.ea.index, KVMMU_EA_NO_REG);
	KUNIT_EXPECT_EQ(test, insn.ea.addr_size, 8);
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(invlpg_sib, 5, 32, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 5);
	KUNIT_EXPECT_EQ(test, insn.ea.base, KVMMU_GPR_RAX);
	KUNIT_EXPECT_EQ(test, insn.ea.index, KVMMU_GPR_RCX);
	KUNIT_EXPECT_EQ(test, insn.ea.scale, 4);
	KUNIT_EXPECT_EQ(test, insn.ea.disp, -8);
	KUNIT_EXPECT_EQ(test, insn.ea.addr_size, 4);
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(invlpg_rip_fs, 8, 64, &insn),
			0);
	KUNIT_EXPECT_EQ(test, insn.len, 8);
	KUNIT_EXPECT_TRUE(test, insn.ea.rip_rel);
	KUNIT_EXPECT_EQ(test, insn.ea.disp, 0x10);
	KUNIT_EXPECT_EQ(test, insn.ea.seg, KVMMU_SREG_FS);

	/* SMSW m16, LMSW m16: the operand's address, as decode_modrm(). */
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(smsw_sib, 6, 64, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 6);
	KUNIT_EXPECT_TRUE(test, insn.mem);
	KUNIT_EXPECT_EQ(test, (insn.reg >> 3) & 7, 4);
	KUNIT_EXPECT_EQ(test, insn.ea.base, KVMMU_GPR_RBX);
	KUNIT_EXPECT_EQ(test, insn.ea.index, KVMMU_GPR_RDX);
	KUNIT_EXPECT_EQ(test, insn.ea.scale, 2);
	KUNIT_EXPECT_EQ(test, insn.ea.disp, 8);
	KUNIT_EXPECT_EQ(test, insn.ea.addr_size, 8);
	KUNIT_EXPECT_EQ(test, insn.ea.seg, KVMMU_SREG_GS);
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(lmsw_r12, 5, 64, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 5);
	KUNIT_EXPECT_EQ(test, (insn.reg >> 3) & 7, 6);
	KUNIT_EXPECT_EQ(test, insn.ea.base, KVMMU_GPR_R12);
	KUNIT_EXPECT_EQ(test, insn.ea.index, KVMMU_EA_NO_REG);
	KUNIT_EXPECT_EQ(test, insn.ea.seg, KVMMU_SREG_DS);
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(smsw_bp_si, 4, 16, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 4);
	KUNIT_EXPECT_EQ(test, insn.ea.base, KVMMU_GPR_RBP);
	KUNIT_EXPECT_EQ(test, insn.ea.index, KVMMU_GPR_RSI);
	KUNIT_EXPECT_EQ(test, insn.ea.disp, 4);
	KUNIT_EXPECT_EQ(test, insn.ea.addr_size, 2);
	KUNIT_EXPECT_EQ(test, insn.ea.seg, KVMMU_SREG_SS);
	KUNIT_ASSERT_EQ(test, kvmmu_decode_sys(smsw_rip, 7, 64, &insn), 0);
	KUNIT_EXPECT_EQ(test, insn.len, 7);
	KUNIT_EXPECT_TRUE(test, insn.ea.rip_rel);
	KUNIT_EXPECT_EQ(test, insn.ea.disp, 0x10);
	KUNIT_EXPECT_EQ(test, kvmmu_decode_sys(smsw_sib, 5, 64, &insn),
			-ENODATA);

	/* Cut short, and too long. */
	KUNIT_EXPECT_EQ(test, kvmmu_decode_sys(mov_cr4_rax, 2, 32, &insn),
			-ENODATA);
	memset(prefixes, 0x66, sizeof(prefixes));
	KUNIT_EXPECT_EQ(test, kvmmu_decode_sys(prefixes, 16, 32, &insn),
			-EINVAL);
}

/*
 * Accessed and dirty bits, for a walker given a cmpxchg (the shadow MMU's):
 * set top down in every entry used, D in the leaf on a write only, nothing
 * on a faulting walk, none in PAE's PDPTEs; 4-byte entries swapped alone;
 * a conflicting update walks again, a persistent one gives up.
 */
static void walker_accessed_dirty(struct kunit *test)
{
	struct gmem *m = test->priv;
	struct kvmmu_walk_env env;
	struct kvmmu_walk walk;

	build_4level(m);
	env = env_of(m, X86_CR0_PG | X86_CR0_WP, 0x1000, X86_CR4_PAE,
		     EFER_LME | EFER_LMA | EFER_NX);
	env.cmpxchg_gpa = gmem_cmpxchg;

	/* A faulting walk (a user write to a read-only page) sets nothing. */
	expect_pf(test, &env, 0x402000, WR | US, EC_P | EC_W | EC_U);
	KUNIT_EXPECT_EQ(test, m->swaps, 0);

	/* A read: A at every level, no D; a second read swaps nothing. */
	expect_gpa(test, &env, 0x400123, RD, 0x10123);
	KUNIT_EXPECT_EQ(test, m->swaps, 4);
	KUNIT_EXPECT_EQ(test, get64(m, 0x1000), 0x2000 | P | W | U | A);
	KUNIT_EXPECT_EQ(test, get64(m, 0x2000), 0x3000 | P | W | U | A);
	KUNIT_EXPECT_EQ(test, get64(m, 0x3010), 0x4000 | P | W | U | A);
	KUNIT_EXPECT_EQ(test, get64(m, 0x4000), 0x10000 | P | W | U | A);
	expect_gpa(test, &env, 0x400fff, RD, 0x10fff);
	KUNIT_EXPECT_EQ(test, m->swaps, 4);
	/* A write: D in the leaf only. */
	expect_gpa(test, &env, 0x400123, WR, 0x10123);
	KUNIT_EXPECT_EQ(test, m->swaps, 5);
	KUNIT_EXPECT_EQ(test, get64(m, 0x4000), 0x10000 | P | W | U | A | D);
	KUNIT_EXPECT_EQ(test, get64(m, 0x3010), 0x4000 | P | W | U | A);
	/* A 2M leaf gets its D in the PDE. */
	expect_gpa(test, &env, 0x612345, WR, 0x212345);
	KUNIT_EXPECT_EQ(test, get64(m, 0x3018),
			0x200000 | P | W | U | PS | A | D);

	/* The entry changes under the update: walk again, then succeed. */
	m->conflicts = 1;
	m->conflict_bits = BIT_ULL(9);	/* an ignored bit the guest sets */
	m->reads = 0;
	KUNIT_ASSERT_EQ(test, kvmmu_walk(&env, 0x403000, WR, &walk), 0);
	KUNIT_EXPECT_EQ(test, walk.gpa, 0x12000);
	KUNIT_EXPECT_EQ(test, m->reads, 8);	/* two walks of 4 levels */
	KUNIT_EXPECT_EQ(test, get64(m, 0x4018),
			0x12000 | BIT_ULL(9) | P | W | A | D);
	/* ... and it keeps changing: give up. */
	m->conflicts = 100;
	m->conflict_bits = BIT_ULL(10);
	KUNIT_EXPECT_EQ(test, kvmmu_walk(&env, 0x404000, RD, &walk), -EAGAIN);
	m->conflicts = 0;
	/* Tables the update may not write. */
	m->readonly = true;
	expect_pf(test, &env, 0x800000, RD, 0);
	m->readonly = false;

	/* PAE: no A in the PDPTE. */
	put64(m, 0x6020, 0x7000 | P);
	put64(m, 0x7000 + 2 * 8, 0x8000 | P | W | U);
	put64(m, 0x8000, 0x14000 | P | W | U);
	env = env_of(m, X86_CR0_PG, 0x6020, X86_CR4_PAE, 0);
	env.cmpxchg_gpa = gmem_cmpxchg;
	expect_gpa(test, &env, 0x400abc, WR, 0x14abc);
	KUNIT_EXPECT_EQ(test, get64(m, 0x6020), 0x7000 | P);
	KUNIT_EXPECT_EQ(test, get64(m, 0x7010), 0x8000 | P | W | U | A);
	KUNIT_EXPECT_EQ(test, get64(m, 0x8000), 0x14000 | P | W | U | A | D);

	/* 32-bit: 4-byte entries, the neighbour untouched; a 4M page. */
	put32(m, 0x9000 + 1 * 4, 0xa000 | P | W | U);
	put32(m, 0x9000 + 2 * 4, 0xc00000 | P | W | U | PS);
	put32(m, 0xa000, 0x16000 | P | W | U);
	put32(m, 0xa004, 0x17000 | P | W | U);
	env = env_of(m, X86_CR0_PG, 0x9000, X86_CR4_PSE, 0);
	env.cmpxchg_gpa = gmem_cmpxchg;
	expect_gpa(test, &env, 0x400010, WR, 0x16010);
	KUNIT_EXPECT_EQ(test, get32(m, 0x9004), 0xa000 | P | W | U | A);
	KUNIT_EXPECT_EQ(test, get32(m, 0xa000), 0x16000 | P | W | U | A | D);
	KUNIT_EXPECT_EQ(test, get32(m, 0xa004), 0x17000 | P | W | U);
	expect_gpa(test, &env, 0x812345, RD, 0xc12345);
	KUNIT_EXPECT_EQ(test, get32(m, 0x9008), 0xc00000 | P | W | U | PS | A);
}

static struct kunit_case walker_cases[] = {
	KUNIT_CASE(decode_sys),
	KUNIT_CASE(walker_4level),
	KUNIT_CASE(walker_5level),
	KUNIT_CASE(walker_pae),
	KUNIT_CASE(walker_pae_loaded_pdptrs),
	KUNIT_CASE(walker_32bit),
	KUNIT_CASE(walker_no_paging),
	KUNIT_CASE(walker_accessed_dirty),
	KUNIT_CASE(walker_fetch),
	KUNIT_CASE(walker_vcpu),
	{}
};

static struct kunit_suite walker_suite = {
	.name = "kvmmu_walker",
	.init = walker_init,
	.exit = walker_exit,
	.test_cases = walker_cases,
};

kunit_test_suites(&emulate_suite, &walker_suite);
