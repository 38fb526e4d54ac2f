package chain

import "syscall"

// nodeSysProcAttr makes the kernel send the node SIGTERM when the process
// that started it dies, so a crashed shop or test binary leaves no btcd
// behind.
func nodeSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
