package geo

import "math"

// cellGrid finds a fix's candidate lists: a square grid in frame metres over
// the camps and their surroundings. Finding the cell is arithmetic, and its
// lists' bounds are two adjacent spans, so a fix costs one or two memory
// reads before it reaches its candidates (the H3 map it replaced cost
// several cache misses per fix, and the H3 cell is still computed, once, for
// Location.Cell only).
//
// The grid is stored by blocks of blockCells×blockCells cells: a directory
// over the grid's extent names, for each block that lists anything, where
// its blockSpans spans start; other blocks cost one int32. Within a block,
// cell (x, y) is span y·blockCells + x, and the span after it ends its
// lists: the block's last span is a sentinel.
type cellGrid struct {
	cellM, inv float64 // side of a cell, and its inverse
	reach      float64 // how far from its cell's centre a point can lie
	x0, y0     float64 // south-west corner of the grid
	nx, ny     int     // cells across and up (multiples of blockCells)
	fnx, fny   float64 // the same, as floats
	nbx        int     // blocks across
	dir        []int32 // block (row by row, from the south) → its first span, or -1
	spans      []span
}

const (
	blockShift = 4
	blockCells = 1 << blockShift
	blockMask  = blockCells - 1
	blockSpans = blockCells*blockCells + 1
)

// span is where a cell's lists start in Index.campRefs and Index.tentRefs.
type span struct{ camp, tent int32 }

// cell returns the index of p's span and the centre of its cell; ok is
// false outside the grid and in blocks that list nothing. NaN coordinates
// fail the range test.
func (g *cellGrid) cell(p vec) (k int, centre vec, ok bool) {
	fx, fy := (p.X-g.x0)*g.inv, (p.Y-g.y0)*g.inv
	if !(fx >= 0 && fy >= 0 && fx < g.fnx && fy < g.fny) {
		return 0, vec{}, false
	}
	x, y := int(fx), int(fy)
	b := g.dir[(y>>blockShift)*g.nbx+x>>blockShift]
	if b < 0 {
		return 0, vec{}, false
	}
	return int(b) + (y&blockMask)<<blockShift + x&blockMask, g.centre(x, y), true
}

func (g *cellGrid) centre(x, y int) vec {
	return vec{g.x0 + (float64(x)+0.5)*g.cellM, g.y0 + (float64(y)+0.5)*g.cellM}
}

