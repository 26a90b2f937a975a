// SPDX-License-Identifier: GPL-2.0
/*
 * string_io_test - INS and OUTS exit to the VMM as KVM_EXIT_IO.
 *
 * A real-mode guest does OUTSB from DS:SI, INSB to ES:DI and REP OUTSB with
 * CX=1, then halts. The test checks what the VMM sees (port, direction,
 * size, count, the byte read from guest memory), that the byte the VMM
 * supplies for INSB lands in guest memory at the HVA, and that SI, DI and
 * CX moved as the instructions define.
 *
 * A second guest does long REPs that cross guest pages: REP OUTSB of 3000
 * bytes, REP INSW of 2500 words upwards and, with EFLAGS.DF set, 600 words
 * downwards, and a REP INSB whose 16-bit DI wraps from 0xffff to 0 in the
 * middle of a guest page (ES base 0x7c00). The VMM answers however many elements each exit carries
 * (io.count) and numbers the elements it supplies, so the test can check
 * that every element went to, or came from, the right guest address, in
 * order, exactly once.
 *
 * A third part does MOVS, STOS and LODS on MMIO (GPAs 0x20000-0x3ffff, past
 * the one memslot), as memcpy_toio(), memset_io() and firmware do: REP STOSB
 * and, with DF=1, REP STOSD; REP MOVSW from RAM to MMIO and REP MOVSD from
 * MMIO to RAM; LODSB/LODSD with an FS override; MOVSB from MMIO to MMIO; a
 * REP MOVSB whose destination runs from RAM into MMIO; a MOVSD from MMIO
 * to RAM across a page. The VMM answers
 * every MMIO load with bytes that depend only on the address, and counts
 * every byte stored, so the checks hold however the exits are split: each
 * byte written exactly once with the right value, RAM holding what was
 * read, SI/DI/CX/AX as the instructions define.
 *
 * A fourth part runs a CPL 3 guest with 32-bit paging and IOPL 3, in a VM
 * of its own, as KVM's emulator treats the memory operand of INS and OUTS
 * (vcpu_mmio_gva_to_gpa(): a user access at CPL 3; A/D set by the walk; a
 * refused translation is the guest's #PF, CR2 its address): INSB into a
 * supervisor page is #PF 7 after the port read, the page unchanged; OUTSB
 * from one is #PF 5 with no OUT exit; INSB into a page that is not present
 * is #PF 6, not an internal error; INSW into a user page whose PTE is
 * clean leaves A and D set in it. The same for the RAM side of a string
 * MMIO element: MOVSB from a device page into a supervisor page is #PF 7
 * after the load exit; into a clean user page it sets A and D; MOVSW to
 * the last byte of a user page whose next page is supervisor is #PF 7,
 * CR2 the second page (kvmmu: the first byte kept), and so is INSW after
 * its IN exit. Under a
 * PDE whose page table is in no memslot (FNAME(walk_addr_generic)'s error
 * path: not present), INSB is #PF 6, OUTSB #PF 4 with no OUT exit, and
 * MOVSB from a device page #PF 6 after the load exit: no internal error.
 *
 * Runs against stock kvm_amd (the control) and kvmmu alike, with nested
 * paging and with the shadow MMU; TAP on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "lib/kvmmu_util.h"

#define MEM_SIZE	0x20000
#define CODE_GPA	0x1000
#define SRC_GPA		0x2000
#define DST_GPA		0x3000
#define PORT		0x10
#define REP_GPA		0xa000
#define OUTS_GPA	0x4800	/* 3000 bytes: crosses 0x5000 */
#define OUTS_N		3000
#define INS_GPA		0x6800	/* 2500 words: crosses 0x7000 */
#define INS_N		2500
#define INSD_GPA	0x91fe	/* 600 words downwards: crosses 0x9000 */
#define INSD_N		600
#define WRAP_ES		0x7c0	/* base 0x7c00: not page aligned */
#define WRAP_DI		0xff00
#define WRAP_N		0x200	/* DI wraps to 0 after 0x100 bytes */
#define NR_CHECKS	54

static const unsigned char guest_code[] = {
	0xbe, 0x00, 0x20,	/* mov $0x2000, %si */
	0xba, PORT, 0x00,	/* mov $0x10, %dx */
	0x6e,			/* outsb (%si), (%dx) */
	0xbf, 0x00, 0x30,	/* mov $0x3000, %di */
	0x6c,			/* insb (%dx), (%di) */
	0xb9, 0x01, 0x00,	/* mov $1, %cx */
	0xf3, 0x6e,		/* rep outsb: one iteration */
	0xf4,			/* hlt */
};

static const unsigned char rep_code[] = {
	0xbe, 0x00, 0x48,	/* mov $OUTS_GPA, %si */
	0xba, PORT, 0x00,	/* mov $PORT, %dx */
	0xb9, 0xb8, 0x0b,	/* mov $3000, %cx */
	0xf3, 0x6e,		/* rep outsb */
	0xbf, 0x00, 0x68,	/* mov $INS_GPA, %di */
	0xb9, 0xc4, 0x09,	/* mov $2500, %cx */
	0xf3, 0x6d,		/* rep insw */
	0xfd,			/* std */
	0xbf, 0xfe, 0x91,	/* mov $INSD_GPA, %di */
	0xb9, 0x58, 0x02,	/* mov $600, %cx */
	0xf3, 0x6d,		/* rep insw */
	0xfc,			/* cld */
	0xb8, 0xc0, 0x07,	/* mov $WRAP_ES, %ax */
	0x8e, 0xc0,		/* mov %ax, %es */
	0xbf, 0x00, 0xff,	/* mov $WRAP_DI, %di */
	0xb9, 0x00, 0x02,	/* mov $WRAP_N, %cx */
	0xf3, 0x6c,		/* rep insb: DI wraps inside a page */
	0x31, 0xc0,		/* xor %ax, %ax */
	0x8e, 0xc0,		/* mov %ax, %es */
	0xf4,			/* hlt */
};

static int nr, failed;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed |= !ok;
}

