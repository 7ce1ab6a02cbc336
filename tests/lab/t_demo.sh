#!/bin/bash
# t_demo.sh - `make demo`, the README's first command after set-up, shows the
# black hole and then its recovery, exits 0, and prints what the README's
# opening example says it prints (the same lines, with the same numbers;
# only times, interface names, keys, addresses and ports may differ).
. "$(dirname "$0")/lib.sh"
need t_demo socat wg wireguard-go ping make || exit 0

# normalise: what legitimately differs between two runs becomes a token.
normalise() {
	sed -E -e 's/^  \| //; s/^ +//' \
	       -e 's/[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+/TIME/g' \
	       -e 's/[A-Za-z0-9+\/]{43}=/KEY/g' \
	       -e 's/\b(wg0|eth0|demo[0-9]*[wg][0-9])\b/IFACE/g' \
	       -e 's/[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+/ADDR:PORT/g' \
	       -e 's/ +$//'
}

out=$TMP/demo.out
if (cd "$ROOT" && make -s demo) >"$out" 2>&1; then
	ok demo_exits_0
else
	fail demo_exits_0 "rc $?: $(tail -3 "$out" | tr '\n' ' ')"
fi

b=$(grep -n -m1 ' blackhole ' "$out" | cut -d: -f1)
r=$(grep -n -m1 ' recovered ' "$out" | cut -d: -f1)
if [ -n "$b" ] && [ -n "$r" ] && [ "$b" -lt "$r" ] && grep -q "20000000 of 20000000 bytes arrived" "$out"; then
	ok demo_shows_blackhole_then_recovered
else
	fail demo_shows_blackhole_then_recovered "blackhole at line ${b:-none}, recovered at ${r:-none}"
fi

# The README's example: the first fenced block.
awk '/^```/ { if (n++) exit; next } n' "$ROOT/README.md" | normalise >"$TMP/readme.norm"
normalise <"$out" >"$TMP/demo.norm"
missing=
exec 3<"$TMP/demo.norm"
while IFS= read -r want; do
	[ -n "$want" ] || continue
	found=
	while IFS= read -r got <&3; do
		[ "$got" = "$want" ] && { found=1; break; }
	done
	[ -n "$found" ] || { missing=$want; break; }
done <"$TMP/readme.norm"
exec 3<&-
if [ -s "$TMP/readme.norm" ] && [ -z "$missing" ]; then
	ok readme_example_is_what_the_demo_prints
else
	fail readme_example_is_what_the_demo_prints "README line not printed by the demo (in order): ${missing:-no example}"
fi
