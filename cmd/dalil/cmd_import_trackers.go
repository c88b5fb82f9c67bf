package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// runImportTrackers: `dalil import trackers FILE.csv [--server URL]
// [--token ADMIN] [--dry-run]` registers hardware trackers' IMEIs
// (imei,pilgrim,bag,kind) through a running server's POST
// /v1/trackers/import, all or nothing: the server owns the store while it
// runs, and checks the pilgrims and the bags the file names.
func runImportTrackers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import trackers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", importEnvOr("DALIL_SERVER", "http://127.0.0.1:8080"), "the running server (DALIL_SERVER)")
	token := fs.String("token", os.Getenv("DALIL_ADMIN_TOKEN"), "an admin token (DALIL_ADMIN_TOKEN)")
	dryRun := fs.Bool("dry-run", false, "check the file against the registry, register nothing")
	pos, err := parseFlagsInterleaved(fs, args)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one CSV file, got %d arguments", errUsage, len(pos))
	}
	if *token == "" {
		return fmt.Errorf("%w: --token: an admin token is needed (or DALIL_ADMIN_TOKEN)", errUsage)
	}
	u, err := url.Parse(*server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --server %q: want http(s)://host:port", errUsage, *server)
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	target := strings.TrimRight(*server, "/") + "/v1/trackers/import"
	if *dryRun {
		target += "?dry_run=1"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("import trackers: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var ans struct {
		Imported, Pilgrims, Bags int
		DryRun                   bool `json:"dry_run"`
		Error                    string
		Errors                   []struct {
			Line           int
			Column, Reason string
		}
	}
	_ = json.Unmarshal(body, &ans)
	if resp.StatusCode != http.StatusOK {
		if len(ans.Errors) == 0 {
			return fmt.Errorf("import trackers: %s: %s", resp.Status, bytes.TrimSpace(body))
		}
		for _, e := range ans.Errors {
			col := ""
			if e.Column != "" {
				col = ", column " + e.Column
			}
			fmt.Fprintf(stderr, "%s:%d%s: %s\n", pos[0], e.Line, col, e.Reason)
		}
		return fmt.Errorf("%s: %d problem(s), nothing was imported", pos[0], len(ans.Errors))
	}
	verb := "imported"
	if ans.DryRun {
		verb = "checked (dry run, nothing written)"
	}
	fmt.Fprintf(stdout, "%d trackers %s: %d on pilgrims, %d on bags\n", ans.Imported, verb, ans.Pilgrims, ans.Bags)
	return nil
}
