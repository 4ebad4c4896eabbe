// Package pkgtest proves camd's packaging. Its tests check
//
//   - the Buildroot BR2_EXTERNAL tree (buildroot/) the way Buildroot's
//     utils/check-package checks packages: file names, the .mk header and
//     variables, Config.in syntax and help text, init script conventions,
//     defconfig fragments made of BR2_ options, and that every path the
//     tree names exists;
//   - every shell script in the repository with shellcheck;
//   - the init script S90camd, run with BusyBox: it starts camd, restarts
//     it with backoff after kill -9, and stops it;
//   - the board's post-image script on a small FAT disk image;
//   - the Debian package: its contents, its systemd unit with
//     systemd-analyze verify, and an install with dpkg in a fresh
//     debootstrap chroot, where its files land as packaging/README.md says
//     and camd check-config accepts the installed config.
//
// Tests that need Debian tools (shellcheck, busybox, mtools, dosfstools,
// systemd, debootstrap) or root skip without them, except in CI (CI set),
// where that is a failure. The chroot's base system is cached under
// ~/.cache/camd-pkgtest (CAMD_PKGTEST_CACHE); the first run fetches it
// from the Debian mirror this machine's apt uses.
//
//	go test -v ./scripts/pkgtest/
package pkgtest
