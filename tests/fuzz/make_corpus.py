#!/usr/bin/env python3
"""make_corpus.py - the crafted part of the fuzzers' seed corpus.

    tests/fuzz/make_corpus.py DIR    # writes DIR/pcap/* and DIR/feed/*

Captures of every link type replay reads (Ethernet, Linux cooked SLL and
SLL2, raw IP; pcap in micro- and nanoseconds, pcapng) holding the packets
mtuscope cares about: a handshake with MSS, full-size and GSO super-sized
data, a SACK, ICMP frag-needed and ICMPv6 packet-too-big quoting a segment,
an 802.1Q frame, IPv6 with a hop-by-hop header. The feed seeds are the same
frames in fuzz_feed's input format (link type, MTU, then length-prefixed
frames). Deterministic: the committed corpus is this script's output plus
real lab captures (README, "Tests").
"""
import os, struct, sys

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

A4, B4 = bytes([192, 0, 2, 10]), bytes([198, 51, 100, 20])
A6 = bytes.fromhex('20010db8000100000000000000000010')
B6 = bytes.fromhex('20010db8000200000000000000000020')

def ip4(proto, payload, df=True, src=A4, dst=B4, tot=None):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, tot or 20 + len(payload), 1, 0x4000 if df else 0,
                    64, proto, 0, src, dst)
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload

def ip6(nh, payload, src=A6, dst=B6, plen=None):
    return struct.pack('!IHBB16s16s', 6 << 28, plen if plen is not None else len(payload), nh, 64,
                       src, dst) + payload

def tcp(sport, dport, seq, ack, flags, data=b'', opts=b''):
    off = (20 + len(opts)) // 4
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts + data

MSS = struct.pack('!BBH', 2, 4, 1460)
SACK = b'\x01\x01' + struct.pack('!BBII', 5, 10, 1000 + 2896, 1000 + 4344)
SYN, ACK, PSH, SA = 0x02, 0x10, 0x08, 0x12

def packets4():
    seg = tcp(40000, 443, 1000, 5000, ACK | PSH, b'\xa5' * 1448)
    big = tcp(40000, 443, 2448, 5000, ACK, b'\xa5' * 7240)
    quoted = ip4(6, tcp(40000, 443, 1000, 5000, ACK, b'\xa5' * 8), tot=1500)
    ptb = ip4(1, struct.pack('!BBHHH', 3, 4, 0, 0, 1400) + quoted[:28], src=bytes([203, 0, 113, 1]), dst=A4)
    return [ip4(6, tcp(40000, 443, 999, 0, SYN, opts=MSS)),
            ip4(6, tcp(443, 40000, 4999, 1000, SA, opts=MSS), src=B4, dst=A4),
            ip4(6, seg), ip4(6, big),
            ip4(6, tcp(443, 40000, 5000, 1000, ACK, opts=SACK), src=B4, dst=A4),
            ptb, ip4(17, struct.pack('!HHHH', 51820, 51820, 8 + 1424, 0) + b'\x04' * 1424)]

def packets6():
    seg = tcp(40001, 443, 1000, 5000, ACK, b'\xa5' * 1428)
    quoted = ip6(6, tcp(40001, 443, 1000, 5000, ACK), plen=1440)
    ptb = ip6(58, struct.pack('!BBHI', 2, 0, 0, 1280) + quoted, src=bytes.fromhex('20010db8ff000000000000000000001'.ljust(32, '0')), dst=A6)
    hbh = bytes([6, 0, 1, 4, 0, 0, 0, 0])
    return [ip6(6, tcp(40001, 443, 999, 0, SYN, opts=MSS)), ip6(6, seg), ptb,
            ip6(0, hbh + tcp(40001, 443, 2428, 5000, ACK, b'\xa5' * 100))]

def eth(l3, v6=False, vlan=False):
    t = 0x86dd if v6 else 0x0800
    h = b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01'
    if vlan: h += struct.pack('!HH', 0x8100, 100)
    return h + struct.pack('!H', t) + l3

def sll(l3, v6=False, out=False):
    return struct.pack('!HHH8sH', 4 if out else 0, 1, 6, b'\x02\0\0\0\0\x01\0\0', 0x86dd if v6 else 0x0800) + l3

def sll2(l3, v6=False, out=False):
    return struct.pack('!HHIHBB8s', 0x86dd if v6 else 0x0800, 0, 2, 1, 4 if out else 0, 6, b'\x02\0\0\0\0\x01\0\0') + l3

