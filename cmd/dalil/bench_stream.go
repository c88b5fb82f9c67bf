package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"dalil"
	"dalil/sim/load"
	"dalil/sim/streambench"
)

// streamBenchFlags are the flags of `dalil bench --protocol mqtt|gt06`.
type streamBenchFlags struct {
	broker, topicRoot, gt06Addr, teltonikaAddr *string
	publishers, records                        *int
}

func addStreamBenchFlags(fs *flag.FlagSet) streamBenchFlags {
	return streamBenchFlags{
		broker:        fs.String("mqtt-broker", "tcp://127.0.0.1:1883", "mqtt: the broker the server subscribes to (run it with --mqtt-identity user)"),
		topicRoot:     fs.String("mqtt-topic-root", "owntracks", "mqtt: devices publish to <root>/<device id>/phone"),
		publishers:    fs.Int("mqtt-publishers", 8, "mqtt: client connections the simulated phones share"),
		gt06Addr:      fs.String("gt06-addr", "127.0.0.1:5023", "gt06: the server's GT06 port; one persistent connection per device"),
		teltonikaAddr: fs.String("teltonika-addr", "127.0.0.1:5027", "teltonika: the server's Teltonika port; one persistent connection per device"),
		records:       fs.Int("records", 1, "teltonika: fixes a tracker buffers into one packet (sent every records×interval)"),
	}
}

func isStreamProtocol(p string) bool { return p == "mqtt" || p == "gt06" || p == "teltonika" }

type streamBenchArgs struct {
	flags                                     streamBenchFlags
	protocol, target, token, registry, layout string
	out                                       string
	devices, pilgrims, serverPID              int
	interval, duration                        time.Duration
	regSeed, seed                             int64
}

// runStreamBench measures the server's CPU per fix stored over MQTT or GT06.
func runStreamBench(ctx context.Context, stdout io.Writer, a streamBenchArgs) error {
	if a.devices < 1 || a.devices > load.MaxDevices {
		return fmt.Errorf("%w: --devices %d: want 1 to %d", errUsage, a.devices, load.MaxDevices)
	}
	if a.pilgrims == 0 {
		a.pilgrims = a.devices
	}
	layout, _, err := loadIndex(a.layout)
	if err != nil {
		return err
	}
	ps, _, err := loadRegistry(layout, a.registry, a.pilgrims, a.regSeed)
	if err != nil {
		return err
	}
	want := dalil.DevicePhone
	if a.protocol != "mqtt" {
		want = dalil.DeviceWristband
	}
	var devs []load.Device
	for _, d := range load.DevicesFromRegistry(layout, ps) {
		if d.Kind == want {
			devs = append(devs, d)
		}
	}
	if len(devs) < a.devices {
		return fmt.Errorf("%w: --devices %d: the registry has only %d %s devices", errUsage, a.devices, len(devs), want)
	}
	addr := *a.flags.gt06Addr
	if a.protocol == "teltonika" {
		addr = *a.flags.teltonikaAddr
	}
	rep, err := streambench.Run(ctx, streambench.Config{
		Protocol: a.protocol, Devices: devs[:a.devices], Interval: a.interval, Duration: a.duration,
		Target: a.target, AdminToken: a.token, Broker: *a.flags.broker, TopicRoot: *a.flags.topicRoot,
		Publishers: *a.flags.publishers, Addr: addr, Records: *a.flags.records, ServerPID: a.serverPID, Seed: a.seed,
	})
	if err != nil {
		return err
	}
	if err := rep.WriteMarkdown(stdout); err != nil {
		return err
	}
	if a.out == "" {
		return nil
	}
	f, err := os.Create(a.out)
	if err != nil {
		return err
	}
	if strings.HasSuffix(a.out, ".json") {
		err = json.NewEncoder(f).Encode(rep)
	} else {
		err = rep.WriteMarkdown(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
