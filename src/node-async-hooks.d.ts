// The one Node API the Worker uses (enabled by the `nodejs_als` compatibility flag in wrangler.toml).
declare module "node:async_hooks" {
	export class AsyncLocalStorage<T> {
		getStore(): T | undefined;
		run<R>(store: T, callback: () => R): R;
	}
}
