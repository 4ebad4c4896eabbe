package config

import (
	"strings"
	"testing"
)

func TestParseBitrate(t *testing.T) {
	tests := []struct {
		in   string
		want Bitrate
	}{
		{"2Mbps", 2_000_000},
		{"2.5 Mbit/s", 2_500_000},
		{"300kbps", 300_000},
		{"300k", 300_000},
		{"300K", 300_000},
		{"2M", 2_000_000},
		{"2mbps", 2_000_000},
		{"1G", 1_000_000_000},
		{"1.5Gbit/s", 1_500_000_000},
		{"2000000", 2_000_000},
		{"500bps", 500},
		{"500 bits/s", 500},
		{" 150kb/s ", 150_000},
		{".5M", 500_000},
		{"0.3Mbps", 300_000},
		{"0", 0},
	}
	for _, tt := range tests {
		got, err := ParseBitrate(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseBitrate(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseBitrateErrors(t *testing.T) {
	tests := []struct{ in, wantMsg string }{
		{"", "is not a bitrate"},
		{"fast", "is not a bitrate"},
		{"-2M", "must not be negative"},
		{"2MBps", "in bytes"},
		{"2kB/s", "in bytes"},
		{"2Xbps", "unknown unit"},
		{"2 Mbps x", "unknown unit"},
		{"1.2.3M", "bad number"},
		{".", "bad number"},
		{"3G", "above the limit"},
		{"99999999999999999999999", "above the limit"},
		{"1e6", "unknown unit"},
	}
	for _, tt := range tests {
		got, err := ParseBitrate(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("ParseBitrate(%q) = %d, %v; want error containing %q", tt.in, got, err, tt.wantMsg)
		}
	}
}

func TestBitrateString(t *testing.T) {
	tests := []struct {
		in   Bitrate
		want string
	}{
		{2_000_000, "2Mbps"},
		{2_500_000, "2.5Mbps"},
		{150_000, "150kbps"},
		{6_000_000, "6Mbps"},
		{1_000_000_000, "1Gbps"},
		{1_250_000_000, "1.25Gbps"},
		{2_000_001, "2000.001kbps"},
		{1_500, "1.5kbps"},
		{999, "999bps"},
		{0, "0bps"},
		{-5, "-5bps"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Bitrate(%d).String() = %q, want %q", int(tt.in), got, tt.want)
		}
		if tt.in < 0 {
			continue
		}
		back, err := ParseBitrate(tt.in.String())
		if err != nil || back != tt.in {
			t.Errorf("ParseBitrate(%q) = %d, %v; want %d", tt.in.String(), back, err, int(tt.in))
		}
	}
}

func TestBitrateText(t *testing.T) {
	var b Bitrate
	if err := b.UnmarshalText([]byte("2.5M")); err != nil || b != 2_500_000 {
		t.Fatalf("UnmarshalText = %d, %v", b, err)
	}
	text, err := b.MarshalText()
	if err != nil || string(text) != "2.5Mbps" {
		t.Fatalf("MarshalText = %q, %v", text, err)
	}
	if err := b.UnmarshalText([]byte("lots")); err == nil || b != 2_500_000 {
		t.Fatalf("UnmarshalText(lots) = %d, %v; want an error and the old value", b, err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "2s", want: "2s"},
		{in: "500ms", want: "500ms"},
		{in: " 1m30s ", want: "1m30s"},
		{in: "0", want: "0s"},
		{in: "-1s", wantErr: "must not be negative"},
		{in: "2", wantErr: `needs a unit, e.g. "2s"`},
		{in: "1.5", wantErr: "needs a unit"},
		{in: "soon", wantErr: "is not a duration"},
		{in: "", wantErr: "is not a duration"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got.String() != tt.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("250ms")); err != nil {
		t.Fatal(err)
	}
	if text, _ := d.MarshalText(); string(text) != "250ms" {
		t.Errorf("MarshalText = %q, want 250ms", text)
	}
}
