// SPDX-License-Identifier: GPL-2.0
/*
 * control_guest - the smallest VMM that proves a guest really runs.
 *
 * It runs unchanged against stock kvm_amd (the control: if this fails
 * there, the VM harness is broken, not our module) and against kvmmu.
 * One 64 KiB memslot at GPA 0 backed by anonymous memory holds a
 * real-mode guest at 0x1000 that
 *
 *   writes 0x5a to GPA 0x2000        (guest -> host through memory)
 *   outb 0x42 to port 0x10           (KVM_EXIT_IO)
 *   reads GPA 0x3000, outb it to 0x11 (host -> guest through memory)
 *   hlt                              (KVM_EXIT_HLT, no in-kernel irqchip)
 *
 * Real-mode guests signal with 8-bit port IO only (see REFERENCE.md:
 * 32-bit OUT in real mode under TCG delivers stale upper bytes).  RIP is
 * checked too: KVM reports an OUT exit with RIP still on the OUT and
 * skips it on the next KVM_RUN (complete_fast_pio_out), and skips HLT
 * before exiting.  Output is TAP; an alarm() bounds the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmmu_util.h"

#define MEM_SIZE	0x10000UL
#define CODE_GPA	0x1000UL
#define OUT_GPA		0x2000UL	/* guest writes here */
#define IN_GPA		0x3000UL	/* host writes here */
#define GUEST_BYTE	0x5a
#define HOST_BYTE	0xa7
#define PORT_A		0x10
#define PORT_B		0x11
#define TIMEOUT_S	60
#define NR_CHECKS	17

static const uint8_t guest_code[] = {
	0xc6, 0x06, 0x00, 0x20, GUEST_BYTE,	/* movb $0x5a, 0x2000 */
	0xb0, 0x42,				/* mov $0x42, %al */
	0xe6, PORT_A,				/* out %al, $0x10 */
	0xa0, 0x00, 0x30,			/* mov 0x3000, %al */
	0xe6, PORT_B,				/* out %al, $0x11 */
	0xf4,					/* hlt */
};

#define RIP_OUT_A	(CODE_GPA + 7)
#define RIP_END		(CODE_GPA + sizeof(guest_code))

static int test_nr;
static int failed;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++test_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failed = 1;
}

static _Noreturn void bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* check() that bails out when a later check would be meaningless. */
#define REQUIRE(cond, ...) do {				\
	int ok_ = !!(cond);				\
	check(ok_, __VA_ARGS__);			\
	if (!ok_)					\
		bail("check %d failed", test_nr);	\
} while (0)

