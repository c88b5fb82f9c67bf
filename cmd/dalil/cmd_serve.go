package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"dalil"
	"dalil/api"
	"dalil/geo"
	"dalil/ingest"
	"dalil/registry"
	"dalil/sim"
	"dalil/store"
	"dalil/web"
)

// serveOptions are the flags of `dalil serve`; each has an environment
// variable that sets its default (the flag wins).
type serveOptions struct {
	addr, data, storeSpec, layout, registry, osmandAddr string
	origins, logLevel, logFormat                        string
	demo, metricsPublic                                 bool
	demoPilgrims                                        int
	demoSeed                                            int64
	staleAfter, retention, shutdownTimeout              time.Duration
	webhookURL, webhookSecret, publicURL                string
	alertDistance                                       float64
	alertAfter                                          time.Duration
	// ingest filters and limits (docs/ingest.md); zero filter bounds disable
	// the filter, as in ingest.Config.
	ingestMaxAccuracy, ingestMaxSpeed, ingestMaxSpeedLuggage float64
	ingestMaxAge, ingestMaxFuture                            time.Duration
	ingestMaxBody, ingestMaxSingleBody                       int64
	ingestMaxBatch                                           int
	openIngest                                               bool
	streams                                                  streamOptions // serve_streams.go
}

// env reads the environment once per flag; lookup is os.LookupEnv except in
// tests.
type env func(string) (string, bool)

func (e env) str(name, def string) string {
	if v, ok := e(name); ok && v != "" {
		return v
	}
	return def
}

// The typed readers report a malformed variable instead of ignoring it.
func (e env) boolean(name string, def bool, errs *[]error) bool {
	v, ok := e(name)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: want true or false", name, v))
	}
	return b
}

func (e env) integer(name string, def int64, errs *[]error) int64 {
	v, ok := e(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: want an integer", name, v))
	}
	return n
}

func (e env) float(name string, def float64, errs *[]error) float64 {
	v, ok := e(name)
	if !ok || v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: want a number", name, v))
	}
	return f
}

func (e env) duration(name string, def time.Duration, errs *[]error) time.Duration {
	v, ok := e(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: want a duration like 30s or 720h", name, v))
	}
	return d
}

