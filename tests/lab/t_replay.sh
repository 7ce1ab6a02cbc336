#!/bin/bash
# mtuscope replay: a capture taken on the lab's gateway during a black hole,
# replayed, names the same flow with the same verdict as the live run, in
# every link type and file format a field capture comes in (Ethernet, Linux
# cooked SLL and SLL2, raw IP from the tunnel interface; pcap and pcapng;
# cut by a short snaplen); GRO super-packets count as their segments; and
# malformed, truncated and unsupported captures get a clear message, never a
# crash. Names, addresses and ports are drawn afresh on every run.
. "$(dirname "$0")/lib.sh"
need t_replay socat tcpdump python3 wg wireguard-go || exit 0

# replay_json FILE [options]: what replay --json prints (stderr in FILE.err)
replay_json() {
	local f=$1
	shift
	"$MTS" replay --json "$@" "$f" 2>"$f.err"
}

# pcap -> pcapng (one section, one interface, enhanced packet blocks).
to_pcapng() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = open(src, 'rb').read()
magic = struct.unpack('<I', b[:4])[0]
e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
_, _, _, _, _, snap, link = struct.unpack(e + 'IHHiIII', b[:24])
def block(t, body):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack('<II', t, n) + body + struct.pack('<I', n)
out = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
opts = struct.pack('<HHB', 9, 1, 9 if nano else 6) + b'\0' * 3 + struct.pack('<HH', 0, 0)
out += block(1, struct.pack('<HHI', link, 0, snap) + opts)
off = 24
while off + 16 <= len(b):
    s, frac, cap, wire = struct.unpack(e + 'IIII', b[off:off + 16])
    data = b[off + 16:off + 16 + cap]
    off += 16 + cap
    ts = s * (10**9 if nano else 10**6) + frac
    out += block(6, struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff, cap, wire) + data)
open(dst, 'wb').write(out)
EOF
}

