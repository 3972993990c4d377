#!/bin/sh
# Install a built Pharos (target/release/pharos) with its keepalived/haproxy
# links, man pages, systemd units and, on request, SysV scripts and /etc
# defaults. Safe to run again: identical files are left alone, and files
# that are not Pharos's (a packaged keepalived, say) are never replaced
# without --force.
set -eu

usage() {
    cat <<'EOF'
Usage: packaging/install.sh [OPTION]...
Install Pharos from a cargo build into DESTDIR/PREFIX.

  --prefix DIR     installation prefix (default: $PREFIX or /usr)
  --destdir DIR    staging root for packagers (default: $DESTDIR or none)
  --binary FILE    the built program (default: target/release/pharos)
  --unitdir DIR    systemd unit directory (default: PREFIX/lib/systemd/system)
  --no-systemd     do not install the systemd units
  --sysv           also install the init scripts in /etc/init.d
  --etc KIND       also install /etc/default (KIND=default, Debian) or
                   /etc/sysconfig (KIND=sysconfig, RHEL) files, if absent
  --force          replace files that do not belong to Pharos
  -h, --help       show this help

Installs PREFIX/sbin/pharos, the links PREFIX/sbin/keepalived and
PREFIX/sbin/haproxy, PREFIX/share/man/man{1,5,8} pages, the units and
PREFIX/lib/tmpfiles.d/pharos.conf (/run/haproxy). Creates no users: on a
live system run  useradd -r -d /var/lib/haproxy -s /sbin/nologin haproxy
if your haproxy.cfg says "user haproxy".
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
PREFIX=${PREFIX:-/usr}
DESTDIR=${DESTDIR:-}
binary=$top/target/release/pharos
unitdir=
systemd=yes
sysv=no
etc=
force=no

while [ $# -gt 0 ]; do
    case $1 in
        --prefix) PREFIX=$2; shift ;;
        --prefix=*) PREFIX=${1#*=} ;;
        --destdir) DESTDIR=$2; shift ;;
        --destdir=*) DESTDIR=${1#*=} ;;
        --binary) binary=$2; shift ;;
        --binary=*) binary=${1#*=} ;;
        --unitdir) unitdir=$2; shift ;;
        --unitdir=*) unitdir=${1#*=} ;;
        --no-systemd) systemd=no ;;
        --sysv) sysv=yes ;;
        --etc) etc=$2; shift ;;
        --etc=*) etc=${1#*=} ;;
        --force) force=yes ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case $etc in ''|default|sysconfig) ;; *) echo "install.sh: --etc takes default or sysconfig" >&2; exit 2 ;; esac
[ -n "$unitdir" ] || unitdir=$PREFIX/lib/systemd/system
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
    echo "install.sh: $binary not found; build it first: cargo build --release" >&2
    exit 1
fi

sbindir=$PREFIX/sbin
root=$DESTDIR

# put SRC DST MODE: install SRC as DST (under DESTDIR) unless it is already
# identical; refuse to replace a file that does not mention Pharos. With
# pass=check, only look: a refusal then leaves nothing half installed.
put() {
    dst=$root$2
    if [ -f "$dst" ] && [ ! -L "$dst" ] && cmp -s "$1" "$dst"; then
        [ "$pass" = check ] || echo "unchanged $2"
        return 0
    fi
    if [ -e "$dst" ] || [ -L "$dst" ]; then
        if [ "$force" != yes ] && ! grep -qi pharos "$dst" 2>/dev/null; then
            echo "install.sh: $dst exists and is not Pharos's; use --force to replace it" >&2
            exit 1
        fi
    fi
    [ "$pass" = check ] && return 0
    mkdir -p "$(dirname "$dst")"
    cp "$1" "$dst.tmp.$$"
    chmod "$3" "$dst.tmp.$$"
    mv -f "$dst.tmp.$$" "$dst"    # atomic: a running daemon keeps its old inode
    echo "installed $2"
}

# link NAME: PREFIX/sbin/NAME -> pharos (relative, so DESTDIR trees work).
# The originals' programs are not ours to replace.
link() {
    dst=$root$sbindir/$1
    if [ -L "$dst" ] && [ "$(readlink "$dst")" = pharos ]; then
        [ "$pass" = check ] || echo "unchanged $sbindir/$1 -> pharos"
        return 0
    fi
    if [ -e "$dst" ] && [ ! -L "$dst" ] && [ "$force" != yes ]; then
        echo "install.sh: $dst is a real program (the original $1?); remove it or use --force" >&2
        exit 1
    fi
    [ "$pass" = check ] && return 0
    ln -sfn pharos "$dst"
    echo "installed $sbindir/$1 -> pharos"
}

# Copy a text file with /usr/sbin replaced by the real sbindir.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
relocate() {
    sed "s|/usr/sbin/|$sbindir/|g" "$1" > "$tmp/$(basename "$1")"
    echo "$tmp/$(basename "$1")"
}

install_all() {
    put "$binary" "$sbindir/pharos" 0755
    link keepalived
    link haproxy

    put "$top/man/keepalived.8" "$PREFIX/share/man/man8/keepalived.8" 0644
    put "$top/man/pharos.8" "$PREFIX/share/man/man8/pharos.8" 0644
    put "$top/man/keepalived.conf.5" "$PREFIX/share/man/man5/keepalived.conf.5" 0644
    put "$top/man/haproxy.1" "$PREFIX/share/man/man1/haproxy.1" 0644

    if [ "$systemd" = yes ]; then
        put "$(relocate "$here/systemd/keepalived.service")" "$unitdir/keepalived.service" 0644
        put "$(relocate "$here/systemd/haproxy.service")" "$unitdir/haproxy.service" 0644
        put "$here/deb/pharos.tmpfiles" "$PREFIX/lib/tmpfiles.d/pharos.conf" 0644
    fi
    if [ "$sysv" = yes ]; then
        put "$(relocate "$here/sysv/keepalived")" /etc/init.d/keepalived 0755
        put "$(relocate "$here/sysv/haproxy")" /etc/init.d/haproxy 0755
    fi
    if [ -n "$etc" ]; then
        for f in keepalived haproxy; do
            # Operators' settings win: only install where there is nothing yet.
            if [ -e "$root/etc/$etc/$f" ]; then [ "$pass" = check ] || echo "kept      /etc/$etc/$f"
            else put "$here/$etc/$f" "/etc/$etc/$f" 0644; fi
        done
    fi
}

# Check everything first, then install.
pass=check; install_all
pass=install; install_all

# haproxy's chroot in the stock configs, with the /dev/log bind target.
mkdir -p "$root/var/lib/haproxy/dev"

if [ -z "$DESTDIR" ] && [ "$systemd" = yes ] && [ -d /run/systemd/system ]; then
    echo "now: systemctl daemon-reload && systemd-tmpfiles --create pharos.conf"
fi
