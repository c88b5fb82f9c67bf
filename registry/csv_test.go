package registry

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"dalil"
)

const csvHeader = "pid,tracking_no,passport,name_en,name_bn,gender,birth_year,phone,nationality,agency,group,guide_pid,mahram_pid,camp,tent,devices\n"

func TestReadPilgrimsCSV(t *testing.T) {
	in := "\ufeff" + csvHeader +
		"BD1000001,N10000001,a01234567,Md. Abdul Karim,মোঃ আব্দুল করিম,M,1960,+8801712345678,bd,Al-Noor Hajj Kafela,G1,BD1000001,BD1000002,mina-001,mina-001/1,phone:351234567890123;wristband:WB00000001\n" +
		"BD1000002,,,Mosammat Fatema Begum,মোছাম্মৎ ফাতেমা বেগম,female,1964,01712-345679,BD,Al-Noor Hajj Kafela,G1,,BD1000001,mina-001,mina-001/2,WB00000002\n"
	ps, gs, lines, err := ReadPilgrimsCSVLines(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pilgrim{
		{PID: "BD1000001", TrackingNo: "N10000001", Passport: "A01234567", NameEN: "Md. Abdul Karim", NameBN: "মোঃ আব্দুল করিম",
			Gender: "M", BirthYear: 1960, Phone: "+8801712345678", Nationality: "BD", Agency: "Al-Noor Hajj Kafela", Group: "G1",
			GuidePID: "BD1000001", MahramPID: "BD1000002", Camp: "mina-001", Tent: "mina-001/1",
			Devices: []string{"351234567890123", "WB00000001"}, DeviceKinds: []dalil.DeviceKind{dalil.DevicePhone, dalil.DeviceWristband}},
		{PID: "BD1000002", NameEN: "Mosammat Fatema Begum", NameBN: "মোছাম্মৎ ফাতেমা বেগম", Gender: "F", BirthYear: 1964,
			Phone: "01712-345679", Nationality: "BD", Agency: "Al-Noor Hajj Kafela", Group: "G1", MahramPID: "BD1000001",
			Camp: "mina-001", Tent: "mina-001/2", Devices: []string{"WB00000002"}, DeviceKinds: []dalil.DeviceKind{dalil.DevicePhone}},
	}
	if !reflect.DeepEqual(ps, want) {
		t.Fatalf("pilgrims\n got %+v\nwant %+v", ps, want)
	}
	if !reflect.DeepEqual(gs, []Group{{ID: "G1", Agency: "Al-Noor Hajj Kafela", GuidePID: "BD1000001"}}) {
		t.Fatalf("groups %+v", gs)
	}
	if !reflect.DeepEqual(lines, []int{2, 3}) {
		t.Fatalf("lines %v", lines)
	}
}

func TestReadPilgrimsCSVColumnsInAnyOrder(t *testing.T) {
	in := "Name_EN , PID,devices\nAli Akbar,X1,band:W1\n"
	ps, _, err := ReadPilgrimsCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].PID != "X1" || ps[0].NameEN != "Ali Akbar" || ps[0].DeviceKinds[0] != dalil.DeviceWristband {
		t.Fatalf("got %+v", ps)
	}
}

