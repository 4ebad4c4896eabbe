package pkgtest

// The rules of Buildroot's utils/check-package (utils/checkpackagelib:
// lib.py, lib_config.py, lib_mk.py, lib_sysv.py, as of 2026-11), applied
// by file kind. Each rule takes a file's lines and returns what
// check-package would print.

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// finding is one problem, printed as check-package prints it.
type finding struct {
	file string
	line int
	msg  string
}

func (f finding) String() string { return fmt.Sprintf("%s:%d: %s", f.file, f.line, f.msg) }

// lintFile is a file under check: its name for messages and its lines
// without the newline; text is the whole content.
type lintFile struct {
	name  string
	text  string
	lines []string
}

func newLintFile(name, text string) lintFile {
	lines := strings.Split(text, "\n")
	if strings.HasSuffix(text, "\n") {
		lines = lines[:len(lines)-1]
	}
	return lintFile{name: name, text: text, lines: lines}
}

type rule func(lintFile) []finding

func (f lintFile) at(line int, format string, args ...any) finding {
	return finding{file: f.name, line: line, msg: fmt.Sprintf(format, args...)}
}

// Common rules (lib.py), run on every text file.

func ruleTextBasics(f lintFile) []finding {
	var out []finding
	if f.text != "" && !strings.HasSuffix(f.text, "\n") {
		out = append(out, f.at(len(f.lines), "missing newline at end of file"))
	}
	empty := 0
	for i, l := range f.lines {
		if strings.TrimRight(l, " \t") != l {
			out = append(out, f.at(i+1, "line contains trailing whitespace"))
		}
		if strings.TrimSpace(l) == "" {
			empty++
			if empty == 2 {
				out = append(out, f.at(i+1, "consecutive empty lines"))
			}
		} else {
			empty = 0
		}
	}
	if n := len(f.lines); n > 0 && strings.TrimSpace(f.lines[n-1]) == "" {
		out = append(out, f.at(n, "remove empty line at the end"))
	}
	return out
}

// Config.in rules (lib_config.py).

var (
	configNotIndented = []string{"choice", "comment", "config", "endchoice", "endif", "endmenu", "if", "menu", "menuconfig", "source"}
	configIndented    = []string{"bool", "default", "depends", "help", "prompt", "select", "string"}
	configOrder       = map[string]int{"bool": 1, "prompt": 1, "string": 1, "default": 2, "depends": 3, "select": 4, "help": 5}
	helpFirst         = regexp.MustCompile(`^\t  \S.{0,61}$`)
	helpLine          = regexp.MustCompile(`^\t  .{0,62}$`)
	urlOnly           = regexp.MustCompile(`^(http|https|git)://\S*$`)
	configDecl        = regexp.MustCompile(`^\s*(menu)?config\s+(\S+)`)
	defaultN          = regexp.MustCompile(`^\tdefault n$`)
)

func emptyOrComment(l string) bool {
	s := strings.TrimSpace(l)
	return s == "" || strings.HasPrefix(s, "#")
}

func isHelpText(l string) bool { return strings.HasPrefix(l, "\t  ") }

func ruleConfigIn(f lintFile) []finding {
	var out []finding
	state, inHelp, helpFirstLine, backslash := 0, false, false, false
	type decl struct{ sym, cond string }
	seen := map[decl]int{}
	var conds []string
	for i, l := range f.lines {
		n := i + 1
		if defaultN.MatchString(strings.TrimRight(strings.SplitN(l, "#", 2)[0], " \t")) {
			out = append(out, f.at(n, "boolean symbols default to 'n', so 'default n' is redundant"))
		}
		if emptyOrComment(l) {
			backslash = false
			continue
		}
		entry := strings.Fields(l)[0]
		if slices.Contains(configNotIndented, entry) {
			inHelp, state = false, 0
		}
		if strings.TrimSpace(l) == "help" {
			inHelp, helpFirstLine = true, true
		} else if inHelp && isHelpText(l) {
			re := helpLine
			if helpFirstLine {
				re, helpFirstLine = helpFirst, false
			}
			if !re.MatchString(l) && !urlOnly.MatchString(strings.TrimSpace(l)) {
				out = append(out, f.at(n, "help text: <tab><2 spaces><62 chars>"))
			}
			continue
		} else if inHelp {
			inHelp = false
		}
		// Indentation.
		prevBackslash := backslash
		backslash = strings.HasSuffix(l, "\\")
		switch {
		case prevBackslash:
			if !strings.HasPrefix(l, "\t") {
				out = append(out, f.at(n, "continuation line should be indented using tabs"))
			}
		case slices.Contains(configIndented, entry):
			if !strings.HasPrefix(l, "\t"+entry) {
				out = append(out, f.at(n, "should be indented with one tab"))
			}
		case slices.Contains(configNotIndented, entry):
			if !strings.HasPrefix(l, entry) {
				out = append(out, f.at(n, "should not be indented"))
			}
		}
		// Attribute order: type, default, depends on, select, help.
		if o, ok := configOrder[entry]; ok && !prevBackslash {
			if state > o {
				out = append(out, f.at(n, "attributes order: type, default, depends on, select, help"))
			}
			state = o
		}
		// Redefinitions under the same conditions.
		switch {
		case entry == "if":
			conds = append(conds, strings.TrimSpace(strings.TrimPrefix(l, "if")))
		case entry == "endif" && len(conds) > 0:
			conds = conds[:len(conds)-1]
		}
		if m := configDecl.FindStringSubmatch(l); m != nil {
			d := decl{m[2], strings.Join(conds, " AND ")}
			if prev, ok := seen[d]; ok {
				out = append(out, f.at(n, "config %s redeclared (previous line: %d)", m[2], prev))
			}
			seen[d] = n
			if !strings.HasPrefix(m[2], "BR2_") {
				out = append(out, f.at(n, "config %s: Buildroot symbols start with BR2_", m[2]))
			}
		}
	}
	return out
}