def pcap(frames, link, nano=False, snap=262144):
    out = struct.pack('<IHHiIII', 0xa1b23c4d if nano else 0xa1b2c3d4, 2, 4, 0, 0, snap, link)
    for i, f in enumerate(frames):
        cap = f[:snap]
        out += struct.pack('<IIII', 1796000000 + i // 10, (i % 10) * (100000000 if nano else 100000), len(cap), len(f)) + cap
    return out

def pcapng(frames, link):
    def block(t, body):
        body += b'\0' * (-len(body) % 4)
        return struct.pack('<II', t, 12 + len(body)) + body + struct.pack('<I', 12 + len(body))
    out = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack('<HHI', link, 0, 262144))
    for i, f in enumerate(frames):
        ts = (1796000000 + i) * 1000000
        out += block(6, struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff, len(f), len(f)) + f)
    return out

def feed(frames, dlt_index, mtu=1500):
    out = bytes([dlt_index]) + struct.pack('<H', (mtu - 576) % 8616)
    for f in frames:
        out += struct.pack('<H', len(f)) + f
    return out

def bpf_rec(frame, egress, l3=False, gso=0, ms=1):
    steps = [0, 1, 2, 5, 10, 50, 100, 200, 500, 1000, 2000, 3000, 5000, 10000, 30000, 60000]
    flags = egress | l3 << 1 | (4 if gso else 0) | steps.index(ms) << 4
    return struct.pack('<BHH', flags, gso, len(frame[:4096])) + frame[:4096]

def is_from_a(l3):
    v = l3[0] >> 4
    return l3[12:16] == A4 if v == 4 else l3[8:24] == A6

def bpf_seeds(p4, p6):
    run = lambda pkts, l3: b''.join(bpf_rec(p if l3 else eth(p, v6=p[0] >> 4 == 6), is_from_a(p), l3)
                                    for p in pkts)
    # The full-size segment again a second later: a large retransmission;
    # the 5-segment one as a GSO skb.
    rtx = bpf_rec(eth(p4[2]), 1, ms=1000)
    gso = bpf_rec(eth(p4[3]), 1, gso=1448)
    return {'bpf/eth4': run(p4, False) + rtx + gso, 'bpf/eth6': run(p6, False),
            'bpf/l3-4': run(p4, True) + bpf_rec(p4[2], 1, True, ms=1000), 'bpf/l3-6': run(p6, True),
            'bpf/vlan': bpf_rec(eth(p4[2], vlan=True), 1)}

def bpf_lab(frames, link):
    """A lab capture as a fuzz_bpf run: Ethernet frames (the first one's
    source MAC is this host: egress), raw IP on the L3 programs, SLL2 given
    an Ethernet header (its packet type says the direction)."""
    out = b''
    for f in frames:
        if link == 1:
            out += bpf_rec(f, f[6:12] == frames[0][6:12])
        elif link == 101:
            out += bpf_rec(f, is_from_a(f) or f[12:16] == frames[0][12:16], True)
        elif link == 276 and len(f) >= 20:
            out += bpf_rec(b'\x02\0\0\0\0\x02\x02\0\0\0\0\x01' + f[0:2] + f[20:], f[10] == 4)
    return out

# fuzz_text: `wg show interfaces`, `... endpoints`, `... allowed-ips` and
# `ip -json route get` output as the tools print it, NUL between them.
K1, K2, K3 = ('%s=' % (c * 43) for c in 'ABC')
TEXT = {
    'text/wg4': ['lab-w0 lab-w1\n',
                 '%s\t203.0.113.2:51820\n%s\t(none)\n' % (K1, K2),
                 '%s\t198.18.0.2/32 198.18.1.0/24\n%s\t(none)\n' % (K1, K2),
                 '[{"dst":"203.0.113.2","dev":"lab-u0","prefsrc":"203.0.113.1",'
                 '"flags":[],"uid":0,"cache":[]}]\n'],
    'text/wg6': ['hub0\n',
                 '%s\t[2001:db8::2]:51820\n%s\t[2001:db8::3]:65535\n%s\t198.51.100.7:1\n' % (K1, K2, K3),
                 '%s\t2001:db8:1::/64 198.18.2.0/24\n%s\t::/0 0.0.0.0/0\n%s\t\n' % (K1, K2, K3),
                 '[{"dst":"2001:db8::2","from":"::","dev":"hub-u","proto":"kernel","src":'
                 '"2001:db8::1","metric":256,"flags":[],"pref":"medium"}]\n'],
}