# A black hole on the lab, with a live watch and captures beside it.
# Fills LIVE (the live run's verdict for the flow) and DST.
capture_blackhole() {	# prefix mode family
	local p=$1 mode=$2 fam=$3
	if ! lab_up "$p" --mode "$mode" --family "$fam"; then return 1; fi
	local out=$TMP/$p.live port=$((RANDOM % 30000 + 20000)) line
	watch_start "$out" || return 1
	DST=$(dst_of "$port")
	# The gateway's LAN side as Ethernet (whole and cut to 128 bytes), its
	# tunnel interface as raw IP, and the sending host (one interface) with
	# `tcpdump -i any`, Linux cooked v1 and v2.
	local caps=("$LAB_NS_GW -i $LAB_GW_LAN_IF -w $TMP/$p.eth.pcap"
		    "$LAB_NS_GW -i $LAB_GW_LAN_IF -s 128 -w $TMP/$p.cut.pcap"
		    "$LAB_NS_LAN -i any -y LINUX_SLL -w $TMP/$p.sll.pcap"
		    "$LAB_NS_LAN -i any -y LINUX_SLL2 -w $TMP/$p.sll2.pcap")
	[ -n "$LAB_GW_TUN_IF" ] && caps+=("$LAB_NS_GW -i $LAB_GW_TUN_IF -w $TMP/$p.raw.pcap")
	local c ns
	for c in "${caps[@]}"; do
		ns=${c%% *}
		# shellcheck disable=SC2086
		ip netns exec "$ns" tcpdump -n -U ${c#* } 'tcp or icmp or icmp6' \
			2>>"$TMP/$p.tcpdump.err" &
		BGPIDS+=($!)
	done
	sleep 1.5	# tcpdump is listening
	"$LAB" send --prefix "$p" --port "$port" --bytes 3000000 --timeout 5 >/dev/null 2>&1
	if ! line=$(wait_verdict "$out" "$DST" blackhole 8); then
		echo "# live run saw no blackhole for $DST" >&2
		return 1
	fi
	sleep 1
	for c in "${BGPIDS[@]}"; do kill -INT "$c" 2>/dev/null; done
	for c in "${BGPIDS[@]}"; do wait "$c" 2>/dev/null; done
	BGPIDS=()
	watch_stop
	LIVE=$(jq -r .verdict <<<"$line")
	LIVE_SEG=$(jq -r .seg_max <<<"$line")
	"$LAB" down --prefix "$p"
}

# same_verdict NAME FILE [options]: replay names DST with the live run's
# verdict and the same largest segment (GRO/TSO super-packets counted as
# the segments they carry, as the live programs count them).
same_verdict() {
	local name=$1 f=$2 got seg
	shift 2
	if [ ! -s "$f" ]; then
		fail "$name" "no capture written: $(tail -2 "$TMP"/*.tcpdump.err 2>/dev/null)"
		return
	fi
	replay_json "$f" "$@" | jq -c --arg d "$DST" \
		'select(.event == "verdict" and .dst == $d)' >"$f.verdicts"
	got=$(jq -r .verdict "$f.verdicts" | tr '\n' ' ')
	seg=$(jq -r --arg v "$LIVE" 'select(.verdict == $v) | .seg_max' "$f.verdicts" | head -1)
	if [[ " $got " == *" $LIVE "* ]] && ! grep -q "stalled\|ptb-ignored" <<<"$got" &&
		[ "$seg" = "$LIVE_SEG" ]; then
		echo "# $name: live $LIVE (largest segment $LIVE_SEG), replay: $got(largest $seg)"
		ok "$name"
	else
		fail "$name" "live $LIVE (largest $LIVE_SEG) for $DST, replay saw: '$got' (largest $seg) ($(tail -1 "$f.err"))"
	fi
}

p=r$((RANDOM % 900 + 100))$RANDOM
p=${p:0:7}
if capture_blackhole "$p" plain 4; then
	same_verdict replay_ethernet_same_verdict "$TMP/$p.eth.pcap"
	same_verdict replay_snaplen_cut_same_verdict "$TMP/$p.cut.pcap"
	same_verdict replay_linux_sll_same_verdict "$TMP/$p.sll.pcap"
	same_verdict replay_linux_sll2_same_verdict "$TMP/$p.sll2.pcap"
	to_pcapng "$TMP/$p.eth.pcap" "$TMP/$p.eth.pcapng"
	same_verdict replay_pcapng_same_verdict "$TMP/$p.eth.pcapng"
	# GRO on the gateway's LAN side: the capture holds super-packets.
	if [ "$(tcpdump -nr "$TMP/$p.eth.pcap" 2>/dev/null | awk '/length/ {
		n = $NF + 0; if (n > 1500) big++ } END { print big + 0 }')" -gt 0 ]; then
		# Told they are ordinary packets (--mtu 65535), the same capture
		# shows the super-packets as segments: what splitting prevents.
		cp "$TMP/$p.eth.pcap.err" "$TMP/$p.split.err"
		replay_json "$TMP/$p.eth.pcap" --mtu 65535 | jq -r --arg d "$DST" \
			'select(.event == "verdict" and .dst == $d) | .seg_max' >"$TMP/$p.unsplit"
		if grep -q "super-packets split into [1-9]" "$TMP/$p.split.err" &&
			[ "$(head -1 "$TMP/$p.unsplit")" -gt "$LIVE_SEG" ] 2>/dev/null; then
			ok replay_splits_gro_super_packets
		else
			fail replay_splits_gro_super_packets "$(cat "$TMP/$p.split.err"), unsplit largest $(head -1 "$TMP/$p.unsplit")"
		fi
	else
		ok replay_splits_gro_super_packets	# (this run's capture held none)
		echo "# no GRO super-packet in this capture"
	fi
	# A capture cut mid-packet (tcpdump killed): the packets read are judged.
	head -c $(( $(stat -c %s "$TMP/$p.eth.pcap") - 100 )) "$TMP/$p.eth.pcap" >"$TMP/$p.trunc.pcap"
	same_verdict replay_truncated_file_judged "$TMP/$p.trunc.pcap"
	if grep -q "ends early" "$TMP/$p.trunc.pcap.err"; then
		ok replay_truncated_file_explained
	else
		fail replay_truncated_file_explained "$(cat "$TMP/$p.trunc.pcap.err")"
	fi
else
	for t in ethernet_same_verdict snaplen_cut_same_verdict linux_sll_same_verdict \
		linux_sll2_same_verdict pcapng_same_verdict splits_gro_super_packets \
		truncated_file_judged truncated_file_explained; do
		fail "replay_$t" "no live black hole to capture"
	done
fi

p=w$((RANDOM % 900 + 100))$RANDOM
p=${p:0:7}
if capture_blackhole "$p" wg 4; then
	same_verdict replay_wireguard_ethernet_same_verdict "$TMP/$p.eth.pcap"
	same_verdict replay_wireguard_raw_ip_same_verdict "$TMP/$p.raw.pcap"
else
	fail replay_wireguard_ethernet_same_verdict "no live black hole to capture"
	fail replay_wireguard_raw_ip_same_verdict "no live black hole to capture"
fi

# Bad input: each gets a specific message and a non-zero exit, no crash.
bad() {	# name expected-message file
	local rc
	"$MTS" replay "$3" >/dev/null 2>"$TMP/bad.err"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q "$2" "$TMP/bad.err"; then
		ok "$1"
	else
		fail "$1" "rc $rc: $(cat "$TMP/bad.err")"
	fi
}
head -c 4096 /dev/urandom >"$TMP/random.pcap"
bad replay_random_bytes_rejected "unknown file format" "$TMP/random.pcap"
: >"$TMP/empty.pcap"
bad replay_empty_file_rejected "cannot read capture" "$TMP/empty.pcap"
bad replay_missing_file_rejected "No such file" "$TMP/nonexistent.pcap"
# A valid pcap header for 802.11 (link type 105), one packet.
python3 -c '
import struct, sys
sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 105) +
                        struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")' >"$TMP/wifi.pcap"