static void on_alarm(int sig)
{
	static const char msg[] = "Bail out! timeout\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void bail(const char *what, long r)
{
	printf("Bail out! %s: %s\n", what, strerror((int)-r));
	exit(1);
}

/* A VM with @size bytes of RAM at GPA 0 and one vCPU. */
struct test_vm {
	int vmfd, vcpufd;
	unsigned char *mem;
	struct kvm_run *run;
	long run_size;
};

static void vm_create(int devfd, size_t size, struct test_vm *vm)
{
	long r;

	vm->vmfd = kvmmu_create_vm(devfd, 0);
	if (vm->vmfd < 0)
		bail("KVM_CREATE_VM", vm->vmfd);
	vm->mem = kvmmu_alloc(size);
	if (!vm->mem)
		bail("mmap", -ENOMEM);
	r = kvmmu_set_region(vm->vmfd, 0, 0, 0, size,
			     (unsigned long)vm->mem);
	if (r)
		bail("KVM_SET_USER_MEMORY_REGION", r);
	vm->vcpufd = kvmmu_ioctl(vm->vmfd, KVM_CREATE_VCPU, 0);
	if (vm->vcpufd < 0)
		bail("KVM_CREATE_VCPU", vm->vcpufd);
	vm->run_size = kvmmu_ioctl(devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpufd, 0);
	if (vm->run == MAP_FAILED)
		bail("mmap kvm_run", -errno);
}

static int is_io(const struct kvm_run *run, int dir)
{
	return run->exit_reason == KVM_EXIT_IO && run->io.direction == dir &&
	       run->io.port == PORT && run->io.size == 1 &&
	       run->io.count == 1;
}

/* What the VMM saw of one REP: elements, exits, and whether all fit. */
struct rep_seen {
	unsigned int elems, exits, bad;
};

/*
 * Run the REP guest to HLT. OUT data is appended to @outs; IN elements are
 * numbered 0x1000 + n across both INSWs. Any exit that is not a well-formed
 * I/O exit of the expected direction and size is counted in ->bad.
 */
static long rep_run(int vcpufd, struct kvm_run *run, unsigned char *outs,
		    struct rep_seen seen[4])
{
	unsigned int step = 0, next_in = 0x1000, i;
	unsigned char *data;
	uint16_t w;
	long r;

	for (;;) {
		r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);
		if (r)
			return r;
		if (run->exit_reason == KVM_EXIT_HLT)
			return 0;
		if (run->exit_reason != KVM_EXIT_IO || run->io.port != PORT ||
		    !run->io.count || run->io.count > 4096)
			return -EPROTO;
		data = (unsigned char *)run + run->io.data_offset;
		if (step == 0 && run->io.direction == KVM_EXIT_IO_IN)
			step = 1;
		if (step == 1 && seen[1].elems == INS_N)
			step = 2;
		if (step == 2 && seen[2].elems == INSD_N)
			step = 3;
		seen[step].exits++;
		if (step == 0) {
			if (run->io.size != 1 ||
			    seen[0].elems + run->io.count > OUTS_N) {
				seen[0].bad++;
				return -EPROTO;
			}
			memcpy(outs + seen[0].elems, data, run->io.count);
		} else if (step == 3) {
			if (run->io.direction != KVM_EXIT_IO_IN ||
			    run->io.size != 1 ||
			    seen[3].elems + run->io.count > WRAP_N) {
				seen[3].bad++;
				return -EPROTO;
			}
			for (i = 0; i < run->io.count; i++)
				data[i] = (unsigned char)(seen[3].elems + i) ^ 0x5a;
		} else {
			if (run->io.direction != KVM_EXIT_IO_IN ||
			    run->io.size != 2) {
				seen[step].bad++;
				return -EPROTO;
			}
			for (i = 0; i < run->io.count; i++) {
				w = next_in++;
				memcpy(data + 2 * i, &w, 2);
			}
		}
		seen[step].elems += run->io.count;
	}
}

static void run_rep(int vcpufd, struct kvm_run *run, unsigned char *mem)
{
	static unsigned char outs[OUTS_N];
	struct rep_seen seen[4] = { 0 };
	struct kvm_regs regs;
	unsigned int i, bad;
	uint16_t w;
	long r;

	for (i = 0; i < OUTS_N; i++)
		mem[OUTS_GPA + i] = (unsigned char)(i * 7 + i / 256);
	memcpy(mem + REP_GPA, rep_code, sizeof(rep_code));
	memset(&regs, 0, sizeof(regs));
	regs.rip = REP_GPA;
	regs.rflags = 2;
	r = kvmmu_ioctl(vcpufd, KVM_SET_REGS, (unsigned long)&regs);
	if (r)
		bail("KVM_SET_REGS", r);

	r = rep_run(vcpufd, run, outs, seen);
	check(!r, "long REPs run to HLT with only I/O exits (r %ld, reason %u)",
	      r, run->exit_reason);
	check(seen[0].elems == OUTS_N && !memcmp(outs, mem + OUTS_GPA, OUTS_N),
	      "REP OUTSB across a page: the VMM got all %u bytes in order (%u in %u exits)",
	      OUTS_N, seen[0].elems, seen[0].exits);
	check(seen[1].elems == INS_N && seen[2].elems == INSD_N,
	      "REP INSW asked for %u and %u words (got %u, %u)", INS_N, INSD_N,
	      seen[1].elems, seen[2].elems);
	for (bad = 0, i = 0; i < INS_N; i++) {
		memcpy(&w, mem + INS_GPA + 2 * i, 2);
		bad += w != 0x1000 + i;
	}
	check(!bad, "REP INSW upwards across a page: every word at its address, seen at the HVA (%u wrong)",
	      bad);
	for (bad = 0, i = 0; i < INSD_N; i++) {
		memcpy(&w, mem + INSD_GPA - 2 * i, 2);
		bad += w != 0x1000 + INS_N + i;
	}
	check(!bad, "REP INSW with DF=1 across a page: word n at DI - 2n (%u wrong)",
	      bad);
	check(seen[1].exits < INS_N && seen[2].exits < INSD_N,
	      "REP INSW is batched: %u and %u exits for %u and %u words",
	      seen[1].exits, seen[2].exits, INS_N, INSD_N);
	memcpy(&w, mem + INS_GPA - 2, 2);
	check(w == 0 && mem[INSD_GPA + 2] == 0 && mem[INSD_GPA + 3] == 0 &&
	      mem[INSD_GPA - 2 * INSD_N + 1] == 0,
	      "nothing written outside the INS destinations");
	for (bad = 0, i = 0; i < WRAP_N; i++) {
		unsigned int la = WRAP_ES * 16 + ((WRAP_DI + i) & 0xffff);

		bad += mem[la] != ((i & 0xff) ^ 0x5a);
	}
	check(seen[3].elems == WRAP_N && !bad,
	      "REP INSB with DI wrapping at 0xffff: bytes at ES:0xff00.. then ES:0 (%u wrong)",
	      bad);
	check(mem[WRAP_ES * 16 + 0x10000] == 0 &&
	      mem[WRAP_ES * 16 + 0x100ff] == 0,
	      "nothing written past ES:0xffff");
	r = kvmmu_ioctl(vcpufd, KVM_GET_REGS, (unsigned long)&regs);
	check(!r && (regs.rsi & 0xffff) == OUTS_GPA + OUTS_N &&
	      (regs.rdi & 0xffff) == ((WRAP_DI + WRAP_N) & 0xffff) &&
	      (regs.rcx & 0xffff) == 0,
	      "SI, DI, CX after the REPs (si 0x%llx di 0x%llx cx 0x%llx)",
	      (unsigned long long)regs.rsi, (unsigned long long)regs.rdi,
	      (unsigned long long)regs.rcx);
	check(regs.rip == REP_GPA + sizeof(rep_code) &&
	      !(regs.rflags & 0x400),
	      "RIP after HLT, DF clear (rip 0x%llx flags 0x%llx)",
	      (unsigned long long)regs.rip, (unsigned long long)regs.rflags);
}

