#!/usr/bin/env bash
# Prepares what scripts/vm/run.sh boots: Debian 12's kernel (as an uncompressed vmlinux) and an
# initramfs with the Wi-Fi userland (iw, hostapd, wpa_supplicant, tcpdump, iproute2, busybox),
# the modules the scenario needs, libnl for nlmon's libnl backend, and the regulatory database.
# Everything comes from Debian packages (apt-get download + dpkg-deb -x) into a cache outside the
# repository; nothing is installed into the host's kernel. Idempotent: once the cache is complete a
# second run downloads nothing and returns at once (NLMON_VM_REFRESH=1 re-checks the package versions).
#
# Output (in $NLMON_VM_CACHE, default /var/cache/nlmon-vm):
#   vmlinux  initramfs.cpio  kver  ready   (and debs/, root/: the downloads and the initramfs tree)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
CACHE=${NLMON_VM_CACHE:-/var/cache/nlmon-vm}
DEBS=$CACHE/debs
STAGE=$CACHE/stage      # every package unpacked, the source the initramfs is picked from
ROOT=$CACHE/root        # the initramfs tree
mkdir -p "$CACHE" "$DEBS"

T0=$SECONDS
say() { echo "prepare: [$((SECONDS - T0))s] $*" >&2; }

# host tools: qemu (the guest), cpio (initramfs), kmod (depmod / modprobe --show-depends), xz
host_tools() {
  local missing="" p
  for p in qemu-system-x86 cpio kmod xz-utils; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    say "installing host tools:$missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
}
host_tools

if [ -f "$CACHE/ready" ] && [ -z "${NLMON_VM_REFRESH:-}" ] \
   && [ -s "$CACHE/vmlinux" ] && [ -s "$CACHE/initramfs.cpio" ]; then
  say "cached in $CACHE ($(cat "$CACHE/kver"))"
  exit 0
fi

rm -f "$CACHE/ready"
# apt lists: needed for apt-cache and apt-get download; refresh once if they are missing or stale
lists_ok() { apt-cache depends linux-image-amd64 2>/dev/null | grep -q 'Depends: linux-image-[0-9]'; }
if ! lists_ok || [ -n "${NLMON_VM_REFRESH:-}" ]; then
  say "apt-get update"
  apt-get update -qq
fi
KPKG=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
[ -n "$KPKG" ] || { say "cannot find the kernel package behind linux-image-amd64"; exit 1; }
KVER=${KPKG#linux-image-}
say "kernel package $KPKG"

# libstdc++6: the FFI addon in nlmon's binary links it
TOOLS="iw hostapd wpasupplicant tcpdump iproute2 libnl-3-200 libnl-genl-3-200 libstdc++6"
# the library packages the tools depend on (the closure of Depends restricted to lib*; the rest —
# perl, debconf, adduser, … — are maintainer-script needs, not run-time ones)
LIBPKGS=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances $TOOLS \
          | grep -v '^[ <]' | grep -v ':' | grep -E '^lib' | grep -vE 'perl|^libpam|^libsemanage|^libdebian-installer|^libnewt|^libslang|^libtextwrap' \
          | sort -u)
# musl: the loader for the musl release builds (run.sh NLMON_VM_RELEASE=1; they also need a musl libstdc++,
# which Debian does not ship)
PKGS=$(printf '%s\n' "$KPKG" wireless-regdb busybox-static musl $TOOLS $LIBPKGS | awk '!seen[$0]++' | tr '\n' ' ')

# the .deb each package's candidate version names (one apt-cache call: it is slow per package)
apt-cache policy $PKGS | awk '/^[^ ]/ { sub(/:$/, "", $1); p = $1 } /^ *Candidate:/ { print p, $2 }' > "$CACHE/candidates"
deb_of() {  # NAME -> the cached .deb of its candidate version, or nothing
  local v; v=$(awk -v p="$1" '$1 == p { print $2 }' "$CACHE/candidates")
  [ -n "$v" ] && [ "$v" != "(none)" ] || { say "no candidate for $1"; return 1; }
  ls "$DEBS/${1}_"*.deb 2>/dev/null | grep -F "_${v/:/%3a}_" | head -n 1 || true
}
need=""
for p in $PKGS; do
  f=$(deb_of "$p")
  [ -n "$f" ] || need="$need $p"
