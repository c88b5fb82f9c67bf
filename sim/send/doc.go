// Package send delivers simulated pings to a Dalil server over the protocols
// real devices speak: OsmAnd (Traccar Client), OwnTracks HTTP and Dalil's
// native NDJSON batches. Its encoders produce exactly the requests those
// clients send, and Sender.Send fits sim.Simulator.Run's emit.
//
// Only loopback targets are allowed: the simulator and the load tool must
// never send traffic off this machine.
package send