// buildGrid lists, for every grid cell near a camp, the camps within
// campReachM and the tents within tentReachM of any point of the cell,
// measured from the cell's centre and padded by the cell's half diagonal:
// every cell that touches a polygon lists it, so a point on a cell boundary
// still finds every candidate.
func (ix *Index) buildGrid(cellM float64) {
	g := &ix.grid
	g.cellM, g.inv = cellM, 1/cellM
	g.reach = cellM*math.Sqrt2/2*1.000001 + 1e-3
	campR := campReachM + g.reach
	tentR := tentReachM + g.reach

	// Extent: every camp's box grown by campR, plus a cell of margin.
	lo := vec{math.Inf(1), math.Inf(1)}
	hi := vec{math.Inf(-1), math.Inf(-1)}
	for i := range ix.camps {
		b := ix.camps[i].box
		lo = vec{math.Min(lo.X, b.min.X), math.Min(lo.Y, b.min.Y)}
		hi = vec{math.Max(hi.X, b.max.X), math.Max(hi.Y, b.max.Y)}
	}
	pad := campR + cellM
	g.x0, g.y0 = lo.X-pad, lo.Y-pad
	blockM := cellM * blockCells
	nbx := int(math.Ceil((hi.X + pad - g.x0) / blockM))
	nby := int(math.Ceil((hi.Y + pad - g.y0) / blockM))
	g.nbx, g.nx, g.ny = nbx, nbx*blockCells, nby*blockCells
	g.fnx, g.fny = float64(g.nx), float64(g.ny)

	// The camps whose reach overlaps each block: the only ones to measure
	// for its cells.
	blockCamps := make([][]int32, nbx*nby)
	for i := range ix.camps {
		b := ix.camps[i].box
		bx0 := max(0, int((b.min.X-campR-g.x0)/blockM))
		by0 := max(0, int((b.min.Y-campR-g.y0)/blockM))
		bx1 := min(nbx-1, int((b.max.X+campR-g.x0)/blockM))
		by1 := min(nby-1, int((b.max.Y+campR-g.y0)/blockM))
		for by := by0; by <= by1; by++ {
			for bx := bx0; bx <= bx1; bx++ {
				blockCamps[by*nbx+bx] = append(blockCamps[by*nbx+bx], int32(i))
			}
		}
	}

	buckets := newTentBuckets(ix.tents, 20)
	stamp := make([]int32, len(ix.tents)) // de-duplicates tents seen in several buckets
	for i := range stamp {
		stamp[i] = -1
	}
	// Sized from the default layout's density at 16 m cells (each tent is
	// listed by ~26 cells), to spare repeated growth of the big slices.
	perTent := math.Pi * sq(tentR+4) / sq(cellM)
	ix.tentRefs = make([]tentRef, 0, int(float64(len(ix.tents))*perTent)+64)
	g.dir = make([]int32, nbx*nby)
	var near []ref
	var spans [blockSpans]span
	visit := int32(0)
	for b := range g.dir {
		g.dir[b] = -1
		if len(blockCamps[b]) == 0 {
			continue
		}
		bx, by := b%nbx, b/nbx
		campLo := len(ix.campRefs)
		for k := 0; k < blockCells*blockCells; k++ {
			centre := g.centre(bx*blockCells+k&blockMask, by*blockCells+k>>blockShift)
			spans[k] = span{int32(len(ix.campRefs)), int32(len(ix.tentRefs))}
			near = near[:0]
			for _, i := range blockCamps[b] {
				c := &ix.camps[i]
				if c.box.dist2(centre) > sq(campR) {
					continue
				}
				if d := ringDist(c.ring, centre); d <= campR {
					near = append(near, ref{i, float32(d)})
				}
			}
			sortRefs(near)
			ix.campRefs = append(ix.campRefs, near...)
			if len(near) == 0 || float64(near[0].d) > tentR {
				continue // tents lie inside camps: none can be in reach
			}
			near = near[:0]
			buckets.each(centre, tentR, func(i int32) {
				if stamp[i] == visit {
					return
				}
				stamp[i] = visit
				t := &ix.tents[i]
				if t.box.dist2(centre) > sq(tentR) {
					return
				}
				if d := ringDist(t.ring, centre); d <= tentR {
					near = append(near, ref{i, float32(d)})
				}
			})
			visit++
			sortRefs(near)
			for _, r := range near {
				ix.tentRefs = append(ix.tentRefs, ix.newTentRef(r, centre))
			}
		}
		if len(ix.campRefs) == campLo {
			continue // no cell of the block is near a camp
		}
		spans[blockCells*blockCells] = span{int32(len(ix.campRefs)), int32(len(ix.tentRefs))}
		g.dir[b] = int32(len(g.spans))
		g.spans = append(g.spans, spans[:]...)
	}
	ix.campRefs = ix.campRefs[:len(ix.campRefs):len(ix.campRefs)]
}

// newTentRef packs tent r.i as listed by the cell centred at centre.
func (ix *Index) newTentRef(r ref, centre vec) tentRef {
	t := &ix.rects[r.i]
	c := vec{t.cx, t.cy}
	// The whole outline lies within rad (and so does the rectangle, but for
	// the corners of odd shapes, which sit beyond 3σ whenever the tent is
	// skipped).
	var far float64
	for _, p := range ix.tents[r.i].ring {
		far = max(far, p.dist(c))
	}
	o := c.sub(centre)
	dx, dy := math.Round(o.X/refUnitM), math.Round(o.Y/refUnitM)
	out := tentRef{i: r.i, rad: radUnbounded, d: uint8(min(math.Floor(float64(r.d)/refDistUnitM), math.MaxUint8))}
	if math.Abs(dx) <= math.MaxInt8 && math.Abs(dy) <= math.MaxInt8 {
		// Rounding moved the centre by up to half a unit on each axis.
		rad := math.Ceil((far + math.Sqrt2/2*refUnitM) / refUnitM)
		if rad < radUnbounded {
			out.dx, out.dy, out.rad = int8(dx), int8(dy), uint8(rad)
		}
	}
	return out
}