func TestReadPilgrimsCSVErrors(t *testing.T) {
	row := func(pid, extra string) string {
		// pid, name_en, birth_year, gender, devices, group, agency, guide_pid, mahram_pid, phone, camp, tent
		return pid + ",Name " + pid + "," + extra + "\n"
	}
	head := "pid,name_en,birth_year,gender,devices,group,agency,guide_pid,mahram_pid,phone,camp,tent\n"
	cases := []struct {
		name, in   string
		line       int
		column     string
		reasonPart string
	}{
		{"empty file", "", 1, "", "no header"},
		{"unknown header", "pid,name_en,shoe_size\n", 1, "shoe_size", "unknown column"},
		{"missing pid column", "name_en,phone\nAli,0171\n", 1, "pid", "required column"},
		{"duplicate column", "pid,name_en,pid\n", 1, "pid", "appears twice"},
		{"duplicate PID", head + row("A1", ",,,,,,,,,") + row("A2", ",,,,,,,,,") + row("A1", ",,,,,,,,,"), 4, "pid", `duplicate PID "A1" (first on line 2)`},
		{"empty PID", head + row("A1", ",,,,,,,,,") + row("", ",,,,,,,,,"), 3, "pid", "empty PID"},
		{"empty name", head + "A1,,,,,,,,,,,\n", 2, "name_en", "empty English name"},
		{"bad birth year", head + row("A1", "19x5,,,,,,,,,"), 2, "birth_year", `bad birth year "19x5"`},
		{"birth year in the future", head + row("A1", "2999,,,,,,,,,"), 2, "birth_year", "bad birth year"},
		{"bad gender", head + row("A1", ",X,,,,,,,,"), 2, "gender", `gender "X"`},
		{"device claimed twice", head + row("A1", ",,d1;wristband:w1,,,,,,,") + row("A2", ",,,,,,,,,") + row("A3", ",,w1,,,,,,,"), 4, "devices", `device "w1" is also claimed by pid A1 on line 2`},
		{"device twice in a row", head + row("A1", ",,d1;phone:d1,,,,,,,"), 2, "devices", "listed twice"},
		{"unknown device kind", head + row("A1", ",,watch:d1,,,,,,,"), 2, "devices", `unknown kind "watch"`},
		{"bad phone", head + row("A1", ",,,,,,,abc,,"), 2, "phone", "unexpected"},
		{"own mahram", head + row("A1", ",,,,,,A1,,,"), 2, "mahram_pid", "own mahram"},
		{"tent outside camp", head + row("A1", ",,,,,,,,mina-001,mina-002/3"), 2, "tent", "not in camp"},
		{"agency differs in a group", head + row("A1", ",,,G1,Ag1,,,,,") + row("A2", ",,,G1,Ag2,,,,,"), 3, "agency", "differs"},
		{"guide differs in a group", head + row("A1", ",,,G1,Ag,A1,,,,") + row("A2", ",,,G1,Ag,A2,,,,"), 3, "guide_pid", "differs"},
		{"wrong field count", head + "A1,Name\n", 2, "", "wrong number of fields"},
		{"line break in a field", head + "A1,\"two\nlines\",,,,,,,,,,\n", 2, "name_en", "line break"},
		{"bad quote", head + "A1,\"Name,,,,,,,,,,\n", 2, "", "quote"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, gs, err := ReadPilgrimsCSV(strings.NewReader(c.in))
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *RowError", err)
			}
			if ps != nil || gs != nil {
				t.Fatalf("returned %d pilgrims with an error", len(ps))
			}
			if re.Line != c.line || re.Column != c.column || !strings.Contains(re.Reason, c.reasonPart) {
				t.Fatalf("err = %q (line %d, column %q), want line %d, column %q, reason containing %q",
					err, re.Line, re.Column, c.line, c.column, c.reasonPart)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("message %q does not start with the line", err)
			}
		})
	}
}

func TestPilgrimsCSVRoundTrip(t *testing.T) {
	ps, gs := GenerateRegistry(testLayout(t), 500, 7)
	var buf bytes.Buffer
	if err := WritePilgrimsCSV(&buf, ps); err != nil {
		t.Fatal(err)
	}
	got, ggs, err := ReadPilgrimsCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ps) {
		for i := range ps {
			if !reflect.DeepEqual(got[i], ps[i]) {
				t.Fatalf("pilgrim %d\n got %+v\nwant %+v", i, got[i], ps[i])
			}
		}
		t.Fatalf("got %d pilgrims, want %d", len(got), len(ps))
	}
	if len(ggs) != len(gs) {
		t.Fatalf("got %d groups, want %d", len(ggs), len(gs))
	}
	for i := range gs {
		if ggs[i].ID != gs[i].ID || ggs[i].Agency != gs[i].Agency || ggs[i].GuidePID != gs[i].GuidePID {
			t.Fatalf("group %d = %+v, want %+v", i, ggs[i], gs[i])
		}
	}
}

func FuzzReadPilgrimsCSV(f *testing.F) {
	f.Add(csvHeader + "BD1,N1,A1,Md. Ali,মোঃ আলী,M,1960,+8801712345678,BD,Ag,G1,BD1,,mina-001,mina-001/1,phone:1;wristband:2\n")
	f.Add("pid,name_en,devices\nX,Y,tag:T1\nZ,W,\n")
	f.Add("pid,name_en\n\"a\"\"b\",c\n")
	f.Add("pid,name_en,birth_year\nA,B,-1\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, gs, err := ReadPilgrimsCSV(strings.NewReader(in))
		if err != nil {
			var re *RowError
			if errors.As(err, &re) && re.Line < 1 {
				t.Fatalf("row error without a line: %v", err)
			}
			return
		}
		// Whatever was accepted survives a write and a read unchanged and
		// passes the import's validation (apart from references to pilgrims
		// outside the file).
		var buf bytes.Buffer
		if err := WritePilgrimsCSV(&buf, ps); err != nil {
			t.Fatal(err)
		}
		again, _, err := ReadPilgrimsCSV(&buf)
		if err != nil {
			t.Fatalf("re-reading written CSV: %v\n%s", err, buf.String())
		}
		if len(again) != len(ps) {
			t.Fatalf("round trip: %d pilgrims, want %d", len(again), len(ps))
		}
		for i := range ps {
			if !reflect.DeepEqual(again[i], ps[i]) {
				t.Fatalf("round trip changed pilgrim %d:\n%+v\n%+v", i, ps[i], again[i])
			}
		}
		if len(gs) > len(ps) {
			t.Fatalf("%d groups from %d pilgrims", len(gs), len(ps))
		}
	})
}
