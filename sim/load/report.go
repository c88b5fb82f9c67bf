package load

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Report is the result of one run.
type Report struct {
	Label    string    `json:"label,omitempty"`
	Started  time.Time `json:"started"`
	Target   string    `json:"target"`
	Protocol string    `json:"protocol"`
	Devices  int       `json:"devices"`
	Interval string    `json:"interval"`
	Duration string    `json:"duration"`
	Batch    int       `json:"batch"`
	Conns    int       `json:"conns"`

	SetupSeconds   float64          `json:"setup_s"`
	ElapsedSeconds float64          `json:"elapsed_s"`
	OfferedPerSec  float64          `json:"offered_per_s"` // Devices / Interval
	Due            int64            `json:"due"`           // pings the schedule called for
	Sent           int64            `json:"sent"`
	Requests       int64            `json:"requests"`
	RequestsPerSec float64          `json:"requests_per_s"`
	Accepted       int64            `json:"accepted"`
	AcceptedPerSec float64          `json:"accepted_per_s"`
	Rejected       int64            `json:"rejected"`
	Failed         int64            `json:"failed"`
	Reasons        map[string]int64 `json:"reasons,omitempty"`

	Latency Latency `json:"latency"`
	Watch   struct {
		Connected       int     `json:"connected"`
		Operators       int     `json:"operators"`
		Guides          int     `json:"guides"`
		WatchedDevices  int     `json:"watched_devices"`
		Delivered       int64   `json:"delivered"`
		DeliveredPerSec float64 `json:"delivered_per_s"`
		Snapshots       int64   `json:"snapshots"`
		Events          int64   `json:"events"`
		Errors          int64   `json:"errors"`
		Disconnects     int64   `json:"disconnects"`
		LastError       string  `json:"last_error,omitempty"`
	} `json:"watch"`
	Server struct {
		PID            int     `json:"pid,omitempty"`
		CPUPercent     float64 `json:"cpu_percent"` // 100 = one core busy
		RSSStartMiB    float64 `json:"rss_start_mib"`
		RSSEndMiB      float64 `json:"rss_end_mib"`
		RSSPeakMiB     float64 `json:"rss_peak_mib"`
		BytesPerDevice float64 `json:"rss_growth_bytes_per_device"`
		// PingsPerCPUSecond is accepted pings per second of server CPU time:
		// throughput that does not depend on how much of the machine the
		// server got while others were using it.
		PingsPerCPUSecond float64 `json:"pings_per_cpu_second"`
		// CPUMicrosPerFix is server CPU time per accepted fix (1e6 /
		// PingsPerCPUSecond): at batch 1, the cost of a one-fix request.
		CPUMicrosPerFix float64 `json:"cpu_us_per_fix"`
		// HeapBytesPerDevice is the growth of the server's live Go heap
		// (after a forced GC, read from the admin-only /debug/pprof/heap)
		// per device that reported: the live state of a device, its recent
		// trail and filter state, without Pebble's memtables and caches
		// (outside the Go heap) or garbage. 0 when it could not be read.
		HeapBytesPerDevice float64 `json:"heap_bytes_per_device"`
		HeapStartMiB       float64 `json:"heap_start_mib"`
		HeapEndMiB         float64 `json:"heap_end_mib"`
	} `json:"server"`
	Client struct {
		CPUPercent float64 `json:"cpu_percent"`
		RSSMiB     float64 `json:"rss_mib"`
	} `json:"client"`
	Machine Machine `json:"machine"`
	// LoadAvg is the machine's 1-minute load average before and after the
	// load: what else was running.
	LoadAvg [2]float64 `json:"loadavg"`
	Notes   []string   `json:"notes,omitempty"`
}

