#!/usr/bin/env bats
# make install honours PREFIX and DESTDIR, and what it installs works.

load ../helpers/common

@test "make install PREFIX=/usr DESTDIR=... installs the binary, man pages and completions" {
	top=$BATS_TEST_DIRNAME/../..
	dest=$BATS_TEST_TMPDIR/root
	run -0 make -C "$top" --no-print-directory install PREFIX=/usr DESTDIR="$dest" BUILD="$IPSTOR_BUILD"
	[ -x "$dest/usr/sbin/ipstor" ]
	run -0 "$dest/usr/sbin/ipstor" --version
	[ -f "$dest/usr/share/man/man8/ipstor.8" ]
	[ -f "$dest/usr/share/man/man5/ipstor-metadata.5" ]
	[ -f "$dest/usr/share/bash-completion/completions/ipstor" ]
	[ -f "$dest/usr/share/zsh/vendor-completions/_ipstor" ]
	# the unit names the installed binary and the state dir
	grep -qx "ExecStart=/usr/sbin/ipstor server start --foreground" "$dest/usr/lib/systemd/system/ipstor.service"
	grep -q "^/var/lib/ipstor/worker.log {" "$dest/etc/logrotate.d/ipstor"
	run -0 make -C "$top" --no-print-directory install PREFIX=/opt/ipstor DESTDIR="$dest" BUILD="$IPSTOR_BUILD"
	grep -qx "ExecStart=/opt/ipstor/sbin/ipstor server start --foreground" "$dest/opt/ipstor/lib/systemd/system/ipstor.service"
	# nothing outside DESTDIR
	[ ! -e /usr/sbin/ipstor ] || [ /usr/sbin/ipstor -ot "$dest/usr/sbin/ipstor" ]
}
