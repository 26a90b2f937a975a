/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest32 - a tiny 32-bit guest driven by registers, for tests that
 * check what a guest reads and writes through the MMU.
 *
 * The vCPU runs in flat 32-bit protected mode set up purely with
 * KVM_SET_SREGS (CS/DS/ES/FS/GS/SS base 0, limit 4G, D/B=1, G=1, CR0 =
 * PE|ET, no paging, no GDT, no stack). Its code sits in memslot 0 at
 * GPA G32_CODE_GPA (one page) and is a loop:
 *
 *   dispatch on EAX (G32_*, below), using EBX = address, ECX = value,
 *   EDX = count; then  out %al, $0x10 ; jmp loop
 *
 * The host starts an operation with KVM_SET_REGS (RIP = loop start,
 * which also drops the completion of the previous OUT, as KVM does) and
 * KVM_RUN. The operation is over at the 1-byte OUT to port 0x10 whose
 * data is the operation number. An MMIO exit on the way is answered by
 * the caller, and the next KVM_RUN completes it (load into the register,
 * RIP past the instruction). Port IO is 8-bit only (REFERENCE.md).
 *
 * The memory accesses use the MOV forms of emulate.c's decoder, each
 * exactly one instruction touching (%ebx):
 *
 *   G32_R32    8B     mov (%ebx),%ecx
 *   G32_W32    89     mov %ecx,(%ebx)
 *   G32_R8     8A     mov (%ebx),%cl        (bits 31:8 of ECX kept)
 *   G32_W8     88     mov %cl,(%ebx)
 *   G32_R16    66 8B  mov (%ebx),%cx        (bits 31:16 kept)
 *   G32_W16    66 89  mov %cx,(%ebx)
 *   G32_W32I   C7     movl $G32_IMM32,(%ebx)
 *   G32_W8I    C6     movb $G32_IMM8,(%ebx)
 *   G32_ZX8    0F B6  movzbl (%ebx),%ecx
 *   G32_ZX16   0F B7  movzwl (%ebx),%ecx
 *   G32_SX8    0F BE  movsbl (%ebx),%ecx
 *   G32_SX16   0F BF  movswl (%ebx),%ecx
 *
 * and two loops over EDX pages from EBX (RAM only, not for MMIO):
 *
 *   G32_FILL   page k (k = 0..EDX-1) gets the dword ECX + k at offset 0
 *   G32_SUM    ESI = sum of the dwords at offset 0 of the EDX pages
 */
#ifndef KVMMU_GUEST32_H
#define KVMMU_GUEST32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define G32_NOP		0
#define G32_R32		1
#define G32_W32		2
#define G32_R8		3
#define G32_W8		4
#define G32_R16		5
#define G32_W16		6
#define G32_W32I	7
#define G32_W8I		8
#define G32_ZX8		9
#define G32_ZX16	10
#define G32_SX8		11
#define G32_SX16	12
#define G32_FILL	13
#define G32_SUM		14

#define G32_IMM32	0x5eed1234u
#define G32_IMM8	0xa5u

#define G32_PORT	0x10
#define G32_CODE_GPA	0x1000UL
#define G32_CODE_SLOT	0
#define G32_PAGE	4096UL

/* The guest's code bytes, in the binary's .rodata (guest32.c). */
extern const unsigned char g32_code_start[], g32_code_end[];

struct g32_vm {
	int devfd;
	int vmfd;
	long run_size;
	void *code;	/* the code page, HVA of slot G32_CODE_SLOT */
};

struct g32_vcpu {
	struct g32_vm *vm;
	int fd;
	int id;
	struct kvm_run *run;
	uint32_t op;	/* operation in flight */
};

/* What g32_run()/g32_do() saw. */
enum g32_exit {
	G32_DONE = 0,	/* the operation reached its OUT */
	G32_MMIO = 1,	/* KVM_EXIT_MMIO: answer it and g32_run() again */
	G32_OTHER = 2,	/* any other exit: see run->exit_reason */
};

/*
 * A VM (KVM_CREATE_VM 0 on kvmmu_dev_path()) with the code slot.
 * Return: 0 or -errno; on failure everything opened is closed.
 */
int g32_vm_create(struct g32_vm *vm);
void g32_vm_destroy(struct g32_vm *vm);

/* vCPU @id, kvm_run mapped, flat 32-bit state. 0 or -errno. */
int g32_vcpu_create(struct g32_vm *vm, struct g32_vcpu *v, int id);
void g32_vcpu_destroy(struct g32_vcpu *v);

/* KVM_SET_REGS for operation @op: 0 or -errno. */
int g32_start(struct g32_vcpu *v, uint32_t op, uint32_t ebx, uint32_t ecx,
	      uint32_t edx);
/* One KVM_RUN: enum g32_exit, or -errno from KVM_RUN. */
int g32_run(struct g32_vcpu *v);
/* g32_start() + g32_run(). */
int g32_do(struct g32_vcpu *v, uint32_t op, uint32_t ebx, uint32_t ecx,
	   uint32_t edx);
/* KVM_GET_REGS: 0 or -errno. */
int g32_regs(struct g32_vcpu *v, struct kvm_regs *regs);
/* ECX / ESI after an operation; 0xdead0000|errno-ish garbage on failure. */
uint32_t g32_ecx(struct g32_vcpu *v);
uint32_t g32_esi(struct g32_vcpu *v);
/* A one-line description of the last exit, for messages. */
const char *g32_exit_str(struct g32_vcpu *v);

/* ---- host side helpers ---- */

/* @len bytes of anonymous private memory, NULL on failure. */
void *g32_map_anon(size_t len);
/* The same, aligned to @align (a power of two). */
void *g32_map_aligned(size_t len, size_t align);

/* A field of /proc/meminfo in kB, or -1. */
long g32_meminfo_kb(const char *field);
/* A field of /proc/self/status in kB (VmPin, VmLck, ...), or -1. */
long g32_status_kb(const char *field);
/* AnonHugePages (kB) of the /proc/self/smaps VMA holding @addr, or -1. */
long g32_smaps_kb(const void *addr, const char *field);

/* PFN behind @addr from /proc/self/pagemap; 0 if absent or hidden. */
uint64_t g32_pagemap_pfn(const void *addr);

/* One leaf of <debugfs>/kvmmu/<pid>-<vmfd>/mappings. */
struct g32_leaf {
	uint64_t gpa;
	uint64_t pfn;
	unsigned int level;	/* 1 = 4K, 2 = 2M, 3 = 1G */
	char flags[4];		/* "wad" with '-' for clear bits */
};

/*
 * Parse the mappings file of VM (pid, vmfd) strictly: the number of
 * leaves (at most @max stored), -errno when it cannot be read, -EPROTO
 * when a line is malformed or the trailing counts do not match.
 */
int g32_read_mappings(int pid, int vmfd, struct g32_leaf *out, int max);
/* The leaf covering @gpa among @n leaves, or NULL. */
const struct g32_leaf *g32_find_leaf(const struct g32_leaf *l, int n,
				     uint64_t gpa);
/* The value of "name" in the stats file, or -errno. */
long long g32_read_stat(int pid, int vmfd, const char *name);

/*
 * alarm(@seconds) with a handler that prints "timeout in <step>" and
 * _exit(1)s. g32_step names the step in progress (a string literal).
 */
void g32_alarm(unsigned int seconds);
extern const char *_Atomic g32_step;

#endif /* KVMMU_GUEST32_H */