done
if [ -n "$need" ]; then
  say "downloading:$need"
  # shellcheck disable=SC2086
  (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root $need >/dev/null)
fi

# unpack everything into the stage (cheap compared with the downloads; done afresh for a clean tree)
rm -rf "$STAGE" "$ROOT"
mkdir -p "$STAGE"
for p in $PKGS; do
  f=$(deb_of "$p")
  [ -n "$f" ] || { say "no .deb for $p after the download"; exit 1; }
  dpkg-deb -x "$f" "$STAGE"
done

say "unpacked"
# --- kernel: cut the XZ stream out of the bzImage and decompress it into an ELF vmlinux (PVH boot)
VMLINUZ=$STAGE/boot/vmlinuz-$KVER
off=$(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$VMLINUZ" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || { say "no XZ stream in $VMLINUZ"; exit 1; }
tail -c +"$((off + 1))" "$VMLINUZ" | xz -dc --single-stream > "$CACHE/vmlinux.tmp" 2>/dev/null || true
head -c 4 "$CACHE/vmlinux.tmp" | grep -q 'ELF' || { say "decompressed kernel is not an ELF"; exit 1; }
mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"

say "vmlinux extracted"
# --- the initramfs tree
mkdir -p "$ROOT"/{bin,sbin,etc,proc,sys,dev,tmp,run,mnt,share,out,root,var/run}
mkdir -p "$ROOT/usr/lib/x86_64-linux-gnu" "$ROOT/usr/sbin" "$ROOT/usr/bin" "$ROOT/lib64"
ln -s usr/lib "$ROOT/lib"
ln -s /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$ROOT/lib64/ld-linux-x86-64.so.2"
cp "$STAGE/bin/busybox" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
# the kernel's module autoloader runs /sbin/modprobe (WPA2 needs ccm/ctr loaded on demand)
ln -s /bin/busybox "$ROOT/sbin/modprobe"

# modules: the dependency closure of what the scenario uses, decompressed, with a fresh depmod
MODS="cfg80211 mac80211 mac80211_hwsim vrf dummy nlmon 9p 9pnet_virtio virtio_pci ccm ctr gcm cmac ghash_generic michael_mic"
depmod -b "$STAGE" "$KVER"
kdir=lib/modules/$KVER
[ -d "$STAGE/$kdir" ] || kdir=usr/lib/modules/$KVER
for m in $MODS; do
  modprobe -d "$STAGE" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | sort -u | while read -r ko; do
  rel=${ko#"$STAGE"/}; rel=${rel#usr/}; rel=${rel#lib/modules/"$KVER"/}
  mkdir -p "$ROOT/usr/lib/modules/$KVER/$(dirname "$rel")"
  case "$ko" in
    *.xz) xz -dc "$ko" > "$ROOT/usr/lib/modules/$KVER/${rel%.xz}" ;;
    *.zst) zstd -qdc "$ko" > "$ROOT/usr/lib/modules/$KVER/${rel%.zst}" ;;
    *) cp "$ko" "$ROOT/usr/lib/modules/$KVER/$rel" ;;
  esac
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -f "$STAGE/$kdir/$f" ] && cp "$STAGE/$kdir/$f" "$ROOT/usr/lib/modules/$KVER/"
done
depmod -b "$ROOT" "$KVER"

say "modules copied"
# regulatory database (iw reg set needs it; cfg80211 loads it as firmware). The package ships a
# Debian-signed and an upstream-signed copy and picks one with update-alternatives: Debian's kernel
# trusts Debian's signature.
mkdir -p "$ROOT/usr/lib/firmware"
fw=$STAGE/lib/firmware; [ -f "$fw/regulatory.db-debian" ] || fw=$STAGE/usr/lib/firmware
cp "$fw/regulatory.db-debian" "$ROOT/usr/lib/firmware/regulatory.db"
cp "$fw/regulatory.db.p7s-debian" "$ROOT/usr/lib/firmware/regulatory.db.p7s"

