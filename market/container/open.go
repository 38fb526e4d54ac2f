package container

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// readSmallFile reads a file that must not exceed limit bytes.
func readSmallFile(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s %s is larger than %d bytes", what, path, limit)
	}
	return b, nil
}

// OpenFile is the local `shopfile open`: it verifies the container at path,
// unwraps the key slip with the SSH private key in identityPath, checks the
// key against the container, then decrypts into a temporary file beside out
// and renames it to out only after the last chunk and content_id checked
// out. On any error no output file remains. The output is created 0600.
func OpenFile(path, slipPath, identityPath, out string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h, err := ReadHeader(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	key, err := unlock(f, h, slipPath, identityPath)
	if err != nil {
		return err
	}
	if err := decryptToFile(f, h, key, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// unlock turns slip + identity into a file key proven to open h.
func unlock(f io.ReaderAt, h *Header, slipPath, identityPath string) ([]byte, error) {
	slip, err := readSmallFile(slipPath, maxAgeHeader, "key slip")
	if err != nil {
		return nil, err
	}
	pem, err := readSmallFile(identityPath, maxIdentityFile, "identity")
	if err != nil {
		return nil, err
	}
	id, err := ParseIdentityFile(pem)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", identityPath, err)
	}
	key, err := UnwrapSlip(slip, id)
	if err != nil {
		return nil, err
	}
	if err := CheckKey(f, h, key); err != nil {
		return nil, fmt.Errorf("key slip %s: %w", slipPath, err)
	}
	return key, nil
}

func decryptToFile(f io.ReaderAt, h *Header, key []byte, out string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = Decrypt(tmp, f, h, key); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
