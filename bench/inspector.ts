/**
 * The isolate under `wrangler dev --inspector-port`, through the Chrome DevTools Protocol: bench:profile
 * records CPU profiles with it, bench:million reads the heap.
 */
import { createServer } from "node:net";

/** A free local port (for `--inspector-port`). */
export const freePort = () =>
	new Promise<number>((resolve, reject) => {
		const probe = createServer();
		probe.once("error", reject);
		probe.listen(0, "127.0.0.1", () => {
			const address = probe.address();
			probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
		});
	});

/** A minimal CDP client over the inspector's WebSocket. */
export async function devtools(port: number) {
	let targets: { webSocketDebuggerUrl?: string; title?: string }[] = [];
	for (let attempt = 0; attempt < 40 && targets.length === 0; attempt++) {
		targets = await fetch(`http://127.0.0.1:${port}/json`)
			.then((res) => res.json() as Promise<typeof targets>)
			.catch(() => []);
		if (targets.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
	}
	const url = targets.find((target) => target.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
	if (!url) throw new Error(`no inspector target on port ${port}`);
	// wrangler's inspector proxy wants a local `Origin` (Node's WebSocket takes headers: undici's init).
	const socket = new WebSocket(url, { headers: { Origin: "http://localhost" } } as unknown as string[]);
	await new Promise((resolve, reject) => {
		socket.addEventListener("open", resolve, { once: true });
		socket.addEventListener("error", reject, { once: true });
	});
	let id = 0;
	const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
	const scripts = new Map<string, string>();
	socket.addEventListener("message", (event) => {
		const message = JSON.parse(String(event.data)) as {
			id?: number;
			method?: string;
			params?: { scriptId: string; url: string };
			result?: unknown;
			error?: { message: string };
		};
		if (message.method === "Debugger.scriptParsed" && message.params)
			scripts.set(message.params.scriptId, message.params.url);
		const waiting = message.id === undefined ? undefined : pending.get(message.id);
		if (!waiting) return;
		pending.delete(message.id as number);
		if (message.error) waiting.reject(new Error(message.error.message));
		else waiting.resolve(message.result);
	});
	// A method the inspector never answers (workerd ignores some, e.g. HeapProfiler.collectGarbage) fails
	// after a while instead of hanging the benchmark.
	const send = <T>(method: string, params: object = {}, timeoutMs = 60_000) =>
		new Promise<T>((resolve, reject) => {
			const messageId = ++id;
			const timer = setTimeout(() => {
				pending.delete(messageId);
				reject(new Error(`the inspector did not answer ${method} within ${timeoutMs} ms`));
			}, timeoutMs);
			const settle =
				<V>(then: (value: V) => void) =>
				(value: V) => {
					clearTimeout(timer);
					then(value);
				};
			pending.set(messageId, {
				resolve: settle(resolve as (value: unknown) => void),
				reject: settle(reject),
			});
			socket.send(JSON.stringify({ id: messageId, method, params }));
		});
	return { send, scripts, close: () => socket.close() };
}