# binaries and the libraries the stage's own loader resolves for them (not the host's)
LIBDIRS="$STAGE/lib/x86_64-linux-gnu:$STAGE/usr/lib/x86_64-linux-gnu"
LDSO=$STAGE/lib64/ld-linux-x86-64.so.2
[ -e "$LDSO" ] || LDSO=$STAGE/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
copy_libs() {
  "$LDSO" --library-path "$LIBDIRS" --list "$1" | awk '/=>/ && $3 ~ /^\// { print $3 }' | while read -r lib; do
    cp -L "$lib" "$ROOT/usr/lib/x86_64-linux-gnu/$(basename "$lib")"
  done
}
for b in sbin/iw usr/sbin/iw usr/sbin/hostapd usr/sbin/hostapd_cli sbin/wpa_supplicant sbin/wpa_cli \
         usr/sbin/wpa_supplicant usr/sbin/wpa_cli usr/bin/tcpdump usr/sbin/tcpdump bin/ip sbin/ip usr/bin/ip usr/sbin/ip; do
  [ -f "$STAGE/$b" ] || continue
  # everything goes to /usr/sbin so the scenario calls one path (busybox shadows ip otherwise)
  cp -L "$STAGE/$b" "$ROOT/usr/sbin/$(basename "$b")"
  copy_libs "$STAGE/$b"
done
for b in iw hostapd hostapd_cli wpa_supplicant wpa_cli tcpdump ip; do
  [ -x "$ROOT/usr/sbin/$b" ] || { say "missing $b in the stage"; exit 1; }
done
# the loader, libnl (dlopened by nlmon's libnl backend) and what a Bun executable links
cp -L "$LDSO" "$ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
for l in libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libnl-3.so.200 libnl-genl-3.so.200 libgcc_s.so.1 libstdc++.so.6; do
  src=$(ls "$STAGE"/lib/x86_64-linux-gnu/"$l" "$STAGE"/usr/lib/x86_64-linux-gnu/"$l" 2>/dev/null | head -n 1 || true)
  [ -n "$src" ] && cp -L "$src" "$ROOT/usr/lib/x86_64-linux-gnu/$l"
done
for l in libnl-genl-3.so.200 libstdc++.so.6; do
  [ -f "$ROOT/usr/lib/x86_64-linux-gnu/$l" ] || { say "$l missing"; exit 1; }
done
ldconfig -r "$ROOT"
musl=$(ls "$STAGE"/lib/x86_64-linux-musl/libc.so "$STAGE"/usr/lib/x86_64-linux-musl/libc.so 2>/dev/null | head -n 1 || true)
if [ -n "$musl" ]; then
  mkdir -p "$ROOT/usr/lib/x86_64-linux-musl"
  cp "$musl" "$ROOT/usr/lib/x86_64-linux-musl/libc.so"
  ln -sf x86_64-linux-musl/libc.so "$ROOT/usr/lib/ld-musl-x86_64.so.1"
fi

# users and name databases tcpdump and friends look up
printf 'root:x:0:0:root:/root:/bin/sh\ntcpdump:x:104:108::/nonexistent:/bin/false\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\ntcpdump:x:108:\n' > "$ROOT/etc/group"
printf 'hosts: files\n' > "$ROOT/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' > "$ROOT/etc/hosts"
mkdir -p "$ROOT/etc/iproute2"
printf '10\tblue\n' > "$ROOT/etc/iproute2/rt_tables"

# /init: mount the 9p shares and hand over to the scenario they carry (run.sh copies test/vm/scenario.sh there)
cat > "$ROOT/init" <<'EOF'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
for m in virtio_pci 9pnet_virtio 9p; do modprobe $m; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share /share
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /out
if [ -f /share/scenario.sh ]; then sh /share/scenario.sh; else echo "init: no /share/scenario.sh"; fi
sync
poweroff -f
EOF
chmod 755 "$ROOT/init"

# the cpio archive (uncompressed: under TCG unpacking beats decompressing)
(cd "$ROOT" && find . | sort | cpio -o -H newc --quiet) > "$CACHE/initramfs.cpio.tmp"
mv "$CACHE/initramfs.cpio.tmp" "$CACHE/initramfs.cpio"
echo "$KVER" > "$CACHE/kver"
rm -rf "$STAGE"   # 450 MB, unpacked afresh from debs/ when a refresh needs it
touch "$CACHE/ready"
say "ready: $CACHE (kernel $KVER, initramfs $(du -h "$CACHE/initramfs.cpio" | cut -f1))"