/* MMIO: every GPA in [MMIO_LO, MMIO_HI) is outside the memslot. */
#define MMIO_LO		0x20000
#define MMIO_HI		0x40000
#define MMIO_CODE_GPA	0xc000
#define MMIO_RAM_SRC	0x5000
#define MMIO_RAM_DST	0x6000

static unsigned char mmio_count[MMIO_HI - MMIO_LO];	/* stores per byte */
static unsigned char mmio_data[MMIO_HI - MMIO_LO];	/* last byte stored */

/* What an MMIO load of the byte at @gpa returns: a function of @gpa. */
static unsigned char mmio_byte(uint64_t gpa)
{
	return (unsigned char)(gpa * 7 + (gpa >> 8) + 0x3c);
}

/* The stores of one case: @n bytes from @gpa, each exactly once, = @want. */
static int mmio_stored(uint64_t gpa, unsigned int n, const unsigned char *want)
{
	unsigned int i, bad = 0;

	for (i = 0; i < n; i++)
		bad += mmio_count[gpa + i - MMIO_LO] != 1 ||
		       mmio_data[gpa + i - MMIO_LO] != want[i];
	return !bad;
}

/* Bytes stored anywhere in the MMIO range, in total. */
static unsigned int mmio_total(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < sizeof(mmio_count); i++)
		n += mmio_count[i];
	return n;
}

/*
 * Run one MMIO string case: @code at MMIO_CODE_GPA (then HLT) with the
 * given registers and real-mode DS/ES/FS. The VMM loop answers loads and
 * records stores until HLT. Return 0 at HLT, -1 on anything else.
 */
static int mmio_case(int vcpufd, struct kvm_run *run, unsigned char *mem,
		     const unsigned char *code, size_t len, struct kvm_regs *regs,
		     uint16_t ds, uint16_t es, uint16_t fs)
{
	struct kvm_sregs sregs;
	unsigned int i, exits;
	long r;

	memset(mmio_count, 0, sizeof(mmio_count));
	memset(mmio_data, 0, sizeof(mmio_data));
	memcpy(mem + MMIO_CODE_GPA, code, len);
	if (kvmmu_ioctl(vcpufd, KVM_GET_SREGS, (unsigned long)&sregs))
		return -1;
	sregs.ds.selector = ds;
	sregs.ds.base = ds * 16UL;
	sregs.es.selector = es;
	sregs.es.base = es * 16UL;
	sregs.fs.selector = fs;
	sregs.fs.base = fs * 16UL;
	if (kvmmu_ioctl(vcpufd, KVM_SET_SREGS, (unsigned long)&sregs))
		return -1;
	regs->rip = MMIO_CODE_GPA;
	regs->rflags |= 2;
	if (kvmmu_ioctl(vcpufd, KVM_SET_REGS, (unsigned long)regs))
		return -1;
	for (exits = 0; exits < 1000; exits++) {
		r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);
		if (r)
			break;
		if (run->exit_reason == KVM_EXIT_HLT)
			return kvmmu_ioctl(vcpufd, KVM_GET_REGS,
					   (unsigned long)regs) ? -1 : 0;
		if (run->exit_reason != KVM_EXIT_MMIO ||
		    run->mmio.phys_addr < MMIO_LO || run->mmio.len < 1 ||
		    run->mmio.len > 8 ||
		    run->mmio.phys_addr + run->mmio.len > MMIO_HI)
			break;
		for (i = 0; i < run->mmio.len; i++) {
			uint64_t gpa = run->mmio.phys_addr + i;

			if (run->mmio.is_write) {
				mmio_count[gpa - MMIO_LO]++;
				mmio_data[gpa - MMIO_LO] = run->mmio.data[i];
			} else {
				run->mmio.data[i] = mmio_byte(gpa);
			}
		}
	}
	printf("# stopped: r %ld, exit_reason %u\n", r, run->exit_reason);
	return -1;
}

