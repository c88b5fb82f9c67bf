package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"dalil"
	"dalil/registry"
)

// Tokens are stored as records of kind "token", keyed by token ID, holding
// only the SHA-256 of the secret. The whole set lives in memory too, so that
// authentication is a map lookup and a revocation is seen by the next request.
const (
	tokenKind        = "token"
	bootstrapTokenID = "tok_bootstrap_admin"
	tokenPrefix      = "dalil_"
)

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	ID        string    `json:"id"`
	Role      Role      `json:"role"`
	Subject   string    `json:"subject,omitempty"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
	Hash      string    `json:"hash,omitempty"` // hex SHA-256 of the secret; never sent to clients
}

// errSubject is a token request whose subject does not exist.
var errSubject = errors.New("subject not found")

type tokenStore struct {
	rs  dalil.RecordStore
	reg *registry.Registry

	mu     sync.RWMutex
	byHash map[[sha256.Size]byte]TokenInfo
	byID   map[string][sha256.Size]byte
}

func newTokenStore(rs dalil.RecordStore, reg *registry.Registry) *tokenStore {
	return &tokenStore{rs: rs, reg: reg, byHash: map[[32]byte]TokenInfo{}, byID: map[string][32]byte{}}
}

func hashToken(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// load reads every stored token into memory.
func (ts *tokenStore) load(ctx context.Context) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.rs.ScanRecords(ctx, tokenKind, func(id string, data []byte) error {
		var ti TokenInfo
		if err := json.Unmarshal(data, &ti); err != nil {
			return fmt.Errorf("token record %s: %w", id, err)
		}
		h, err := hex.DecodeString(ti.Hash)
		if err != nil || len(h) != sha256.Size {
			return fmt.Errorf("token record %s: bad hash", id)
		}
		ts.byHash[[32]byte(h)] = ti
		ts.byID[ti.ID] = [32]byte(h)
		return nil
	})
}

// principal returns who a secret token acts as.
func (ts *tokenStore) principal(token string) (Principal, bool) {
	h := hashToken(token)
	ts.mu.RLock()
	ti, ok := ts.byHash[h]
	ts.mu.RUnlock()
	if !ok {
		return Principal{}, false
	}
	return Principal{Role: ti.Role, Subject: ti.Subject, TokenID: ti.ID}, true
}

// DeviceForToken implements ingest.TokenAuth: the device a device token
// belongs to. Other roles' tokens are refused for ingest.
func (ts *tokenStore) DeviceForToken(ctx context.Context, token string) (string, error) {
	p, ok := ts.principal(token)
	if !ok {
		return "", errors.New("invalid or revoked token")
	}
	if p.Role != RoleDevice {
		return "", fmt.Errorf("a %s token cannot post pings; use a device token", p.Role)
	}
	return p.Subject, nil
}

// checkSubject verifies that a token's subject exists for its role.
func (ts *tokenStore) checkSubject(role Role, subject string) error {
	switch role {
	case RolePilgrim:
		if _, ok := ts.reg.Pilgrim(subject); !ok {
			return fmt.Errorf("%w: no pilgrim with PID %q", errSubject, subject)
		}
	case RoleGuide:
		if _, ok := ts.reg.Group(subject); !ok {
			return fmt.Errorf("%w: no group %q", errSubject, subject)
		}
	case RoleDevice:
		if _, ok := ts.reg.Device(subject); !ok {
			return fmt.Errorf("%w: no device %q", errSubject, subject)
		}
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

func randomString(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// mint creates a token for role and subject and returns its secret. Only the
// hash is stored.
func (ts *tokenStore) mint(ctx context.Context, role Role, subject, createdBy string) (string, TokenInfo, error) {
	if err := ts.checkSubject(role, subject); err != nil {
		return "", TokenInfo{}, err
	}
	secret := tokenPrefix + randomString(24)
	ti := TokenInfo{
		ID:        "tok_" + hex.EncodeToString(randomBytes(8)),
		Role:      role,
		Subject:   subject,
		Created:   time.Now().UTC(),
		CreatedBy: createdBy,
	}
	if err := ts.put(ctx, ti, secret); err != nil {
		return "", TokenInfo{}, err
	}
	return secret, ti, nil
}

// put stores ti for secret, replacing a token with the same ID.
func (ts *tokenStore) put(ctx context.Context, ti TokenInfo, secret string) error {
	h := hashToken(secret)
	ti.Hash = hex.EncodeToString(h[:])
	data, err := json.Marshal(ti)
	if err != nil {
		return err
	}
	if err := ts.rs.PutRecords(ctx, tokenKind, []dalil.Record{{ID: ti.ID, Data: data}}); err != nil {
		return err
	}
	ts.mu.Lock()
	if old, ok := ts.byID[ti.ID]; ok {
		delete(ts.byHash, old)
	}
	ts.byHash[h] = ti
	ts.byID[ti.ID] = h
	ts.mu.Unlock()
	return nil
}

// revoke deletes token id; the next request with it is refused.
func (ts *tokenStore) revoke(ctx context.Context, id string) error {
	ts.mu.RLock()
	_, ok := ts.byID[id]
	ts.mu.RUnlock()
	if !ok {
		return dalil.ErrNotFound
	}
	if err := ts.rs.DeleteRecord(ctx, tokenKind, id); err != nil && !errors.Is(err, dalil.ErrNotFound) {
		return err
	}
	ts.mu.Lock()
	if h, ok := ts.byID[id]; ok {
		delete(ts.byHash, h)
		delete(ts.byID, id)
	}
	ts.mu.Unlock()
	return nil
}

// list returns every token (without hashes), oldest first.
func (ts *tokenStore) list() []TokenInfo {
	ts.mu.RLock()
	out := make([]TokenInfo, 0, len(ts.byHash))
	for _, ti := range ts.byHash {
		ti.Hash = ""
		out = append(out, ti)
	}
	ts.mu.RUnlock()
	slices.SortFunc(out, func(a, b TokenInfo) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// hasAdmin reports whether any admin token exists.
func (ts *tokenStore) hasAdmin() bool {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	for _, ti := range ts.byHash {
		if ti.Role == RoleAdmin {
			return true
		}
	}
	return false
}

// EnsureAdmin makes sure an admin can sign in. With a configured token
// (DALIL_ADMIN_TOKEN) it becomes the bootstrap admin token, replacing an
// earlier one. Without one, and when no admin token exists yet, it generates
// a token, stores its hash and returns the secret so the caller can print it
// once; later starts find the stored admin and return "".
func (s *Server) EnsureAdmin(ctx context.Context) (generated string, err error) {
	ti := TokenInfo{ID: bootstrapTokenID, Role: RoleAdmin, Created: time.Now().UTC(), CreatedBy: "bootstrap"}
	if s.cfg.AdminToken != "" {
		if len(s.cfg.AdminToken) < 16 {
			return "", errors.New("DALIL_ADMIN_TOKEN is shorter than 16 characters; use a long random secret")
		}
		if p, ok := s.tokens.principal(s.cfg.AdminToken); ok && p.TokenID == bootstrapTokenID {
			return "", nil
		}
		return "", s.tokens.put(ctx, ti, s.cfg.AdminToken)
	}
	if s.tokens.hasAdmin() {
		return "", nil
	}
	secret := tokenPrefix + randomString(24)
	if err := s.tokens.put(ctx, ti, secret); err != nil {
		return "", err
	}
	return secret, nil
}

// MintToken creates a token (used by `dalil serve --demo` to hand out demo
// tokens, and by POST /v1/tokens).
func (s *Server) MintToken(ctx context.Context, role Role, subject string) (string, TokenInfo, error) {
	if !role.Valid() {
		return "", TokenInfo{}, fmt.Errorf("unknown role %q", role)
	}
	return s.tokens.mint(ctx, role, subject, "server")
}
