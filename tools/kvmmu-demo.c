// SPDX-License-Identifier: GPL-2.0
/*
 * kvmmu-demo - the smallest VMM that shows what kvmmu is for.
 *
 * It registers the project's seed example, guest physical page 0xa000
 * backed by a buffer in this process, runs a real-mode guest that writes to
 * that page, checks that the write arrived in the buffer, and prints the
 * module's debugfs view of the VM: which host virtual address (memslots) and
 * which host physical page (mappings) back GPA 0xa000. Run by `make run`.
 *
 * Usage: kvmmu-demo [device]   (default /dev/kvmmu)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#define DEMO_GPA	0xa000ULL
#define DEMO_SIZE	0x1000ULL
#define CODE_GPA	0x1000ULL
#define CODE_SIZE	0x9000ULL	/* GPA 0x1000-0x9fff, below the demo page */

/* movb $0x42, 0xa000; mov $0x10, %dx; ... out %al, $0x10; hlt (16-bit) */
static const unsigned char guest_code[] = {
	0xc6, 0x06, 0x00, 0xa0, 0x42,	/* movb $0x42, (0xa000) */
	0xb0, 0x01,			/* mov $1, %al */
	0xe6, 0x10,			/* out %al, $0x10 */
	0xf4,				/* hlt */
};

static void show(const char *path, const char *match)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return;
	}
	printf("%s, GPA -> HPA pfn, level, w/a/d:\n", path);
	while (fgets(line, sizeof(line), f)) {
		if (!match || !strncmp(line, match, strlen(match)) ||
		    !strncmp(line, "pages_", 6))
			fputs(line, stdout);
	}
	fclose(f);
}

/* Slot 1 holds the guest's code; one vCPU runs it in real mode. */
static int run_guest(int kvm, int vm, unsigned char *buf)
{
	struct kvm_userspace_memory_region mem = {
		.slot = 1, .guest_phys_addr = CODE_GPA,
		.memory_size = CODE_SIZE,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	unsigned char *code;
	int vcpu, size;

	code = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return perror("mmap"), 1;
	memcpy(code, guest_code, sizeof(guest_code));
	mem.userspace_addr = (unsigned long)code;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem))
		return perror("KVM_SET_USER_MEMORY_REGION (code)"), 1;

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		return perror("KVM_CREATE_VCPU"), 1;
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return perror("mmap kvm_run"), 1;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return perror("KVM_GET_SREGS"), 1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		return perror("KVM_SET_SREGS"), 1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		return perror("KVM_SET_REGS"), 1;

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0))
			return perror("KVM_RUN"), 1;
		if (run->exit_reason == KVM_EXIT_IO)
			printf("guest: OUT to port 0x%x\n", run->io.port);
		else if (run->exit_reason == KVM_EXIT_HLT)
			break;
		else
			return fprintf(stderr, "unexpected exit %u\n",
				       run->exit_reason), 1;
	}
	printf("guest wrote 0x%02x to GPA 0xa000; the host buffer at %p now holds 0x%02x: %s\n",
	       0x42, (void *)buf, buf[0], buf[0] == 0x42 ? "same page" : "MISMATCH");
	return buf[0] != 0x42;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvmmu";
	struct kvm_userspace_memory_region mem;
	char path[128], line[256];
	int kvm, vm, ret = 1;
	unsigned char *buf;
	FILE *f;

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	printf("%s: KVM API version %d, %d memslots per address space\n", dev,
	       ioctl(kvm, KVM_GET_API_VERSION, 0),
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS));

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		perror("KVM_CREATE_VM");
		return 1;
	}

	buf = mmap(NULL, DEMO_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	memset(&mem, 0, sizeof(mem));
	mem.slot = 0;
	mem.guest_phys_addr = DEMO_GPA;
	mem.memory_size = DEMO_SIZE;
	mem.userspace_addr = (unsigned long)buf;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem)) {
		perror("KVM_SET_USER_MEMORY_REGION");
		return 1;
	}
	printf("registered slot 0: GPA 0x%llx -> HVA %p (%llu bytes)\n",
	       DEMO_GPA, (void *)buf, DEMO_SIZE);

	if (run_guest(kvm, vm, buf))
		return 1;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmmu/%d-%d/memslots",
		 getpid(), vm);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("%s:\n", path);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long gpa_start, gpa_end, hva_start, hva_end;

		fputs(line, stdout);
		if (sscanf(line, "%*u %*u 0x%llx-0x%llx 0x%llx-0x%llx",
			   &gpa_start, &gpa_end, &hva_start, &hva_end) == 4 &&
		    gpa_start <= DEMO_GPA && DEMO_GPA <= gpa_end &&
		    hva_start + (DEMO_GPA - gpa_start) == (unsigned long)buf)
			ret = 0;
	}
	fclose(f);
	printf(ret ? "debugfs does NOT show GPA 0xa000 at the buffer\n" :
	       "debugfs agrees: GPA 0xa000 is backed by HVA %p\n", (void *)buf);
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmmu/%d-%d/mappings",
		 getpid(), vm);
	show(path, "0x000000000000a000 ");
	close(vm);
	close(kvm);
	return ret;
}
