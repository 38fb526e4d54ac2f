//go:build !linux

package chain

import "syscall"

// nodeSysProcAttr: no parent-death signal outside Linux; Stop must be called.
func nodeSysProcAttr() *syscall.SysProcAttr { return nil }
