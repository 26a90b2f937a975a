// SPDX-License-Identifier: GPL-2.0
/*
 * kvmmu-demo - the smallest VMM that shows what kvmmu is for.
 *
 * It registers the project's seed example, guest physical page 0xa000
 * backed by a buffer in this process, and prints the module's debugfs view
 * of the VM, which answers "which host virtual address backs this guest
 * physical address?". Run by `make run` inside the test VM.
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
	strcpy((char *)buf, "hello from the host buffer");

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
	close(vm);
	close(kvm);
	return ret;
}