// .mk rules (lib_mk.py).

var (
	mkConditional = regexp.MustCompile(`^\s*(ifdef|ifeq|ifndef|ifneq|else|elif|endif)\s`)
	mkStartCond   = regexp.MustCompile(`^\s*(ifdef|ifeq|ifndef|ifneq)`)
	mkEndCond     = regexp.MustCompile(`^\s*endif`)
	mkTarget      = regexp.MustCompile(`^[^# \t]+:\s`)
	mkVariable    = regexp.MustCompile(`^([A-Z0-9_]+)\s*((\+|:|)=)`)
	mkVarName     = regexp.MustCompile(`^(define\s+)?([A-Z0-9_]+_[A-Z0-9_]+)`)
	mkBraces      = regexp.MustCompile(`^[^#].*[^$]\$\{\w+\}`)
	mkSpaceBS     = regexp.MustCompile(`^.*(  |\t ?)\\$`)
	mkUseless     = regexp.MustCompile(`_INSTALL_IMAGES\s*=\s*NO|_INSTALL_REDISTRIBUTE\s*=\s*YES|_INSTALL_STAGING\s*=\s*NO|_INSTALL_TARGET\s*=\s*YES`)
	mkDefine      = regexp.MustCompile(`^\s*define\s`)
	mkEndef       = regexp.MustCompile(`^\s*endef\s*$`)
	mkUsuallyOver = regexp.MustCompile(`_(ARCH|CPU|SITE|SOURCE|VERSION)\s*=`)
	mkNeverOver   = regexp.MustCompile(`_(CONF_OPTS|DEPENDENCIES)\s*=`)
)

func ruleMk(f lintFile) []finding {
	var out []finding
	pkg := strings.ToUpper(strings.ReplaceAll(strings.TrimSuffix(filepath.Base(f.name), ".mk"), "-", "_"))
	header := []string{strings.Repeat("#", 80), "#", "# " + strings.ToLower(pkg), "#", strings.Repeat("#", 80), ""}
	for i, want := range header {
		if i >= len(f.lines) || (i != 2 && strings.TrimRight(f.lines[i], " ") != want) {
			out = append(out, f.at(i+1, "package header: want %q", want))
		}
	}
	inDefine, backslash, target := false, false, false
	cond := 0
	set := map[string]bool{}
	condSet := map[string]bool{}
	for i, l := range f.lines {
		n := i + 1
		if mkSpaceBS.MatchString(strings.TrimRight(l, " ")) {
			out = append(out, f.at(n, "use only one space before backslash"))
		}
		if mkBraces.MatchString(l) {
			out = append(out, f.at(n, "use $() to delimit variables, not ${}"))
		}
		if backslash && strings.TrimSpace(l) == "" {
			out = append(out, f.at(n-1, "remove trailing backslash"))
		}
		if m := mkVarName.FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[2], pkg+"_") && !strings.HasPrefix(m[2], "HOST_"+pkg+"_") {
			out = append(out, f.at(n, "possible typo: %s -> *%s*", m[2], pkg))
		}
		if cond == 0 && mkUseless.MatchString(l) {
			out = append(out, f.at(n, "useless default value"))
		}
		// Indentation.
		switch {
		case mkDefine.MatchString(l):
			inDefine = true
			backslash = false
			continue
		case mkEndef.MatchString(l):
			inDefine = false
			backslash = false
			continue
		}
		expectTabs := inDefine || backslash || target
		if !backslash && mkConditional.MatchString(l) {
			expectTabs = false
		}
		wasBackslash := backslash
		backslash = !strings.HasPrefix(l, "#") && strings.HasSuffix(l, "\\")
		if mkTarget.MatchString(l) {
			target = true
			continue
		}
		if strings.TrimSpace(l) == "" {
			target = false
			continue
		}
		if !(inDefine && strings.HasPrefix(strings.TrimSpace(l), "#")) {
			if expectTabs && !strings.HasPrefix(l, "\t") {
				out = append(out, f.at(n, "expected indent with tabs"))
			}
			if !expectTabs && strings.HasPrefix(l, "\t") {
				out = append(out, f.at(n, "unexpected indent with tabs"))
			}
		}
		// Overridden variables.
		switch {
		case mkStartCond.MatchString(l):
			cond++
			continue
		case mkEndCond.MatchString(l):
			cond--
			continue
		}
		m := mkVariable.FindStringSubmatch(l)
		if m == nil || wasBackslash || inDefine {
			continue
		}
		v, assign := m[1], m[2]
		overriding := assign == "=" || assign == ":="
		if cond == 0 {
			if (set[v] || condSet[v]) && overriding {
				out = append(out, f.at(n, "unconditional override of variable %s", v))
			}
			set[v] = true
		} else {
			if set[v] && overriding && !mkUsuallyOver.MatchString(l) {
				out = append(out, f.at(n, "conditional override of variable %s", v))
			}
			if mkNeverOver.MatchString(l) && overriding {
				out = append(out, f.at(n, "conditional override of variable %s", v))
			}
			condSet[v] = true
		}
	}
	return out
}

