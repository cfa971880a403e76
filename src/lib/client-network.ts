/**
 * The network a request comes from, as a rate-limit key. An IPv4 client is its address; an IPv6 client is
 * its /64, the smallest block an ISP hands out (one host usually holds many addresses of its /64 and
 * rotates them freely, so a per-address key would be no limit at all).
 *
 * Keys are canonical, so every spelling of one network gives one key: an IPv4 dotted quad as is; an IPv6
 * /64 as the RFC 5952 text of its network address, e.g. "2001:db8:85a3:8d3::/64" or "2001:db8::/64"
 * (lower case, no leading zeros, the longest run of zero groups as "::"), the form `ip` and Python's
 * ipaddress print. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 client.
 */

type Ipv4 = [number, number, number, number];

// The longest IPv6 spelling is 45 characters; a zone id adds a little. Anything longer is not an address.
const MAX_LENGTH = 100;

/** The client network of a `CF-Connecting-IP` value; null when it is not an IP address. */
export function clientNetwork(header: string | undefined | null): string | null {
	if (!header || header.length > MAX_LENGTH) return null;
	const address = header.trim();
	if (!address.includes(":")) return parseIpv4(address) ? address : null;

	const groups = parseIpv6(address);
	if (!groups) return null;
	const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
	if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
		return [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff].join(".");
	}
	return `${formatIpv6([g0 ?? 0, g1 ?? 0, g2 ?? 0, g3 ?? 0, 0, 0, 0, 0])}/64`;
}

// Decimal without leading zeros: "010.0.0.1" is octal to some parsers, so it has no single meaning.
const OCTET = "(0|[1-9]\\d{0,2})";
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** A dotted quad of decimal octets 0–255. */
function parseIpv4(text: string): Ipv4 | null {
	const match = IPV4.exec(text);
	if (!match) return null;
	const octets = match.slice(1).map(Number);
	return octets.every((octet) => octet <= 255) ? (octets as Ipv4) : null;
}

/** The 8 groups of an IPv6 address in any RFC 4291 spelling, an optional zone id ("%eth0") ignored. */
function parseIpv6(text: string): number[] | null {
	const [address = "", zone, ...rest] = text.split("%");
	if (rest.length > 0 || (zone !== undefined && !/^[\w.~-]+$/.test(zone))) return null;

	const halves = address.split("::");
	if (halves.length > 2) return null;
	const [head = "", tail] = halves;
	if (tail === undefined) {
		const groups = parseGroups(head, true);
		return groups?.length === 8 ? groups : null;
	}
	const before = parseGroups(head, false);
	const after = parseGroups(tail, true);
	// "::" stands for at least one zero group.
	if (!before || !after || before.length + after.length > 7) return null;
	return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/** Colon-separated hex groups; the last may be a dotted quad (two groups) when it ends the address. */
function parseGroups(text: string, endsAddress: boolean): number[] | null {
	if (text === "") return [];
	const pieces = text.split(":");
	const groups: number[] = [];
	for (const [index, piece] of pieces.entries()) {
		if (endsAddress && index === pieces.length - 1 && piece.includes(".")) {
			const octets = parseIpv4(piece);
			if (!octets) return null;
			groups.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]);
		} else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
			groups.push(Number.parseInt(piece, 16));
		} else {
			return null;
		}
	}
	return groups;
}

/** RFC 5952 text: lower-case hex without leading zeros, the longest run of 2+ zero groups (first on a tie) as "::". */
function formatIpv6(groups: readonly number[]): string {
	let runStart = -1;
	let runLength = 1;
	for (let start = 0; start < groups.length; ) {
		let end = start;
		while (groups[end] === 0) end++;
		if (end - start > runLength) {
			runStart = start;
			runLength = end - start;
		}
		start = end + 1;
	}
	const hex = groups.map((group) => group.toString(16));
	if (runStart < 0) return hex.join(":");
	return `${hex.slice(0, runStart).join(":")}::${hex.slice(runStart + runLength).join(":")}`;
}
