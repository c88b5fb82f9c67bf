// Package sim is a Hajj crowd simulator. Groups of about 44 pilgrims follow
// their guide along the streets of Mina between their tent, their camp gate and
// the Jamarat bridge, or to their camp at Arafat; their phones, wristbands and
// luggage tags report noisy GPS fixes at each device's interval. Some pilgrims
// get lost, some bags are left behind, some phones go silent and flush a
// backlog later, batteries drain. The simulator records the ground truth so
// that tests can check Dalil found the right pilgrims.
//
// Everything random comes from one math/rand/v2 source seeded by Config.Seed,
// consumed in a fixed order, so a seed (and a start time) fixes every ping.
package sim
