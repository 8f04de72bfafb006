#!/bin/sh
# The guest side of `make test-vm` (run by the initramfs' /init from the 9p share, under busybox sh).
# Starts the observers (tcpdump on an nlmon capture device, ip monitor, iw event -t -f, and nlmon with
# both backends), then drives a real Wi-Fi scenario on mac80211_hwsim, a VRF, and shuts all down.
# Everything it leaves is in /out (the host's OUTDIR); /out/scenario.rc holds its exit status.
#
# Busybox runs its own applets ahead of $PATH (its `ip` would shadow iproute2's): the tools are
# called by full path.
OUT=/out
SHARE=/share
IP=/usr/sbin/ip
IW=/usr/sbin/iw
WPA_CLI="/usr/sbin/wpa_cli -p /run/wpa_supplicant -i wlan1"
HAPD_CLI="/usr/sbin/hostapd_cli -p /run/hostapd -i wlan0"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
FAILS=""
T0=$(cut -d' ' -f1 /proc/uptime)

# a step line on the console and in steps.txt: wall-clock seconds (the scale iw -t uses) and uptime
step() {
  line="$(date +%s) +$(awk -v t0="$T0" '{ printf "%.2f", $1 - t0 }' /proc/uptime)s STEP $*"
  echo "$line"
  echo "$line" >> $OUT/steps.txt
}
fail() { echo "FAIL: $*"; echo "FAIL: $*" >> $OUT/steps.txt; FAILS="$FAILS|$*"; }
# wait_for FILE PATTERN SECONDS: until FILE holds a line matching PATTERN (grep -E)
wait_for() {
  end=$(( $(date +%s) + $3 ))
  while ! grep -qE "$2" "$1" 2>/dev/null; do
    [ "$(date +%s)" -ge "$end" ] && return 1
    sleep 0.1
  done
}
# wait_state STATE SECONDS: poll `wpa_cli status` by time (each call costs ~0.25 s under TCG)
wait_state() {
  end=$(( $(date +%s) + $2 ))
  while :; do
    st=$($WPA_CLI status 2>/dev/null | sed -n 's/^wpa_state=//p')
    [ "$st" = "$1" ] && return 0
    [ "$(date +%s)" -ge "$end" ] && { echo "wpa_state=$st, wanted $1"; return 1; }
    sleep 0.2
  done
}
# wait_start PID FILE SECONDS: until the process logs its start line (one holding "backend"); gives
# up at once when the process has exited
wait_start() {
  end=$(( $(date +%s) + $3 ))
  while ! grep -q "backend" "$2" 2>/dev/null; do
    kill -0 "$1" 2>/dev/null || { sleep 0.2; grep -q "backend" "$2" 2>/dev/null && return 0; echo "exited: $(head -c 300 "$2")"; return 1; }
    [ "$(date +%s)" -ge "$end" ] && { echo "no start line after $3 s"; return 1; }
    sleep 0.1
  done
}
# stop PID [SIGNAL] [SECONDS]: signal a process and wait for it to be gone
stop() {
  kill -"${2:-INT}" "$1" 2>/dev/null
  end=$(( $(date +%s) + ${3:-10} ))
  while kill -0 "$1" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$end" ]; then kill -9 "$1" 2>/dev/null; echo "killed $1 with SIGKILL"; return 1; fi
    sleep 0.1
  done
  wait "$1" 2>/dev/null
  return 0
}

: > $OUT/steps.txt
step "guest up: $(uname -r), $(nproc) cpus"
mkdir -p /run/hostapd /run/wpa_supplicant
# the modules the observers need first. cfg80211 (and with it nl80211) is loaded only once the
# nlmons run: the family appears while they watch, as a Wi-Fi driver loaded later would bring it.
# The crypto ones are loaded ahead too (autoload via /sbin/modprobe works, but ahead is deterministic).
for m in nlmon ccm ctr gcm cmac ghash_generic michael_mic vrf; do
  modprobe "$m" || fail "modprobe $m"
done
modprobe dummy numdummies=0 || fail "modprobe dummy"   # no automatic dummy0

# ---------------------------------------------------------------- observers
step "observers"
$IP link add nlmon0 type nlmon && $IP link set nlmon0 up || fail "nlmon0"
/usr/sbin/tcpdump -Z root -i nlmon0 -U -w $OUT/capture.pcap 2> $OUT/tcpdump.stderr &
TCPDUMP=$!
$IP -ts monitor all > $OUT/ip-monitor.txt 2> $OUT/ip-monitor.stderr &
IPMON=$!

cat > /tmp/nlmon.yaml <<'EOF'
netlink:
  protocols: { route: true, generic: true }
  generic_families: [nl80211]
