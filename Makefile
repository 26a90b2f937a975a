# SPDX-License-Identifier: GPL-2.0
#
# User-facing entry points. The kernel build itself is described in Kbuild.
#
#   make                  build kvmmu.ko against the running kernel, and
#                         tools/ (gpa-pagemap, kvmmu-demo)
#   make KDIR=<tree>      ... against another kernel build tree
#   make MODNAME=kvm      build the same code as kvm.ko (/dev/kvm)
#   make W=1 C=1          extra warnings, sparse
#   make selftests        static userspace tests into build/selftests
#   make lint             checkpatch --strict, W=1 and sparse on every kernel
#   make check            the whole harness on every kernel (KERNELS=, T=)
#   make run              boot a VM and run the demo VMM
#   make run-qemu         boot a VM, run Debian's QEMU on the module and
#                         show its guest's GPA -> HVA -> HPA (gpa-pagemap)
#   make vm-shell         boot a VM with the module loaded and a shell
#   make bench            benchmarks beside stock kvm_amd
#   make fuzz             long fuzzing passes on the debug kernel
#                         (SEEDS="1 2 3" CALLS=1000000 GUESTS=2000)

KDIR    ?= /lib/modules/$(shell uname -r)/build
MODNAME ?= kvmmu
KERNELS ?= stock61 stock612 debug
T       ?=
export KERNELS T

all: modules tools

tools:
	$(MAKE) -C tools

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) MODNAME=$(MODNAME) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f tools/kvmmu-demo tools/gpa-pagemap
	rm -rf build

selftests:
	$(MAKE) -C tests/selftests OUT=$(CURDIR)/build/selftests

lint:
	tests/vm/lint.sh

check:
	tests/vm/check.sh

run:
	tests/vm/run-demo.sh

run-qemu:
	tests/vm/run-qemu-demo.sh

vm-shell:
	tests/vm/vm-shell.sh

bench:
	tests/vm/bench.sh

fuzz:
	FUZZ_SEEDS="$(or $(SEEDS),1 2 3 4)" FUZZ_CALLS=$(or $(CALLS),1000000) \
	FUZZ_GUESTS=$(or $(GUESTS),2000) KERNELS=$(or $(FUZZ_KERNEL),debug) \
	KVMMU_TEST_TIMEOUT=14400 KVMMU_VM_TIMEOUT=15000 T=kvmmu.fuzz \
	tests/vm/check.sh

.PHONY: all modules tools clean selftests lint check run run-qemu vm-shell bench fuzz
