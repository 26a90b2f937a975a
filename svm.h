/* SPDX-License-Identifier: GPL-2.0 */
/* svm.h - what svm.c needs from svm_vmenter.S. */
#ifndef KVMMU_SVM_H
#define KVMMU_SVM_H

#include <linux/types.h>

void __kvmmu_svm_run(u64 vmcb_pa, unsigned long *regs, u64 host_pa);

#endif /* KVMMU_SVM_H */