EOF
NLMON=$SHARE/nlmon
NLMON_USE_LIBNL=true $NLMON --config /tmp/nlmon.yaml > $OUT/nlmon-libnl.ndjson 2> $OUT/nlmon-libnl.stderr &
NL_LIBNL=$!
NLMON_USE_LIBNL=false $NLMON --config /tmp/nlmon.yaml > $OUT/nlmon-legacy.ndjson 2> $OUT/nlmon-legacy.stderr &
NL_LEGACY=$!
wait_for $OUT/tcpdump.stderr "listening on" 20 || fail "tcpdump did not start"
why=$(wait_start $NL_LIBNL $OUT/nlmon-libnl.stderr 60) || fail "nlmon (libnl) did not start: $why"
why=$(wait_start $NL_LEGACY $OUT/nlmon-legacy.stderr 60) || fail "nlmon (legacy) did not start: $why"

# nl80211 appears now: each nlmon must join its groups on its running socket (it says so)
step "modprobe cfg80211 mac80211 (nl80211 registers while the nlmons run)"
for m in cfg80211 mac80211; do modprobe "$m" || fail "modprobe $m"; done
# the kernel announces the family and each of its groups (CTRL_CMD_NEWMCAST_GRP); nlmon joins them as
# they come, one log line per join, which may name one group or several
for b in libnl legacy; do
  for g in config scan regulatory mlme vendor; do
    wait_for $OUT/nlmon-$b.stderr "joined nl80211 groups (.*, )?$g=" 10 || fail "nlmon ($b) did not join nl80211's group $g when the family appeared"
  done
done
step "nl80211 joined by both nlmons"

# iw event needs the family to exist when it starts
$IW event -t -f > $OUT/iw-event.txt 2> $OUT/iw-event.stderr &
IWEV=$!
sleep 0.5
# iw event prints nothing when it is ready; it is by now (it needs a few ms)
kill -0 $IWEV 2>/dev/null || fail "iw event exited: $(cat $OUT/iw-event.stderr)"
step "observers ready"

# ---------------------------------------------------------------- radios
step "modprobe mac80211_hwsim radios=2"
modprobe mac80211_hwsim radios=2 || fail "modprobe mac80211_hwsim"
end=$(( $(date +%s) + 10 ))
while [ ! -e /sys/class/net/wlan0 ] || [ ! -e /sys/class/net/wlan1 ]; do
  [ "$(date +%s)" -ge "$end" ] && { fail "no wlan0/wlan1"; break; }
  sleep 0.1
done
PHY0=$(cat /sys/class/net/wlan0/phy80211/name 2>/dev/null)
PHY1=$(cat /sys/class/net/wlan1/phy80211/name 2>/dev/null)
step "radios: wlan0 on $PHY0, wlan1 on $PHY1"

# ---------------------------------------------------------------- AP and station
cat > /tmp/hostapd.conf <<'EOF'
interface=wlan0
driver=nl80211
ctrl_interface=/run/hostapd
ssid=nlmon-test
hw_mode=g
channel=1
wpa=2
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
wpa_passphrase=nlmon-secret
# EAPOL-Key retries (default 4, about 1 s apart): under TCG, with two nlmons starting, the 4-way
# handshake once timed out (reason 15) and the station connected twice
wpa_pairwise_update_count=8
wpa_group_update_count=8
EOF
cat > /tmp/wpa.conf <<'EOF'
ctrl_interface=/run/wpa_supplicant
network={
  ssid="nlmon-test"
  psk="nlmon-secret"
  key_mgmt=WPA-PSK
  proto=RSN
  pairwise=CCMP
  scan_freq=2412
}
EOF
step "hostapd on wlan0"
/usr/sbin/hostapd -t /tmp/hostapd.conf > $OUT/hostapd.log 2>&1 &
HAPD=$!
wait_for $OUT/hostapd.log "AP-ENABLED" 20 || fail "hostapd: no AP-ENABLED"
step "wpa_supplicant on wlan1"
/usr/sbin/wpa_supplicant -t -i wlan1 -D nl80211 -c /tmp/wpa.conf > $OUT/wpa_supplicant.log 2>&1 &
WPAS=$!
wait_state COMPLETED 30 || fail "station did not associate"
step "associated"
sleep 1
step "wpa_cli disconnect"
$WPA_CLI disconnect > /dev/null
wait_state DISCONNECTED 10 || fail "station did not disconnect"
sleep 0.5
step "wpa_cli reconnect"
$WPA_CLI reconnect > /dev/null
wait_state COMPLETED 30 || fail "station did not re-associate"
step "re-associated"
sleep 1

# ---------------------------------------------------------------- scan
# `iw dev wlan1 scan` (trigger, wait, dump in one) hung now and then after its "scan finished" had
# been delivered, so the three steps are separate and each is bounded: trigger, wait for the event
# in iw event's own output, dump. Three channels keep it short (a full scan takes ~10 s under TCG).
step "iw dev wlan1 scan trigger freq 2412 2437 2462"
n0=$(grep -cE "wlan1 .*scan (finished|aborted)" $OUT/iw-event.txt)
timeout 10 $IW dev wlan1 scan trigger freq 2412 2437 2462 > $OUT/scan-trigger.txt 2>&1 || fail "scan trigger: $(cat $OUT/scan-trigger.txt)"
end=$(( $(date +%s) + 20 ))
while [ "$(grep -cE "wlan1 .*scan (finished|aborted)" $OUT/iw-event.txt)" -le "$n0" ]; do
  [ "$(date +%s)" -ge "$end" ] && { fail "no scan finished event"; break; }
  sleep 0.1
