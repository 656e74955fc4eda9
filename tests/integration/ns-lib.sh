# SPDX-License-Identifier: LGPL-2.1-or-later
# Real PAM applications (sshd, su, passwd) read /etc/pam.d and write the
# login records under /run and /var/log. They run here in a private mount
# namespace (`unshare -m`, private propagation), where:
#
#   /etc/pam.d  is $T/etc-pam.d (the test's PAM files, using the built module)
#   /run        is an empty tmpfs holding /run/sshd (sshd's privsep dir):
#               utmp and anything else written there stays in the namespace
#   /var/log    is an empty tmpfs: btmp, wtmp and lastlog of failed and
#               successful logins never reach the machine's files
#   /etc/passwd, /etc/group  with NS_FILES=1 only, the test's $T/passwd and
#               $T/group (see ns_cmd)
#   /run/dbus/system_bus_socket  with NS_SYSTEM_BUS=1 only, the test's bus
#               socket, for a module line without bus= (a packaged profile)
#   /var/cache/debconf  with NS_DEBCONF=DIR only, DIR: a copy of the
#               machine's debconf database, for pam-auth-update to write
#
# The mounts end with the last process of the namespace. Source it after
# lib.sh, once sa_prepare has made $T.
#
#   ns_users                 adds sshd's privsep user and gives the test
#                            users a shell (/bin/sh) and home (/)
#   ns_pam_file NAME ARGS..  writes $T/etc-pam.d/NAME: the module in all
#                            four phases, with bus= the private bus and ARGS;
#                            pam_permit after it in the session phase, as
#                            docs/pam.md advises: under sshd the session
#                            phase never sees the token (see test-sshd.sh)
#   ns_cmd                   sets NS_CMD: the command prefix that enters a
#                            new namespace, mounts the above and execs the
#                            rest of its arguments
#   ns_preload               the LD_PRELOAD for a root process that loads the
#                            module: nss_wrapper (and libasan first when the
#                            module is a sanitizer build)

NS_CMD=()

ns_users() {
        sed -i -E 's#^(alice|bob|carol|dave):(x:[0-9]+:[0-9]+:[^:]*):/nonexistent:/bin/false$#\1:\2:/:/bin/sh#' "$T/passwd"
        echo "sshd:x:4990:65534:sshd privsep:/run/sshd:/usr/sbin/nologin" >> "$T/passwd"
        chmod 644 "$T/passwd" "$T/group"
}

ns_pam_file() {
        local name=$1; shift
        local args="bus=$BUS_ADDRESS $*"
        mkdir -p "$T/etc-pam.d"
        cat > "$T/etc-pam.d/$name" <<PAM
auth     required $PAM_MODULE $args
account  required $PAM_MODULE $args
password required $PAM_MODULE $args
session  required $PAM_MODULE $args
session  optional pam_permit.so
PAM
        # Any other service: refused.
        printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" \
                "password required pam_deny.so" "session required pam_deny.so" > "$T/etc-pam.d/other"
        chmod 755 "$T/etc-pam.d"
        chmod 644 "$T/etc-pam.d"/*
}

# The mounts are made by a small bash inside the namespace, which then
# execs the command: the command keeps the PID of the `unshare` started by
# the test (no fork), so the test can kill and wait for it.
ns_cmd() {
        local setup='set -eu
                mount --bind "$SA_NS_PAMD" /etc/pam.d
                mount -t tmpfs -o mode=755 sauth-test-run /run
                mkdir -m 755 /run/sshd
                mount -t tmpfs -o mode=755 sauth-test-log /var/log
                if [ "$SA_NS_FILES" = 1 ]; then
                        mount --bind "$SA_NS_PASSWD" /etc/passwd
                        mount --bind "$SA_NS_GROUP" /etc/group
                fi
                if [ -n "$SA_NS_BUS_SOCKET" ]; then
                        mkdir -m 755 /run/dbus
                        ln -s "$SA_NS_BUS_SOCKET" /run/dbus/system_bus_socket
                fi
                [ -z "$SA_NS_DEBCONF" ] || mount --bind "$SA_NS_DEBCONF" /var/cache/debconf
                unset SA_NS_PAMD SA_NS_FILES SA_NS_PASSWD SA_NS_GROUP SA_NS_BUS_SOCKET SA_NS_DEBCONF
                exec "$@"'
        local bus_socket=""
        [ -d "$T/etc-pam.d" ] || fail "ns_cmd: no PAM files (ns_pam_file)"
        [ "${NS_SYSTEM_BUS:-0}" = 0 ] || bus_socket=${BUS_ADDRESS#unix:path=}
        NS_CMD=(env SA_NS_PAMD="$T/etc-pam.d" SA_NS_FILES="${NS_FILES:-0}" SA_NS_PASSWD="$T/passwd"
                SA_NS_GROUP="$T/group" SA_NS_BUS_SOCKET="$bus_socket" SA_NS_DEBCONF="${NS_DEBCONF:-}"
                unshare --mount --propagation private -- bash -c "$setup" sa-ns)
}

ns_preload() {
        local asan
        asan=$(ldd "$PAM_MODULE" | awk '/libasan\.so/ { print $3 }') || true
        echo "${asan:+$asan }$NSS_WRAPPER_LIB"
}