static void run_mmio_strings(int vcpufd, struct kvm_run *run,
			     unsigned char *mem)
{
	static const unsigned char stosb[] = { 0xf3, 0xaa, 0xf4 };
	static const unsigned char stosd_down[] = {
		0xfd, 0x66, 0xf3, 0xab, 0xfc, 0xf4 };
	static const unsigned char movsw[] = { 0xf3, 0xa5, 0xf4 };
	static const unsigned char movsd[] = { 0x66, 0xf3, 0xa5, 0xf4 };
	static const unsigned char lods[] = {
		0x64, 0xac,		/* lodsb %fs:(%si) */
		0x88, 0xc3,		/* mov %al, %bl */
		0x66, 0x64, 0xad,	/* lodsl %fs:(%si) */
		0xf4 };
	static const unsigned char movsb[] = { 0xa4, 0xf4 };
	static const unsigned char rep_movsb[] = { 0xf3, 0xa4, 0xf4 };
	static const unsigned char movsd1[] = { 0x66, 0xa5, 0xf4 };
	unsigned char want[16];
	struct kvm_regs regs;
	unsigned int i, bad;
	uint32_t v;
	int r;

	/* REP STOSB: 5 bytes of AL at 0x3000:0x10. */
	memset(&regs, 0, sizeof(regs));
	regs.rax = 0x12345678abULL;
	regs.rcx = 5;
	regs.rdi = 0x10;
	r = mmio_case(vcpufd, run, mem, stosb, sizeof(stosb), &regs, 0, 0x3000, 0);
	memset(want, 0xab, 5);
	check(!r && mmio_stored(0x30010, 5, want) && mmio_total() == 5,
	      "REP STOSB to MMIO: 5 bytes of AL, each stored once (r %d, %u stored)",
	      r, mmio_total());
	check(!r && regs.rdi == 0x15 && regs.rcx == 0 &&
	      regs.rip == MMIO_CODE_GPA + sizeof(stosb),
	      "REP STOSB: DI 0x15, CX 0, RIP past HLT (di 0x%llx cx 0x%llx rip 0x%llx)",
	      (unsigned long long)regs.rdi, (unsigned long long)regs.rcx,
	      (unsigned long long)regs.rip);

	/* STD; REP STOSD: 3 dwords downwards from 0x3000:0x20. */
	memset(&regs, 0, sizeof(regs));
	regs.rax = 0x11223344;
	regs.rcx = 3;
	regs.rdi = 0x20;
	r = mmio_case(vcpufd, run, mem, stosd_down, sizeof(stosd_down), &regs,
		      0, 0x3000, 0);
	for (i = 0; i < 12; i++)
		want[i] = 0x44 - 0x11 * (i % 4);
	check(!r && mmio_stored(0x30018, 12, want) && mmio_total() == 12,
	      "REP STOSD with DF=1: dwords at DI, DI-4, DI-8 (r %d, %u stored)",
	      r, mmio_total());
	check(!r && regs.rdi == 0x14 && regs.rcx == 0 && !(regs.rflags & 0x400),
	      "REP STOSD down: DI 0x14, CX 0 (di 0x%llx cx 0x%llx)",
	      (unsigned long long)regs.rdi, (unsigned long long)regs.rcx);

	/* REP MOVSW: 4 words from RAM at 0:0x5000 to MMIO at 0x3000:0x40. */
	for (i = 0; i < 8; i++)
		mem[MMIO_RAM_SRC + i] = (unsigned char)(0x90 + i * 3);
	memset(&regs, 0, sizeof(regs));
	regs.rcx = 4;
	regs.rsi = MMIO_RAM_SRC;
	regs.rdi = 0x40;
	r = mmio_case(vcpufd, run, mem, movsw, sizeof(movsw), &regs, 0, 0x3000, 0);
	check(!r && mmio_stored(0x30040, 8, mem + MMIO_RAM_SRC) &&
	      mmio_total() == 8,
	      "REP MOVSW RAM -> MMIO: the VMM got the 8 bytes of DS:SI (r %d, %u stored)",
	      r, mmio_total());
	check(!r && regs.rsi == MMIO_RAM_SRC + 8 && regs.rdi == 0x48 &&
	      regs.rcx == 0,
	      "REP MOVSW: SI and DI moved by 8, CX 0 (si 0x%llx di 0x%llx cx 0x%llx)",
	      (unsigned long long)regs.rsi, (unsigned long long)regs.rdi,
	      (unsigned long long)regs.rcx);

	/* REP MOVSD: 3 dwords from MMIO at 0x3000:0x80 to RAM at 0:0x6000. */
	memset(mem + MMIO_RAM_DST, 0, 16);
	memset(&regs, 0, sizeof(regs));
	regs.rcx = 3;
	regs.rsi = 0x80;
	regs.rdi = MMIO_RAM_DST;
	r = mmio_case(vcpufd, run, mem, movsd, sizeof(movsd), &regs, 0x3000, 0, 0);
	for (bad = 0, i = 0; i < 12; i++)
		bad += mem[MMIO_RAM_DST + i] != mmio_byte(0x30080 + i);
	check(!r && !bad && !mem[MMIO_RAM_DST + 12] && !mmio_total(),
	      "REP MOVSD MMIO -> RAM: the VMM's 12 bytes at ES:DI, seen at the HVA (r %d, %u wrong)",
	      r, bad);
	check(!r && regs.rsi == 0x8c && regs.rdi == MMIO_RAM_DST + 12 &&
	      regs.rcx == 0,
	      "REP MOVSD: SI and DI moved by 12, CX 0 (si 0x%llx di 0x%llx cx 0x%llx)",
	      (unsigned long long)regs.rsi, (unsigned long long)regs.rdi,
	      (unsigned long long)regs.rcx);

	/* LODSB, LODSD from FS:SI (FS base 0x30000; DS:SI would be RAM). */
	memset(&regs, 0, sizeof(regs));
	regs.rax = 0xffffffffffffffffULL;
	regs.rsi = 0x99;
	r = mmio_case(vcpufd, run, mem, lods, sizeof(lods), &regs, 0, 0, 0x3000);
	v = mmio_byte(0x3009a) | mmio_byte(0x3009b) << 8 |
	    (uint32_t)mmio_byte(0x3009c) << 16 |
	    (uint32_t)mmio_byte(0x3009d) << 24;
	check(!r && (regs.rbx & 0xff) == mmio_byte(0x30099) &&
	      (uint32_t)regs.rax == v && regs.rsi == 0x9e,
	      "LODSB, LODSD with FS override: AL 0x%02llx EAX 0x%08x SI 0x%llx (want 0x%02x 0x%08x 0x9e)",
	      (unsigned long long)(regs.rbx & 0xff), (uint32_t)regs.rax,
	      (unsigned long long)regs.rsi, mmio_byte(0x30099), v);

	/* MOVSB from MMIO 0x3000:0x100 to MMIO 0x3000:0x200. */
	memset(&regs, 0, sizeof(regs));
	regs.rsi = 0x100;
	regs.rdi = 0x200;
	r = mmio_case(vcpufd, run, mem, movsb, sizeof(movsb), &regs, 0x3000,
		      0x3000, 0);
	want[0] = mmio_byte(0x30100);
	check(!r && mmio_stored(0x30200, 1, want) && mmio_total() == 1 &&
	      regs.rsi == 0x101 && regs.rdi == 0x201,
	      "MOVSB MMIO -> MMIO: the loaded byte stored at ES:DI (r %d, %u stored, si 0x%llx di 0x%llx)",
	      r, mmio_total(), (unsigned long long)regs.rsi,
	      (unsigned long long)regs.rdi);

	/* REP MOVSB of 4 bytes to 0x1fff:0xe (0x1fffe): 2 in RAM, 2 in MMIO. */
	for (i = 0; i < 4; i++)
		mem[MMIO_RAM_SRC + 0x100 + i] = (unsigned char)(0xc0 + i);
	mem[MMIO_LO - 2] = 0;
	mem[MMIO_LO - 1] = 0;
	memset(&regs, 0, sizeof(regs));
	regs.rcx = 4;
	regs.rsi = MMIO_RAM_SRC + 0x100;
	regs.rdi = 0xe;
	r = mmio_case(vcpufd, run, mem, rep_movsb, sizeof(rep_movsb), &regs, 0,
		      0x1fff, 0);
	check(!r && mem[MMIO_LO - 2] == 0xc0 && mem[MMIO_LO - 1] == 0xc1,
	      "REP MOVSB RAM -> RAM then MMIO: the first 2 bytes in RAM (0x%02x 0x%02x)",
	      mem[MMIO_LO - 2], mem[MMIO_LO - 1]);
	check(!r && mmio_stored(MMIO_LO, 2, mem + MMIO_RAM_SRC + 0x102) &&
	      mmio_total() == 2 && regs.rcx == 0 && regs.rdi == 0x12,
	      "...and the last 2 to the VMM, CX 0 (r %d, %u stored, di 0x%llx)",
	      r, mmio_total(), (unsigned long long)regs.rdi);

	/* MOVSD from MMIO 0x3000:0x300 to RAM at 0x6ffe, across a page. */
	memset(mem + 0x6ffc, 0, 8);
	memset(&regs, 0, sizeof(regs));
	regs.rsi = 0x300;
	regs.rdi = 0x6ffe;
	r = mmio_case(vcpufd, run, mem, movsd1, sizeof(movsd1), &regs, 0x3000,
		      0, 0);
	for (bad = 0, i = 0; i < 4; i++)
		bad += mem[0x6ffe + i] != mmio_byte(0x30300 + i);
	check(!r && !bad && !mem[0x6ffd] && !mem[0x7002] &&
	      regs.rdi == 0x7002,
	      "MOVSD MMIO -> RAM across a page: the 4 bytes at 0x6ffe-0x7001, no internal error (r %d, %u wrong, di 0x%llx)",
	      r, bad, (unsigned long long)regs.rdi);
}

