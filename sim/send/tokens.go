package send

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Tokens mints and caches device tokens: POST /v1/tokens
// {"role":"device","subject":<device id>} with the admin token returns
// {"token":…}, which the device then sends as "Authorization: Bearer …".
type Tokens struct {
	base   string
	admin  string
	client *http.Client

	mu    sync.Mutex
	cache map[string]string
}

// NewTokens mints against the server at base (already checked by CheckTarget).
func NewTokens(base, adminToken string, client *http.Client) *Tokens {
	if client == nil {
		client = http.DefaultClient
	}
	return &Tokens{base: base, admin: adminToken, client: client, cache: map[string]string{}}
}

// Set records a token minted elsewhere.
func (t *Tokens) Set(device, token string) {
	t.mu.Lock()
	t.cache[device] = token
	t.mu.Unlock()
}

// Len is how many tokens are cached.
func (t *Tokens) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.cache)
}

// Device returns the device's token, minting it on first use.
func (t *Tokens) Device(ctx context.Context, device string) (string, error) {
	t.mu.Lock()
	tok, ok := t.cache[device]
	t.mu.Unlock()
	if ok {
		return tok, nil
	}
	tok, err := t.Mint(ctx, "device", device)
	if err != nil {
		return "", err
	}
	t.Set(device, tok)
	return tok, nil
}

// Mint asks the server for a token of a role and subject.
func (t *Tokens) Mint(ctx context.Context, role, subject string) (string, error) {
	if t.admin == "" {
		return "", fmt.Errorf("minting a %s token for %q needs the admin token (--token)", role, subject)
	}
	body, _ := json.Marshal(map[string]string{"role": role, "subject": subject})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/v1/tokens", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+t.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("minting a %s token: %w", role, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("minting a %s token for %q: %s: %s", role, subject, resp.Status, bytes.TrimSpace(data))
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("minting a %s token for %q: no token in the answer %q", role, subject, data)
	}
	return out.Token, nil
}
