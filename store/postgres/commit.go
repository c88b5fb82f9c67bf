package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"dalil"

	"github.com/jackc/pgx/v5"
)

// appendReq is one AppendPositions call waiting for a group commit.
type appendReq struct {
	ctx  context.Context
	ps   []dalil.Position
	done chan error // buffered: the committer never blocks on a caller that left
}

// commitLoop is one group committer: it takes the first waiting request,
// sweeps up every other request already queued (up to MaxBatchRows) and
// writes them all with one COPY in one transaction. While it commits, new
// callers queue up for the next round, so the number of commits per second
// stays bounded however many callers there are.
func (s *Store) commitLoop() {
	defer s.done.Done()
	var group []*appendReq
	for first := range s.queue {
		group = append(group[:0], first)
		rows := len(first.ps)
	sweep:
		for rows < s.opts.MaxBatchRows {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break sweep
				}
				group = append(group, r)
				rows += len(r.ps)
			default:
				break sweep
			}
		}
		s.commitGroup(group)
		clear(group)
	}
}

// commitGroup writes one group and answers every caller in it.
func (s *Store) commitGroup(group []*appendReq) {
	// A caller that gave up before its turn is answered and left out, so its
	// pings are not written behind its back.
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(s.base, s.opts.CommitTimeout)
	defer cancel()
	start := time.Now()
	err := s.writeGroup(ctx, live)
	if err != nil && isNoPartition(err) {
		// Another process dropped a partition we had cached: relearn, retry once.
		if err = s.parts.refresh(ctx, s.pool); err == nil {
			err = s.writeGroup(ctx, live)
		}
	}
	err = wrap("append", err)
	n := 0
	for _, r := range live {
		n += len(r.ps)
	}
	if err != nil {
		s.failures.Add(1)
		s.log.Warn("group commit failed", "callers", len(live), "positions", n,
			"took", time.Since(start), "err", err)
	} else {
		s.commits.Add(1)
		s.appends.Add(int64(len(live)))
		s.positions.Add(int64(n))
	}
	for _, r := range live {
		r.done <- err
	}
}

// writeGroup creates missing partitions, then in one transaction COPYs every
// position and raises latest_positions where the batch is newer.
func (s *Store) writeGroup(ctx context.Context, group []*appendReq) error {
	src := &groupSource{group: group}
	if err := s.parts.ensure(ctx, s.pool, src.days()); err != nil {
		return err
	}
	latest := newestPerDevice(group)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"positions"}, positionColumns, src); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, upsertLatestSQL, latest.args()...)
		return err
	})
}

var positionColumns = []string{"device", "ts", "lat", "lon", "acc", "speed", "heading", "alt", "batt", "source"}

// upsertLatestSQL raises each device's latest position, never lowers it:
// the WHERE makes an older (out-of-order) ping a no-op, and an equal time
// lets the later append win, as in the embedded store. Rows come sorted by
// device, so concurrent committers lock rows in the same order and cannot
// deadlock.
const upsertLatestSQL = `
INSERT INTO latest_positions AS l (device, ts, lat, lon, acc, speed, heading, alt, batt, source)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::float8[],
	$5::float4[], $6::float4[], $7::float4[], $8::float4[], $9::float4[], $10::int2[])
ON CONFLICT (device) DO UPDATE SET
	ts = excluded.ts, lat = excluded.lat, lon = excluded.lon, acc = excluded.acc,
	speed = excluded.speed, heading = excluded.heading, alt = excluded.alt,
	batt = excluded.batt, source = excluded.source
WHERE l.ts <= excluded.ts`

// groupSource feeds a group's positions to COPY without copying them.
type groupSource struct {
	group []*appendReq
	req   int
	i     int
	cur   *dalil.Position
	row   [10]any
}

func (g *groupSource) Next() bool {
	for g.req < len(g.group) {
		ps := g.group[g.req].ps
		if g.i < len(ps) {
			g.cur = &ps[g.i]
			g.i++
			return true
		}
		g.req, g.i = g.req+1, 0
	}
	return false
}

func (g *groupSource) Values() ([]any, error) {
	p := g.cur
	g.row = [10]any{p.Device, p.Time, p.Lat, p.Lon, p.Accuracy, p.Speed, p.Heading, p.Altitude, p.Battery, int16(p.Source)}
	return g.row[:], nil
}

func (g *groupSource) Err() error { return nil }

// days returns the distinct UTC days of the group's positions.
func (g *groupSource) days() []int64 {
	var days []int64
	for _, r := range g.group {
		for i := range r.ps {
			d := dayOf(r.ps[i].Time)
			if len(days) == 0 || days[len(days)-1] != d { // cheap run-length dedupe
				days = append(days, d)
			}
		}
	}
	slices.Sort(days)
	return slices.Compact(days)
}

// latestRows holds, column by column, the newest position of each device.
type latestRows struct {
	device                            []string
	ts                                []time.Time
	lat, lon                          []float64
	acc, speed, heading, alt, battery []float32
	source                            []int16
}

// newestPerDevice picks each device's newest position in the group (on equal
// times the later one), sorted by device.
func newestPerDevice(group []*appendReq) *latestRows {
	best := make(map[string]*dalil.Position)
	for _, r := range group {
		for i := range r.ps {
			p := &r.ps[i]
			if b, ok := best[p.Device]; !ok || p.Time.UnixMicro() >= b.Time.UnixMicro() {
				best[p.Device] = p
			}
		}
	}
	devices := make([]string, 0, len(best))
	for d := range best {
		devices = append(devices, d)
	}
	slices.SortFunc(devices, strings.Compare) // byte order = COLLATE "C" order
	l := &latestRows{}
	for _, d := range devices {
		p := best[d]
		l.device = append(l.device, d)
		l.ts = append(l.ts, p.Time)
		l.lat = append(l.lat, p.Lat)
		l.lon = append(l.lon, p.Lon)
		l.acc = append(l.acc, p.Accuracy)
		l.speed = append(l.speed, p.Speed)
		l.heading = append(l.heading, p.Heading)
		l.alt = append(l.alt, p.Altitude)
		l.battery = append(l.battery, p.Battery)
		l.source = append(l.source, int16(p.Source))
	}
	return l
}

func (l *latestRows) args() []any {
	return []any{l.device, l.ts, l.lat, l.lon, l.acc, l.speed, l.heading, l.alt, l.battery, l.source}
}
