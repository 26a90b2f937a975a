// SPDX-License-Identifier: GPL-2.0
/*
 * string_io_test - INS and OUTS (count 1) exit to the VMM as KVM_EXIT_IO.
 *
 * A real-mode guest does OUTSB from DS:SI, INSB to ES:DI and REP OUTSB with
 * CX=1, then halts. The test checks what the VMM sees (port, direction,
 * size, count, the byte read from guest memory), that the byte the VMM
 * supplies for INSB lands in guest memory at the HVA, and that SI, DI and
 * CX moved as the instructions define. Runs against stock kvm_amd (the
 * control) and kvmmu alike; TAP on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "lib/kvmmu_util.h"

#define MEM_SIZE	0x10000
#define CODE_GPA	0x1000
#define SRC_GPA		0x2000
#define DST_GPA		0x3000
#define PORT		0x10
#define NR_CHECKS	13

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

static int is_io(const struct kvm_run *run, int dir)
{
	return run->exit_reason == KVM_EXIT_IO && run->io.direction == dir &&
	       run->io.port == PORT && run->io.size == 1 &&
	       run->io.count == 1;
}

int main(void)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int devfd, vmfd, vcpufd;
	unsigned char *mem, *data;
	long r, sz;

	signal(SIGALRM, on_alarm);
	alarm(60);
	printf("TAP version 13\n1..%d\n# device %s\n", NR_CHECKS,
	       kvmmu_dev_path());

	devfd = kvmmu_open_dev();
	if (devfd < 0)
		bail("open", devfd);
	vmfd = kvmmu_create_vm(devfd, 0);
	if (vmfd < 0)
		bail("KVM_CREATE_VM", vmfd);
	mem = kvmmu_alloc(MEM_SIZE);
	if (!mem)
		bail("mmap", -ENOMEM);
	memcpy(mem + CODE_GPA, guest_code, sizeof(guest_code));
	mem[SRC_GPA] = 0x11;
	mem[SRC_GPA + 1] = 0x22;
	r = kvmmu_set_region(vmfd, 0, 0, 0, MEM_SIZE, (unsigned long)mem);
	if (r)
		bail("KVM_SET_USER_MEMORY_REGION", r);
	vcpufd = kvmmu_ioctl(vmfd, KVM_CREATE_VCPU, 0);
	if (vcpufd < 0)
		bail("KVM_CREATE_VCPU", vcpufd);
	sz = kvmmu_ioctl(devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED)
		bail("mmap kvm_run", -errno);

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
	return failed;
}
