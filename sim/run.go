package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"dalil"
)

// Emit receives a batch of pings. It must not keep ps after it returns: the
// simulator reuses the slice. An error wrapping tracking.ErrUnavailable is
// transient (the batch is kept and sent again at the next step, as a phone
// retries); any other error stops Run.
type Emit func(ctx context.Context, ps []dalil.Position) error

// Run moves the pilgrims step by step and hands their devices' pings to emit,
// pacing itself to Config.Speed. It returns nil once Config.Duration of
// simulated time has passed, ctx.Err() when ctx is cancelled, or the first
// non-transient emit error. A Simulator runs once.
func (s *Simulator) Run(ctx context.Context, emit func(ctx context.Context, ps []dalil.Position) error) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("sim: Run called twice")
	}
	s.running = true
	if s.start.IsZero() {
		s.start = time.Now().UTC().Truncate(time.Millisecond)
	}
	s.mu.Unlock()

	wallStart := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for step := int64(0); ; step++ {
		el := time.Duration(step) * s.cfg.Step
		if s.cfg.Duration > 0 && el > s.cfg.Duration {
			return nil
		}
		batch := s.step(el)
		if err := s.emitAll(ctx, emit, batch); err != nil {
			return err
		}
		if s.cfg.Speed <= 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		due := wallStart.Add(time.Duration(float64(el+s.cfg.Step) / s.cfg.Speed))
		wait := time.Until(due)
		if wait <= 0 { // behind: catch up without sleeping
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// step advances the world to el after the start and returns the pings due.
func (s *Simulator) step(el time.Duration) []dalil.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	dt := el - s.elapsed
	s.elapsed = el
	now := s.start.Add(el)
	for gi := range s.groups {
		s.advanceGroup(&s.groups[gi], dt)
	}
	s.loseSomeone(now)
	s.wander(dt)
	s.leaveBags(now)
	s.stats.Steps++
	s.buf = s.fixes(now, s.buf[:0])
	return s.buf
}

// emitAll sends the retried pings and then batch, MaxBatch at a time.
func (s *Simulator) emitAll(ctx context.Context, emit func(context.Context, []dalil.Position) error, batch []dalil.Position) error {
	all := batch
	if len(s.retry) > 0 {
		all = append(s.retry, batch...)
		s.retry = nil
	}
	for i := 0; i < len(all); i += s.cfg.MaxBatch {
		chunk := all[i:min(i+s.cfg.MaxBatch, len(all))]
		err := emit(ctx, chunk)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, dalil.ErrUnavailable) {
			return fmt.Errorf("sim: emit: %w", err)
		}
		rest := all[i:]
		s.mu.Lock()
		s.stats.EmitErrors++
		if n := len(rest) - s.cfg.MaxRetry; n > 0 {
			s.stats.Dropped += int64(n)
			rest = rest[n:]
		}
		s.mu.Unlock()
		s.retry = append([]dalil.Position(nil), rest...)
		s.cfg.Log.Warn("sim: server unavailable, retrying at the next step", "pings", len(rest), "err", err)
		return nil
	}
	return nil
}
