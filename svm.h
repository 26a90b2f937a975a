/* SPDX-License-Identifier: GPL-2.0 */
/* What the SVM backend needs from its VMRUN assembly. */
#ifndef KVMMU_SVM_H
#define KVMMU_SVM_H

#include <linux/types.h>

void __kvmmu_svm_run(u64 vmcb_pa, unsigned long *regs, u64 host_pa);

#endif /* KVMMU_SVM_H */