/* The CPL 3 guest: 32-bit paging, its own VM. */
#define PG_MEM		0x20000
#define PG_CODE		0x1000	/* user page: the snippets, then the handler */
#define PG_GDT		0x2000
#define PG_IDT		0x3000
#define PG_TSS		0x4000
#define PG_PD		0x5000
#define PG_PT		0x6000
#define PG_KSTACK	0x8000	/* top of the supervisor page 0x7000 */
#define PG_USTACK	0x9000	/* top of the user page 0x8000 */
#define PG_SUP		0xa000	/* supervisor data */
#define PG_NP		0xb000	/* not present */
#define PG_USER		0xc000	/* user data, PTE without A and D */
#define PG_MMIO_VA	0xd000	/* user, at GPA PG_MMIO_GPA: no memslot */
#define PG_MMIO_GPA	0x30000
#define PG_USER2	0xe000	/* user data, PTE without A and D */
#define PG_NOTABLE	0x400000 /* user, under a PDE whose PT has no memslot */
#define PG_NOTABLE_PT	0x50000
#define PG_INSB		0x00	/* snippet offsets in the code page */
#define PG_OUTSB	0x10
#define PG_INSW		0x20
#define PG_MOVSB	0x30
#define PG_HANDLER	0x40
#define PG_MOVSW	0x50
#define PG_PORT_PF	0x11
#define PG_PORT_DONE	0x12
#define PTE_P		0x1u
#define PTE_RW		0x2u
#define PTE_US		0x4u
#define PTE_A		0x20u
#define PTE_D		0x40u

static const unsigned char pg_code[] = {
	[PG_INSB] = 0x6c,		/* insb (%dx), %es:(%edi) */
	0xe6, PG_PORT_DONE,		/* out %al, $PG_PORT_DONE */
	0xeb, 0xfe,			/* jmp . */
	[PG_OUTSB] = 0x6e,		/* outsb %ds:(%esi), (%dx) */
	0xe6, PG_PORT_DONE,
	0xeb, 0xfe,
	[PG_INSW] = 0x66, 0x6d,		/* insw (%dx), %es:(%edi) */
	0xe6, PG_PORT_DONE,
	0xeb, 0xfe,
	[PG_MOVSB] = 0xa4,		/* movsb %ds:(%esi), %es:(%edi) */
	0xe6, PG_PORT_DONE,
	0xeb, 0xfe,
	/* #PF, CPL 0: EDX = error code, ESI = CR2 */
	[PG_HANDLER] = 0x5a,		/* pop %edx */
	0x0f, 0x20, 0xd6,		/* mov %cr2, %esi */
	0xe6, PG_PORT_PF,		/* out %al, $PG_PORT_PF */
	0xeb, 0xfe,
	[PG_MOVSW] = 0x66, 0xa5,	/* movsw %ds:(%esi), %es:(%edi) */
	0xe6, PG_PORT_DONE,
	0xeb, 0xfe,
};

