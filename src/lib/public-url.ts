/**
 * Where the Worker may send webhooks (API.md, Webhooks): `https` only; plain `http` only to this machine
 * (localhost, 127.0.0.1, [::1]) outside production. In production (`ENVIRONMENT=production`) a URL may not
 * name a host that is not on the public internet: `localhost` and other local-only names, or an IP literal
 * in a private, loopback, link-local, shared, documentation, multicast or reserved range — so an admin
 * account cannot be used to probe or hit internal services (SSRF).
 *
 * Workers cannot resolve DNS before a fetch, so a public-looking host name that resolves to a private
 * address cannot be caught here; the same check runs again before every delivery (the URL may have
 * changed), and the platform's own egress does not reach private networks behind Cloudflare.
 */

/** Hosts that plain http may reach outside production. */
const LOCAL_HTTP_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Name suffixes that never resolve on the public internet (RFC 6761, RFC 6762, RFC 8375). */
const LOCAL_NAME = /(?:^|\.)(?:localhost|local|internal|localdomain|home\.arpa)\.?$/i;

/** IPv4 ranges that are not public: [first octets as a number, prefix length]. */
const NON_PUBLIC_IPV4: [string, number][] = [
	["0.0.0.0", 8], // "this network"
	["10.0.0.0", 8], // private
	["100.64.0.0", 10], // shared address space (carrier-grade NAT)
	["127.0.0.0", 8], // loopback
	["169.254.0.0", 16], // link-local (cloud metadata services live here)
	["172.16.0.0", 12], // private
	["192.0.0.0", 24], // IETF protocol assignments
	["192.0.2.0", 24], // documentation
	["192.88.99.0", 24], // 6to4 relay anycast
	["192.168.0.0", 16], // private
	["198.18.0.0", 15], // benchmarking
	["198.51.100.0", 24], // documentation
	["203.0.113.0", 24], // documentation
	["224.0.0.0", 4], // multicast
	["240.0.0.0", 4], // reserved, and the broadcast address
];

const ipv4Number = (address: string): number =>
	address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);

function isPublicIpv4(address: string): boolean {
	const value = ipv4Number(address);
	return !NON_PUBLIC_IPV4.some(([network, bits]) => {
		const size = 2 ** (32 - bits);
		return Math.floor(value / size) === Math.floor(ipv4Number(network) / size);
	});
}

/** The eight 16-bit groups of an IPv6 address as the URL parser serialises it (lower case, `::`, no IPv4 tail). */
function ipv6Groups(address: string): number[] | null {
	const [head = "", tail, extra] = address.split("::");
	if (extra !== undefined) return null;
	const parse = (part: string) =>
		part === "" ? [] : part.split(":").map((group) => Number.parseInt(group, 16));
	const first = parse(head);
	const last = tail === undefined ? [] : parse(tail);
	const missing = 8 - first.length - last.length;
	if (missing < 0 || (tail === undefined && missing !== 0)) return null;
	const groups = [...first, ...new Array<number>(missing).fill(0), ...last];
	return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : null;
}

/**
 * Public IPv6 is global unicast (2000::/3) outside the documentation prefixes and the tunnelling prefixes
 * that embed other addresses (Teredo 2001::/32, 6to4 2002::/16). Everything else — loopback, unspecified,
 * IPv4-mapped and NAT64 (which name IPv4 hosts: use the IPv4 literal), unique-local fc00::/7, link-local
 * fe80::/10, multicast — is refused.
 */
function isPublicIpv6(address: string): boolean {
	const groups = ipv6Groups(address);
	if (!groups) return false;
	const [first = 0, second = 0] = groups;
	if (first < 0x2000 || first > 0x3fff) return false;
	if (first === 0x2001 && (second === 0x0db8 || second === 0)) return false;
	if (first === 0x2002) return false;
	if (first === 0x3fff && second < 0x1000) return false; // 3fff::/20, documentation (RFC 9637)
	return true;
}

/** Whether a URL host (`URL.hostname`: IPv6 in brackets) is on the public internet, as far as can be told without DNS. */
export function isPublicHost(hostname: string): boolean {
	if (hostname.startsWith("[") && hostname.endsWith("]")) return isPublicIpv6(hostname.slice(1, -1));
	if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname)) return isPublicIpv4(hostname);
	// A name: local-only suffixes, or a single label (an intranet name), never resolve publicly.
	return !LOCAL_NAME.test(hostname) && hostname.replace(/\.$/, "").includes(".");
}

/**
 * Why a webhook URL may not be used, or null when it may. The messages are the 422 `detail` of `url`.
 * The URL parser has already normalised the host (IPv4 in any spelling becomes dotted decimal, IPv6 is
 * compressed), so `http://0x7f.1/` is seen as 127.0.0.1.
 */
export function webhookUrlProblem(raw: string, options: { production: boolean }): string | null {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return "url must be an absolute https URL";
	}
	if (url.protocol !== "https:" && url.protocol !== "http:") return "url must be an https URL";
	if (url.username || url.password) return "url must not contain a user name or password";
	if (options.production) {
		if (url.protocol !== "https:") return "url must be an https URL";
		if (!isPublicHost(url.hostname)) {
			return "url must point at a public host, not a private, loopback, link-local or local-only address";
		}
		return null;
	}
	if (url.protocol === "http:" && !LOCAL_HTTP_HOSTS.has(url.hostname)) {
		return "url must be an https URL (plain http is accepted only for localhost, 127.0.0.1 and [::1] outside production)";
	}
	return null;
}
