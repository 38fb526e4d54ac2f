package chain_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/market/chain/chaintest"
)

// TestNodeDiesWithParent: a process that starts btcd and exits without
// stopping it (a crash, a killed test binary) leaves no btcd behind.
func TestNodeDiesWithParent(t *testing.T) {
	if os.Getenv("SHOPFILE_CHAIN_ORPHAN_HELPER") != "" {
		return // the helper itself runs in TestOrphanHelper
	}
	bin := chaintest.Btcd(t)
	// Become a subreaper so the orphaned btcd is reparented to this test
	// process, which then reaps it (a container's PID 1 may not).
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Logf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "SHOPFILE_CHAIN_ORPHAN_HELPER="+bin, "SHOPFILE_CHAIN_ORPHAN_DIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "BTCD_PID="); ok {
			pid, _ = strconv.Atoi(p)
		}
	}
	cmd.Wait()
	if pid == 0 {
		t.Fatal("helper did not start btcd")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if wpid == pid {
			return // exited and reaped
		}
		if err == syscall.ECHILD && !alive(pid) {
			return // not our child (no subreaper), but gone
		}
		if time.Now().After(deadline) {
			syscallKill(pid)
			t.Fatalf("btcd (pid %d) outlived the process that started it", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOrphanHelper starts a node and exits without stopping it.
func TestOrphanHelper(t *testing.T) {
	bin := os.Getenv("SHOPFILE_CHAIN_ORPHAN_HELPER")
	if bin == "" {
		t.Skip("helper for TestNodeDiesWithParent")
	}
	n, err := chain.StartNode(context.Background(), chain.NodeConfig{
		Bin: bin, DataDir: os.Getenv("SHOPFILE_CHAIN_ORPHAN_DIR"), RPCListen: "127.0.0.1:" + strconv.Itoa(freePort(t)),
		User: "u", Pass: "p",
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("BTCD_PID=%d\n", n.Pid())
	os.Exit(0)
}

const prSetChildSubreaper = 36

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
