// SPDX-License-Identifier: GPL-2.0
/*
 * guest32: the register-driven 32-bit test guest and host-side probes
 * (/proc files, our debugfs mappings/stats). See guest32.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest32.h"
#include "kvmmu_util.h"

#define S_(x) #x
#define S(x) S_(x)

/*
 * The guest's code (g32_code_start..g32_code_end, declared in guest32.h),
 * assembled as 32-bit code into .rodata and copied to the code page. Only
 * relative jumps: it runs at any address.
 */

#define OP(n, insn)						\
	"	cmp $" S(n) ", %eax\n"				\
	"	jne 1f\n"					\
	"	" insn "\n"					\
	"	jmp .Lg32_done\n"				\
	"1:\n"

asm(".pushsection .rodata.g32, \"a\"\n"
	".balign 16\n"
	".globl g32_code_start\n"
	".globl g32_code_end\n"
	"g32_code_start:\n"
	".code32\n"
	OP(G32_R32, "mov (%ebx), %ecx")
	OP(G32_W32, "mov %ecx, (%ebx)")
	OP(G32_R8, "mov (%ebx), %cl")
	OP(G32_W8, "mov %cl, (%ebx)")
	OP(G32_R16, "mov (%ebx), %cx")
	OP(G32_W16, "mov %cx, (%ebx)")
	OP(G32_W32I, "movl $" S(G32_IMM32) ", (%ebx)")
	OP(G32_W8I, "movb $" S(G32_IMM8) ", (%ebx)")
	OP(G32_ZX8, "movzbl (%ebx), %ecx")
	OP(G32_ZX16, "movzwl (%ebx), %ecx")
	OP(G32_SX8, "movsbl (%ebx), %ecx")
	OP(G32_SX16, "movswl (%ebx), %ecx")
	"	cmp $" S(G32_FILL) ", %eax\n"
	"	jne 3f\n"
	"	test %edx, %edx\n"
	"	jz .Lg32_done\n"
	"2:	mov %ecx, (%ebx)\n"
	"	inc %ecx\n"
	"	add $0x1000, %ebx\n"
	"	dec %edx\n"
	"	jnz 2b\n"
	"	jmp .Lg32_done\n"
	"3:	cmp $" S(G32_SUM) ", %eax\n"
	"	jne .Lg32_done\n"
	"	xor %esi, %esi\n"
	"	test %edx, %edx\n"
	"	jz .Lg32_done\n"
	"4:	mov (%ebx), %edi\n"
	"	add %edi, %esi\n"
	"	add $0x1000, %ebx\n"
	"	dec %edx\n"
	"	jnz 4b\n"
	".Lg32_done:\n"
	"	out %al, $" S(G32_PORT) "\n"
	"	jmp g32_code_start\n"
	".code64\n"
	"g32_code_end:\n"
	".popsection\n");

int g32_vm_create(struct g32_vm *vm)
{
	size_t len = g32_code_end - g32_code_start;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->devfd = -1;
	vm->vmfd = -1;
	if (len > G32_PAGE)
		return -E2BIG;
	vm->devfd = kvmmu_open_dev();
	if (vm->devfd < 0) {
		r = vm->devfd;
		goto err;
	}
	vm->run_size = kvmmu_ioctl(vm->devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (long)sizeof(struct kvm_run)) {
		r = vm->run_size < 0 ? (int)vm->run_size : -EPROTO;
		goto err;
	}
	vm->vmfd = kvmmu_create_vm(vm->devfd, 0);
	if (vm->vmfd < 0) {
		r = vm->vmfd;
		goto err;
	}
	vm->code = kvmmu_alloc(G32_PAGE);
	if (!vm->code) {
		r = -ENOMEM;
		goto err;
	}
	memcpy(vm->code, g32_code_start, len);
	r = kvmmu_set_region(vm->vmfd, G32_CODE_SLOT, 0, G32_CODE_GPA,
			     G32_PAGE, (uint64_t)(unsigned long)vm->code);
	if (r)
		goto err;
	return 0;
err:
	g32_vm_destroy(vm);
	return r;
}

void g32_vm_destroy(struct g32_vm *vm)
{
	if (vm->vmfd >= 0)
		close(vm->vmfd);
	if (vm->devfd >= 0)
		close(vm->devfd);
	if (vm->code)
		munmap(vm->code, G32_PAGE);
	vm->vmfd = -1;
	vm->devfd = -1;
	vm->code = NULL;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = 1;
	s->s = 1;
	s->l = 0;
	s->g = 1;
}