/* What one CPL 3 case ended with. */
struct pg_result {
	int port;		/* PG_PORT_*, or -1: another exit */
	unsigned int ins, outs;	/* exits for the data port on the way */
	unsigned int loads;	/* MMIO load exits on the way */
	uint32_t reason;
	struct kvm_regs regs;
};

static void pg_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
	s->dpl = sel & 3;
}

/*
 * Run the snippet at @off at CPL 3 with IOPL 3, EDI/ESI = @edi/@esi and
 * DX = PORT, answering IN exits on PORT with 0xee bytes and MMIO loads
 * with 0xcd bytes, until the guest
 * reports on PG_PORT_PF or PG_PORT_DONE (or anything else happens).
 */
static int pg_case(int vcpufd, struct kvm_run *run, unsigned int off,
		   uint32_t edi, uint32_t esi, struct pg_result *res)
{
	struct kvm_sregs s;
	struct kvm_regs regs;
	unsigned int i;
	long r;

	memset(res, 0, sizeof(*res));
	res->port = -1;
	if (kvmmu_ioctl(vcpufd, KVM_GET_SREGS, (unsigned long)&s))
		return -1;
	pg_seg(&s.cs, 0x1b, 11);
	pg_seg(&s.ds, 0x23, 3);
	s.es = s.ds;
	s.fs = s.ds;
	s.gs = s.ds;
	s.ss = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = 0x28;
	s.tr.base = PG_TSS;
	s.tr.limit = 0x67;
	/*
	 * A 32-bit TSS, "available" in the cached type: QEMU's TCG reads
	 * SS0:ESP0 only from type 1 or 9 (get_ss_esp_from_tss()) and
	 * aborts on the busy type that LTR would leave in memory.
	 */
	s.tr.type = 9;
	s.tr.present = 1;
	s.gdt.base = PG_GDT;
	s.gdt.limit = 0x2f;
	s.idt.base = PG_IDT;
	s.idt.limit = 0x7ff;
	s.cr0 = 0x80010011;	/* PG WP ET PE */
	s.cr3 = PG_PD;
	s.cr4 = 0;
	s.efer = 0;
	if (kvmmu_ioctl(vcpufd, KVM_SET_SREGS, (unsigned long)&s))
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = PG_CODE + off;
	regs.rsp = PG_USTACK;
	regs.rflags = 0x3002;	/* IOPL 3 */
	regs.rdx = PORT;
	regs.rdi = edi;
	regs.rsi = esi;
	if (kvmmu_ioctl(vcpufd, KVM_SET_REGS, (unsigned long)&regs))
		return -1;
	for (i = 0; i < 16; i++) {
		r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);
		if (r)
			return -1;
		res->reason = run->exit_reason;
		if (run->exit_reason == KVM_EXIT_MMIO &&
		    !run->mmio.is_write) {
			res->loads++;
			memset(run->mmio.data, 0xcd, sizeof(run->mmio.data));
			continue;
		}
		if (run->exit_reason != KVM_EXIT_IO)
			return 0;
		if (run->io.port == PORT) {
			if (run->io.direction == KVM_EXIT_IO_IN) {
				res->ins++;
				memset((unsigned char *)run +
				       run->io.data_offset, 0xee,
				       run->io.size * run->io.count);
			} else {
				res->outs++;
			}
			continue;
		}
		res->port = run->io.port;
		return kvmmu_ioctl(vcpufd, KVM_GET_REGS,
				   (unsigned long)&res->regs) ? -1 : 0;
	}
	return 0;
}

/*
 * A CPL 3 case (@what) ended in the guest's #PF with @error and CR2 @cr2,
 * and @ok holds; the trailer says where it went instead.
 */
static void check_pf(int r, const struct pg_result *res, uint32_t error,
		     uint32_t cr2, int ok, const char *what)
{
	check(ok && !r && res->port == PG_PORT_PF && res->regs.rdx == error &&
	      res->regs.rsi == cr2,
	      "CPL 3 %s: #PF, error %u, CR2 %#x (port %#x exit %u error %#llx cr2 %#llx; %u IN, %u OUT, %u loads)",
	      what, error, cr2, res->port, res->reason,
	      (unsigned long long)res->regs.rdx,
	      (unsigned long long)res->regs.rsi, res->ins, res->outs,
	      res->loads);
}

