package mdns

import (
	"fmt"

	"golang.org/x/net/dns/dnsmessage"
)

// maxPacket is the largest mDNS message (RFC 6762 §17).
const maxPacket = 9000

// maxRecords bounds the work one packet can cause.
const maxRecords = 128

// message is a parsed mDNS packet.
type message struct {
	Header      dnsmessage.Header
	Questions   []dnsmessage.Question
	Answers     []record
	Authorities []record
	Additionals []record
}

// parseMessage reads b. A packet that breaks off keeps what came before
// the damage, and err says what was wrong.
func parseMessage(b []byte) (message, error) {
	var m message
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil {
		return m, fmt.Errorf("dnsmessage.Parser.Start: %w", err)
	}
	m.Header = h
	for len(m.Questions) < maxRecords {
		q, err := p.Question()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return m, fmt.Errorf("dnsmessage.Parser.Question: %w", err)
		}
		m.Questions = append(m.Questions, q)
	}
	if err := p.SkipAllQuestions(); err != nil {
		return m, fmt.Errorf("dnsmessage.Parser.SkipAllQuestions: %w", err)
	}
	sections := []struct {
		next func() (dnsmessage.Resource, error)
		skip func() error
		out  *[]record
	}{
		{p.Answer, p.SkipAllAnswers, &m.Answers},
		{p.Authority, p.SkipAllAuthorities, &m.Authorities},
		{p.Additional, p.SkipAllAdditionals, &m.Additionals},
	}
	total := 0
	for _, s := range sections {
		for ; total < maxRecords; total++ {
			res, err := s.next()
			if err == dnsmessage.ErrSectionDone {
				break
			}
			if err != nil {
				return m, fmt.Errorf("dnsmessage.Parser: %w", err)
			}
			if r, ok := fromResource(res); ok {
				*s.out = append(*s.out, r)
			}
		}
		if err := s.skip(); err != nil {
			return m, fmt.Errorf("dnsmessage.Parser: %w", err)
		}
	}
	return m, nil
}

// packMessage builds a message with name compression.
func packMessage(h dnsmessage.Header, qs []dnsmessage.Question, answers, authorities, additionals []record) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, fmt.Errorf("dnsmessage.Builder.StartQuestions: %w", err)
	}
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			return nil, fmt.Errorf("dnsmessage.Builder.Question %s: %w", q.Name, err)
		}
	}
	steps := []struct {
		start func() error
		recs  []record
	}{
		{b.StartAnswers, answers},
		{b.StartAuthorities, authorities},
		{b.StartAdditionals, additionals},
	}
	for _, s := range steps {
		if err := s.start(); err != nil {
			return nil, fmt.Errorf("dnsmessage.Builder: %w", err)
		}
		for _, r := range s.recs {
			if err := addRecord(&b, r); err != nil {
				return nil, fmt.Errorf("dnsmessage.Builder %s %s: %w", r.Name, r.Type, err)
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil, fmt.Errorf("dnsmessage.Builder.Finish: %w", err)
	}
	if len(out) > maxPacket {
		return nil, fmt.Errorf("mdns: message of %d bytes exceeds %d", len(out), maxPacket)
	}
	return out, nil
}

func addRecord(b *dnsmessage.Builder, r record) error {
	res, body := r.resource()
	h := res.Header
	switch body := body.(type) {
	case *dnsmessage.AResource:
		return b.AResource(h, *body)
	case *dnsmessage.AAAAResource:
		return b.AAAAResource(h, *body)
	case *dnsmessage.PTRResource:
		return b.PTRResource(h, *body)
	case *dnsmessage.SRVResource:
		return b.SRVResource(h, *body)
	case *dnsmessage.TXTResource:
		return b.TXTResource(h, *body)
	case *dnsmessage.UnknownResource:
		return b.UnknownResource(h, *body)
	}
	return fmt.Errorf("mdns: cannot pack %s", r.Type)
}

// question builds a question; unicast sets the QU bit.
func question(name string, t dnsmessage.Type, unicast bool) dnsmessage.Question {
	class := dnsmessage.ClassINET
	if unicast {
		class |= classTopBit
	}
	return dnsmessage.Question{Name: mustName(name), Type: t, Class: class}
}