bad replay_unsupported_link_type_named "IEEE802_11" "$TMP/wifi.pcap"
python3 -c '
import struct, sys
sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))' \
	>"$TMP/nopackets.pcap"
bad replay_no_packets_explained "no packets" "$TMP/nopackets.pcap"
# Malformed packets inside a valid capture: runts, a bogus IP header, an
# ICMP frag-needed whose quote is cut short. Counted, judged, exit 0.
python3 - "$TMP/malformed.pcap" <<'EOF'
import struct, sys, random
out = [struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
eth = b'\x02' * 6 + b'\x02' * 6
def pkt(i, data):
    out.append(struct.pack('<IIII', 100 + i, 0, len(data), len(data)) + data)
pkt(0, eth[:5])                                         # runt
pkt(1, eth + b'\x08\x00' + b'\x45')                     # IPv4 cut after one byte
pkt(2, eth + b'\x08\x00' + b'\x4f' + b'\0' * 30)        # IHL past the end
icmp = bytes([3, 4, 0, 0, 0, 0, 0x05, 0x78]) + b'\x45\x00'   # quote cut short
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
                 bytes([203, 0, 113, 1]), bytes([192, 0, 2, 1]))
pkt(3, eth + b'\x08\x00' + ip + icmp)
pkt(4, eth + b'\x86\xdd' + b'\x60' + b'\0' * 10)        # IPv6 cut
random.seed(7)
for i in range(5, 200):
    pkt(i, eth + random.choice([b'\x08\x00', b'\x86\xdd', b'\x81\x00']) +
        bytes(random.getrandbits(8) for _ in range(random.randrange(0, 120))))
open(sys.argv[1], 'wb').write(b''.join(out))
EOF
if "$MTS" replay --json "$TMP/malformed.pcap" >"$TMP/malformed.out" 2>"$TMP/malformed.err" &&
	jq -e 'select(.event == "summary")' "$TMP/malformed.out" >/dev/null &&
	grep -q "200 packets" "$TMP/malformed.err"; then
	ok replay_malformed_packets_counted
else
	fail replay_malformed_packets_counted "rc $?: $(tail -2 "$TMP/malformed.err")"
fi
