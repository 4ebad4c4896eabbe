// Package vmcheck is what the programs that run inside the test VM share:
// the PASS/FAIL lines vm_test.go reads and counts.
package vmcheck

import (
	"fmt"
	"strings"
)

// Report prints one line per step: "PASS <step> <detail>" or
// "FAIL <step> <detail>". Failed says whether any step failed; the
// program then exits non-zero.
type Report struct {
	Failed bool
}

// Pass prints a passing step.
func (r *Report) Pass(step, format string, a ...any) {
	fmt.Printf("PASS %s %s\n", step, fmt.Sprintf(format, a...))
}

// Fail prints a failing step and marks the report failed.
func (r *Report) Fail(step, format string, a ...any) {
	fmt.Printf("FAIL %s %s\n", step, fmt.Sprintf(format, a...))
	r.Failed = true
}

// LastLines returns the last n lines of s, for a log's tail in a failure.
func LastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}