func parseServeFlags(args []string, getenv env, stderr io.Writer) (serveOptions, error) {
	var o serveOptions
	var errs []error
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", getenv.str("DALIL_ADDR", "127.0.0.1:8080"), "listen address of the API, console and ingest (DALIL_ADDR)")
	fs.StringVar(&o.data, "data", getenv.str("DALIL_DATA", "./data"), "directory of the embedded store (DALIL_DATA)")
	fs.StringVar(&o.storeSpec, "store", getenv.str("DALIL_STORE", ""), "postgres://… URL; overrides --data (DALIL_STORE)")
	fs.StringVar(&o.layout, "layout", getenv.str("DALIL_LAYOUT", ""), "camp and tent layout GeoJSON; default: the shipped layout (DALIL_LAYOUT)")
	fs.StringVar(&o.registry, "registry", getenv.str("DALIL_REGISTRY", ""), "pilgrim registry CSV to import at start (DALIL_REGISTRY)")
	fs.StringVar(&o.osmandAddr, "osmand-addr", getenv.str("DALIL_OSMAND_ADDR", "auto"), "serve the OsmAnd protocol (Traccar Client) at / on this address; auto: port 5055 on --addr's host; off: not at all (DALIL_OSMAND_ADDR)")
	fs.StringVar(&o.origins, "allowed-origins", getenv.str("DALIL_ALLOWED_ORIGINS", ""), "comma-separated extra browser origins allowed on the websocket (DALIL_ALLOWED_ORIGINS)")
	fs.StringVar(&o.publicURL, "public-url", getenv.str("DALIL_PUBLIC_URL", ""), "URL devices reach this server at, for enrolment links and QR codes, e.g. https://dalil.example; default: the host the console uses (DALIL_PUBLIC_URL)")
	fs.BoolVar(&o.demo, "demo", getenv.boolean("DALIL_DEMO", false, &errs), "generate a demo registry when the store has none, print demo tokens and simulate pilgrims in-process (DALIL_DEMO)")
	fs.IntVar(&o.demoPilgrims, "demo-pilgrims", int(getenv.integer("DALIL_DEMO_PILGRIMS", 5000, &errs)), "pilgrims in the generated demo registry (DALIL_DEMO_PILGRIMS)")
	fs.Int64Var(&o.demoSeed, "demo-seed", getenv.integer("DALIL_DEMO_SEED", 1, &errs), "seed of the demo registry and simulation (DALIL_DEMO_SEED)")
	fs.BoolVar(&o.metricsPublic, "metrics-public", getenv.boolean("DALIL_METRICS_PUBLIC", false, &errs), "serve /metrics without a token (DALIL_METRICS_PUBLIC)")
	fs.DurationVar(&o.staleAfter, "stale-after", getenv.duration("DALIL_STALE_AFTER", 15*time.Minute, &errs), "age after which a live position is reported stale (DALIL_STALE_AFTER)")
	fs.DurationVar(&o.retention, "retention", getenv.duration("DALIL_RETENTION", 0, &errs), "delete position history older than this, e.g. 720h; 0 keeps everything (DALIL_RETENTION)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", getenv.duration("DALIL_SHUTDOWN_TIMEOUT", 15*time.Second, &errs), "how long in-flight requests may finish at shutdown (DALIL_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&o.webhookURL, "webhook-url", getenv.str("DALIL_WEBHOOK_URL", ""), "POST signed case and alert events here, e.g. an SMS gateway (DALIL_WEBHOOK_URL)")
	fs.StringVar(&o.webhookSecret, "webhook-secret", getenv.str("DALIL_WEBHOOK_SECRET", ""), "HMAC-SHA256 key signing webhook bodies; required with --webhook-url (DALIL_WEBHOOK_SECRET)")
	fs.Float64Var(&o.alertDistance, "alert-distance", getenv.float("DALIL_ALERT_DISTANCE", 300, &errs), "metres from the guide (or the group's centre) that make a member separated (DALIL_ALERT_DISTANCE)")
	fs.DurationVar(&o.alertAfter, "alert-after", getenv.duration("DALIL_ALERT_AFTER", 10*time.Minute, &errs), "how long a member must stay separated before the guide is alerted (DALIL_ALERT_AFTER)")
	ic := ingest.DefaultConfig()
	fs.Float64Var(&o.ingestMaxAccuracy, "ingest-max-accuracy", getenv.float("DALIL_INGEST_MAX_ACCURACY", ic.MaxAccuracy, &errs), "refuse fixes whose accuracy radius is larger, in metres; 0 disables (DALIL_INGEST_MAX_ACCURACY)")
	fs.DurationVar(&o.ingestMaxAge, "ingest-max-age", getenv.duration("DALIL_INGEST_MAX_AGE", ic.MaxAge, &errs), "refuse fixes older than this; must cover offline buffering; 0 disables (DALIL_INGEST_MAX_AGE)")
	fs.DurationVar(&o.ingestMaxFuture, "ingest-max-future", getenv.duration("DALIL_INGEST_MAX_FUTURE", ic.MaxFuture, &errs), "refuse fixes stamped further ahead than this (wrong device clock); 0 disables (DALIL_INGEST_MAX_FUTURE)")
	fs.Float64Var(&o.ingestMaxSpeed, "ingest-max-speed", getenv.float("DALIL_INGEST_MAX_SPEED", ic.MaxSpeed, &errs), "m/s between fixes beyond which a fix is a GPS jump (people); 0 disables (DALIL_INGEST_MAX_SPEED)")
	fs.Float64Var(&o.ingestMaxSpeedLuggage, "ingest-max-speed-luggage", getenv.float("DALIL_INGEST_MAX_SPEED_LUGGAGE", ic.MaxSpeedLuggage, &errs), "the jump bound for luggage tags, m/s; 0 disables (DALIL_INGEST_MAX_SPEED_LUGGAGE)")
	fs.Int64Var(&o.ingestMaxBody, "ingest-max-body", getenv.integer("DALIL_INGEST_MAX_BODY", ic.MaxBodyBytes, &errs), "largest native /v1/pings body, bytes (DALIL_INGEST_MAX_BODY)")
	fs.Int64Var(&o.ingestMaxSingleBody, "ingest-max-single-body", getenv.integer("DALIL_INGEST_MAX_SINGLE_BODY", ic.MaxSingleBodyBytes, &errs), "largest OsmAnd or OwnTracks body, bytes (DALIL_INGEST_MAX_SINGLE_BODY)")
	fs.IntVar(&o.ingestMaxBatch, "ingest-max-batch", int(getenv.integer("DALIL_INGEST_MAX_BATCH", int64(ic.MaxBatch), &errs)), "most pings in one request; 0 disables (DALIL_INGEST_MAX_BATCH)")
	fs.BoolVar(&o.openIngest, "open-ingest", getenv.boolean("DALIL_OPEN_INGEST", ic.OpenIngest, &errs), "UNSAFE, demos only: accept OsmAnd and OwnTracks fixes named by a registered device id alone, so anyone who knows an id can move a pilgrim (DALIL_OPEN_INGEST)")
	addStreamFlags(fs, getenv, &o.streams, &errs)
	fs.StringVar(&o.logLevel, "log-level", getenv.str("DALIL_LOG_LEVEL", "info"), "debug, info, warn or error (DALIL_LOG_LEVEL)")
	fs.StringVar(&o.logFormat, "log-format", getenv.str("DALIL_LOG_FORMAT", "text"), "text or json (DALIL_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("%w: %w", errUsage, errors.Join(errs...))
	}
	if o.demoPilgrims < 1 {
		return o, fmt.Errorf("%w: --demo-pilgrims must be at least 1", errUsage)
	}
	if o.webhookURL != "" && o.webhookSecret == "" {
		return o, fmt.Errorf("%w: --webhook-url needs --webhook-secret so that receivers can verify the sender", errUsage)
	}
	if u, err := url.Parse(o.webhookURL); o.webhookURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return o, fmt.Errorf("%w: --webhook-url %q: want http(s)://host/path", errUsage, o.webhookURL)
	}
	if u, err := url.Parse(o.publicURL); o.publicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return o, fmt.Errorf("%w: --public-url %q: want http(s)://host", errUsage, o.publicURL)
	}
	if o.alertDistance <= 0 || o.alertAfter <= 0 {
		return o, fmt.Errorf("%w: --alert-distance and --alert-after must be positive", errUsage)
	}
	if o.retention < 0 {
		return o, fmt.Errorf("%w: --retention must not be negative", errUsage)
	}
	if o.ingestMaxAccuracy < 0 || o.ingestMaxSpeed < 0 || o.ingestMaxSpeedLuggage < 0 || o.ingestMaxAge < 0 || o.ingestMaxFuture < 0 || o.ingestMaxBatch < 0 {
		return o, fmt.Errorf("%w: the --ingest-max-* filter bounds must not be negative (0 disables a filter)", errUsage)
	}
	if o.ingestMaxBody <= 0 || o.ingestMaxSingleBody <= 0 {
		return o, fmt.Errorf("%w: --ingest-max-body and --ingest-max-single-body must be positive", errUsage)
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return o, fmt.Errorf("%w: --log-format must be text or json", errUsage)
	}
	return o, nil
}

