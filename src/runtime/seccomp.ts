// The seccomp filter of an unprivileged sandbox. Docker's default profile is
// an allow-list (moby profiles/seccomp/default.json); cnm loads the inverse
// of what matters in it for a container holding Docker's default
// capabilities: the system calls that profile refuses such a container,
// refused here too (EPERM), and everything else allowed. Most of them also
// need a capability the sandbox lacks; the filter is the second wall, and the
// only one for the namespace calls (unshare and clone can create a user
// namespace without any capability, which is how most container escapes
// begin).
import type { OciSeccomp } from './oci-types.ts';

/** Refused outright. */
const DENIED = [
  // Kernel modules, kexec, reboot, swap, accounting, clock and kernel log.
  'init_module', 'finit_module', 'delete_module', 'create_module', 'query_module', 'get_kernel_syms',
  'kexec_load', 'kexec_file_load', 'reboot', 'swapon', 'swapoff', 'acct',
  'settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64', 'adjtimex', 'syslog',
  // Namespaces and mounts: a sandbox stays where it was put.
  'unshare', 'setns', 'mount', 'umount', 'umount2', 'pivot_root',
  'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  // Keys, BPF, perf, handles, other processes' memory, userfaultfd.
  'add_key', 'request_key', 'keyctl', 'bpf', 'perf_event_open', 'fanotify_init',
  'name_to_handle_at', 'open_by_handle_at', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'userfaultfd',
  'lookup_dcookie', 'quotactl', 'quotactl_fd', 'nfsservctl', 'uselib', 'ustat', 'sysfs', '_sysctl',
  'vm86', 'vm86old', 'iopl', 'ioperm', 'mbind', 'set_mempolicy', 'get_mempolicy', 'move_pages', 'vhangup',
];

// clone(2) flags that create namespaces (linux/sched.h); Docker lets clone
// through only without them.
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const NAMESPACE_FLAGS = [CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET];

const EPERM = 1;
const ENOSYS = 38;

export function sandboxSeccomp(): OciSeccomp {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    syscalls: [
      { names: DENIED, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      // One rule per flag: a rule's conditions are ANDed, so "any of these
      // bits" takes one rule each.
      ...NAMESPACE_FLAGS.map((flag) => ({
        names: ['clone'], action: 'SCMP_ACT_ERRNO' as const, errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' as const }],
      })),
      // clone3 passes its flags in memory, out of a filter's reach: ENOSYS
      // makes the C library fall back to clone, as Docker does.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ],
  };
}