done
timeout 10 $IW dev wlan1 scan dump > $OUT/scan.txt 2> $OUT/scan.stderr || fail "scan dump (status $?)"
grep -q "nlmon-test" $OUT/scan.txt || fail "the scan did not see the AP"
step "scan done"
sleep 0.5

# ---------------------------------------------------------------- regulatory domain
step "iw reg set DE"
$IW reg set DE || fail "iw reg set DE"
sleep 1
$IW reg get > $OUT/iw-reg.txt 2>&1

# ---------------------------------------------------------------- an interface added and deleted
step "iw phy $PHY1 interface add mon0 type monitor"
$IW phy "$PHY1" interface add mon0 type monitor || fail "interface add mon0"
$IP link set mon0 up || fail "mon0 up"
sleep 0.3
$IP link set mon0 down
step "iw dev mon0 del"
$IW dev mon0 del || fail "iw dev mon0 del"

# ---------------------------------------------------------------- the QCA test vendor command
step "hostapd_cli vendor 001374 1 (nested)"
$HAPD_CLI vendor 001374 1 080008002a000000 nested=1 > $OUT/vendor-reply.txt 2>&1
grep -q "2c000000" $OUT/vendor-reply.txt || fail "vendor command reply: $(cat $OUT/vendor-reply.txt)"

# ---------------------------------------------------------------- a VRF with a dummy device
step "vrf-blue table 10 with dummy-blue"
$IP link add vrf-blue type vrf table 10 || fail "vrf add"
$IP link set vrf-blue up
$IP link add dummy-blue type dummy || fail "dummy add"
$IP link set dummy-blue master vrf-blue || fail "enslave dummy-blue"
$IP link set dummy-blue up
$IP addr add 192.0.2.1/24 dev dummy-blue || fail "address on dummy-blue"
$IP route add 198.51.100.0/24 via 192.0.2.254 dev dummy-blue table 10 || fail "route in table 10"
$IP route show vrf vrf-blue > $OUT/vrf-routes.txt 2>&1
sleep 0.5

# ---------------------------------------------------------------- state snapshots (for --dump-events)
step "snapshots"
$IW dev > $OUT/iw-dev.txt 2>&1
$IW dev wlan0 station dump > $OUT/iw-station-dump.txt 2>&1
$IW dev wlan1 link > $OUT/iw-link.txt 2>&1
$IW list > $OUT/iw-list.txt 2>&1
$IP -d link show > $OUT/ip-link.txt 2>&1
$IP addr show > $OUT/ip-addr.txt 2>&1
$IP route show table all > $OUT/ip-route.txt 2>&1
$WPA_CLI status > $OUT/wpa-status.txt 2>&1
step "nlmon --dump-events"
$NLMON --config /tmp/nlmon.yaml --dump-events > $OUT/nlmon-dump.ndjson 2> $OUT/nlmon-dump.stderr \
  || fail "nlmon --dump-events exit status $?"

# ---------------------------------------------------------------- teardown (still observed)
step "stop wpa_supplicant"
stop $WPAS TERM 10 || fail "wpa_supplicant did not stop"
step "stop hostapd"
stop $HAPD TERM 10 || fail "hostapd did not stop"
step "rmmod mac80211_hwsim"
rmmod mac80211_hwsim || fail "rmmod mac80211_hwsim"
sleep 1

# ---------------------------------------------------------------- observers down
step "stop observers"
stop $NL_LIBNL INT 15 || fail "nlmon (libnl) did not stop on SIGINT"
stop $NL_LEGACY INT 15 || fail "nlmon (legacy) did not stop on SIGINT"
# a shell without job control starts background commands with SIGINT ignored: iw and ip need TERM
stop $IWEV TERM 5
stop $IPMON TERM 5
stop $TCPDUMP INT 5

# ---------------------------------------------------------------- optional: the release builds
for b in $SHARE/release/*; do
  [ -f "$b" ] || continue
  name=$(basename "$b")
  step "release build $name"
  "$b" --version > $OUT/release-$name.txt 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then echo "--version exit status $rc: does not start" >> $OUT/release-$name.txt; continue; fi
  "$b" --config /tmp/nlmon.yaml > /dev/null 2> $OUT/release-$name.stderr &
  p=$!
  if why=$(wait_start $p $OUT/release-$name.stderr 60); then echo "monitor started" >> $OUT/release-$name.txt
  else echo "monitor did not start: $why" >> $OUT/release-$name.txt; fi
  stop $p INT 10
done

dmesg > $OUT/dmesg.txt
if [ -z "$FAILS" ]; then rc=0; else rc=1; fi
step "done, status $rc${FAILS:+ (failures: ${FAILS#|})}"
echo $rc > $OUT/scenario.rc
sync