static void on_alarm(int sig)
{
	static const char msg[] = "Bail out! timeout: KVM_RUN never returned\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void describe_exit(const struct kvm_run *run)
{
	printf("# exit_reason %u", run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		printf(" io dir %u size %u port 0x%x count %u off 0x%llx",
		       run->io.direction, run->io.size, run->io.port,
		       run->io.count, (unsigned long long)run->io.data_offset);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		printf(" hardware_entry_failure_reason 0x%llx",
		       (unsigned long long)
		       run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		printf(" suberror %u", run->internal.suberror);
		break;
	case KVM_EXIT_MMIO:
		printf(" mmio gpa 0x%llx len %u write %u",
		       (unsigned long long)run->mmio.phys_addr,
		       run->mmio.len, run->mmio.is_write);
		break;
	}
	printf("\n");
}

static uint64_t get_rip(int vcpufd)
{
	struct kvm_regs regs;

	if (ioctl(vcpufd, KVM_GET_REGS, &regs))
		bail("KVM_GET_REGS: %s", strerror(errno));
	return regs.rip;
}

/* KVM_RUN: 0 or -errno; bails out on an error unless @nr is 0. */
static long run_vcpu(int vcpufd, struct kvm_run *run, int nr)
{
	long r = kvmmu_ioctl(vcpufd, KVM_RUN, 0);

	if (r && nr)
		bail("KVM_RUN %d: %s", nr, strerror((int)-r));
	if (!r)
		describe_exit(run);
	return r;
}

static uint8_t io_byte(const struct kvm_run *run, size_t mmap_size)
{
	if (run->io.data_offset + 1 > mmap_size)
		bail("io.data_offset 0x%llx outside the %zu-byte mmap",
		     (unsigned long long)run->io.data_offset, mmap_size);
	return *((const uint8_t *)run + run->io.data_offset);
}

static int is_out_byte(const struct kvm_run *run, uint16_t port)
{
	return run->exit_reason == KVM_EXIT_IO &&
	       run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.port == port && run->io.size == 1 &&
	       run->io.count == 1;
}

static void set_real_mode_seg(struct kvm_segment *s)
{
	s->base = 0;
	s->selector = 0;
}

int main(void)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int devfd, vmfd, vcpufd, r;
	long mmap_size;
	uint8_t *mem;
	uint64_t rip;

	signal(SIGALRM, on_alarm);
	alarm(TIMEOUT_S);

	printf("TAP version 13\n1..%d\n", NR_CHECKS);
	printf("# device %s\n", kvmmu_dev_path());

	devfd = kvmmu_open_dev();
	REQUIRE(devfd >= 0, "open %s (%s)", kvmmu_dev_path(),
		devfd < 0 ? strerror(-devfd) : "ok");

	r = kvmmu_ioctl(devfd, KVM_GET_API_VERSION, 0);
	REQUIRE(r == KVM_API_VERSION, "KVM_GET_API_VERSION is %d (got %d)",
		KVM_API_VERSION, r);

	vmfd = kvmmu_create_vm(devfd, 0);
	REQUIRE(vmfd >= 0, "KVM_CREATE_VM(0) (%s)",
		vmfd < 0 ? strerror(-vmfd) : "ok");

	mem = kvmmu_alloc(MEM_SIZE);
	if (!mem)
		bail("mmap of guest memory failed");
	memcpy(mem + CODE_GPA, guest_code, sizeof(guest_code));
	mem[IN_GPA] = HOST_BYTE;

	r = kvmmu_set_region(vmfd, 0, 0, 0, MEM_SIZE,
			     (uint64_t)(unsigned long)mem);
	REQUIRE(!r, "KVM_SET_USER_MEMORY_REGION 64 KiB at GPA 0 (%s)",
		r ? strerror(-r) : "ok");

	vcpufd = kvmmu_ioctl(vmfd, KVM_CREATE_VCPU, 0);
	REQUIRE(vcpufd >= 0, "KVM_CREATE_VCPU 0 (%s)",
		vcpufd < 0 ? strerror(-vcpufd) : "ok");

	mmap_size = kvmmu_ioctl(devfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = MAP_FAILED;
	if (mmap_size >= (long)sizeof(*run))
		run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED, vcpufd, 0);
	REQUIRE(run != MAP_FAILED,
		"mmap kvm_run, KVM_GET_VCPU_MMAP_SIZE %ld >= %zu",
		mmap_size, sizeof(*run));

	r = kvmmu_ioctl(vcpufd, KVM_GET_SREGS, (unsigned long)&sregs);
	if (!r) {
		set_real_mode_seg(&sregs.cs);
		set_real_mode_seg(&sregs.ds);
		set_real_mode_seg(&sregs.es);
		set_real_mode_seg(&sregs.ss);
		r = kvmmu_ioctl(vcpufd, KVM_SET_SREGS, (unsigned long)&sregs);
	}
	if (!r)
		r = kvmmu_ioctl(vcpufd, KVM_GET_REGS, (unsigned long)&regs);
	if (!r) {
		regs.rip = CODE_GPA;
		regs.rflags = 0x2;
		r = kvmmu_ioctl(vcpufd, KVM_SET_REGS, (unsigned long)&regs);
	}
	REQUIRE(!r, "real mode, CS base 0 selector 0, RIP 0x%lx (%s)",
		CODE_GPA, r ? strerror(-r) : "ok");

	/* Exit 1: outb 0x42 to port 0x10. */
	r = run_vcpu(vcpufd, run, 0);
	REQUIRE(r == 0, "KVM_RUN 1 returned 0 (%s)", r ? strerror(-r) : "ok");
	REQUIRE(run->exit_reason == KVM_EXIT_IO,
		"exit 1 is KVM_EXIT_IO (got %u)", run->exit_reason);
	REQUIRE(is_out_byte(run, PORT_A),
		"exit 1 is a 1-byte OUT to port 0x%x, count 1", PORT_A);
	check(io_byte(run, mmap_size) == 0x42,
	      "exit 1 data at io.data_offset is 0x42 (got 0x%02x)",
	      io_byte(run, mmap_size));
	check(mem[OUT_GPA] == GUEST_BYTE,
	      "guest's write to GPA 0x%lx is seen at the HVA (0x%02x)",
	      OUT_GPA, mem[OUT_GPA]);
	rip = get_rip(vcpufd);
	check(rip == RIP_OUT_A,
	      "RIP at the OUT exit is the OUT itself, 0x%lx (got 0x%llx)",
	      RIP_OUT_A, (unsigned long long)rip);

	/* Exit 2: the byte the host put at GPA 0x3000, to port 0x11. */
	run_vcpu(vcpufd, run, 2);
	REQUIRE(is_out_byte(run, PORT_B),
		"exit 2 is a 1-byte OUT to port 0x%x (got reason %u)",
		PORT_B, run->exit_reason);
	check(io_byte(run, mmap_size) == HOST_BYTE,
	      "guest read the host's 0x%02x at GPA 0x%lx (got 0x%02x)",
	      HOST_BYTE, IN_GPA, io_byte(run, mmap_size));

	/* Exit 3: hlt. */
	run_vcpu(vcpufd, run, 3);
	REQUIRE(run->exit_reason == KVM_EXIT_HLT,
		"exit 3 is KVM_EXIT_HLT (got %u)", run->exit_reason);
	rip = get_rip(vcpufd);
	check(rip == RIP_END, "RIP after HLT is 0x%lx (got 0x%llx)",
	      (unsigned long)RIP_END, (unsigned long long)rip);

	munmap(run, mmap_size);
	close(vcpufd);
	close(vmfd);
	close(devfd);

	if (test_nr != NR_CHECKS)
		bail("ran %d checks, planned %d", test_nr, NR_CHECKS);
	return failed;
}