int g32_vcpu_create(struct g32_vm *vm, struct g32_vcpu *v, int id)
{
	struct kvm_sregs sregs;
	void *run;
	int r;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = kvmmu_ioctl(vm->vmfd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return v->fd;
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   v->fd, 0);
	if (run == MAP_FAILED) {
		r = -errno;
		goto err;
	}
	v->run = run;
	r = kvmmu_ioctl(v->fd, KVM_GET_SREGS, (unsigned long)&sregs);
	if (r)
		goto err;
	flat_seg(&sregs.cs, 0x08, 0xb);	/* code, execute/read, accessed */
	flat_seg(&sregs.ds, 0x10, 0x3);	/* data, read/write, accessed */
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.cr0 = 0x11;		/* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	r = kvmmu_ioctl(v->fd, KVM_SET_SREGS, (unsigned long)&sregs);
	if (r)
		goto err;
	return 0;
err:
	g32_vcpu_destroy(v);
	return r;
}

void g32_vcpu_destroy(struct g32_vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

int g32_start(struct g32_vcpu *v, uint32_t op, uint32_t ebx, uint32_t ecx,
	      uint32_t edx)
{
	struct kvm_regs regs;
	int r;

	r = kvmmu_ioctl(v->fd, KVM_GET_REGS, (unsigned long)&regs);
	if (r)
		return r;
	regs.rax = op;
	regs.rbx = ebx;
	regs.rcx = ecx;
	regs.rdx = edx;
	regs.rsi = 0;
	regs.rdi = 0;
	regs.rip = G32_CODE_GPA;
	regs.rflags = 0x2;
	v->op = op;
	return kvmmu_ioctl(v->fd, KVM_SET_REGS, (unsigned long)&regs);
}

int g32_run(struct g32_vcpu *v)
{
	struct kvm_run *run = v->run;
	long r = kvmmu_ioctl(v->fd, KVM_RUN, 0);

	if (r)
		return (int)r;
	if (run->exit_reason == KVM_EXIT_MMIO)
		return G32_MMIO;
	if (run->exit_reason == KVM_EXIT_IO &&
	    run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 1 &&
	    run->io.port == G32_PORT && run->io.count == 1 &&
	    run->io.data_offset < (uint64_t)v->vm->run_size &&
	    *((uint8_t *)run + run->io.data_offset) == (uint8_t)v->op)
		return G32_DONE;
	return G32_OTHER;
}

int g32_do(struct g32_vcpu *v, uint32_t op, uint32_t ebx, uint32_t ecx,
	   uint32_t edx)
{
	int r = g32_start(v, op, ebx, ecx, edx);

	return r ? r : g32_run(v);
}

int g32_regs(struct g32_vcpu *v, struct kvm_regs *regs)
{
	return kvmmu_ioctl(v->fd, KVM_GET_REGS, (unsigned long)regs);
}

uint32_t g32_ecx(struct g32_vcpu *v)
{
	struct kvm_regs regs;

	return g32_regs(v, &regs) ? 0xdeadbad0 : (uint32_t)regs.rcx;
}

uint32_t g32_esi(struct g32_vcpu *v)
{
	struct kvm_regs regs;

	return g32_regs(v, &regs) ? 0xdeadbad0 : (uint32_t)regs.rsi;
}

const char *g32_exit_str(struct g32_vcpu *v)
{
	static __thread char buf[160];
	struct kvm_run *run = v->run;
	struct kvm_regs regs;
	unsigned long long rip = 0;

	if (!g32_regs(v, &regs))
		rip = regs.rip;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, sizeof(buf),
			 "IO dir %u size %u port 0x%x count %u rip 0x%llx",
			 run->io.direction, run->io.size, run->io.port,
			 run->io.count, rip);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, sizeof(buf),
			 "MMIO gpa 0x%llx len %u write %u rip 0x%llx",
			 (unsigned long long)run->mmio.phys_addr,
			 run->mmio.len, run->mmio.is_write, rip);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, sizeof(buf),
			 "INTERNAL_ERROR suberror %u rip 0x%llx",
			 run->internal.suberror, rip);
		break;
	default:
		snprintf(buf, sizeof(buf), "exit_reason %u rip 0x%llx",
			 run->exit_reason, rip);
	}
	return buf;
}

/* ---- host side ---- */

static long field_kb(const char *path, const char *field)
{
	size_t flen = strlen(field);
	char line[256];
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			v = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

long g32_meminfo_kb(const char *field)
{
	return field_kb("/proc/meminfo", field);
}

long g32_status_kb(const char *field)
{
	return field_kb("/proc/self/status", field);
}

long g32_smaps_kb(const void *addr, const char *field)
{
	unsigned long a = (unsigned long)addr, lo, hi;
	size_t flen = strlen(field);
	bool in = false;
	char line[512];
	long v = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && !strncmp(line, field, flen) && line[flen] == ':') {
			v = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static int level_of(const char *s)
{
	if (!strcmp(s, "4K"))
		return 1;
	if (!strcmp(s, "2M"))
		return 2;
	if (!strcmp(s, "1G"))
		return 3;
	return 0;
}

int g32_read_mappings(int pid, int vmfd, struct g32_leaf *out, int max)
{
	unsigned long long gpa, pfn, cnt[3] = {}, want[3];
	int n = 0, r = 0, got = 0, pos;
	char path[160], line[256], lvl[8], fl[8];
	FILE *f;

	kvmmu_vm_debugfs_dir(path, sizeof(path) - 16, pid, vmfd);
	strcat(path, "/mappings");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (got < 3) {
			static const char *const names[] = {
				"pages_4k", "pages_2m", "pages_1g" };
			char name[16];

			if (sscanf(line, "%15s %llu", name, &want[got]) == 2 &&
			    !strcmp(name, names[got])) {
				got++;
				continue;
			}
			if (got) {
				r = -EPROTO;
				break;
			}
		} else {
			r = -EPROTO;	/* a line after the counts */
			break;
		}
		pos = 0;
		if (sscanf(line, "0x%llx 0x%llx %7s %7s%n", &gpa, &pfn, lvl,
			   fl, &pos) != 4 || line[pos] != '\n' ||
		    strlen(fl) != 3 || !level_of(lvl) ||
		    strncmp(line, "0x", 2) || line[18] != ' ') {
			fprintf(stderr, "# %s: bad line: %s", path, line);
			r = -EPROTO;
			break;
		}
		if (n < max) {
			out[n].gpa = gpa;
			out[n].pfn = pfn;
			out[n].level = level_of(lvl);
			memcpy(out[n].flags, fl, 4);
		}
		cnt[level_of(lvl) - 1]++;
		n++;
	}
	fclose(f);
	if (!r && got != 3)
		r = -EPROTO;
	if (!r && (cnt[0] != want[0] || cnt[1] != want[1] ||
		   cnt[2] != want[2])) {
		fprintf(stderr, "# %s: counts %llu/%llu/%llu, listed %llu/%llu/%llu\n",
			path, want[0], want[1], want[2], cnt[0], cnt[1],
			cnt[2]);
		r = -EPROTO;
	}
	return r ? r : n;
}

const struct g32_leaf *g32_find_leaf(const struct g32_leaf *l, int n,
				     uint64_t gpa)
{
	static const uint64_t size[] = { 1ULL << 12, 1ULL << 21, 1ULL << 30 };
	int i;

	for (i = 0; i < n; i++)
		if (gpa >= l[i].gpa && gpa < l[i].gpa + size[l[i].level - 1])
			return &l[i];
	return NULL;
}

long long g32_read_stat(int pid, int vmfd, const char *name)
{
	char path[160], line[128], key[64];
	long long v, r = -ENOENT;
	FILE *f;

	kvmmu_vm_debugfs_dir(path, sizeof(path) - 16, pid, vmfd);
	strcat(path, "/stats");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", key, &v) == 2 &&
		    !strcmp(key, name)) {
			r = v;
			break;
		}
	fclose(f);
	return r;
}

uint64_t g32_pagemap_pfn(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (off_t)((unsigned long)addr / G32_PAGE) * 8;

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), off) != sizeof(e))
		e = 0;
	close(fd);
	if (!(e & (1ULL << 63)))
		return 0;
	return e & ((1ULL << 55) - 1);
}

const char *_Atomic g32_step = "start";

static void on_alarm(int sig)
{
	const char *s = g32_step;
	static const char pre[] = "# timeout (alarm) in step: ";

	(void)sig;
	if (write(STDERR_FILENO, pre, sizeof(pre) - 1) < 0 ||
	    write(STDERR_FILENO, s, strlen(s)) < 0 ||
	    write(STDERR_FILENO, "\n", 1) < 0)
		_exit(1);
	_exit(1);
}

void g32_alarm(unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

void *g32_map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *g32_map_aligned(size_t len, size_t align)
{
	uint8_t *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + len), (uintptr_t)p + len + align - (a + len));
	return (void *)a;
}
