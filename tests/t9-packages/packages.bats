#!/usr/bin/env bats
# The packages: make deb builds a .deb with dpkg-buildpackage, and what it
# holds works from a throwaway root (dpkg -x): the binary, the man pages,
# bash completion, the logrotate configuration against a real worker.
# make rpm builds the rpm the same way. Each build takes a minute or so.

load ../helpers/common

TOP=$BATS_TEST_DIRNAME/../..

# make, without the MAKEFLAGS of a make check SANITIZE=1 above (which
# would turn the packages' builds into sanitizer builds)
pkgmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TOP" --no-print-directory "$@"
}

setup() {
	common_setup
}

teardown() {
	stop_worker
}

version() {
	sed -n 's/^#define IPSTOR_VERSION "\(.*\)"/\1/p' "$TOP/lib/ipstor.h"
}

@test "make deb builds a package that works from a throwaway root" {
	require_cmd dpkg-buildpackage
	run -0 pkgmake deb PKGDIR="$D/pkg"
	deb=$(ls "$D"/pkg/deb/ipstor_"$(version)"_*.deb)
	run -0 dpkg-deb -f "$deb" Package Version Depends
	assert_line "Package: ipstor"
	assert_line "Version: $(version)"
	assert_line --regexp '^Depends: .*libjson-c5.*libpopt0.*libreadline8'
	dpkg-deb -e "$deb" "$D/control"
	grep -qx /etc/logrotate.d/ipstor "$D/control/conffiles"
	grep -q 'deb-systemd-helper' "$D/control/postinst"

	root=$D/root
	dpkg -x "$deb" "$root"
	[ -x "$root/usr/sbin/ipstor" ]
	run -0 "$root/usr/sbin/ipstor" --version
	assert_output "ipstor $(version)"

	# every man page renders, and the commands' pages are all there
	for g in $("$root/usr/sbin/ipstor" --help | awk '/^Groups:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }'); do
		"$root/usr/sbin/ipstor" "$g" --help | grep -q '^Commands:$' || continue
		[ -f "$root/usr/share/man/man8/ipstor-$g.8.gz" ]
	done
	[ -f "$root/usr/share/man/man5/ipstor-metadata.5.gz" ]
	for page in "$root"/usr/share/man/man*/*.gz; do
		run -0 --separate-stderr env MANWIDTH=80 man -l "$page"
		[ -z "$stderr" ] || { echo "${page##*/}: $stderr"; false; }
		assert_line NAME
	done
	run -0 env MANWIDTH=80 man -l "$root/usr/share/man/man8/ipstor.8.gz"
	assert_line SHELL
	assert_line OUTPUT

	# bash completion from the package, asking the packaged binary
	mkpool tank 16M
	"$root/usr/sbin/ipstor" vol create tank/packaged --size 1M
	comp() {
		bash --norc --noprofile -c '
			source "$1" || exit 1
			COMP_WORDS=("$2" "${@:3}")
			COMP_CWORD=$(($# - 2))
			_ipstor
			printf "%s\n" "${COMPREPLY[@]}"
		' _ "$root/usr/share/bash-completion/completions/ipstor" "$root/usr/sbin/ipstor" "$@"
	}
	run -0 comp vol ""
	assert_line create
	assert_line delete
	run -0 comp vol show tank/
	assert_output tank/packaged
	[ -f "$root/usr/share/zsh/vendor-completions/_ipstor" ]
	run -0 zsh -n "$root/usr/share/zsh/vendor-completions/_ipstor"

	# the service runs the packaged binary in the foreground, Type=notify
	unit=$root/lib/systemd/system/ipstor.service
	grep -qx 'ExecStart=/usr/sbin/ipstor server start --foreground' "$unit"
	grep -qx 'Type=notify' "$unit"
	grep -qx 'Environment=IPSTOR_STATE_DIR=/var/lib/ipstor' "$unit"

	# the logrotate configuration, pointed at this test's state dir,
	# rotates a running worker's log and makes it reopen the file
	sed "s|/var/lib/ipstor|$IPSTOR_STATE_DIR|g" "$root/etc/logrotate.d/ipstor" >"$D/logrotate.conf"
	grep -q "$IPSTOR_STATE_DIR/worker.log {" "$D/logrotate.conf"
	# no worker: nothing to signal, no error
	run -0 logrotate -f -s "$D/logrotate.state" "$D/logrotate.conf"
	ipstor server start
	pid=$(cat "$IPSTOR_STATE_DIR/worker.pid")
	run -0 logrotate -f -s "$D/logrotate.state" "$D/logrotate.conf"
	for ((i = 0; i < 600; i++)); do
		grep -q "log reopened" "$IPSTOR_STATE_DIR/worker.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "log reopened" "$IPSTOR_STATE_DIR/worker.log"
	grep -q "ready" "$IPSTOR_STATE_DIR/worker.log.1"
	ipstor vol create tank/after --size 1M
	grep -q "vol.create done" "$IPSTOR_STATE_DIR/worker.log"
	kill -0 "$pid"
}

@test "make rpm builds an rpm with the same files" {
	require_cmd rpmbuild
	run -0 pkgmake rpm PKGDIR="$D/pkg" RPMBUILD_FLAGS=--nodeps
	rpm=$(ls "$D"/pkg/rpm/RPMS/*/ipstor-"$(version)"-1.*.rpm)
	run -0 rpm -qp --queryformat '%{NAME} %{VERSION}\n' "$rpm"
	assert_output "ipstor $(version)"
	run -0 rpm -qlp "$rpm"
	assert_line /usr/sbin/ipstor
	assert_line /usr/share/man/man8/ipstor.8
	assert_line /usr/share/man/man5/ipstor-metadata.5
	assert_line /usr/share/bash-completion/completions/ipstor
	assert_line /usr/share/zsh/vendor-completions/_ipstor
	assert_line /usr/lib/systemd/system/ipstor.service
	assert_line /etc/logrotate.d/ipstor
	run -0 rpm -qcp "$rpm"
	assert_output /etc/logrotate.d/ipstor
	mkdir "$D/root"
	(cd "$D/root" && rpm2cpio "$rpm" | cpio -id --quiet)
	run -0 "$D/root/usr/sbin/ipstor" --version
	assert_output "ipstor $(version)"
	grep -qx 'ExecStart=/usr/sbin/ipstor server start --foreground' "$D/root/usr/lib/systemd/system/ipstor.service"
}