# fuzz_http: a state (interfaces with names of any bytes, flows of any
# record) and a request, as the harness reads them.
def http_seed(state, req):
    return struct.pack('<H', len(state)) + state + req

def http_state():
    names = [b'lab-w0', b'we"ird\\name\n', b'\xffnot-utf8']
    st = bytes([len(names)])
    for i, n in enumerate(names):
        st += bytes([len(n)]) + n + bytes([i * 5]) + struct.pack('<8Q', *range(i, i + 8))
    key = bytes([2, 6, 0, 0]) + A4 + b'\0' * 12 + B4 + b'\0' * 12 + struct.pack('<HH', 40000, 443)
    return st + key + bytes(range(256)) * 2

HTTP = {
    'http/metrics': http_seed(http_state(), b'GET /metrics HTTP/1.1\r\nHost: 192.0.2.80\r\n\r\n'),
    'http/flows': http_seed(http_state(), b'GET /flows HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n'),
    'http/head': http_seed(b'', b'HEAD /metrics HTTP/1.0\r\n\r\n'),
    'http/post': http_seed(b'\1\3lo0\0', b'POST /flows HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello'),
    'http/chunked': http_seed(b'', b'GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
    'http/pipelined': http_seed(http_state()[:60], b'GET /flows HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n'
                                b'GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'),
    'http/expect': http_seed(b'', b'GET /metrics HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n'),
    'http/version': http_seed(b'', b'GET /metrics HTTP/2.0\r\n\r\n'),
    'http/long-url': http_seed(b'', b'GET /' + b'a' * 40000 + b' HTTP/1.1\r\nHost: a\r\n\r\n'),
}

def main(d):
    p4, p6 = packets4(), packets6()
    e = [eth(p) for p in p4] + [eth(p, v6=True) for p in p6] + [eth(p4[2], vlan=True)]
    s1 = [sll(p, out=i % 2 == 0) for i, p in enumerate(p4)] + [sll(p, v6=True) for p in p6]
    s2 = [sll2(p, out=i % 2 == 0) for i, p in enumerate(p4)] + [sll2(p, v6=True) for p in p6]
    raw = p4 + p6
    files = {
        'pcap/eth.pcap': pcap(e, 1), 'pcap/eth-nano.pcap': pcap(e, 1, nano=True),
        'pcap/eth-snap96.pcap': pcap(e, 1, snap=96), 'pcap/sll.pcap': pcap(s1, 113),
        'pcap/sll2.pcap': pcap(s2, 276), 'pcap/raw.pcap': pcap(raw, 101),
        'pcap/ipv4.pcap': pcap(p4, 228), 'pcap/ipv6.pcap': pcap(p6, 229),
        'pcap/eth.pcapng': pcapng(e, 1),
        # fuzz_feed: DLT index as in the harness (EN10MB, SLL, SLL2, RAW, IPV4, IPV6)
        'feed/eth': feed(e, 0), 'feed/eth-mtu1400': feed(e, 0, 1400), 'feed/sll': feed(s1, 1),
        'feed/sll2': feed(s2, 2), 'feed/raw': feed(raw, 3), 'feed/ipv4': feed(p4, 4),
        'feed/ipv6': feed(p6, 5),
        **bpf_seeds(p4, p6),
        **{name: '\0'.join(parts).encode() for name, parts in TEXT.items()},
        **HTTP,
    }
    for name, data in files.items():
        path = os.path.join(d, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, 'wb').write(data)
    # The real lab captures beside them (pcap/lab-*.pcap, taken with tcpdump
    # -s 200 on a lab gateway during a black hole) as feed seeds too.
    index = {1: 0, 113: 1, 276: 2, 101: 3, 228: 4, 229: 5}
    for name in sorted(os.listdir(os.path.join(d, 'pcap'))):
        if not (name.startswith('lab-') and name.endswith('.pcap')):
            continue
        b = open(os.path.join(d, 'pcap', name), 'rb').read()
        e = '<' if struct.unpack('<I', b[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else '>'
        link = struct.unpack(e + 'I', b[20:24])[0]
        frames, off = [], 24
        while off + 16 <= len(b):
            cap = struct.unpack(e + 'I', b[off + 8:off + 12])[0]
            frames.append(b[off + 16:off + 16 + cap])
            off += 16 + cap
        if link in index:
            open(os.path.join(d, 'feed', name[:-5]), 'wb').write(feed(frames, index[link]))
        if bpf_lab(frames, link):
            open(os.path.join(d, 'bpf', name[:-5]), 'wb').write(bpf_lab(frames, link))

main(sys.argv[1])
