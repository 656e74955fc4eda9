#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install script: puts the default config in place only when there
# is none. install_data() would overwrite the admin's file on every
# reinstall; the sample under DATADIR/sauthd/ is what gets updated.
#   install-config.sh SAMPLE TARGET     (TARGET absolute, DESTDIR honoured)
set -eu
sample=$1
target=${DESTDIR:-}$2

if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
        echo "Would install $2 if absent"
        exit 0
fi
if [ -e "$target" ] || [ -L "$target" ]; then
        echo "Keeping $target (the new default is in the sample sauthd.conf)"
        exit 0
fi
# The file must not be writable by group or other: sauthd refuses it.
install -d -m 0755 "$(dirname "$target")"
install -m 0644 "$sample" "$target"
echo "Installing $target"