static void pg_setup(unsigned char *mem)
{
	uint32_t *pt = (uint32_t *)(mem + PG_PT), *w;
	uint64_t *gdt = (uint64_t *)(mem + PG_GDT);
	uint32_t handler = PG_CODE + PG_HANDLER;
	unsigned int i;

	memcpy(mem + PG_CODE, pg_code, sizeof(pg_code));
	gdt[1] = 0x00cf9a000000ffffULL;	/* 0x08 code32 DPL 0 */
	gdt[2] = 0x00cf92000000ffffULL;	/* 0x10 data32 DPL 0 */
	gdt[3] = 0x00cffa000000ffffULL;	/* 0x18 code32 DPL 3 */
	gdt[4] = 0x00cff2000000ffffULL;	/* 0x20 data32 DPL 3 */
	/* Only #PF has a gate: any other exception ends in a shutdown. */
	w = (uint32_t *)(mem + PG_IDT + 14 * 8);
	w[0] = (handler & 0xffff) | (0x08 << 16);
	w[1] = (handler & 0xffff0000) | 0x8e00;	/* P, DPL 0, interrupt gate */
	w = (uint32_t *)(mem + PG_TSS);
	w[1] = PG_KSTACK;			/* ESP0 */
	w[2] = 0x10;				/* SS0 */
	*(uint32_t *)(mem + PG_PD) = PG_PT | PTE_P | PTE_RW | PTE_US;
	/* Identity, supervisor, A and D already set but where a test looks. */
	for (i = 1; i < PG_MEM / 4096; i++)
		pt[i] = (i << 12) | PTE_P | PTE_RW | PTE_A | PTE_D;
	pt[PG_CODE >> 12] |= PTE_US;
	pt[(PG_USTACK >> 12) - 1] |= PTE_US;
	pt[PG_NP >> 12] = 0;
	pt[PG_USER >> 12] = PG_USER | PTE_P | PTE_RW | PTE_US;
	pt[PG_MMIO_VA >> 12] = PG_MMIO_GPA | PTE_P | PTE_RW | PTE_US | PTE_A |
			       PTE_D;
	pt[PG_USER2 >> 12] = PG_USER2 | PTE_P | PTE_RW | PTE_US;
	((uint32_t *)(mem + PG_PD))[PG_NOTABLE >> 22] =
		PG_NOTABLE_PT | PTE_P | PTE_RW | PTE_US;
	memset(mem + PG_SUP, 0x5a, 4096);
}