// SysV init script rules (lib_sysv.py).

var (
	sysvDaemon  = regexp.MustCompile(`^DAEMON=["']?([^"']*)["']?$`)
	sysvPidfile = regexp.MustCompile(`^PIDFILE=["']?([^"']*)["']?$`)
	sysvPidPath = regexp.MustCompile(`^/var/run/(\$DAEMON|\$\{DAEMON\})\.pid$`)
	spaceIndent = regexp.MustCompile(`^\t* `)
)

func ruleSysV(f lintFile) []finding {
	var out []finding
	daemon := ""
	for i, l := range f.lines {
		n := i + 1
		if spaceIndent.MatchString(strings.TrimRight(l, " \t")) {
			out = append(out, f.at(n, "should be indented with tabs"))
		}
		if m := sysvDaemon.FindStringSubmatch(strings.TrimRight(l, " ")); m != nil {
			if daemon != "" {
				out = append(out, f.at(n, "DAEMON variable redefined"))
			}
			daemon = m[1]
			if strings.Contains(daemon, "/") {
				out = append(out, f.at(n, "Do not include path in DAEMON"))
				daemon = filepath.Base(daemon)
			}
		}
		if m := sysvPidfile.FindStringSubmatch(strings.TrimRight(l, " ")); m != nil && !sysvPidPath.MatchString(m[1]) {
			out = append(out, f.at(n, `Incorrect PIDFILE value, want PIDFILE="/var/run/$DAEMON.pid"`))
		}
	}
	if daemon == "" {
		return append(out, f.at(0, "DAEMON variable not defined"))
	}
	if !regexp.MustCompile(`^S\d\d` + regexp.QuoteMeta(daemon) + `$`).MatchString(filepath.Base(f.name)) {
		out = append(out, f.at(0, "filename should be S<number><number>%s", daemon))
	}
	return out
}

// Defconfig rules: every line is a BR2_ option or a comment, no option
// twice.

var (
	defconfigSet   = regexp.MustCompile(`^(BR2_[A-Z0-9_]+)=(y|m|[0-9]+|0x[0-9a-fA-F]+|"([^"\\]|\\.)*")$`)
	defconfigUnset = regexp.MustCompile(`^# (BR2_[A-Z0-9_]+) is not set$`)
	kconfigSet     = regexp.MustCompile(`^(CONFIG_[A-Z0-9_]+)=(y|m|n|[0-9]+|0x[0-9a-fA-F]+|"([^"\\]|\\.)*")$`)
	kconfigUnset   = regexp.MustCompile(`^# (CONFIG_[A-Z0-9_]+) is not set$`)
)

func ruleOptions(set, unset *regexp.Regexp, what string) rule {
	return func(f lintFile) []finding {
		var out []finding
		seen := map[string]int{}
		for i, l := range f.lines {
			sym := ""
			if m := set.FindStringSubmatch(l); m != nil {
				sym = m[1]
			} else if m := unset.FindStringSubmatch(l); m != nil {
				sym = m[1]
			} else if l != "" && !strings.HasPrefix(l, "# ") && l != "#" {
				out = append(out, f.at(i+1, "not a %s option line: %q", what, l))
				continue
			}
			if sym == "" {
				continue
			}
			if prev, ok := seen[sym]; ok {
				out = append(out, f.at(i+1, "%s set again (line %d)", sym, prev))
			}
			seen[sym] = i + 1
		}
		return out
	}
}

var (
	ruleDefconfig      = ruleOptions(defconfigSet, defconfigUnset, "BR2_")
	ruleKernelFragment = ruleOptions(kconfigSet, kconfigUnset, "kernel CONFIG_")
	// BusyBox's .config uses the kernel's Kconfig syntax.
	ruleBusyboxFragment = ruleOptions(kconfigSet, kconfigUnset, "BusyBox CONFIG_")
)
