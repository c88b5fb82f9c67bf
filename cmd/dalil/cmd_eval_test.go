package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestEvalLocatePrintsTheTables(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runEval(context.Background(), []string{"locate", "--pilgrims", "8", "--uniform", "50"}, &out, &errb); err != nil {
		t.Fatalf("eval locate: %v (%s)", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{"| 13 m | ", "| 8 m +10 m bias | posterior |", "ECE tent", "Location.Camp right"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestEvalRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{{}, {"where"}, {"locate", "--pilgrims", "0"}, {"locate", "--uniform", "-1"}, {"locate", "extra"}} {
		var out, errb bytes.Buffer
		if err := runEval(context.Background(), args, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("eval %q = %v, want a usage error", args, err)
		}
	}
}