func (r *Report) notes(cfg Config) {
	if r.Due > 0 && float64(r.Sent) < 0.95*float64(r.Due) {
		r.Notes = append(r.Notes, fmt.Sprintf("the server (or this client) could not keep up: %d of %d scheduled pings were sent", r.Sent, r.Due))
	}
	if r.Failed > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d pings failed (network error or 5xx)", r.Failed))
	}
	if cfg.Batch > 1 {
		r.Notes = append(r.Notes, fmt.Sprintf("native devices buffer %d fixes and post them together every %v; latency is measured on the newest fix of each request", cfg.Batch, cfg.Interval*time.Duration(cfg.Batch)))
	}
	if r.LoadAvg[0] > float64(r.Machine.CPUs) {
		r.Notes = append(r.Notes, fmt.Sprintf("the machine was busy with other work (load average %.1f on %d CPUs): absolute rates are lower than on an idle machine; pings per server CPU-second is the fairer figure", r.LoadAvg[0], r.Machine.CPUs))
	}
	if r.Server.BytesPerDevice != 0 {
		r.Notes = append(r.Notes, "RSS growth per device is (RSS at end − RSS at start) / devices that reported; it includes buffers and heap slack, and is near zero when the server already held these devices from an earlier run")
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report as a Markdown section.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	title := "Load run"
	if r.Label != "" {
		title += ": " + r.Label
	}
	fmt.Fprintf(&b, "### %s\n\n", title)
	fmt.Fprintf(&b, "%s, %d devices every %s over %s (%s, batch %d, %d connections), %d watchers (%d operators with a bbox, %d guides with a group), target %s.\n\n",
		r.Started.Format(time.RFC3339), r.Devices, r.Interval, r.Duration, r.Protocol, r.Batch, r.Conns,
		r.Watch.Connected, r.Watch.Operators, r.Watch.Guides, r.Target)
	fmt.Fprintf(&b, "| measure | value |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	row("offered pings/s", num(r.OfferedPerSec))
	row("accepted pings/s", num(r.AcceptedPerSec))
	row("pings sent / scheduled", fmt.Sprintf("%d / %d", r.Sent, r.Due))
	row("accepted / rejected / failed", fmt.Sprintf("%d / %d / %d", r.Accepted, r.Rejected, r.Failed))
	row("HTTP requests/s", num(r.RequestsPerSec))
	row("ping→websocket latency p50 / p95 / p99 / max", fmt.Sprintf("%s / %s / %s / %s ms (%d samples)", ms(r.Latency.P50), ms(r.Latency.P95), ms(r.Latency.P99), ms(r.Latency.Max), r.Latency.Samples))
	row("websocket positions delivered/s", num(r.Watch.DeliveredPerSec))
	row("watched devices", fmt.Sprint(r.Watch.WatchedDevices))
	row("watcher disconnects / errors", fmt.Sprintf("%d / %d", r.Watch.Disconnects, r.Watch.Errors))
	if r.Server.PID > 0 {
		row("server CPU", fmt.Sprintf("%.0f%% (100%% = one core)", r.Server.CPUPercent))
		row("server RSS start / end / peak", fmt.Sprintf("%.0f / %.0f / %.0f MiB", r.Server.RSSStartMiB, r.Server.RSSEndMiB, r.Server.RSSPeakMiB))
		row("server RSS growth per device", fmt.Sprintf("%.0f bytes", r.Server.BytesPerDevice))
		row("accepted pings per server CPU-second", num(r.Server.PingsPerCPUSecond))
		row("server CPU per accepted fix", fmt.Sprintf("%.1f µs", r.Server.CPUMicrosPerFix))
	}
	if r.Server.HeapBytesPerDevice != 0 {
		row("server live heap start / end (after GC)", fmt.Sprintf("%.0f / %.0f MiB", r.Server.HeapStartMiB, r.Server.HeapEndMiB))
		row("server live heap per reporting device", fmt.Sprintf("%.0f bytes", r.Server.HeapBytesPerDevice))
	}
	row("load tool CPU / RSS", fmt.Sprintf("%.0f%% / %.0f MiB", r.Client.CPUPercent, r.Client.RSSMiB))
	row("setup (tokens, websockets)", fmt.Sprintf("%.1f s", r.SetupSeconds))
	row("machine load average before / after", fmt.Sprintf("%.1f / %.1f", r.LoadAvg[0], r.LoadAvg[1]))
	row("machine", fmt.Sprintf("%d CPUs %s, %.0f GiB, Linux %s, %s", r.Machine.CPUs, r.Machine.CPUModel, r.Machine.MemoryGiB, r.Machine.Kernel, r.Machine.Go))
	if len(r.Reasons) > 0 {
		keys := make([]string, 0, len(r.Reasons))
		for k := range r.Reasons {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("\nRejections and failures by reason:\n\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %d\n", k, r.Reasons[k])
		}
	}
	if r.Watch.LastError != "" {
		fmt.Fprintf(&b, "\nLast websocket error: %s\n", r.Watch.LastError)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	s := fmt.Sprintf("%.0f", v)
	// Thousands separators for readability.
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func ms(v float64) string { return fmt.Sprintf("%.1f", v) }

func cosDeg(d float64) float64 { return math.Cos(d * math.Pi / 180) }