// farGrid serves fixes more than campReachM from every camp, which need
// only the distance to the nearest camp (Location.EdgeDistanceM): for each
// coarse cell it lists the camps that can be nearest to some point of the
// cell, usually a handful instead of every camp. It spans the cellGrid's
// extent; beyond it Locate measures every camp.
type farGrid struct {
	cellM, inv float64
	x0, y0     float64
	nx, ny     int
	fnx, fny   float64
	off        []int32 // cell (row by row, from the south) → start in camps; the next ends it
	camps      []int32
	areaOff    []int32 // the same for areas: those whose box meets the cell
	areas      []int32
}

// areasNear returns the areas (indices into Index.areas, sites first) whose
// box meets p's far-grid cell: usually none or one, so a fix tests a few
// areas rather than every one. Beyond the far grid it returns them all.
func (ix *Index) areasNear(p vec) []int32 {
	g := &ix.far
	fx, fy := (p.X-g.x0)*g.inv, (p.Y-g.y0)*g.inv
	if !(fx >= 0 && fy >= 0 && fx < g.fnx && fy < g.fny) {
		return ix.allAreas
	}
	k := int(fy)*g.nx + int(fx)
	return g.areas[g.areaOff[k]:g.areaOff[k+1]]
}

// farCellM is the side of a farGrid cell: small enough that each lists a
// few camps, large enough to build in a few milliseconds.
const farCellM = 128.0

// near returns the camps that can be nearest to p, or false outside the grid.
func (g *farGrid) near(p vec) ([]int32, bool) {
	fx, fy := (p.X-g.x0)*g.inv, (p.Y-g.y0)*g.inv
	if !(fx >= 0 && fy >= 0 && fx < g.fnx && fy < g.fny) {
		return nil, false
	}
	k := int(fy)*g.nx + int(fx)
	return g.camps[g.off[k]:g.off[k+1]], true
}

func (ix *Index) buildFar() {
	f := &ix.far
	f.cellM, f.inv = farCellM, 1/farCellM
	f.x0, f.y0 = ix.grid.x0, ix.grid.y0
	f.nx = int(math.Ceil(ix.grid.fnx * ix.grid.cellM / farCellM))
	f.ny = int(math.Ceil(ix.grid.fny * ix.grid.cellM / farCellM))
	f.fnx, f.fny = float64(f.nx), float64(f.ny)
	h := farCellM*math.Sqrt2/2*1.000001 + 1e-3 // farthest a point of a cell is from its centre
	lb := make([]float64, len(ix.camps))
	f.off = make([]int32, 0, f.nx*f.ny+1)
	for y := 0; y < f.ny; y++ {
		for x := 0; x < f.nx; x++ {
			c := vec{f.x0 + (float64(x)+0.5)*farCellM, f.y0 + (float64(y)+0.5)*farCellM}
			// u: the distance from the centre to the nearest camp. A point of
			// the cell is within u + h of that camp, and camp i is at least
			// lb[i] − h from it (lb: distance to i's box), so only camps with
			// lb[i] ≤ u + 2h can be nearest.
			u := math.Inf(1)
			for i := range ix.camps {
				lb[i] = math.Sqrt(ix.camps[i].box.dist2(c))
			}
			for i := range ix.camps {
				if lb[i] < u {
					u = math.Min(u, ringDist(ix.camps[i].ring, c))
				}
			}
			f.off = append(f.off, int32(len(f.camps)))
			for i := range ix.camps {
				if lb[i] <= u+2*h {
					f.camps = append(f.camps, int32(i))
				}
			}
		}
	}
	f.off = append(f.off, int32(len(f.camps)))

	ix.allAreas = make([]int32, len(ix.areas))
	for i := range ix.allAreas {
		ix.allAreas[i] = int32(i)
	}
	f.areaOff = make([]int32, 0, f.nx*f.ny+1)
	for y := 0; y < f.ny; y++ {
		for x := 0; x < f.nx; x++ {
			cell := boxXY{
				vec{f.x0 + float64(x)*farCellM, f.y0 + float64(y)*farCellM},
				vec{f.x0 + float64(x+1)*farCellM, f.y0 + float64(y+1)*farCellM},
			}
			f.areaOff = append(f.areaOff, int32(len(f.areas)))
			for i := range ix.areas {
				if ix.areas[i].box.intersects(cell) {
					f.areas = append(f.areas, int32(i))
				}
			}
		}
	}
	f.areaOff = append(f.areaOff, int32(len(f.areas)))
}
