package load

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
)

// readTokenFile reads "device token" lines; a missing file is empty.
func readTokenFile(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		dev, tok, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || dev == "" || tok == "" {
			return nil, fmt.Errorf("token file %s line %d: want \"device token\"", path, line)
		}
		out[dev] = tok
	}
	return out, sc.Err()
}

// appendTokenFile appends the tokens minted for devices idx (those minted
// before a failure included).
func appendTokenFile(path string, devs []Device, idx []int32, tokens []string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, i := range idx {
		if tokens[i] != "" {
			fmt.Fprintf(w, "%s %s\n", devs[i].ID, tokens[i])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