static void run_cpl3(int devfd)
{
	struct pg_result res;
	struct test_vm vm;
	struct kvm_run *run;
	unsigned char *mem;
	int vcpufd, r;
	uint32_t pte;

	vm_create(devfd, PG_MEM, &vm);
	vcpufd = vm.vcpufd;
	run = vm.run;
	mem = vm.mem;
	pg_setup(mem);

	/* INSB at CPL 3 into a supervisor page. */
	r = pg_case(vcpufd, run, PG_INSB, PG_SUP + 0x10, 0, &res);
	check_pf(r, &res, 7, PG_SUP + 0x10, 1, "INSB into a supervisor page");
	check(mem[PG_SUP + 0x10] == 0x5a && res.regs.rdi == PG_SUP + 0x10,
	      "...the page unchanged (0x%02x), EDI not advanced (%#llx)",
	      mem[PG_SUP + 0x10], (unsigned long long)res.regs.rdi);
	check(res.ins <= 1 && !res.outs,
	      "...at most the one port read before it (%u IN, %u OUT exits)",
	      res.ins, res.outs);

	/* OUTSB at CPL 3 from a supervisor page. */
	r = pg_case(vcpufd, run, PG_OUTSB, 0, PG_SUP + 0x20, &res);
	check_pf(r, &res, 5, PG_SUP + 0x20, 1, "OUTSB from a supervisor page");
	check(!res.outs && !res.ins,
	      "...and no OUT exit: the byte never reaches the VMM (%u OUT exits)",
	      res.outs);

	/* INSB at CPL 3 into a page that is not present. */
	r = pg_case(vcpufd, run, PG_INSB, PG_NP + 0x30, 0, &res);
	check_pf(r, &res, 6, PG_NP + 0x30, 1, "INSB into a page not present");
	check(!mem[PG_NP + 0x30], "...nothing written behind it (0x%02x)",
	      mem[PG_NP + 0x30]);

	/* INSW at CPL 3 into a user page whose PTE has neither A nor D. */
	r = pg_case(vcpufd, run, PG_INSW, PG_USER + 0x40, 0, &res);
	check(!r && res.port == PG_PORT_DONE && res.ins == 1 &&
	      mem[PG_USER + 0x40] == 0xee && mem[PG_USER + 0x41] == 0xee &&
	      res.regs.rdi == PG_USER + 0x42,
	      "CPL 3 INSW into a user page: the word stored, EDI + 2 (port %#x exit %u, %u IN exits, edi %#llx)",
	      res.port, res.reason, res.ins,
	      (unsigned long long)res.regs.rdi);
	pte = ((uint32_t *)(mem + PG_PT))[PG_USER >> 12];
	check((pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	      "...and the guest PTE has A and D set, as the CPU would (pte %#x)",
	      pte);

	/* The same user page read by OUTSB: A kept, a clean D stays clean. */
	((uint32_t *)(mem + PG_PT))[PG_USER >> 12] =
		PG_USER | PTE_P | PTE_RW | PTE_US;
	r = pg_case(vcpufd, run, PG_OUTSB, 0, PG_USER + 0x40, &res);
	pte = ((uint32_t *)(mem + PG_PT))[PG_USER >> 12];
	check(!r && res.port == PG_PORT_DONE && res.outs == 1 &&
	      (pte & (PTE_A | PTE_D)) == PTE_A,
	      "CPL 3 OUTSB from a user page: done, the PTE gets A but not D (port %#x, %u OUT exits, pte %#x)",
	      res.port, res.outs, pte);

	/*
	 * String MMIO: a CPL 3 MOVSB from a device page into a supervisor
	 * page loads from the VMM, then the store is #PF 7 (KVM's emulator:
	 * the source read, then the destination's write faults).
	 */
	r = pg_case(vcpufd, run, PG_MOVSB, PG_SUP + 0x50, PG_MMIO_VA + 0x10,
		    &res);
	check_pf(r, &res, 7, PG_SUP + 0x50, mem[PG_SUP + 0x50] == 0x5a,
		 "MOVSB from MMIO into a supervisor page, the page unchanged");
	/* ...and into a user page with a clean PTE: stored, A and D set. */
	r = pg_case(vcpufd, run, PG_MOVSB, PG_USER2 + 0x60, PG_MMIO_VA + 0x20,
		    &res);
	pte = ((uint32_t *)(mem + PG_PT))[PG_USER2 >> 12];
	check(!r && res.port == PG_PORT_DONE && res.loads == 1 &&
	      mem[PG_USER2 + 0x60] == 0xcd &&
	      (pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	      "CPL 3 MOVSB from MMIO into a user page: the byte stored, A and D set in its PTE (port %#x exit %u, %u loads, pte %#x)",
	      res.port, res.reason, res.loads, pte);

	/*
	 * MOVSW from a device page to the last byte of a user page, the
	 * next one supervisor: #PF 7, CR2 the second page, after the load.
	 * kvmmu translates both pages first, so the first byte stays as it
	 * was; KVM's emulator_read_write() has written it by then.
	 */
	mem[PG_USER2 + 0xfff] = 0x11;
	r = pg_case(vcpufd, run, PG_MOVSW, PG_USER2 + 0xfff, PG_MMIO_VA + 0x40,
		    &res);
	check_pf(r, &res, 7, PG_USER2 + 0x1000, res.loads == 1 &&
		 (kvmmu_is_stock() || mem[PG_USER2 + 0xfff] == 0x11),
		 "MOVSW from MMIO across into a supervisor page, after the load, the first byte kept");

	/* INSW the same way: the port read, then #PF 7 on the second page. */
	r = pg_case(vcpufd, run, PG_INSW, PG_USER2 + 0xfff, 0, &res);
	check_pf(r, &res, 7, PG_USER2 + 0x1000, res.ins == 1 &&
		 (kvmmu_is_stock() || mem[PG_USER2 + 0xfff] == 0x11),
		 "INSW across into a supervisor page, after the IN exit, the first byte kept");

	/* The guest's page table is in no memslot: not present. */
	r = pg_case(vcpufd, run, PG_INSB, PG_NOTABLE + 0x10, 0, &res);
	check_pf(r, &res, 6, PG_NOTABLE + 0x10, res.ins <= 1,
		 "INSB under a page table in no memslot");
	r = pg_case(vcpufd, run, PG_OUTSB, 0, PG_NOTABLE + 0x20, &res);
	check_pf(r, &res, 4, PG_NOTABLE + 0x20, !res.outs,
		 "OUTSB under a page table in no memslot, no OUT exit");
	r = pg_case(vcpufd, run, PG_MOVSB, PG_NOTABLE + 0x30, PG_MMIO_VA + 0x30,
		    &res);
	check_pf(r, &res, 6, PG_NOTABLE + 0x30, res.loads == 1,
		 "MOVSB from MMIO under a page table in no memslot, after the load");

	munmap(run, vm.run_size);
	close(vcpufd);
	close(vm.vmfd);
	munmap(mem, PG_MEM);
}

int main(void)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct test_vm vm;
	struct kvm_run *run;
	int devfd, vcpufd;
	unsigned char *mem, *data;
	long r;

	signal(SIGALRM, on_alarm);
	alarm(60);
	printf("TAP version 13\n1..%d\n# device %s\n", NR_CHECKS,
	       kvmmu_dev_path());

	devfd = kvmmu_open_dev();
	if (devfd < 0)
		bail("open", devfd);
	vm_create(devfd, MEM_SIZE, &vm);
	vcpufd = vm.vcpufd;
	run = vm.run;
	mem = vm.mem;
	memcpy(mem + CODE_GPA, guest_code, sizeof(guest_code));
	mem[SRC_GPA] = 0x11;
	mem[SRC_GPA + 1] = 0x22;

	r = kvmmu_ioctl(vcpufd, KVM_GET_SREGS, (unsigned long)&sregs);
	if (r)
		bail("KVM_GET_SREGS", r);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	r = kvmmu_ioctl(vcpufd, KVM_SET_SREGS, (unsigned long)&sregs);
	if (r)
		bail("KVM_SET_SREGS", r);
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rflags = 2;
	r = kvmmu_ioctl(vcpufd, KVM_SET_REGS, (unsigned long)&regs);
	if (r)
		bail("KVM_SET_REGS", r);

	r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);
	check(!r && is_io(run, KVM_EXIT_IO_OUT),
	      "OUTSB exits as a 1-byte OUT to port 0x10, count 1 (r %ld, reason %u)",
	      r, run->exit_reason);
	data = (unsigned char *)run + run->io.data_offset;
	check(data[0] == 0x11, "OUTSB data is the byte at DS:SI (got 0x%02x)",
	      data[0]);

	r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);
	check(!r && is_io(run, KVM_EXIT_IO_IN),
	      "INSB exits as a 1-byte IN from port 0x10, count 1 (r %ld, reason %u)",
	      r, run->exit_reason);
	data = (unsigned char *)run + run->io.data_offset;
	*data = 0x77;

	r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);
	check(!r && is_io(run, KVM_EXIT_IO_OUT),
	      "REP OUTSB with CX=1 exits as one OUT (r %ld, reason %u)", r,
	      run->exit_reason);
	data = (unsigned char *)run + run->io.data_offset;
	check(data[0] == 0x22, "REP OUTSB data is the byte at DS:SI (got 0x%02x)",
	      data[0]);
	check(mem[DST_GPA] == 0x77,
	      "INSB stored the VMM's byte at ES:DI, seen at the HVA (got 0x%02x)",
	      mem[DST_GPA]);

	r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);
	check(!r && run->exit_reason == KVM_EXIT_HLT, "then HLT (r %ld, reason %u)",
	      r, run->exit_reason);
	r = kvmmu_ioctl(vcpufd, KVM_GET_REGS, (unsigned long)&regs);
	check(!r, "KVM_GET_REGS");
	check((regs.rsi & 0xffff) == SRC_GPA + 2, "SI advanced twice (0x%llx)",
	      (unsigned long long)regs.rsi);
	check((regs.rdi & 0xffff) == DST_GPA + 1, "DI advanced once (0x%llx)",
	      (unsigned long long)regs.rdi);
	check((regs.rcx & 0xffff) == 0, "CX counted down to 0 (0x%llx)",
	      (unsigned long long)regs.rcx);
	check(regs.rip == CODE_GPA + sizeof(guest_code),
	      "RIP after HLT (0x%llx)", (unsigned long long)regs.rip);
	check(mem[SRC_GPA] == 0x11 && mem[SRC_GPA + 1] == 0x22,
	      "OUTS left guest memory alone");

	run_rep(vcpufd, run, mem);
	run_mmio_strings(vcpufd, run, mem);
	run_cpl3(devfd);
	return failed;
}