func newLogger(o serveOptions, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, o.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// runServe runs the server until ctx ends (SIGINT/SIGTERM in main).
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServeFlags(args, os.LookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := newLogger(o, stderr)
	if err != nil {
		return err
	}

	layout := geo.Default()
	if o.layout != "" {
		if layout, err = geo.LoadFile(o.layout); err != nil {
			return fmt.Errorf("layout %s: %w", o.layout, err)
		}
	}
	ix, err := geo.NewIndex(layout)
	if err != nil {
		return fmt.Errorf("index layout: %w", err)
	}

	spec := o.data
	if o.storeSpec != "" {
		spec = o.storeSpec
	}
	st, err := store.Open(ctx, spec, log)
	if err != nil {
		return fmt.Errorf("open store %s: %w", redactURL(spec), err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	reg, err := registry.LoadRegistry(ctx, st)
	if err != nil {
		return fmt.Errorf("load registry: %w", err)
	}
	if o.registry != "" {
		if err := importRegistryFile(ctx, reg, st, o.registry); err != nil {
			return err
		}
		log.Info("registry imported", "file", o.registry, "pilgrims", reg.Len())
	}
	if o.demo && reg.Len() == 0 {
		ps, gs := registry.GenerateRegistry(layout, o.demoPilgrims, o.demoSeed)
		if err := reg.Import(ctx, st, ps, gs); err != nil {
			return fmt.Errorf("demo registry: %w", err)
		}
		log.Info("demo registry generated", "pilgrims", len(ps), "groups", len(gs))
	}

	if o.openIngest {
		log.Warn("open ingest: OsmAnd and OwnTracks fixes are accepted by device id alone; anyone who knows an id can move that pilgrim's position. For demos only: drop --open-ingest / DALIL_OPEN_INGEST in production")
	}
	cfg := serveConfig(o, os.Getenv("DALIL_ADMIN_TOKEN"))
	cfg.Stdout = stdout // a generated admin token is printed here, once
	cfg.Console = web.Handler()
	srv, err := api.New(ctx, cfg, api.Deps{Store: st, Index: ix, Registry: reg, Logger: log})
	if err != nil {
		return err
	}
	if err := startStreams(srv, o.streams, log); err != nil {
		return err
	}
	apiLn, osmLn, err := srv.Listen()
	if err != nil {
		return err
	}
	base := "http://" + apiLn.Addr().String()

	// Background work runs under Serve: it starts after the live state is
	// rebuilt and Serve waits for it before returning (and the store closes).
	if o.retention > 0 {
		srv.OnRun(func(ctx context.Context) { srv.Engine().RunRetention(ctx, o.retention, time.Hour) })
	}
	var demoTokens []api.DemoToken
	if o.demo {
		if demoTokens, err = srv.DemoTokens(ctx); err != nil {
			apiLn.Close()
			if osmLn != nil {
				osmLn.Close()
			}
			return fmt.Errorf("demo tokens: %w", err)
		}
		srv.OnRun(func(ctx context.Context) { runDemoSimulation(ctx, srv, ix, reg, o.demoSeed, log) })
	}
	// The banner says the server answers: printed once Serve is ready.
	srv.OnReady(func() {
		fmt.Fprintf(stdout, "Dalil serving on %s (console %s/)\n", apiLn.Addr(), base)
		if len(demoTokens) == 0 {
			return
		}
		fmt.Fprintln(stdout, "Demo sign-in tokens (valid until the next start):")
		for _, t := range demoTokens {
			fmt.Fprintf(stdout, "  %-8s %-18s %s\n", t.Role, t.Subject, t.Token)
			if t.Role == api.RolePilgrim {
				fmt.Fprintf(stdout, "           tent finder: %s/me?token=%s\n", base, t.Token)
			}
		}
	})
	return srv.Serve(ctx, apiLn, osmLn)
}

// osmandAddr resolves --osmand-addr: "off" (or empty) serves no OsmAnd port;
// "auto", the default, is Traccar's port 5055 on the API's host (loopback
// when the API is), and optional: a busy default port is a warning.
func osmandAddr(flag, apiAddr string) (addr string, optional bool) {
	switch strings.ToLower(strings.TrimSpace(flag)) {
	case "", "off", "none", "false":
		return "", false
	case "auto":
		host, _, err := net.SplitHostPort(apiAddr)
		if err != nil {
			host = ""
		}
		return net.JoinHostPort(host, "5055"), true
	}
	return flag, false
}

// serveConfig turns the options into the server's configuration.
func serveConfig(o serveOptions, adminToken string) api.Config {
	cfg := api.DefaultConfig()
	cfg.Addr = o.addr
	cfg.OsmAndAddr, cfg.OsmAndOptional = osmandAddr(o.osmandAddr, o.addr)
	cfg.AdminToken = adminToken
	cfg.PublicURL = o.publicURL
	cfg.MetricsPublic = o.metricsPublic
	cfg.StaleAfter = o.staleAfter
	cfg.Webhook.URL, cfg.Webhook.Secret = o.webhookURL, o.webhookSecret
	cfg.Alerts.RaiseDistanceM = o.alertDistance
	cfg.Alerts.ClearDistanceM = o.alertDistance * 2 / 3
	cfg.Alerts.RaiseAfter = o.alertAfter
	cfg.ShutdownTimeout = o.shutdownTimeout
	cfg.Ingest.MaxAccuracy = o.ingestMaxAccuracy
	cfg.Ingest.MaxAge = o.ingestMaxAge
	cfg.Ingest.MaxFuture = o.ingestMaxFuture
	cfg.Ingest.MaxSpeed = o.ingestMaxSpeed
	cfg.Ingest.MaxSpeedLuggage = o.ingestMaxSpeedLuggage
	cfg.Ingest.MaxBodyBytes = o.ingestMaxBody
	cfg.Ingest.MaxSingleBodyBytes = o.ingestMaxSingleBody
	cfg.Ingest.MaxBatch = o.ingestMaxBatch
	cfg.Ingest.OpenIngest = o.openIngest
	for _, origin := range strings.Split(o.origins, ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, origin)
		}
	}
	return cfg
}

// runDemoSimulation moves the registry's pilgrims in-process at real time
// until ctx ends.
func runDemoSimulation(ctx context.Context, srv *api.Server, ix *geo.Index, reg *registry.Registry, seed int64, log *slog.Logger) {
	var ps []registry.Pilgrim
	reg.Each(func(p registry.Pilgrim) bool { ps = append(ps, p); return true })
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	cfg.Log = log
	s := sim.New(cfg, ix, ps, reg.Groups())
	log.Info("demo simulation running", "pilgrims", len(ps))
	if err := s.Run(ctx, srv.Engine().Accept); err != nil && ctx.Err() == nil {
		log.Error("demo simulation stopped", "err", err)
	}
}

func importRegistryFile(ctx context.Context, reg *registry.Registry, st dalil.Store, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	ps, gs, err := registry.ReadPilgrimsCSV(f)
	if err != nil {
		return fmt.Errorf("registry %s: %w", path, err)
	}
	if err := reg.Import(ctx, st, ps, gs); err != nil {
		return fmt.Errorf("registry %s: %w", path, err)
	}
	return nil
}

// redactURL hides a password in a store URL before it is printed.
func redactURL(spec string) string {
	if i := strings.Index(spec, "://"); i >= 0 {
		if at := strings.LastIndex(spec, "@"); at > i {
			if c := strings.Index(spec[i+3:at], ":"); c >= 0 {
				return spec[:i+3+c+1] + "***" + spec[at:]
			}
		}
	}
	return spec
}
